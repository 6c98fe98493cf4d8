/* The API's record ring (agent/daemon/record_ring.c): records kept by reference into the
 * sinks' batches or copied out of them, formatted only when read; what leaves the ring is
 * counted as missed; a package version swapped out (its source, plan and BTF let go of by
 * their owners) still decodes by value, named stacks included. */
#include <criterion/criterion.h>

#include <bpf/btf.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "daemon/record_ring.h"
#include "eunomia/decoder.h"
#include "eunomia/record.h"

struct kev {
	uint32_t pid;
	int32_t kern_stack_id;
	char comm[8];
};

/* A version of a package: its BTF, plan and source (what a running instance owns). */
struct version {
	struct btf *btf;
	struct eu_plan *plan;
	struct eu_record_source *src;
};

static void version_new(struct version *v, const char *hex12)
{
	struct btf *b = btf__new_empty();
	cr_assert(b);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int com = btf__add_array(b, i32, chr, 8);
	int st = btf__add_struct(b, "kev", sizeof(struct kev));
	cr_assert(st > 0 && com > 0);
	cr_assert_eq(btf__add_field(b, "pid", u32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "kern_stack_id", i32, 32, 0), 0);
	cr_assert_eq(btf__add_field(b, "comm", com, 64, 0), 0);
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)st, &v->plan, &err), 0, "%s", err.msg);
	v->btf = b;
	struct eu_record_source tmpl = {
		.kind = EU_RECORD_EVENT, .package = "pkg", .version = hex12, .event = "kev",
		.host = "h", .plan = v->plan, .ts_field = -1,
		.stacks = {.n = 1, .pid_field = 0, .comm_field = 2,
			   .f = {{.field = 1, .is_inline = false, .name = "kern_stack"}}}};
	cr_assert_eq(eu_record_source_new(&tmpl, &v->src), 0);
}

/* The owners let go, as when a hot swap retires the version. */
static void version_retire(struct version *v)
{
	eu_record_source_unref(v->src);
	eu_plan_free(v->plan);
	btf__free(v->btf);
	memset(v, 0, sizeof(*v));
}

/* Record number i (from 1) of version v into batch b, kept by the ring; its JSON line as the
 * sinks format it, into want[i]. */
static void push(struct record_ring *r, struct eu_record_batch *b, struct version *v,
		 uint32_t i, char **want)
{
	struct kev e = {.pid = 1000 + i, .kern_stack_id = (int32_t)i};
	snprintf(e.comm, sizeof(e.comm), "c%u", i);
	eu_buf blob;
	eu_buf_init(&blob);
	size_t at = eu_record_stack_begin(&blob);
	char frame[32];
	snprintf(frame, sizeof(frame), "fn_%u", i);
	eu_record_stack_frame(&blob, frame);
	eu_record_stack_frame(&blob, "entry_SYSCALL_64");
	eu_record_stack_end(&blob, at, false);
	uint64_t t = 1795570140000000000ull + i;
	cr_assert_eq(eu_record_batch_add_stacks(b, v->src, t, NULL, 0, &e, sizeof(e), blob.data,
						blob.len), 0);
	struct eu_record rec = {.src = v->src, .time_ns = t, .data = &e, .size = sizeof(e),
				.stacks = blob.data, .stacks_size = (uint32_t)blob.len};
	eu_buf line;
	eu_buf_init(&line);
	cr_assert_eq(eu_record_format(&line, &rec), 0);
	want[i] = strdup(line.data);
	eu_buf_free(&line);
	eu_buf_free(&blob);
	record_ring_push(r, b);
}

/* Reads every record from cursor on: checks each against want[] byte for byte and by value
 * (its version, fields and frames);
 * returns how many were read, *first the first one's number. */
static size_t read_all(struct record_ring *r, uint64_t cursor, char **want, uint64_t *missed,
		       uint64_t *first, const char *const *version)
{
	eu_buf line;
	eu_buf_init(&line);
	uint64_t seq;
	size_t n = 0;
	while (record_ring_read(r, &cursor, &line, &seq, missed) == 1) {
		if (!n)
			*first = seq;
		cr_assert_str_eq(line.data, want[seq], "record %llu", (unsigned long long)seq);
		cJSON *j = cJSON_Parse(line.data);
		cr_assert(j, "%s", line.data);
		cr_assert_str_eq(cJSON_GetObjectItem(j, "version")->valuestring, version[seq]);
		const cJSON *f = cJSON_GetObjectItem(j, "fields");
		cr_assert_eq(cJSON_GetObjectItem(f, "pid")->valueint, 1000 + (int)seq);
		char comm[16], frame[32];
		snprintf(comm, sizeof(comm), "c%llu", (unsigned long long)seq);
		snprintf(frame, sizeof(frame), "fn_%llu", (unsigned long long)seq);
		cr_assert_str_eq(cJSON_GetObjectItem(f, "comm")->valuestring, comm);
		const cJSON *st = cJSON_GetObjectItem(f, "kern_stack");
		cr_assert_eq(cJSON_GetArraySize(st), 2, "%s", line.data);
		cr_assert_str_eq(cJSON_GetArrayItem(st, 0)->valuestring, frame);
		cJSON_Delete(j);
		n++;
	}
	eu_buf_free(&line);
	return n;
}

static void free_want(char **want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(want[i]);
}

static const char *const V0[21] = {
	"", "0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab",
	"0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab",
	"0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab",
	"0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab", "0123456789ab"};

/* 20 records in batches of 5 into a ring of 8: a reader from 1 is told 12 were missed and
 * gets 13..20; one from 15 misses none; a ring bounded by bytes keeps what fits. */
Test(record_ring, records_pushed_out_are_counted_as_missed)
{
	struct version v;
	version_new(&v, "0123456789ab");
	struct record_ring r;
	record_ring_init(&r, 8, 1u << 20, 64u << 20);
	char *want[21] = {0};
	struct eu_record_batch *b = NULL;
	for (uint32_t i = 1; i <= 20; i++) {
		if (i % 5 == 1) {
			if (b) {
				eu_record_batch_seal(b, 1);
				eu_record_batch_unref(b); /* the router hands it over */
			}
			b = eu_record_batch_new();
		}
		push(&r, b, &v, i, want);
	}
	uint64_t missed = 0, first = 0;
	cr_assert_eq(read_all(&r, 1, want, &missed, &first, V0), 8);
	cr_assert_eq(missed, 12);
	cr_assert_eq(first, 13);
	missed = 0;
	cr_assert_eq(read_all(&r, 15, want, &missed, &first, V0), 6);
	cr_assert_eq(missed, 0);
	cr_assert_eq(first, 15);
	/* past the newest: nothing, nothing missed */
	uint64_t cursor = 21, seq;
	eu_buf line;
	eu_buf_init(&line);
	cr_assert_eq(record_ring_read(&r, &cursor, &line, &seq, &missed), 0);
	cr_assert_eq(missed, 0);
	record_ring_free(&r);

	/* room for three records' bytes: the fourth pushes the first out */
	struct record_ring small;
	/* a record, its event and its frames blob: a count, a byte, "fn_N" and
	 * "entry_SYSCALL_64", NUL-terminated */
	size_t one = sizeof(struct eu_record) + sizeof(struct kev) + 5 + 5 + 17;
	record_ring_init(&small, 100, 3 * one + one / 2, 64u << 20);
	for (uint32_t i = 1; i <= 4; i++) {
		free(want[i]);
		push(&small, b, &v, i, want);
	}
	missed = 0;
	size_t n = read_all(&small, 1, want, &missed, &first, V0);
	cr_assert_eq(n, 3);
	cr_assert_eq(missed, 1);
	cr_assert_eq(first, 2);
	record_ring_free(&small);
	eu_buf_free(&line);
	eu_record_batch_unref(b);
	version_retire(&v);
	free_want(want, 21);
}

/* Version 1's records, then a hot swap: version 1's source, plan and BTF are let go of by
 * their owners and its batches by the router; version 2's records follow. A reader then gets
 * version 1's records decoded by value, the same bytes the sinks were given, whether the ring
 * kept them in their batches (a large pinned bound) or copied them out (no pinned bound: a
 * batch is copied as soon as a newer one arrives), and reads the batch still being filled. */
static void swap_and_read(size_t max_pinned, size_t want_copies)
{
	static const char *const vers[] = {"", "aaaaaaaaaaaa", "aaaaaaaaaaaa", "aaaaaaaaaaaa",
					   "aaaaaaaaaaaa", "aaaaaaaaaaaa", "bbbbbbbbbbbb"};
	struct version v1, v2;
	version_new(&v1, vers[1]);
	version_new(&v2, vers[6]);
	struct record_ring r;
	record_ring_init(&r, 64, 1u << 20, max_pinned);
	char *want[7] = {0};
	struct eu_record_batch *b1 = eu_record_batch_new();
	for (uint32_t i = 1; i <= 3; i++)
		push(&r, b1, &v1, i, want);
	uint64_t missed = 0, first = 0;
	cr_assert_eq(read_all(&r, 1, want, &missed, &first, vers), 3, "the batch being filled");
	eu_record_batch_seal(b1, 1);
	struct eu_record_batch *b2 = eu_record_batch_new();
	for (uint32_t i = 4; i <= 5; i++)
		push(&r, b2, &v1, i, want);
	eu_record_batch_seal(b2, 1);
	/* the swap: the router handed the batches over, the old instance is gone */
	eu_record_batch_unref(b1);
	eu_record_batch_unref(b2);
	version_retire(&v1);
	struct eu_record_batch *b3 = eu_record_batch_new();
	push(&r, b3, &v2, 6, want);
	cr_assert_eq(r.n_copies, want_copies);
	cr_assert_eq(read_all(&r, 1, want, &missed, &first, vers), 6);
	cr_assert_eq(missed, 0);
	cr_assert_eq(first, 1);
	record_ring_free(&r);
	eu_record_batch_unref(b3);
	version_retire(&v2);
	free_want(want, 7);
}

Test(record_ring, swapped_out_version_decodes_from_the_batches)
{
	swap_and_read(64u << 20, 0);
}

Test(record_ring, swapped_out_version_decodes_from_copies)
{
	swap_and_read(0, 5);
}
