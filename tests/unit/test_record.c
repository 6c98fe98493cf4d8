/* The daemon's record schema (record.h): header fields, time conversion, escaping. */
#include <criterion/criterion.h>
#include <stddef.h>

#include <bpf/btf.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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
	/* a fraction with leading zeros in the same second (the second's text is cached), a
	 * whole second, and the epoch's first second (no digits of its own) */
	const uint64_t times[] = {1795570140000000042ull, 1795570141000000000ull, 7};
	const char *want[] = {"{\"time\":\"2026-11-25T01:29:00.000000042Z\",\"time_unix_nano\":"
			      "1795570140000000042,",
			      "{\"time\":\"2026-11-25T01:29:01.000000000Z\",\"time_unix_nano\":"
			      "1795570141000000000,",
			      "{\"time\":\"1970-01-01T00:00:00.000000007Z\",\"time_unix_nano\":7,"};
	for (int i = 0; i < 3; i++) {
		eu_buf_reset(&out);
		c.real_now_ns = times[i];
		cr_assert_eq(eu_record_format_event(&out, &meta, plan, -1, &e, sizeof(e), &c), 0);
		cr_assert(!strncmp(out.data, want[i], strlen(want[i])), "%s", out.data);
	}
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

/* Typed records: a batch copies the bytes once, keeps its sources (and their plans) alive
 * after their owner let go, and formats its JSON once for every reader. */
Test(record_batch, holds_sources_and_formats_once)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b, "unrelated");
	struct eu_record_source tmpl = {.kind = EU_RECORD_EVENT, .package = "boot\"strap",
					.version = "0123456789ab", .event = "ev", .host = "node-1",
					.plan = plan, .ts_field = -1};
	struct eu_record_source *src;
	cr_assert_eq(eu_record_source_new(&tmpl, &src), 0);
	struct eu_record_batch *batch = eu_record_batch_new();
	cr_assert_not_null(batch);
	struct ev e = {.pid = 42, .comm = "bash"};
	cr_assert_eq(eu_record_batch_add(batch, src, 1795570140123456789ull, NULL, 0, &e,
					 sizeof(e)), 0);
	e.pid = 43;
	cr_assert_eq(eu_record_batch_add(batch, src, 1795570140123456790ull, NULL, 0, &e,
					 sizeof(e)), 0);
	/* shorter than the plan's minimum: refused, not added */
	cr_assert_eq(eu_record_batch_add(batch, src, 1, NULL, 0, &e, 3), -EINVAL);
	e.pid = 99; /* the batch has its own copy */
	eu_record_batch_seal(batch, 7);
	cr_assert_eq(eu_record_batch_add(batch, src, 1, NULL, 0, &e, sizeof(e)), -EBUSY);
	/* the owners let go (a replaced package version): the batch keeps what it needs */
	eu_record_source_unref(src);
	eu_plan_free(plan);
	btf__free(b);
	cr_assert_eq(eu_record_batch_count(batch), 2);
	cr_assert_eq(eu_record_batch_lines(batch), 2);
	cr_assert_eq(eu_record_batch_observed(batch), 7);
	const struct eu_record *r = eu_record_batch_at(batch, 1);
	cr_assert_not_null(r);
	uint32_t pid;
	memcpy(&pid, r->data, 4);
	cr_assert_eq(pid, 43);
	cr_assert_str_eq(r->src->package, "boot\"strap");
	const char *t1, *t2;
	size_t l1, l2;
	cr_assert_eq(eu_record_batch_json(batch, &t1, &l1), 0);
	cr_assert_eq(eu_record_batch_json(batch, &t2, &l2), 0);
	cr_assert_eq(t1, t2, "formatted twice");
	cr_assert_eq(l1, l2);
	cr_assert(strstr(t1, "\"fields\":{\"pid\":42,\"pad\":0,\"unrelated\":0,\"comm\":\"bash\"}}\n"
			     "{\"time\":\"2026-11-25T01:29:00.123456790Z\""), "%s", t1);
	cr_assert(strstr(t1, "\"pid\":43"), "%s", t1);
	cr_assert_eq(t1[l1 - 1], '\n');
	eu_record_batch_unref(batch);
}

/* The opening of every record is copied from a per-second template with the fraction's
 * digits written into it: checked against libc's formatting over many times, fractions with
 * leading and trailing zeros, seconds that change between records and far dates. */
Test(record, times_match_libc_formatting)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b, "unrelated");
	struct eu_record_source tmpl = {.kind = EU_RECORD_EVENT, .package = "p",
					.version = "0123456789ab", .event = "ev", .host = "h",
					.plan = plan, .ts_field = -1};
	struct eu_record_source *src;
	cr_assert_eq(eu_record_source_new(&tmpl, &src), 0);
	struct ev e = {.pid = 1, .comm = "x"};
	eu_buf out, want;
	eu_buf_init(&out);
	eu_buf_init(&want);
	uint64_t x = 88172645463325252ull, ns = 0; /* xorshift64 */
	const uint64_t fixed[] = {1000000000ull, 1999999999ull, 1795570140000000001ull,
				  1795570140100000000ull, 1795570140999999999ull,
				  4102444800000000000ull, 16725225599999999999ull};
	for (int i = 0; i < 20000; i++) {
		if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
			ns = fixed[i];
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* runs within one second, then a jump anywhere up to the year 2500 */
			ns = i % 50 ? ns + x % 300000000u : 1000000000ull + x % 16725225600000000000ull;
		}
		eu_buf_reset(&out);
		struct eu_record r = {.src = src, .time_ns = ns, .data = &e, .size = sizeof(e)};
		cr_assert_eq(eu_record_format(&out, &r), 0);
		time_t sec = (time_t)(ns / 1000000000u);
		struct tm tm;
		cr_assert(gmtime_r(&sec, &tm));
		char date[64];
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		eu_buf_reset(&want);
		eu_buf_printf(&want, "{\"time\":\"%s.%09uZ\",\"time_unix_nano\":%llu,\"package\":", date,
			      (unsigned)(ns % 1000000000u), (unsigned long long)ns);
		cr_assert(!strncmp(out.data, want.data, want.len), "%llu: %s, want %s",
			  (unsigned long long)ns, out.data, want.data);
		cr_assert_eq(out.data[out.len - 1], '\n');
	}
	eu_buf_free(&out);
	eu_buf_free(&want);
	eu_record_source_unref(src);
	eu_plan_free(plan);
	btf__free(b);
}

/* Keys, values and stacks of odd sizes are copied whole, each where its record says. */
Test(record_batch, odd_sizes_keep_their_bytes)
{
	struct eu_record_source t = {.kind = EU_RECORD_LINE, .package = "mod",
				     .version = "0123456789ab", .event = "stdout", .host = "h",
				     .ts_field = -1};
	struct eu_record_source *src;
	cr_assert_eq(eu_record_source_new(&t, &src), 0);
	struct eu_record_batch *batch = eu_record_batch_new();
	char data[64], key[16], stacks[24];
	for (size_t n = 0; n < 40; n++) {
		memset(data, 'a' + (int)(n % 26), sizeof(data));
		memset(key, 'A' + (int)(n % 26), sizeof(key));
		memset(stacks, '0' + (int)(n % 10), sizeof(stacks));
		cr_assert_eq(eu_record_batch_add_stacks(batch, src, 1, key, n % 13, data, n,
							n % 3 ? stacks : NULL, n % 21), 0);
	}
	eu_record_batch_seal(batch, 1);
	for (size_t n = 0; n < 40; n++) {
		const struct eu_record *r = eu_record_batch_at(batch, n);
		cr_assert_eq(r->size, n);
		cr_assert_eq(r->key_size, n % 13);
		cr_assert_eq((uintptr_t)r->data % 8, 0, "aligned");
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(((const char *)r->data)[k], 'a' + (int)(n % 26));
		for (size_t k = 0; k < n % 13; k++)
			cr_assert_eq(((const char *)r->key)[k], 'A' + (int)(n % 26));
		if (n % 3) {
			cr_assert_eq(r->stacks_size, n % 21);
			for (size_t k = 0; k < n % 21; k++)
				cr_assert_eq(((const char *)r->stacks)[k], '0' + (int)(n % 10));
		} else {
			cr_assert_null(r->stacks);
		}
	}
	eu_record_source_unref(src);
	eu_record_batch_unref(batch);
}

Test(record_batch, text_lines)
{
	struct eu_record_batch *batch = eu_record_batch_text("{\"a\":1}\n{\"a\":2}\n", 16, 2);
	cr_assert_not_null(batch);
	cr_assert_eq(eu_record_batch_count(batch), 0);
	cr_assert_eq(eu_record_batch_lines(batch), 2);
	const char *t;
	size_t l;
	cr_assert_eq(eu_record_batch_json(batch, &t, &l), 0);
	cr_assert_eq(l, 16);
	cr_assert_str_eq(t, "{\"a\":1}\n{\"a\":2}\n");
	eu_record_batch_unref(eu_record_batch_ref(batch));
	eu_record_batch_unref(batch);
}

/* Records with no plan (a Wasm module's output): a line is {"line":TEXT} escaped, an object
 * line its own text as the fields. */
Test(record_batch, line_and_object_records)
{
	struct eu_record_source *line_src, *obj_src;
	struct eu_record_source t = {.kind = EU_RECORD_LINE, .package = "mod",
				     .version = "0123456789ab", .event = "stdout", .host = "h",
				     .ts_field = -1};
	cr_assert_eq(eu_record_source_new(&t, &line_src), 0);
	t.kind = EU_RECORD_OBJECT;
	cr_assert_eq(eu_record_source_new(&t, &obj_src), 0);
	struct eu_record_batch *batch = eu_record_batch_new();
	cr_assert_eq(eu_record_batch_add(batch, line_src, 1795570140000000000ull, NULL, 0,
					 "say \"hi\"", 8), 0);
	cr_assert_eq(eu_record_batch_add(batch, obj_src, 1795570140000000000ull, NULL, 0,
					 "{\"n\":1}", 7), 0);
	cr_assert_eq(eu_record_batch_add(batch, line_src, 1795570140000000000ull, NULL, 0, "", 0),
		     0);
	eu_record_batch_seal(batch, 1);
	eu_record_source_unref(line_src);
	eu_record_source_unref(obj_src);
	const char *text;
	size_t len;
	cr_assert_eq(eu_record_batch_json(batch, &text, &len), 0);
	cr_assert_eq(eu_record_batch_count(batch), 3);
	cr_assert(strstr(text, "\"event\":\"stdout\",\"host\":\"h\",\"fields\":{\"line\":\"say "
			       "\\\"hi\\\"\"}}\n"), "%s", text);
	cr_assert(strstr(text, "\"fields\":{\"n\":1}}\n"), "%s", text);
	cr_assert(strstr(text, "\"fields\":{\"line\":\"\"}}\n"), "%s", text);
	eu_record_batch_unref(batch);
}

/* A source filled in on the stack has no rendered header: it is refused, never printed
 * without its package, version, event and host; the same template made into a source
 * prints them. */
Test(record, only_a_made_source_formats)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b, "unrelated");
	struct eu_record_source tmpl = {.kind = EU_RECORD_EVENT, .package = "bootstrap",
					.version = "0123456789ab", .event = "ev", .host = "node-1",
					.plan = plan, .ts_field = -1};
	struct eu_record_source *made;
	cr_assert_eq(eu_record_source_new(&tmpl, &made), 0);
	struct ev e = {.pid = 7, .comm = "sh"};
	struct eu_record r = {.src = &tmpl, .time_ns = 1795570140123456789ull, .data = &e,
			      .size = sizeof(e)};
	eu_buf a, m;
	eu_buf_init(&a);
	eu_buf_init(&m);
	eu_buf_puts(&a, "before");
	cr_assert_eq(eu_record_format(&a, &r), -EINVAL);
	cr_assert_str_eq(a.data, "before", "a refused record appended something");
	r.src = made;
	cr_assert_eq(eu_record_format(&m, &r), 0);
	cr_assert(strstr(m.data, "\"time_unix_nano\":1795570140123456789,\"package\":\"bootstrap\","
				 "\"version\":\"0123456789ab\",\"event\":\"ev\",\"host\":\"node-1\","
				 "\"fields\":{\"pid\":7,"), "%s", m.data);
	eu_buf_free(&a);
	eu_buf_free(&m);
	eu_record_source_unref(made);
	eu_plan_free(plan);
	btf__free(b);
}
