/* The daemon's record schema (record.h): header fields, time conversion, escaping. */
#include <criterion/criterion.h>
#include <stddef.h>

#include <bpf/btf.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "eunomia/decoder.h"
#include "eunomia/record.h"

struct ev {
	uint32_t pid;
	uint32_t pad;
	uint64_t ts;
	char comm[8];
};

/* struct ev { u32 pid; u32 pad; u64 <tsname>; char comm[8]; } */
static struct eu_plan *make_plan(struct btf **out_btf, const char *tsname)
{
	struct btf *b = btf__new_empty();
	cr_assert(b);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int idx = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int arr = btf__add_array(b, idx, chr, 8);
	int st = btf__add_struct(b, "ev", sizeof(struct ev));
	cr_assert(u32 > 0 && u64 > 0 && arr > 0 && st > 0);
	cr_assert_eq(btf__add_field(b, "pid", u32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "pad", u32, 32, 0), 0);
	cr_assert_eq(btf__add_field(b, tsname, u64, 64, 0), 0);
	cr_assert_eq(btf__add_field(b, "comm", arr, 128, 0), 0);
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)st, &plan, &err), 0, "%s", err.msg);
	*out_btf = b;
	return plan;
}

static const struct eu_record_meta meta = {
	.package = "boot\"strap", .version = "0123456789ab", .event = "ev", .host = "node-1"};

Test(record, schema_and_order)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b, "unrelated");
	cr_assert_eq(eu_record_time_field(plan), -1);
	struct ev e = {.pid = 42, .ts = 5, .comm = "bash"};
	struct eu_record_clock c = {.mono_to_real_ns = 0, .mono_now_ns = 1000,
				    .real_now_ns = 1795570140123456789ull};
	eu_buf out;
	eu_buf_init(&out);
	cr_assert_eq(eu_record_format_event(&out, &meta, plan, -1, &e, sizeof(e), &c), 0);
	cr_assert_str_eq(out.data,
			 "{\"time\":\"2026-11-25T01:29:00.123456789Z\",\"time_unix_nano\":1795570140123456789,"
			 "\"package\":\"boot\\\"strap\",\"version\":\"0123456789ab\",\"event\":\"ev\","
			 "\"host\":\"node-1\",\"fields\":{\"pid\":42,\"pad\":0,\"unrelated\":5,"
			 "\"comm\":\"bash\"}}\n");
	cJSON *j = cJSON_Parse(out.data);
	cr_assert(j, "valid JSON");
	cJSON_Delete(j);
	eu_buf_free(&out);
	eu_plan_free(plan);
	btf__free(b);
}

Test(record, monotonic_timestamp_field_becomes_wall_time)
{
	const char *names[] = {"ts", "timestamp", "time_ns", "ts_ns", "timestamp_ns", "start_ts",
			       "exit_ts_ns"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct btf *b;
		struct eu_plan *plan = make_plan(&b, names[i]);
		int f = eu_record_time_field(plan);
		cr_assert_eq(f, 2, "%s: field %d", names[i], f);
		struct eu_record_clock c = {.mono_to_real_ns = 1700000000000000000ll,
					    .mono_now_ns = 50000000000ull,
					    .real_now_ns = 1700000050000000000ull};
		struct ev e = {.pid = 1, .ts = 40000000007ull};
		cr_assert_eq(eu_record_event_time(plan, f, &e, sizeof(e), &c),
			     1700000040000000007ull);
		/* zero and far-future values are not timestamps: the observed time is used */
		e.ts = 0;
		cr_assert_eq(eu_record_event_time(plan, f, &e, sizeof(e), &c), c.real_now_ns);
		e.ts = 50000000000ull + 61000000000ull;
		cr_assert_eq(eu_record_event_time(plan, f, &e, sizeof(e), &c), c.real_now_ns);
		eu_plan_free(plan);
		btf__free(b);
	}
}

Test(record, short_record_appends_nothing)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b, "ts");
	struct eu_record_clock c;
	eu_record_clock_sync(&c);
	cr_assert_gt(c.real_now_ns, 1600000000000000000ull);
	eu_buf out;
	eu_buf_init(&out);
	eu_buf_puts(&out, "x\n");
	struct ev e = {0};
	/* shorter than where the trailing comm starts: refused */
	cr_assert_eq(eu_record_format_event(&out, &meta, plan, 2, &e, offsetof(struct ev, comm) - 1,
					    &c), -EINVAL);
	cr_assert_str_eq(out.data, "x\n");
	eu_buf_free(&out);
	eu_plan_free(plan);
	btf__free(b);
}

Test(record, version_is_first_12_hex_digits)
{
	uint8_t sha[32];
	for (int i = 0; i < 32; i++)
		sha[i] = (uint8_t)(0xa0 + i);
	char v[13];
	eu_record_version(sha, v);
	cr_assert_str_eq(v, "a0a1a2a3a4a5");
}
