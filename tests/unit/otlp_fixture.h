/* An exec-like event for the OTLP tests: a BTF struct built with btf__add_*, its plan and a
 * filled record. Header-only (static functions) like pkg_fixture.h. */
#ifndef EU_OTLP_FIXTURE_H
#define EU_OTLP_FIXTURE_H

#include <criterion/criterion.h>

#include <bpf/btf.h>
#include <stdint.h>
#include <string.h>

#include "eunomia/decoder.h"

/* ---- an exec-like event: struct event built with btf__add_* ---- */
struct exec_fixture {
	struct btf *btf;
	struct eu_plan *plan;
	uint8_t rec[256];
	size_t size;
};

/* struct inner { int a; bool b; };
 * struct event { int pid; int ppid; unsigned exit_code; unsigned long long duration_ns;
 *                char comm[16]; char filename[32]; bool exit_event; double ratio;
 *                unsigned char raw[4]; short vals[3]; struct inner in;
 *                unsigned long long big; };  */
static void exec_fixture(struct exec_fixture *f)
{
	struct btf *b = btf__new_empty();
	cr_assert_not_null(b);
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int chr = btf__add_int(b, "char", 1, BTF_INT_CHAR);
	int bl = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
	int dbl = btf__add_float(b, "double", 8);
	int u8 = btf__add_int(b, "unsigned char", 1, 0);
	int s16 = btf__add_int(b, "short", 2, BTF_INT_SIGNED);
	int idx = btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0);
	int comm = btf__add_array(b, idx, chr, 16);
	int fname = btf__add_array(b, idx, chr, 32);
	int raw = btf__add_array(b, idx, u8, 4);
	int vals = btf__add_array(b, idx, s16, 3);
	int inner = btf__add_struct(b, "inner", 8);
	cr_assert_eq(btf__add_field(b, "a", i32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "b", bl, 32, 0), 0);
	int ev = btf__add_struct(b, "event", 120);
	cr_assert_gt(ev, 0);
	cr_assert_eq(btf__add_field(b, "pid", i32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "ppid", i32, 32, 0), 0);
	cr_assert_eq(btf__add_field(b, "exit_code", u32, 64, 0), 0);
	cr_assert_eq(btf__add_field(b, "duration_ns", u64, 128, 0), 0);
	cr_assert_eq(btf__add_field(b, "comm", comm, 192, 0), 0);
	cr_assert_eq(btf__add_field(b, "filename", fname, 320, 0), 0);
	cr_assert_eq(btf__add_field(b, "exit_event", bl, 576, 0), 0);
	cr_assert_eq(btf__add_field(b, "ratio", dbl, 640, 0), 0);
	cr_assert_eq(btf__add_field(b, "raw", raw, 704, 0), 0);
	cr_assert_eq(btf__add_field(b, "vals", vals, 736, 0), 0);
	cr_assert_eq(btf__add_field(b, "in", inner, 832, 0), 0);
	cr_assert_eq(btf__add_field(b, "big", u64, 896, 0), 0);
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)ev, &f->plan, &err), 0, "%s", err.msg);
	f->btf = b;
	f->size = 120;
	memset(f->rec, 0, sizeof(f->rec));
	int32_t pid = 4242, ppid = 1;
	uint32_t code = 0;
	uint64_t dur = 123456789;
	memcpy(f->rec + 0, &pid, 4);
	memcpy(f->rec + 4, &ppid, 4);
	memcpy(f->rec + 8, &code, 4);
	memcpy(f->rec + 16, &dur, 8);
	memcpy(f->rec + 24, "ba\xffsh", 5); /* invalid UTF-8 byte in comm */
	memcpy(f->rec + 40, "/usr/bin/bash", 13);
	f->rec[72] = 1;
	double ratio = 0.25;
	memcpy(f->rec + 80, &ratio, 8);
	memcpy(f->rec + 88, "\x01\x00\xfe\x7f", 4);
	int16_t v[3] = {-1, 2, 300};
	memcpy(f->rec + 92, v, 6);
	int32_t a = -7;
	memcpy(f->rec + 104, &a, 4);
	f->rec[108] = 1;
	uint64_t big = UINT64_MAX;
	memcpy(f->rec + 112, &big, 8);
}

static void exec_fixture_free(struct exec_fixture *f)
{
	eu_plan_free(f->plan);
	btf__free(f->btf);
}

#endif
