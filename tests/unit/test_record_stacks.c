/* A record's named stacks (record.h): the frames blob and the three ways the sinks print it
 * (JSON as run --json, text frames below the record, OTLP arrays of strings decoded back
 * with protobuf-c), a stack-count map's folded line, and blobs cut short read safely. */
#include <criterion/criterion.h>

#include <bpf/btf.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"

#include "eunomia/decoder.h"
#include "eunomia/record.h"
#include "sinks/otlp/otlp.h"
#include "sinks/stdout/record_text.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;

#define AV(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

/* what stacksnoop/stackcount-style programs send: an id into a stack map, an inline user
 * stack with its byte count */
struct sev {
	uint32_t pid;
	int32_t kern_stack_id;
	int32_t ustack_sz;
	uint32_t pad;
	uint64_t ustack[4];
	char comm[8];
};

static struct eu_plan *make_plan(struct btf **out)
{
	struct btf *b = btf__new_empty();
	cr_assert(b);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int stk = btf__add_array(b, i32, u64, 4);
	int com = btf__add_array(b, i32, chr, 8);
	int st = btf__add_struct(b, "sev", sizeof(struct sev));
	cr_assert(st > 0 && stk > 0 && com > 0);
	cr_assert_eq(btf__add_field(b, "pid", u32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "kern_stack_id", i32, 32, 0), 0);
	cr_assert_eq(btf__add_field(b, "ustack_sz", i32, 64, 0), 0);
	cr_assert_eq(btf__add_field(b, "pad", u32, 96, 0), 0);
	cr_assert_eq(btf__add_field(b, "ustack", stk, 128, 0), 0);
	cr_assert_eq(btf__add_field(b, "comm", com, 384, 0), 0);
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)st, &plan, &err), 0, "%s", err.msg);
	*out = b;
	return plan;
}

/* a count, as a one-field struct printed as its value (value_scalar) */
static struct eu_plan *make_value_plan(struct btf **out)
{
	struct btf *b = btf__new_empty();
	cr_assert(b);
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int st = btf__add_struct(b, "count", 8);
	cr_assert(u64 > 0 && st > 0);
	cr_assert_eq(btf__add_field(b, "value", u64, 0, 0), 0);
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)st, &plan, &err), 0, "%s", err.msg);
	*out = b;
	return plan;
}

/* the layout stacks.c finds for struct sev */
static const struct eu_record_stacks layout = {
	.n = 2, .pid_field = 0, .comm_field = 5,
	.f = {{.field = 1, .is_inline = false, .user = false, .name = "kern_stack"},
	      {.field = 4, .is_inline = true, .user = true}}};

/* A source of events of plan, or (key_plan) of a stack-count map's entries, with layout. */
static struct eu_record_source *stack_source(struct eu_plan *plan, struct eu_plan *key_plan)
{
	struct eu_record_source tmpl = {.kind = key_plan ? EU_RECORD_SAMPLE : EU_RECORD_EVENT,
					.package = "pkg", .version = "0123456789ab", .event = "sev",
					.host = "h", .plan = plan, .key_plan = key_plan,
					.value_scalar = key_plan != NULL, .ts_field = -1,
					.stacks = layout};
	struct eu_record_source *src;
	cr_assert_eq(eu_record_source_new(&tmpl, &src), 0);
	return src;
}

static const struct sev ev = {.pid = 42, .kern_stack_id = 7, .ustack_sz = 16,
			      .ustack = {0x401000, 0x401100, 0, 0}, .comm = "bash"};

/* kern_stack: do_sys;entry, innermost first; ustack: read (libc), main, then a kernel
 * "[missing]"-free user side */
static void make_blob(eu_buf *blob, bool kern_missing)
{
	eu_buf_init(blob);
	size_t at = eu_record_stack_begin(blob);
	if (!kern_missing) {
		eu_record_stack_frame(blob, "do_sys_read");
		eu_record_stack_frame(blob, "entry_SYSCALL_64");
	}
	eu_record_stack_end(blob, at, kern_missing);
	at = eu_record_stack_begin(blob);
	eu_record_stack_frame(blob, "read");
	eu_record_stack_frame(blob, "my main");
	eu_record_stack_end(blob, at, false);
	cr_assert(!blob->oom);
}

Test(record_stacks, blob_reads_back_and_cut_blobs_are_refused)
{
	eu_buf blob;
	make_blob(&blob, false);
	uint32_t n;
	bool missing;
	const char *p;
	cr_assert(eu_record_stack_frames(blob.data, blob.len, 0, &n, &missing, &p));
	cr_assert_eq(n, 2);
	cr_assert(!missing);
	cr_assert_str_eq(p, "do_sys_read");
	cr_assert_str_eq(p + strlen(p) + 1, "entry_SYSCALL_64");
	cr_assert(eu_record_stack_frames(blob.data, blob.len, 1, &n, &missing, &p));
	cr_assert_eq(n, 2);
	cr_assert_str_eq(p, "read");
	/* no third stack; every shorter blob is refused for the stack it cuts */
	cr_assert(!eu_record_stack_frames(blob.data, blob.len, 2, &n, &missing, &p));
	cr_assert_eq(n, 0);
	for (size_t len = 0; len < blob.len; len++) {
		bool whole0 = eu_record_stack_frames(blob.data, len, 0, &n, &missing, &p);
		bool whole1 = eu_record_stack_frames(blob.data, len, 1, &n, &missing, &p);
		cr_assert(!whole1, "stack 1 read from %zu of %zu bytes", len, blob.len);
		cr_assert_eq(whole0, len >= 5 + 12 + 17, "stack 0 from %zu bytes", len);
	}
	/* printing a cut blob prints what is whole and nothing past it */
	eu_buf out;
	eu_buf_init(&out);
	struct btf *b;
	struct eu_plan *plan = make_plan(&b);
	eu_record_stacks_text(&layout, plan, blob.data, 3, &out);
	cr_assert_str_eq(out.data, "    kern_stack:\n    ustack:\n");
	eu_buf_reset(&out);
	eu_record_stacks_text(&layout, plan, blob.data, 5 + 12 + 17 + 5 + 2, &out);
	cr_assert_str_eq(out.data, "    kern_stack:\n      do_sys_read\n      entry_SYSCALL_64\n"
				   "    ustack:\n");
	eu_buf_free(&out);
	eu_buf_free(&blob);
	eu_plan_free(plan);
	btf__free(b);
}

Test(record_stacks, event_json_is_runs_shape_text_lists_frames_below)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b);
	struct eu_record_source *src = stack_source(plan, NULL);
	eu_buf blob, out;
	make_blob(&blob, false);
	eu_buf_init(&out);
	struct eu_record r = {.src = src, .time_ns = 1795570140000000000ull, .data = &ev,
			      .size = sizeof(ev), .stacks = blob.data,
			      .stacks_size = (uint32_t)blob.len};
	cr_assert_eq(eu_record_format(&out, &r), 0);
	const char *fields = strstr(out.data, "\"fields\":");
	cr_assert(fields, "%s", out.data);
	cr_assert_str_eq(fields, "\"fields\":{\"pid\":42,\"kern_stack_id\":7,\"kern_stack\":"
				 "[\"do_sys_read\",\"entry_SYSCALL_64\"],\"ustack_sz\":16,\"pad\":0,"
				 "\"ustack\":[\"read\",\"my main\"],\"comm\":\"bash\"}}\n");
	/* what run --json prints for the same record: the same members */
	eu_buf run;
	eu_buf_init(&run);
	cr_assert_eq(eu_record_stacks_json(&layout, plan, &ev, sizeof(ev), blob.data, blob.len,
					   &run),
		     0);
	cr_assert(!strncmp(fields + 10, run.data, run.len), "%s\n%s", fields, run.data);
	/* text: the row keeps the id and the size, not the inline addresses; the frames one
	 * per line below it */
	struct eu_text_style st = {0};
	eu_buf_reset(&out);
	cr_assert_eq(eu_record_text(&out, &r, &st), 0);
	const char *nl = strchr(out.data, '\n');
	cr_assert(nl);
	cr_assert(strstr(out.data, "kern_stack_id=7") && strstr(out.data, "ustack_sz=16"), "%s",
		  out.data);
	cr_assert(!strstr(out.data, "ustack="), "%s", out.data);
	cr_assert_str_eq(nl + 1, "    kern_stack:\n      do_sys_read\n      entry_SYSCALL_64\n"
				 "    ustack:\n      read\n      my main\n");
	/* a stack the kernel did not take */
	eu_buf_free(&blob);
	make_blob(&blob, true);
	r.stacks = blob.data;
	r.stacks_size = (uint32_t)blob.len;
	eu_buf_reset(&out);
	cr_assert_eq(eu_record_format(&out, &r), 0);
	cr_assert(strstr(out.data, "\"kern_stack\":[\"[missing]\"]"), "%s", out.data);
	/* a record without its blob prints the numbers */
	r.stacks = NULL;
	r.stacks_size = 0;
	eu_buf_reset(&out);
	cr_assert_eq(eu_record_format(&out, &r), 0);
	cr_assert(strstr(out.data, "\"ustack\":[4198400,4198656,0,0]"), "%s", out.data);
	eu_buf_free(&run);
	eu_buf_free(&out);
	eu_buf_free(&blob);
	eu_record_source_unref(src);
	eu_plan_free(plan);
	btf__free(b);
}

static const AnyValue *attr(LogRecord *lr, const char *key)
{
	for (size_t i = 0; i < lr->n_attributes; i++)
		if (!strcmp(lr->attributes[i]->key, key))
			return lr->attributes[i]->value;
	return NULL;
}

static void expect_frames(const AnyValue *v, const char *const *want, size_t n)
{
	cr_assert_not_null(v);
	cr_assert_eq(v->value_case, AV(ARRAY_VALUE));
	cr_assert_eq(v->array_value->n_values, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(v->array_value->values[i]->value_case, AV(STRING_VALUE));
		cr_assert_str_eq(v->array_value->values[i]->string_value, want[i]);
	}
}

Test(record_stacks, otlp_attributes_are_arrays_of_frame_names)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b);
	eu_buf blob, out;
	make_blob(&blob, false);
	eu_buf_init(&out);
	struct eu_otlp_log_event e = {.package = "snoop", .event_type = "sev", .plan = plan,
				      .data = &ev, .size = sizeof(ev), .stacks = &layout,
				      .stack_blob = blob.data, .stack_blob_size = blob.len};
	eu_error err = {0};
	cr_assert_eq(eu_otlp_log_encode(&e, &out, &err), 0, "%s", err.msg);
	LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len,
									  (uint8_t *)out.data);
	cr_assert_not_null(lr);
	expect_frames(attr(lr, "kern_stack"), (const char *const[]){"do_sys_read",
								      "entry_SYSCALL_64"},
		      2);
	expect_frames(attr(lr, "ustack"), (const char *const[]){"read", "my main"}, 2);
	/* the id and the size stay numbers */
	cr_assert_eq(attr(lr, "kern_stack_id")->int_value, 7);
	cr_assert_eq(attr(lr, "ustack_sz")->int_value, 16);
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);

	/* a stack-count map's entry: the key's stacks and its folded line */
	uint64_t count = 99;
	struct btf *vb;
	struct eu_plan *vplan = make_value_plan(&vb);
	eu_buf_free(&blob);
	make_blob(&blob, true);
	struct eu_otlp_log_event s = {.package = "count", .event_type = "counts", .plan = vplan,
				      .data = &count, .size = 8, .sample = true, .key_plan = plan,
				      .key = &ev, .key_size = sizeof(ev), .value_scalar = true,
				      .stacks = &layout, .stack_blob = blob.data,
				      .stack_blob_size = blob.len};
	eu_buf_reset(&out);
	cr_assert_eq(eu_otlp_log_encode(&s, &out, &err), 0, "%s", err.msg);
	lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len,
							       (uint8_t *)out.data);
	cr_assert_not_null(lr);
	cr_assert_eq(attr(lr, "value")->int_value, 99);
	expect_frames(attr(lr, "kern_stack"), (const char *const[]){"[missing]"}, 1);
	cr_assert_str_eq(attr(lr, "folded")->string_value, "bash;my_main;read;[missing]");
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	eu_plan_free(vplan);
	btf__free(vb);
	eu_buf_free(&out);
	eu_buf_free(&blob);
	eu_plan_free(plan);
	btf__free(b);
}

Test(record_stacks, sample_json_has_key_frames_value_and_folded)
{
	struct btf *b;
	struct eu_plan *plan = make_plan(&b);
	struct btf *vb;
	struct eu_plan *vplan = make_value_plan(&vb);
	struct eu_record_source *src = stack_source(vplan, plan);
	eu_buf blob, out;
	make_blob(&blob, false);
	eu_buf_init(&out);
	uint64_t count = 12;
	struct eu_record r = {.src = src, .time_ns = 1795570140000000000ull, .data = &count,
			      .size = 8, .key = &ev, .key_size = sizeof(ev), .stacks = blob.data,
			      .stacks_size = (uint32_t)blob.len};
	cr_assert_eq(eu_record_format(&out, &r), 0);
	cJSON *j = cJSON_Parse(out.data);
	cr_assert(j, "%s", out.data);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "fields");
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(f, "key");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(key, "kern_stack")), 2);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(f, "value")->valueint, 12);
	/* user frames then kernel frames, each outermost first; ' ' in a name becomes '_' */
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(f, "folded")->valuestring,
			 "bash;my_main;read;entry_SYSCALL_64;do_sys_read");
	cJSON_Delete(j);
	eu_buf_free(&out);
	eu_buf_free(&blob);
	eu_record_source_unref(src);
	eu_plan_free(vplan);
	btf__free(vb);
	eu_plan_free(plan);
	btf__free(b);
}
