/* The plain-text table (ecli's layout) and the bootstrap event end to end: JSON, header, rows,
 * single-field text and numbers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_fixture.h"

DECODER_SUITE(decoder_text);

/* bootstrap.h from libbpf-bootstrap / upstream's example, as clang lays it out */
static int bootstrap_event(void)
{
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int u32 = add_int("unsigned int", 4, 0);
	int u64 = add_int("unsigned long long", 8, 0);
	int ch = add_int("char", 1, BTF_INT_SIGNED);
	int u8 = add_int("unsigned char", 1, 0);
	int comm = add_array(ch, 16), fname = add_array(ch, 127);
	int st = btf__add_struct(B, "event", 168);
	field("pid", s32, 0, 0);
	field("ppid", s32, 32, 0);
	field("exit_code", u32, 64, 0);
	field("duration_ns", u64, 128, 0);
	field("comm", comm, 192, 0);
	field("filename", fname, 320, 0);
	field("exit_event", u8, 1336, 0);
	return st;
}

static void fill_bootstrap(uint8_t rec[168], int32_t pid, int32_t ppid, uint32_t code,
			   uint64_t dur, const char *comm, const char *file, uint8_t exit_event)
{
	memset(rec, 0, 168);
	memcpy(rec, &pid, 4);
	memcpy(rec + 4, &ppid, 4);
	memcpy(rec + 8, &code, 4);
	memcpy(rec + 16, &dur, 8);
	/* like bpf_get_current_comm: cut to the array, NUL only when there is room */
	memcpy(rec + 24, comm, strlen(comm) < 16 ? strlen(comm) : 16);
	memcpy(rec + 40, file, strlen(file) < 127 ? strlen(file) : 127);
	rec[167] = exit_event;
}

Test(decoder_text, bootstrap_event_json_header_rows)
{
	struct eu_plan *plan = plan_of(bootstrap_event());
	cr_assert_str_eq(eu_plan_name(plan), "event");
	cr_assert_eq(eu_plan_size(plan), 168);
	cr_assert_eq(eu_plan_field_count(plan), 7);

	uint8_t rec[168];
	fill_bootstrap(rec, 1234, 1, 0, 0, "bash", "/usr/bin/ls", 0);
	eu_buf b;
	eu_buf_init(&b);
	cr_assert_eq(eu_plan_format_json(plan, rec, sizeof(rec), &b), 0);
	cr_expect_str_eq(b.data, "{\"pid\":1234,\"ppid\":1,\"exit_code\":0,\"duration_ns\":0,"
				 "\"comm\":\"bash\",\"filename\":\"/usr/bin/ls\",\"exit_event\":0}");

	eu_buf_reset(&b);
	eu_plan_text_header(plan, &b);
	cr_expect_str_eq(b.data, "TIME     PID        PPID       EXIT_CODE  DURATION_NS COMM"
				 "             FILENAME         EXIT_EVENT");

	eu_buf_reset(&b);
	cr_assert_eq(eu_plan_text_row(plan, "12:34:56", rec, sizeof(rec), &b), 0);
	cr_expect_str_eq(b.data, "12:34:56 1234       1          0          0           bash"
				 "             /usr/bin/ls      0");

	/* an exit: every column still starts where its header does */
	fill_bootstrap(rec, 4321, 99999, 2, 123456789, "ls", "", 1);
	eu_buf_reset(&b);
	cr_assert_eq(eu_plan_text_row(plan, "12:34:57", rec, sizeof(rec), &b), 0);
	cr_expect_str_eq(b.data, "12:34:57 4321       99999      2          123456789   ls"
				 "                                1");

	/* a value wider than its column widens that cell only */
	fill_bootstrap(rec, 1, 1, 0, 0, "kworker/u16:0-events", "/a/very/long/path/name", 0);
	eu_buf_reset(&b);
	cr_assert_eq(eu_plan_text_row(plan, "00:00:00", rec, sizeof(rec), &b), 0);
	cr_expect_str_eq(b.data, "00:00:00 1          1          0          0           "
				 "kworker/u16:0-ev /a/very/long/path/name 0");

	eu_buf_free(&b);
	eu_plan_free(plan);
}

Test(decoder_text, short_record_refused_nothing_appended)
{
	struct eu_plan *plan = plan_of(bootstrap_event());
	uint8_t rec[200] = {0};
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "keep");
	cr_expect_eq(eu_plan_format_json(plan, rec, 167, &b), -EINVAL);
	cr_expect_eq(eu_plan_text_row(plan, "00:00:00", rec, 100, &b), -EINVAL);
	cr_expect_eq(eu_plan_format_field_json(plan, 0, rec, 0, &b), -EINVAL);
	cr_expect_eq(eu_plan_format_field_text(plan, 0, rec, 167, &b), -EINVAL);
	int64_t v = 5;
	cr_expect_eq(eu_plan_field_i64(plan, 0, rec, 4, &v), -EINVAL);
	cr_expect_eq(v, 5);
	cr_expect_str_eq(b.data, "keep");
	cr_expect_eq(b.len, 4);
	/* longer records decode up to the plan size */
	cr_expect_eq(eu_plan_format_json(plan, rec, sizeof(rec), &b), 0);
	cr_expect_str_eq(b.data, "keep{\"pid\":0,\"ppid\":0,\"exit_code\":0,\"duration_ns\":0,"
				 "\"comm\":\"\",\"filename\":\"\",\"exit_event\":0}");
	eu_buf_free(&b);
	eu_plan_free(plan);
}

Test(decoder_text, text_values_of_every_kind)
{
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int u128 = add_int("unsigned __int128", 16, 0);
	int b = add_int("bool", 1, BTF_INT_BOOL);
	int ch = add_int("char", 1, BTF_INT_SIGNED);
	int u32 = add_int("unsigned int", 4, 0);
	int v4 = btf__add_typedef(B, "eu_ipv4_t", u32);
	int e = btf__add_enum(B, "state", 4);
	btf__add_enum_value(B, "TCP_ESTABLISHED", 1);
	btf__add_enum_value(B, "TCP_CLOSE", 7);
	int f64 = btf__add_float(B, "double", 8);
	int ptr = btf__add_ptr(B, 0);
	int arr = add_array(s32, 2);
	int str = add_array(ch, 8);
	int sh = add_int("short", 2, BTF_INT_SIGNED);
	int in2 = btf__add_struct(B, "in2", 8);
	field("x", s32, 0, 0);
	field("s", sh, 32, 0);
	int st = btf__add_struct(B, "all", 96);
	field("big", u128, 0, 0);
	field("ok", b, 128, 0);
	field("st", e, 160, 0);
	field("name", str, 192, 0);
	field("addr", v4, 256, 0);
	field("ratio", f64, 320, 0);
	field("p", ptr, 384, 0);
	field("arr", arr, 448, 0);
	field("in", in2, 512, 0);
	field("neg", s32, 576, 0);
	field("bits", s32, 608, 3);

	uint8_t rec[96] = {0};
	unsigned __int128 big = (unsigned __int128)1 << 100;
	memcpy(rec, &big, 16);
	rec[16] = 1;
	memcpy(rec + 20, &(uint32_t){7}, 4);
	memcpy(rec + 24, "a\tb\xff", 4);
	memcpy(rec + 32, "\x0a\x00\x00\x01", 4);
	memcpy(rec + 40, &(double){NAN}, 8);
	memcpy(rec + 48, &(uint64_t){0xdead}, 8);
	memcpy(rec + 56, &(int32_t){-1}, 4);
	memcpy(rec + 60, &(int32_t){2}, 4);
	memcpy(rec + 64, &(int32_t){3}, 4);
	memcpy(rec + 68, &(int16_t){-4}, 2);
	memcpy(rec + 72, &(int32_t){-5}, 4);
	rec[76] = 0x7; /* 3-bit signed: -1 */

	struct eu_plan *plan = plan_of(st);
	const char *want[] = {
		"1267650600228229401496703205376", "true", "TCP_CLOSE", "a\\x09b\\xff", "10.0.0.1",
		"nan", "0xdead", "[-1,2]", "{\"x\":3,\"s\":-4}", "-5", "-1",
	};
	cr_assert_eq(eu_plan_field_count(plan), 11);
	eu_buf out;
	eu_buf_init(&out);
	for (size_t i = 0; i < 11; i++) {
		eu_buf_reset(&out);
		cr_assert_eq(eu_plan_format_field_text(plan, i, rec, sizeof(rec), &out), 0);
		cr_expect_str_eq(out.data, want[i], "field %zu", i);
	}
	const char *want_json[] = {
		"\"1267650600228229401496703205376\"", "true", "\"TCP_CLOSE\"", "\"a\\tb\\\\xff\"",
		"\"10.0.0.1\"", "\"NaN\"", "\"0xdead\"", "[-1,2]", "{\"x\":3,\"s\":-4}", "-5", "-1",
	};
	for (size_t i = 0; i < 11; i++) {
		eu_buf_reset(&out);
		cr_assert_eq(eu_plan_format_field_json(plan, i, rec, sizeof(rec), &out), 0);
		cr_expect_str_eq(out.data, want_json[i], "field %zu", i);
	}
	eu_buf_reset(&out);
	eu_plan_text_header(plan, &out);
	cr_expect_str_eq(out.data, "TIME     BIG        OK    ST              NAME     ADDR            "
				   "RATIO        P                  ARR              IN               "
				   "NEG        BITS");
	eu_buf_reset(&out);
	/* ST is as wide as the longest enum name (TCP_ESTABLISHED) */
	cr_assert_eq(eu_plan_text_row(plan, "01:02:03", rec, sizeof(rec), &out), 0);
	cr_expect_str_eq(out.data, "01:02:03 1267650600228229401496703205376 true  TCP_CLOSE       "
				   "a\\x09b\\xff 10.0.0.1        nan          0xdead             "
				   "[-1,2]           {\"x\":3,\"s\":-4}   -5         -1");
	eu_buf_free(&out);
	eu_plan_free(plan);
}

Test(decoder_text, field_info_and_numbers)
{
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int u64 = add_int("unsigned long long", 8, 0);
	int s128 = add_int("__int128", 16, BTF_INT_SIGNED);
	int b = add_int("_Bool", 1, BTF_INT_BOOL);
	int ch = add_int("char", 1, BTF_INT_SIGNED);
	int str = add_array(ch, 16);
	int e = btf__add_enum(B, "e", 4);
	btf__add_enum_value(B, "NEG", -3);
	uint8_t r2[56] = {0};
	memcpy(r2, &(int32_t){-77}, 4);
	r2[4] = 0x4 | 0x8; /* neg3 = 0b100 = -4, flag = 1 */
	memcpy(r2 + 8, &(uint64_t){UINT64_MAX}, 8);
	__int128 h = -12;
	memcpy(r2 + 16, &h, 16);
	memcpy(r2 + 32, "comm", 5);
	memcpy(r2 + 48, &(int32_t){-3}, 4);
	int st2 = btf__add_struct(B, "info2", 56);
	field("pid", s32, 0, 0);
	field("neg3", s32, 32, 3);
	field("flag", b, 35, 1);
	field("big", u64, 64, 0);
	field("huge", s128, 128, 0);
	field("comm", str, 256, 0);
	field("en", e, 384, 0);
	struct eu_plan *plan = plan_of(st2);
	cr_expect_eq(eu_plan_find_field(plan, "comm"), 5);
	cr_expect_eq(eu_plan_find_field(plan, "nope"), -1);
	const struct eu_field_info *f = eu_plan_field(plan, 1);
	cr_assert_not_null(f);
	cr_expect_str_eq(f->name, "neg3");
	cr_expect_eq(f->kind, EU_FIELD_INT);
	cr_expect_eq(f->offset, 4);
	cr_expect_eq(f->bit_offset, 32);
	cr_expect_eq(f->bit_size, 3);
	cr_expect(f->is_signed);
	f = eu_plan_field(plan, 2);
	cr_expect_eq(f->kind, EU_FIELD_BOOL);
	cr_expect_eq(f->bit_offset, 35);
	f = eu_plan_field(plan, 5);
	cr_expect_eq(f->kind, EU_FIELD_CHAR_ARRAY);
	cr_expect_eq(f->offset, 32);
	cr_expect_eq(f->size, 16);
	cr_expect_eq(f->elems, 16);
	cr_expect_eq(eu_plan_field(plan, 6)->kind, EU_FIELD_ENUM);
	cr_expect_null(eu_plan_field(plan, 7));

	int64_t v = 0;
	cr_expect_eq(eu_plan_field_i64(plan, 0, r2, sizeof(r2), &v), 0);
	cr_expect_eq(v, -77);
	cr_expect_eq(eu_plan_field_i64(plan, 1, r2, sizeof(r2), &v), 0);
	cr_expect_eq(v, -4);
	cr_expect_eq(eu_plan_field_i64(plan, 2, r2, sizeof(r2), &v), 0);
	cr_expect_eq(v, 1);
	cr_expect_eq(eu_plan_field_i64(plan, 3, r2, sizeof(r2), &v), 0);
	cr_expect_eq((uint64_t)v, UINT64_MAX);
	cr_expect_eq(eu_plan_field_i64(plan, 4, r2, sizeof(r2), &v), 0);
	cr_expect_eq(v, -12);
	cr_expect_eq(eu_plan_field_i64(plan, 5, r2, sizeof(r2), &v), -EINVAL);
	cr_expect_eq(eu_plan_field_i64(plan, 6, r2, sizeof(r2), &v), 0);
	cr_expect_eq(v, -3);
	h = (__int128)1 << 70;
	memcpy(r2 + 16, &h, 16);
	cr_expect_eq(eu_plan_field_i64(plan, 4, r2, sizeof(r2), &v), -ERANGE);
	eu_plan_free(plan);
}
