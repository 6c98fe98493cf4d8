/* OTLP encoding: key=value lists, semantic-convention names, the resource, an exec-like event
 * as a LogRecord (decoded back with the generated protobuf-c unpackers, field by field),
 * request assembly by scope, counters as Sums, configuration from the environment. */
#include <criterion/criterion.h>

#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "eunomia/decoder.h"
#include "sinks/otlp/otlp.h"
#include "eunomia/record.h"
#include "otlp_fixture.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;

#define AV(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

/* ---- a fake environment ---- */
struct fake_env {
	const char *kv[32][2];
};

static const char *fake_getenv(void *ctx, const char *name)
{
	struct fake_env *e = ctx;
	for (size_t i = 0; i < 32 && e->kv[i][0]; i++)
		if (!strcmp(e->kv[i][0], name))
			return e->kv[i][1];
	return NULL;
}

static const AnyValue *attr(KeyValue **kvs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kvs[i]->key, key))
			return kvs[i]->value;
	return NULL;
}

static const char *attr_str(KeyValue **kvs, size_t n, const char *key)
{
	const AnyValue *v = attr(kvs, n, key);
	cr_assert_not_null(v, "attribute %s missing", key);
	cr_assert_eq(v->value_case, AV(STRING_VALUE), "attribute %s not a string", key);
	return v->string_value;
}

static int64_t attr_int(KeyValue **kvs, size_t n, const char *key)
{
	const AnyValue *v = attr(kvs, n, key);
	cr_assert_not_null(v, "attribute %s missing", key);
	cr_assert_eq(v->value_case, AV(INT_VALUE), "attribute %s not an int (%d)", key,
		     v->value_case);
	return v->int_value;
}

Test(otlp_kvs, parses_trims_and_percent_decodes)
{
	struct eu_otlp_kvs kvs;
	eu_error err = {0};
	cr_assert_eq(eu_otlp_kvs_parse(" a = 1 ,, b=x%2Cy%3D%20z,c=caf%C3%A9 ,d=", &kvs, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(kvs.n, 4);
	cr_assert_str_eq(kvs.v[0].key, "a");
	cr_assert_str_eq(kvs.v[0].value, "1");
	cr_assert_str_eq(kvs.v[1].key, "b");
	cr_assert_str_eq(kvs.v[1].value, "x,y= z");
	cr_assert_str_eq(kvs.v[2].value, "caf\xC3\xA9");
	cr_assert_str_eq(kvs.v[3].key, "d");
	cr_assert_str_eq(kvs.v[3].value, "");
	eu_otlp_kvs_free(&kvs);
}

Test(otlp_kvs, refuses_bad_members)
{
	static const char *const bad[] = {"a=1,b", "=1", "a=%zz", "a=%4", "a=%FF"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct eu_otlp_kvs kvs;
		eu_error err = {0};
		cr_assert_eq(eu_otlp_kvs_parse(bad[i], &kvs, &err), -EINVAL, "%s accepted", bad[i]);
		cr_assert_eq(kvs.n, 0);
		cr_assert(strstr(err.msg, "member"), "%s", err.msg);
	}
}

Test(otlp_semconv, table_and_override)
{
	cr_assert_str_eq(eu_otlp_attr_name("pid", NULL, 0), "process.pid");
	cr_assert_str_eq(eu_otlp_attr_name("ppid", NULL, 0), "process.parent_pid");
	cr_assert_str_eq(eu_otlp_attr_name("comm", NULL, 0), "process.executable.name");
	cr_assert_str_eq(eu_otlp_attr_name("exit_code", NULL, 0), "process.exit.code");
	cr_assert_str_eq(eu_otlp_attr_name("filename", NULL, 0), "file.path");
	cr_assert_str_eq(eu_otlp_attr_name("dport", NULL, 0), "destination.port");
	cr_assert_str_eq(eu_otlp_attr_name("duration_ns", NULL, 0), "duration_ns");
	struct eu_otlp_attr_map map[] = {{"pid", "my.pid"}, {"comm", ""}};
	cr_assert_str_eq(eu_otlp_attr_name("pid", map, 2), "my.pid");
	cr_assert_null(eu_otlp_attr_name("comm", map, 2));
	cr_assert_str_eq(eu_otlp_attr_name("ppid", map, 2), "process.parent_pid");
}

Test(otlp_resource, defaults_env_and_precedence)
{
	struct fake_env env = {{{"OTEL_SERVICE_NAME", "svc"},
				{"OTEL_RESOURCE_ATTRIBUTES",
				 "service.name=ignored,deployment.environment=prod%20eu,host.name=h2"}}};
	struct eu_otlp_resource_opts o = {.service_version = "9.9", .host_name = "h1",
					  .getenv = fake_getenv, .getenv_ctx = &env};
	eu_buf b;
	eu_buf_init(&b);
	eu_error err = {0};
	cr_assert_eq(eu_otlp_resource_encode(&o, &b, &err), 0, "%s", err.msg);
	Opentelemetry__Proto__Resource__V1__Resource *r =
		opentelemetry__proto__resource__v1__resource__unpack(NULL, b.len,
								     (uint8_t *)b.data);
	cr_assert_not_null(r);
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "service.name"), "svc");
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "service.version"), "9.9");
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "host.name"), "h2");
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "os.type"), "linux");
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "telemetry.sdk.language"), "c");
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "telemetry.sdk.name"),
			 "eunomia-agent");
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "deployment.environment"),
			 "prod eu");
#if defined(__x86_64__)
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "host.arch"), "amd64");
#endif
	/* every key once */
	for (size_t i = 0; i < r->n_attributes; i++)
		for (size_t j = i + 1; j < r->n_attributes; j++)
			cr_assert_str_neq(r->attributes[i]->key, r->attributes[j]->key);
	opentelemetry__proto__resource__v1__resource__free_unpacked(r, NULL);

	/* OTEL_RESOURCE_ATTRIBUTES names service.name when OTEL_SERVICE_NAME is unset; a bad
	 * list is dropped whole and reported */
	struct fake_env env2 = {{{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"}}};
	o.getenv_ctx = &env2;
	eu_buf_reset(&b);
	cr_assert_eq(eu_otlp_resource_encode(&o, &b, &err), 0);
	r = opentelemetry__proto__resource__v1__resource__unpack(NULL, b.len, (uint8_t *)b.data);
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "service.name"), "from-attrs");
	opentelemetry__proto__resource__v1__resource__free_unpacked(r, NULL);

	struct fake_env env3 = {{{"OTEL_RESOURCE_ATTRIBUTES", "a=1,b=%G0"}}};
	o.getenv_ctx = &env3;
	eu_buf_reset(&b);
	cr_assert_eq(eu_otlp_resource_encode(&o, &b, &err), 1);
	cr_assert(strstr(err.msg, "OTEL_RESOURCE_ATTRIBUTES ignored"), "%s", err.msg);
	r = opentelemetry__proto__resource__v1__resource__unpack(NULL, b.len, (uint8_t *)b.data);
	cr_assert_null(attr(r->attributes, r->n_attributes, "a"));
	cr_assert_str_eq(attr_str(r->attributes, r->n_attributes, "service.name"),
			 "eunomia-agent");
	opentelemetry__proto__resource__v1__resource__free_unpacked(r, NULL);
	eu_buf_free(&b);
}

Test(otlp_logs, exec_event_is_a_typed_log_record)
{
	struct exec_fixture f;
	exec_fixture(&f);
	struct eu_otlp_log_event ev = {.package = "bootstrap", .event_type = "event",
				       .plan = f.plan, .data = f.rec, .size = f.size,
				       .time_unix_nano = 1700000000123456789ull,
				       .observed_time_unix_nano = 1700000000223456789ull};
	eu_buf b;
	eu_buf_init(&b);
	eu_error err = {0};
	cr_assert_eq(eu_otlp_log_encode(&ev, &b, &err), 0, "%s", err.msg);
	LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, b.len,
									  (uint8_t *)b.data);
	cr_assert_not_null(lr);
	cr_assert_eq(lr->time_unix_nano, 1700000000123456789ull);
	cr_assert_eq(lr->observed_time_unix_nano, 1700000000223456789ull);
	cr_assert_eq(lr->severity_number, 9);
	cr_assert_str_eq(lr->severity_text, "INFO");
	cr_assert_str_eq(lr->event_name, "bootstrap.event");
	cr_assert_eq(lr->body->value_case, AV(STRING_VALUE));
	cr_assert_str_eq(lr->body->string_value, "bootstrap.event");
	KeyValue **kv = lr->attributes;
	size_t n = lr->n_attributes;
	cr_assert_eq(n, 12);
	cr_assert_eq(attr_int(kv, n, "process.pid"), 4242);
	cr_assert_eq(attr_int(kv, n, "process.parent_pid"), 1);
	cr_assert_eq(attr_int(kv, n, "process.exit.code"), 0);
	cr_assert_eq(attr_int(kv, n, "duration_ns"), 123456789);
	cr_assert_str_eq(attr_str(kv, n, "process.executable.name"), "ba\xEF\xBF\xBDsh");
	cr_assert_str_eq(attr_str(kv, n, "file.path"), "/usr/bin/bash");
	const AnyValue *v = attr(kv, n, "exit_event");
	cr_assert_eq(v->value_case, AV(BOOL_VALUE));
	cr_assert_eq(v->bool_value, 1);
	v = attr(kv, n, "ratio");
	cr_assert_eq(v->value_case, AV(DOUBLE_VALUE));
	cr_assert_float_eq(v->double_value, 0.25, 0);
	v = attr(kv, n, "raw");
	cr_assert_eq(v->value_case, AV(BYTES_VALUE));
	cr_assert_eq(v->bytes_value.len, 4);
	cr_assert_eq(memcmp(v->bytes_value.data, "\x01\x00\xfe\x7f", 4), 0);
	v = attr(kv, n, "vals");
	cr_assert_eq(v->value_case, AV(ARRAY_VALUE));
	cr_assert_eq(v->array_value->n_values, 3);
	cr_assert_eq(v->array_value->values[0]->int_value, -1);
	cr_assert_eq(v->array_value->values[2]->int_value, 300);
	v = attr(kv, n, "in");
	cr_assert_eq(v->value_case, AV(KVLIST_VALUE));
	cr_assert_eq(v->kvlist_value->n_values, 2);
	cr_assert_eq(attr_int(v->kvlist_value->values, 2, "a"), -7);
	cr_assert_eq(attr(v->kvlist_value->values, 2, "b")->bool_value, 1);
	cr_assert_str_eq(attr_str(kv, n, "big"), "18446744073709551615");
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);

	/* severity and mapping overrides; a short record is refused */
	struct eu_otlp_attr_map map[] = {{"pid", "tgid"}, {"raw", ""}};
	ev.severity_number = 17;
	ev.map = map;
	ev.n_map = 2;
	eu_buf_reset(&b);
	cr_assert_eq(eu_otlp_log_encode(&ev, &b, &err), 0, "%s", err.msg);
	lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, b.len, (uint8_t *)b.data);
	cr_assert_str_eq(lr->severity_text, "ERROR");
	cr_assert_eq(lr->n_attributes, 11);
	cr_assert_eq(attr_int(lr->attributes, lr->n_attributes, "tgid"), 4242);
	cr_assert_null(attr(lr->attributes, lr->n_attributes, "raw"));
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	ev.size = 50;
	eu_buf_reset(&b);
	cr_assert_eq(eu_otlp_log_encode(&ev, &b, &err), -EINVAL);
	cr_assert(strstr(err.msg, "bootstrap.event"), "%s", err.msg);
	eu_buf_free(&b);
	exec_fixture_free(&f);
}

/* Nested values of 128 bytes and more get a multi-byte length written after their body (the
 * body moves up): a long array of structs inside a struct, and a signed byte array as bytes,
 * encoded twice into one reused buffer with names resolved once. */
Test(otlp_logs, long_nested_values_and_reused_buffers)
{
	struct btf *b = btf__new_empty();
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int s8 = btf__add_int(b, "signed char", 1, BTF_INT_SIGNED);
	int idx = btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0);
	int pt = btf__add_struct(b, "pt", 8);
	cr_assert_eq(btf__add_field(b, "x", i32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "y", i32, 32, 0), 0);
	int pts = btf__add_array(b, idx, pt, 40);
	int sb = btf__add_array(b, idx, s8, 3);
	int wrap = btf__add_struct(b, "wrap", 320);
	cr_assert_eq(btf__add_field(b, "pts", pts, 0, 0), 0);
	int ev = btf__add_struct(b, "ev", 324);
	cr_assert_eq(btf__add_field(b, "w", wrap, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "sb", sb, 2560, 0), 0);
	struct eu_plan *plan;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)ev, &plan, &err), 0, "%s", err.msg);
	int32_t rec[81] = {0};
	for (int i = 0; i < 80; i++)
		rec[i] = i % 2 ? -i * 1000 : i * 100000;
	memcpy(&rec[80], "\xff\x01\x80", 3);
	const char **names;
	cr_assert_eq(eu_otlp_attr_names(plan, NULL, 0, &names), 0);
	eu_buf scratch, out;
	eu_buf_init(&scratch);
	eu_buf_init(&out);
	struct eu_otlp_log_event e = {.package = "p", .event_type = "ev", .plan = plan,
				      .data = rec, .size = sizeof(rec), .attr_names = names,
				      .scratch = &scratch};
	for (int round = 0; round < 2; round++) {
		eu_buf_reset(&out);
		cr_assert_eq(eu_otlp_log_encode(&e, &out, &err), 0, "%s", err.msg);
		LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(
			NULL, out.len, (uint8_t *)out.data);
		cr_assert_not_null(lr, "round %d: not protobuf", round);
		cr_assert_eq(lr->n_attributes, 2);
		const AnyValue *w = attr(lr->attributes, 2, "w");
		cr_assert_eq(w->value_case, AV(KVLIST_VALUE));
		const AnyValue *a = attr(w->kvlist_value->values, w->kvlist_value->n_values, "pts");
		cr_assert_eq(a->value_case, AV(ARRAY_VALUE));
		cr_assert_eq(a->array_value->n_values, 40);
		for (size_t i = 0; i < 40; i++) {
			const AnyValue *p = a->array_value->values[i];
			cr_assert_eq(p->value_case, AV(KVLIST_VALUE));
			cr_assert_eq(attr_int(p->kvlist_value->values, 2, "x"), rec[2 * i]);
			cr_assert_eq(attr_int(p->kvlist_value->values, 2, "y"), rec[2 * i + 1]);
		}
		const AnyValue *v = attr(lr->attributes, 2, "sb");
		cr_assert_eq(v->value_case, AV(BYTES_VALUE));
		cr_assert_eq(v->bytes_value.len, 3);
		cr_assert_eq(memcmp(v->bytes_value.data, "\xff\x01\x80", 3), 0);
		opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	}
	free(names);
	eu_buf_free(&scratch);
	eu_buf_free(&out);
	eu_plan_free(plan);
	btf__free(b);
}

Test(otlp_logs, request_groups_records_by_scope_in_order)
{
	eu_buf res, recs[3], req;
	eu_buf_init(&res);
	eu_buf_init(&req);
	struct eu_otlp_resource_opts o = {.host_name = "h"};
	cr_assert_eq(eu_otlp_resource_encode(&o, &res, NULL), 0);
	struct exec_fixture f;
	exec_fixture(&f);
	struct eu_otlp_scoped_record sr[3];
	const char *scopes[3][2] = {{"bootstrap", "1.0"}, {"opensnoop", "2.0"}, {"bootstrap", "1.0"}};
	for (int i = 0; i < 3; i++) {
		eu_buf_init(&recs[i]);
		struct eu_otlp_log_event ev = {.package = scopes[i][0], .event_type = "event",
					       .plan = f.plan, .data = f.rec, .size = f.size,
					       .time_unix_nano = (uint64_t)i + 1};
		cr_assert_eq(eu_otlp_log_encode(&ev, &recs[i], NULL), 0);
		sr[i] = (struct eu_otlp_scoped_record){scopes[i][0], scopes[i][1], recs[i].data,
						       recs[i].len};
	}
	cr_assert_eq(eu_otlp_logs_request(res.data, res.len, sr, 3, &req), 0);
	Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *r =
		opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
			NULL, req.len, (uint8_t *)req.data);
	cr_assert_not_null(r);
	cr_assert_eq(r->n_resource_logs, 1);
	Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = r->resource_logs[0];
	cr_assert_str_eq(attr_str(rl->resource->attributes, rl->resource->n_attributes,
				  "host.name"), "h");
	cr_assert_eq(rl->n_scope_logs, 2);
	cr_assert_str_eq(rl->scope_logs[0]->scope->name, "bootstrap");
	cr_assert_str_eq(rl->scope_logs[0]->scope->version, "1.0");
	cr_assert_eq(rl->scope_logs[0]->n_log_records, 2);
	cr_assert_eq(rl->scope_logs[0]->log_records[0]->time_unix_nano, 1);
	cr_assert_eq(rl->scope_logs[0]->log_records[1]->time_unix_nano, 3);
	cr_assert_str_eq(rl->scope_logs[1]->scope->name, "opensnoop");
	cr_assert_eq(rl->scope_logs[1]->n_log_records, 1);
	cr_assert_str_eq(rl->scope_logs[1]->log_records[0]->event_name, "opensnoop.event");
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(
		r, NULL);
	for (int i = 0; i < 3; i++)
		eu_buf_free(&recs[i]);
	eu_buf_free(&res);
	eu_buf_free(&req);
	exec_fixture_free(&f);
}

Test(otlp_metrics, counters_are_monotonic_cumulative_sums_gauges_are_gauges)
{
	struct eu_otlp_kv a1[] = {{"program", "bootstrap"}}, a2[] = {{"program", "opensnoop"}};
	struct eu_otlp_counter c[] = {
		{"eunomia.events.received", "events", "{event}", 10, a1, 1, false},
		{"eunomia.events.received", "events", "{event}", 20, a2, 1, false},
		{"eunomia.events.lost", "lost", "{event}", UINT64_MAX, NULL, 0, false},
		{"eunomia.queue.length", "queued", "{record}", 7, a1, 1, true},
		{"eunomia.queue.length", "queued", "{record}", 9, a2, 1, true},
	};
	eu_buf b;
	eu_buf_init(&b);
	cr_assert_eq(eu_otlp_metrics_request("", 0, "eunomia-agent", "0.1.0", 100, 200, c, 5, &b,
					     NULL), 0);
	Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r =
		opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
			NULL, b.len, (uint8_t *)b.data);
	cr_assert_not_null(r);
	cr_assert_eq(r->n_resource_metrics, 1);
	Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = r->resource_metrics[0]->scope_metrics[0];
	cr_assert_str_eq(sm->scope->name, "eunomia-agent");
	cr_assert_eq(sm->n_metrics, 3);
	Opentelemetry__Proto__Metrics__V1__Metric *m = sm->metrics[0];
	cr_assert_str_eq(m->name, "eunomia.events.received");
	cr_assert_str_eq(m->unit, "{event}");
	cr_assert_eq(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
	cr_assert(m->sum->is_monotonic);
	cr_assert_eq(m->sum->aggregation_temporality, 2);
	cr_assert_eq(m->sum->n_data_points, 2);
	cr_assert_eq(m->sum->data_points[0]->start_time_unix_nano, 100);
	cr_assert_eq(m->sum->data_points[0]->time_unix_nano, 200);
	cr_assert_eq(m->sum->data_points[0]->as_int, 10);
	cr_assert_str_eq(m->sum->data_points[1]->attributes[0]->value->string_value, "opensnoop");
	cr_assert_eq(m->sum->data_points[1]->as_int, 20);
	cr_assert_eq(sm->metrics[1]->sum->data_points[0]->as_int, INT64_MAX);
	/* gauges: one Gauge metric, points at the export time with no start */
	Opentelemetry__Proto__Metrics__V1__Metric *g = sm->metrics[2];
	cr_assert_str_eq(g->name, "eunomia.queue.length");
	cr_assert_eq(g->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
	cr_assert_eq(g->gauge->n_data_points, 2);
	cr_assert_eq(g->gauge->data_points[0]->start_time_unix_nano, 0);
	cr_assert_eq(g->gauge->data_points[0]->time_unix_nano, 200);
	cr_assert_eq(g->gauge->data_points[0]->as_int, 7);
	cr_assert_eq(g->gauge->data_points[1]->as_int, 9);
	cr_assert_str_eq(g->gauge->data_points[1]->attributes[0]->value->string_value, "opensnoop");
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
	eu_buf_free(&b);
}

Test(otlp_retry_after, seconds_and_dates)
{
	cr_assert_eq(eu_otlp_retry_after_ms("3", 0), 3000);
	cr_assert_eq(eu_otlp_retry_after_ms(" 0 ", 0), 0);
	cr_assert_eq(eu_otlp_retry_after_ms("abc", 0), -1);
	cr_assert_eq(eu_otlp_retry_after_ms("-1", 0), -1);
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	cr_assert_eq(eu_otlp_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7000);
	cr_assert_eq(eu_otlp_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111800), 0);
}

/* A sampled map entry: its key and value as the attributes "key" and "value" (a kvlist of the
 * plan's fields, or the only field's value when scalar; no key plan: an empty value). */
Test(otlp_logs, sampled_map_entry_is_key_and_value)
{
	struct exec_fixture f;
	exec_fixture(&f);
	uint8_t key[120];
	memcpy(key, f.rec, sizeof(key));
	int32_t pid = 77;
	memcpy(key, &pid, 4);
	struct eu_otlp_log_event ev = {.package = "agg", .event_type = "counts", .plan = f.plan,
				       .data = f.rec, .size = f.size, .sample = true,
				       .key_plan = f.plan, .key = key, .key_size = f.size,
				       .key_scalar = true, .observed_time_unix_nano = 5};
	eu_buf b;
	eu_buf_init(&b);
	eu_error err = {0};
	cr_assert_eq(eu_otlp_log_encode(&ev, &b, &err), 0, "%s", err.msg);
	LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, b.len,
									  (uint8_t *)b.data);
	cr_assert_not_null(lr);
	cr_assert_str_eq(lr->event_name, "agg.counts");
	cr_assert_eq(lr->n_attributes, 2);
	/* scalar key: the first field's value (pid) itself */
	cr_assert_eq(attr_int(lr->attributes, 2, "key"), 77);
	const AnyValue *v = attr(lr->attributes, 2, "value");
	cr_assert_eq(v->value_case, AV(KVLIST_VALUE));
	cr_assert_eq(v->kvlist_value->n_values, 12);
	/* field names as they are: the semantic-convention names are for event attributes */
	cr_assert_eq(attr_int(v->kvlist_value->values, 12, "pid"), 4242);
	cr_assert_str_eq(attr_str(v->kvlist_value->values, 12, "filename"), "/usr/bin/bash");
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);

	/* no key plan: an empty value; a short value is refused */
	ev.key_plan = NULL;
	ev.value_scalar = true;
	eu_buf_reset(&b);
	cr_assert_eq(eu_otlp_log_encode(&ev, &b, &err), 0, "%s", err.msg);
	lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, b.len, (uint8_t *)b.data);
	cr_assert_not_null(lr);
	cr_assert_eq(attr(lr->attributes, 2, "key")->value_case, AV(_NOT_SET));
	cr_assert_eq(attr_int(lr->attributes, 2, "value"), 4242);
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	ev.size = 100;
	eu_buf_reset(&b);
	cr_assert_eq(eu_otlp_log_encode(&ev, &b, &err), -EINVAL);
	cr_assert_eq(b.len, 0);
	eu_buf_free(&b);
	exec_fixture_free(&f);
}

Test(otlp_logs, text_kinds_bitfields_and_unions)
{
	struct btf *b = btf__new_empty();
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int u8 = btf__add_int(b, "unsigned char", 1, 0);
	int idx = btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0);
	int en = btf__add_enum(b, "state", 4);
	cr_assert_eq(btf__add_enum_value(b, "TCP_ESTABLISHED", 1), 0);
	cr_assert_eq(btf__add_enum_value(b, "TCP_CLOSE", 7), 0);
	int ptr = btf__add_ptr(b, u32);
	int v4 = btf__add_typedef(b, "eu_ipv4_t", u32);
	int a16 = btf__add_array(b, idx, u8, 16);
	int v6 = btf__add_typedef(b, "eu_ip_t", a16);
	int un = btf__add_union(b, "u", 4);
	cr_assert_eq(btf__add_field(b, "x", u32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "y", u8, 0, 0), 0);
	int st = btf__add_struct(b, "ev", 48);
	cr_assert_eq(btf__add_field(b, "state", en, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "oldstate", en, 32, 0), 0);
	cr_assert_eq(btf__add_field(b, "p", ptr, 64, 0), 0);
	cr_assert_eq(btf__add_field(b, "saddr", v4, 128, 0), 0);
	cr_assert_eq(btf__add_field(b, "daddr", v6, 160, 0), 0);
	cr_assert_eq(btf__add_field(b, "flags", u32, 288, 3), 0);
	cr_assert_eq(btf__add_field(b, "u", un, 320, 0), 0);
	struct eu_plan *plan;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)st, &plan, &err), 0, "%s", err.msg);
	uint8_t rec[48] = {0};
	uint32_t s1 = 7, s2 = 5, addr = 0x0100007f, x = 0x01020304;
	uint64_t p = 0xffff8880dead0000ull;
	memcpy(rec, &s1, 4);
	memcpy(rec + 4, &s2, 4);
	memcpy(rec + 8, &p, 8);
	memcpy(rec + 16, &addr, 4);
	memcpy(rec + 20, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	rec[36] = 0x0d; /* flags:3 = 5 */
	memcpy(rec + 40, &x, 4);
	struct eu_otlp_log_event ev = {.package = "tcpstates", .event_type = "ev", .plan = plan,
				       .data = rec, .size = sizeof(rec)};
	eu_buf out;
	eu_buf_init(&out);
	cr_assert_eq(eu_otlp_log_encode(&ev, &out, &err), 0, "%s", err.msg);
	LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len,
									  (uint8_t *)out.data);
	KeyValue **kv = lr->attributes;
	size_t n = lr->n_attributes;
	cr_assert_str_eq(attr_str(kv, n, "state"), "TCP_CLOSE");
	cr_assert_str_eq(attr_str(kv, n, "oldstate"), "5");
	cr_assert_str_eq(attr_str(kv, n, "p"), "0xffff8880dead0000");
	cr_assert_str_eq(attr_str(kv, n, "source.address"), "127.0.0.1");
	cr_assert_str_eq(attr_str(kv, n, "destination.address"), "2001:db8::1");
	cr_assert_eq(attr_int(kv, n, "flags"), 5);
	const AnyValue *u = attr(kv, n, "u");
	cr_assert_eq(u->value_case, AV(KVLIST_VALUE));
	cr_assert_eq(attr_int(u->kvlist_value->values, 2, "x"), 0x01020304);
	cr_assert_eq(attr_int(u->kvlist_value->values, 2, "y"), 4);
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	eu_buf_free(&out);
	eu_plan_free(plan);
	btf__free(b);
}

Test(otlp_logs, severity_names_and_numbers)
{
	int n = 0;
	cr_assert_eq(eu_otlp_severity_parse("INFO", &n), 0);
	cr_assert_eq(n, 9);
	cr_assert_eq(eu_otlp_severity_parse("warn", &n), 0);
	cr_assert_eq(n, 13);
	cr_assert_eq(eu_otlp_severity_parse("ERROR3", &n), 0);
	cr_assert_eq(n, 19);
	cr_assert_eq(eu_otlp_severity_parse("FATAL4", &n), 0);
	cr_assert_eq(n, 24);
	cr_assert_eq(eu_otlp_severity_parse("1", &n), 0);
	cr_assert_eq(n, 1);
	static const char *const bad[] = {"", "0", "25", "INFO5", "INFO1", "LOUD", "9x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(eu_otlp_severity_parse(bad[i], &n), -EINVAL, "%s accepted", bad[i]);
}

/* Values read for people: a named value's number as its attribute and its name beside it
 * (sig_name), as JSON has them; at top level and inside a struct; a value with no name (an
 * unknown signal) has no _name attribute. */
Test(otlp_logs, named_values_carry_their_names)
{
	struct btf *b = btf__new_empty();
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int in = btf__add_struct(b, "inner", 4);
	cr_assert_eq(btf__add_field(b, "signo", i32, 0, 0), 0);
	int st = btf__add_struct(b, "kill", 12);
	cr_assert_eq(btf__add_field(b, "pid", i32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "sig", i32, 32, 0), 0);
	cr_assert_eq(btf__add_field(b, "in", in, 64, 0), 0);
	struct eu_plan *plan;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)st, &plan, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_plan_read_for_people(plan, 0), 0);
	int32_t rec[3] = {77, 10, 9};
	struct eu_otlp_log_event ev = {.package = "killsnoop", .event_type = "kill", .plan = plan,
				       .data = rec, .size = sizeof(rec)};
	eu_buf out;
	eu_buf_init(&out);
	cr_assert_eq(eu_otlp_log_encode(&ev, &out, &err), 0, "%s", err.msg);
	LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len,
									  (uint8_t *)out.data);
	cr_assert_not_null(lr);
	KeyValue **kv = lr->attributes;
	size_t n = lr->n_attributes;
	cr_assert_eq(n, 4);
	cr_assert_eq(attr_int(kv, n, "sig"), 10);
	cr_assert_str_eq(attr_str(kv, n, "sig_name"), "SIGUSR1");
	const AnyValue *v = attr(kv, n, "in");
	cr_assert_eq(v->value_case, AV(KVLIST_VALUE));
	cr_assert_eq(v->kvlist_value->n_values, 2);
	cr_assert_eq(attr_int(v->kvlist_value->values, 2, "signo"), 9);
	cr_assert_str_eq(attr_str(v->kvlist_value->values, 2, "signo_name"), "SIGKILL");
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	rec[1] = 40;
	eu_buf_reset(&out);
	cr_assert_eq(eu_otlp_log_encode(&ev, &out, &err), 0, "%s", err.msg);
	lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len, (uint8_t *)out.data);
	cr_assert_not_null(lr);
	cr_assert_eq(attr_int(lr->attributes, lr->n_attributes, "sig"), 40);
	cr_assert_null(attr(lr->attributes, lr->n_attributes, "sig_name"));
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	eu_buf_free(&out);
	eu_plan_free(plan);
	btf__free(b);
}

/* A record with no plan (a Wasm module's output line): its text is the body, no attributes. */
Test(otlp_logs, text_record_is_the_body)
{
	const char line[] = "hello \xff world";
	struct eu_otlp_log_event ev = {.package = "mod", .event_type = "stdout", .text = line,
				       .text_len = sizeof(line) - 1, .time_unix_nano = 3};
	eu_buf out;
	eu_buf_init(&out);
	eu_error err = {0};
	cr_assert_eq(eu_otlp_log_encode(&ev, &out, &err), 0, "%s", err.msg);
	LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len,
									  (uint8_t *)out.data);
	cr_assert_not_null(lr);
	cr_assert_eq(lr->body->value_case, AV(STRING_VALUE));
	cr_assert_str_eq(lr->body->string_value, "hello \xef\xbf\xbd world");
	cr_assert_str_eq(lr->event_name, "mod.stdout");
	cr_assert_eq(lr->n_attributes, 0);
	cr_assert_eq(lr->time_unix_nano, 3);
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	eu_buf_free(&out);
}

/* Every kind of value, inside structs and arrays, long (two-byte lengths) and not UTF-8 (in a
 * value and in a key), through the encoder's fast path for scalars and its general one: the
 * values decode as expected, and the bytes are canonical protobuf (protobuf-c packs the
 * decoded message back to exactly the same bytes, every length minimal). */
Test(otlp_logs, every_kind_is_canonical_protobuf)
{
	struct btf *b = btf__new_empty();
	int ch = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int bl = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
	int dbl = btf__add_float(b, "double", 8);
	int idx = btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0);
	int c160 = btf__add_array(b, idx, ch, 160);
	int c8 = btf__add_array(b, idx, ch, 8);
	int c4 = btf__add_array(b, idx, ch, 4);
	int i3 = btf__add_array(b, idx, i32, 3);
	int in = btf__add_struct(b, "inner", 8);
	cr_assert_eq(btf__add_field(b, "a", i32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "s", c4, 32, 0), 0);
	int st = btf__add_struct(b, "ev", 216);
	cr_assert_eq(btf__add_field(b, "txt", c160, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "bad", c8, 160 * 8, 0), 0);
	cr_assert_eq(btf__add_field(b, "utf", c8, 168 * 8, 0), 0);
	cr_assert_eq(btf__add_field(b, "big", u64, 176 * 8, 0), 0);
	cr_assert_eq(btf__add_field(b, "d", dbl, 184 * 8, 0), 0);
	cr_assert_eq(btf__add_field(b, "flag", bl, 192 * 8, 0), 0);
	cr_assert_eq(btf__add_field(b, "arr", i3, 196 * 8, 0), 0);
	cr_assert_eq(btf__add_field(b, "in", in, 208 * 8, 0), 0);
	struct eu_plan *plan;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)st, &plan, &err), 0, "%s", err.msg);
	unsigned char rec[216] = {0};
	char txt[151];
	for (int i = 0; i < 150; i++)
		txt[i] = (char)('a' + i % 26);
	txt[150] = '\0';
	memcpy(rec, txt, 151);
	memcpy(rec + 160, "ab\xff" "c\xe2\x82", 6);
	memcpy(rec + 168, "h\xc3\xa9llo", 7);
	uint64_t big = UINT64_MAX;
	double d = 2.5;
	int32_t arr[3] = {1, -2, 300}, a = -5;
	memcpy(rec + 176, &big, 8);
	memcpy(rec + 184, &d, 8);
	rec[192] = 1;
	memcpy(rec + 196, arr, 12);
	memcpy(rec + 208, &a, 4);
	memcpy(rec + 212, "ok", 3);
	/* a key that is not UTF-8 (from the attributes setting) */
	struct eu_otlp_attr_map map[] = {{"utf", "u\xffname"}};
	const char **names;
	cr_assert_eq(eu_otlp_attr_names(plan, map, 1, &names), 0);
	eu_buf out, again;
	eu_buf_init(&out);
	eu_buf_init(&again);
	struct eu_otlp_log_event ev = {.package = "p\xc3\xa9", .event_type = "ev", .plan = plan,
				       .data = rec, .size = sizeof(rec), .attr_names = names,
				       .time_unix_nano = 1700000000123456789ull,
				       .observed_time_unix_nano = 1700000000223456789ull};
	cr_assert_eq(eu_otlp_log_encode(&ev, &out, &err), 0, "%s", err.msg);
	LogRecord *lr = opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len,
									  (uint8_t *)out.data);
	cr_assert_not_null(lr);
	KeyValue **kv = lr->attributes;
	size_t n = lr->n_attributes;
	cr_assert_eq(n, 8);
	cr_assert_str_eq(lr->body->string_value, "p\xc3\xa9.ev");
	cr_assert_str_eq(lr->event_name, "p\xc3\xa9.ev");
	cr_assert_str_eq(attr_str(kv, n, "txt"), txt);
	cr_assert_str_eq(attr_str(kv, n, "bad"), "ab\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd");
	cr_assert_str_eq(attr_str(kv, n, "u\xef\xbf\xbdname"), "h\xc3\xa9llo");
	cr_assert_str_eq(attr_str(kv, n, "big"), "18446744073709551615");
	const AnyValue *v = attr(kv, n, "d");
	cr_assert_eq(v->value_case, AV(DOUBLE_VALUE));
	cr_assert_float_eq(v->double_value, 2.5, 0);
	v = attr(kv, n, "flag");
	cr_assert_eq(v->value_case, AV(BOOL_VALUE));
	cr_assert(v->bool_value);
	v = attr(kv, n, "arr");
	cr_assert_eq(v->value_case, AV(ARRAY_VALUE));
	cr_assert_eq(v->array_value->n_values, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(v->array_value->values[i]->value_case, AV(INT_VALUE));
		cr_assert_eq(v->array_value->values[i]->int_value, arr[i]);
	}
	v = attr(kv, n, "in");
	cr_assert_eq(v->value_case, AV(KVLIST_VALUE));
	cr_assert_eq(attr_int(v->kvlist_value->values, 2, "a"), -5);
	cr_assert_str_eq(attr_str(v->kvlist_value->values, 2, "s"), "ok");
	size_t len = opentelemetry__proto__logs__v1__log_record__get_packed_size(lr);
	cr_assert(eu_buf_reserve(&again, len));
	cr_assert_eq(opentelemetry__proto__logs__v1__log_record__pack(lr, (uint8_t *)again.data),
		     len);
	cr_assert_eq(len, out.len, "repacked %zu bytes, encoded %zu", len, out.len);
	cr_assert_eq(memcmp(again.data, out.data, len), 0, "not canonical protobuf");
	opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	/* with what the sink works out once per source (a prep, its names copied, then freed):
	 * the same bytes, the non-UTF-8 key and package repaired alike; with text too */
	struct eu_otlp_log_event tmpl = ev;
	tmpl.severity_number = 17;
	struct eu_otlp_log_prep *prep;
	cr_assert_eq(eu_otlp_log_prep_new(&tmpl, &prep), 0);
	eu_buf with;
	eu_buf_init(&with);
	for (int k = 0; k < 2; k++) {
		struct eu_otlp_log_event e = tmpl;
		if (k) {
			e.text = "a line \xff";
			e.text_len = strlen(e.text);
		}
		eu_buf_reset(&out);
		eu_buf_reset(&with);
		cr_assert_eq(eu_otlp_log_encode(&e, &out, &err), 0, "%s", err.msg);
		e.prep = prep;
		e.attr_names = NULL; /* the prep's names are used */
		cr_assert_eq(eu_otlp_log_encode(&e, &with, &err), 0, "%s", err.msg);
		cr_assert_eq(with.len, out.len, "record %d: %zu bytes with the prep, %zu without", k,
			     with.len, out.len);
		cr_assert_eq(memcmp(with.data, out.data, out.len), 0, "record %d differs", k);
	}
	eu_otlp_log_prep_free(prep);
	eu_buf_free(&with);
	free(names);
	eu_buf_free(&out);
	eu_buf_free(&again);
	eu_plan_free(plan);
	btf__free(b);
}
