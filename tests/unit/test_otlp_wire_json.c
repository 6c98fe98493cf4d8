/* OTLP http/json: requests made by the real encoders (a LogRecord from a BTF plan with every
 * value kind, the metrics registry's Sums, Gauges and Histograms) transcoded to the OTLP JSON
 * mapping and read back with cJSON, every field checked by value; ids as hex, repeated fields
 * split by other fields, and every kind of malformed input refused without touching the
 * output; the JSON partial success of a response. */
#include <criterion/criterion.h>

#include <bpf/btf.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "eunomia/decoder.h"
#include "metrics/metrics.h"
#include "sinks/otlp/otlp.h"
#include "sinks/otlp/otlp_priv.h"
#include "sinks/otlp/otlp_wire_json.h"

/* ---- reading the JSON back ---- */

static cJSON *transcode(enum eu_otlp_wire_request kind, const eu_buf *pb, eu_buf *text)
{
	eu_error err = {0};
	eu_buf_reset(text);
	cr_assert_eq(eu_otlp_wire_json(kind, pb->data, pb->len, text, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_utf8_valid_prefix(text->data, text->len), text->len, "not UTF-8: %s",
		     text->data);
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts(text->data, &end, true); /* all of it, nothing after */
	cr_assert_not_null(j, "not JSON near <%.40s>:\n%s", end ? end : "", text->data);
	return j;
}

/* obj's member by path "a.b.0.c" (numbers index arrays); asserts it is there. */
static const cJSON *at(const cJSON *obj, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	const cJSON *v = obj;
	for (char *save, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (*k >= '0' && *k <= '9') {
			cr_assert(cJSON_IsArray(v), "%s: %s is not an array", path, k);
			v = cJSON_GetArrayItem(v, atoi(k));
		} else {
			v = cJSON_GetObjectItemCaseSensitive(v, k);
		}
		cr_assert_not_null(v, "%s: no %s", path, k);
	}
	return v;
}

static const char *str_at(const cJSON *obj, const char *path)
{
	const cJSON *v = at(obj, path);
	cr_assert(cJSON_IsString(v), "%s is not a string", path);
	return v->valuestring;
}

static double num_at(const cJSON *obj, const char *path)
{
	const cJSON *v = at(obj, path);
	cr_assert(cJSON_IsNumber(v), "%s is not a number", path);
	return v->valuedouble;
}

/* The AnyValue of key in an array of KeyValues. */
static const cJSON *kv(const cJSON *kvs, const char *key)
{
	cr_assert(cJSON_IsArray(kvs));
	const cJSON *e;
	cJSON_ArrayForEach(e, kvs) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "key");
		if (cJSON_IsString(k) && !strcmp(k->valuestring, key))
			return at(e, "value");
	}
	cr_assert_fail("no attribute %s", key);
	return NULL;
}

/* The only member of an AnyValue: its name must be want. */
static const cJSON *one(const cJSON *any, const char *want)
{
	cr_assert_eq(cJSON_GetArraySize(any), 1, "AnyValue with %d members",
		     cJSON_GetArraySize(any));
	cr_assert_str_eq(any->child->string, want);
	return any->child;
}

static const char *any_str(const cJSON *kvs, const char *key, const char *member)
{
	const cJSON *v = one(kv(kvs, key), member);
	cr_assert(cJSON_IsString(v), "%s.%s is not a JSON string", key, member);
	return v->valuestring;
}

/* ---- a record with every kind of value, from the real encoder ---- */

/* struct deep { int z; };  struct mid { int a; struct deep d; };
 * struct ev { char name[8]; char quoted[16]; unsigned long long big; long long neg;
 *             double nan, inf, ninf, tenth; _Bool flag; int arr[3]; struct mid mid;
 *             unsigned char raw[4]; }; */
struct kinds {
	struct btf *btf;
	struct eu_plan *plan;
	unsigned char rec[104];
};

static void kinds_make(struct kinds *k)
{
	struct btf *b = btf__new_empty();
	cr_assert_not_null(b);
	int ch = btf__add_int(b, "char", 1, BTF_INT_CHAR);
	int i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int s64 = btf__add_int(b, "long long", 8, BTF_INT_SIGNED);
	int bl = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
	int dbl = btf__add_float(b, "double", 8);
	int u8 = btf__add_int(b, "unsigned char", 1, 0);
	int idx = btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0);
	int c8 = btf__add_array(b, idx, ch, 8);
	int c16 = btf__add_array(b, idx, ch, 16);
	int i3 = btf__add_array(b, idx, i32, 3);
	int r4 = btf__add_array(b, idx, u8, 4);
	int deep = btf__add_struct(b, "deep", 4);
	cr_assert_eq(btf__add_field(b, "z", i32, 0, 0), 0);
	int mid = btf__add_struct(b, "mid", 8);
	cr_assert_eq(btf__add_field(b, "a", i32, 0, 0), 0);
	cr_assert_eq(btf__add_field(b, "d", deep, 32, 0), 0);
	int ev = btf__add_struct(b, "ev", 104);
	static const struct {
		const char *name;
		unsigned off;
	} fields[] = {{"name", 0}, {"quoted", 8}, {"big", 24}, {"neg", 32}, {"nan", 40},
		      {"inf", 48}, {"ninf", 56}, {"tenth", 64}, {"flag", 72}, {"arr", 76},
		      {"mid", 88}, {"raw", 96}};
	int types[] = {c8, c16, u64, s64, dbl, dbl, dbl, dbl, bl, i3, mid, r4};
	for (size_t i = 0; i < 12; i++)
		cr_assert_eq(btf__add_field(b, fields[i].name, types[i], fields[i].off * 8, 0), 0);
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(b, (uint32_t)ev, &k->plan, &err), 0, "%s", err.msg);
	k->btf = b;
	unsigned char *r = k->rec;
	memset(r, 0, sizeof(k->rec));
	memcpy(r, "ab\xff", 3);                         /* not UTF-8 */
	memcpy(r + 8, "q\"b\\s\n\t\x01\xc3\xa9", 10);   /* quote, backslash, controls, é */
	uint64_t big = 18000000000000000000ull;         /* above INT64_MAX */
	int64_t neg = INT64_MIN;
	double d[4] = {NAN, INFINITY, -INFINITY, 0.1};
	memcpy(r + 24, &big, 8);
	memcpy(r + 32, &neg, 8);
	memcpy(r + 40, d, sizeof(d));
	r[72] = 1;
	int32_t arr[3] = {1, -2, 300}, a = -5, z = 7;
	memcpy(r + 76, arr, 12);
	memcpy(r + 88, &a, 4);
	memcpy(r + 92, &z, 4);
	memcpy(r + 96, "\x01\x00\xfe\x7f", 4);
}

static void kinds_free(struct kinds *k)
{
	eu_plan_free(k->plan);
	btf__free(k->btf);
}

/* An ExportLogsServiceRequest of three records of k (time 1, 2, 3) in scopes p1, p2, p1. */
static void kinds_request(struct kinds *k, eu_buf *req)
{
	eu_buf res, recs[3];
	eu_buf_init(&res);
	struct eu_otlp_resource_opts o = {.service_version = "9.9", .host_name = "h1"};
	cr_assert_eq(eu_otlp_resource_encode(&o, &res, NULL), 0);
	struct eu_otlp_scoped_record sr[3];
	for (int i = 0; i < 3; i++) {
		eu_buf_init(&recs[i]);
		struct eu_otlp_log_event ev = {.package = "pkg", .event_type = "ev", .plan = k->plan,
					       .data = k->rec, .size = sizeof(k->rec),
					       .time_unix_nano = 1700000000123456789ull + (uint64_t)i,
					       .observed_time_unix_nano = 1700000000223456789ull};
		eu_error err = {0};
		cr_assert_eq(eu_otlp_log_encode(&ev, &recs[i], &err), 0, "%s", err.msg);
		sr[i] = (struct eu_otlp_scoped_record){i == 1 ? "p2" : "p1", "1.0", recs[i].data,
						       recs[i].len};
	}
	cr_assert_eq(eu_otlp_logs_request(res.data, res.len, sr, 3, req), 0);
	for (int i = 0; i < 3; i++)
		eu_buf_free(&recs[i]);
	eu_buf_free(&res);
}

Test(otlp_wire_json, log_record_every_kind_by_value)
{
	struct kinds k;
	kinds_make(&k);
	eu_buf req, text;
	eu_buf_init(&req);
	eu_buf_init(&text);
	kinds_request(&k, &req);
	cJSON *j = transcode(EU_OTLP_WIRE_LOGS, &req, &text);

	/* the resource, and records grouped by scope in order of first appearance */
	const cJSON *rl = at(j, "resourceLogs.0");
	cr_assert_eq(cJSON_GetArraySize(at(j, "resourceLogs")), 1);
	cr_assert_str_eq(any_str(at(rl, "resource.attributes"), "host.name", "stringValue"), "h1");
	cr_assert_str_eq(any_str(at(rl, "resource.attributes"), "service.version", "stringValue"),
			 "9.9");
	cr_assert_eq(cJSON_GetArraySize(at(rl, "scopeLogs")), 2);
	cr_assert_str_eq(str_at(rl, "scopeLogs.0.scope.name"), "p1");
	cr_assert_str_eq(str_at(rl, "scopeLogs.0.scope.version"), "1.0");
	cr_assert_str_eq(str_at(rl, "scopeLogs.1.scope.name"), "p2");
	cr_assert_eq(cJSON_GetArraySize(at(rl, "scopeLogs.0.logRecords")), 2);
	cr_assert_str_eq(str_at(rl, "scopeLogs.0.logRecords.0.timeUnixNano"),
			 "1700000000123456789");
	cr_assert_str_eq(str_at(rl, "scopeLogs.0.logRecords.1.timeUnixNano"),
			 "1700000000123456791");
	cr_assert_str_eq(str_at(rl, "scopeLogs.1.logRecords.0.timeUnixNano"),
			 "1700000000123456790");

	const cJSON *lr = at(rl, "scopeLogs.0.logRecords.0");
	cr_assert_str_eq(str_at(lr, "observedTimeUnixNano"), "1700000000223456789");
	cr_assert_eq(num_at(lr, "severityNumber"), 9); /* an integer, not the enum's name */
	cr_assert_str_eq(str_at(lr, "severityText"), "INFO");
	cr_assert_str_eq(str_at(lr, "eventName"), "pkg.ev");
	cr_assert_str_eq(str_at(lr, "body.stringValue"), "pkg.ev");
	const cJSON *attrs = at(lr, "attributes");
	cr_assert_eq(cJSON_GetArraySize(attrs), 12);
	/* the encoder made the invalid byte U+FFFD; JSON carries it as UTF-8 */
	cr_assert_str_eq(any_str(attrs, "name", "stringValue"), "ab\xef\xbf\xbd");
	cr_assert_str_eq(any_str(attrs, "quoted", "stringValue"), "q\"b\\s\n\t\x01\xc3\xa9");
	cr_assert(strstr(text.data, "\"q\\\"b\\\\s\\n\\t\\u0001\xc3\xa9\""), "escapes: %s",
		  text.data);
	cr_assert_str_eq(any_str(attrs, "big", "stringValue"), "18000000000000000000");
	/* int64 as a decimal string */
	cr_assert_str_eq(any_str(attrs, "neg", "intValue"), "-9223372036854775808");
	cr_assert_str_eq(any_str(attrs, "nan", "doubleValue"), "NaN");
	cr_assert_str_eq(any_str(attrs, "inf", "doubleValue"), "Infinity");
	cr_assert_str_eq(any_str(attrs, "ninf", "doubleValue"), "-Infinity");
	const cJSON *tenth = one(kv(attrs, "tenth"), "doubleValue");
	cr_assert(cJSON_IsNumber(tenth));
	cr_assert_eq(tenth->valuedouble, 0.1, "0.1 did not survive: %.17g", tenth->valuedouble);
	cr_assert(cJSON_IsTrue(one(kv(attrs, "flag"), "boolValue")));
	const cJSON *arr = at(one(kv(attrs, "arr"), "arrayValue"), "values");
	cr_assert_eq(cJSON_GetArraySize(arr), 3);
	cr_assert_str_eq(str_at(arr, "0.intValue"), "1");
	cr_assert_str_eq(str_at(arr, "1.intValue"), "-2");
	cr_assert_str_eq(str_at(arr, "2.intValue"), "300");
	const cJSON *mid = at(one(kv(attrs, "mid"), "kvlistValue"), "values");
	cr_assert_str_eq(any_str(mid, "a", "intValue"), "-5");
	const cJSON *deep = at(one(kv(mid, "d"), "kvlistValue"), "values");
	cr_assert_str_eq(any_str(deep, "z", "intValue"), "7");
	/* bytes: standard base64 of 01 00 fe 7f */
	cr_assert_str_eq(any_str(attrs, "raw", "bytesValue"), "AQD+fw==");
	/* lowerCamelCase only: no proto field name leaks through */
	static const char *const snake[] = {"resource_logs", "scope_logs", "log_records",
					    "time_unix_nano", "severity_number", "event_name",
					    "string_value", "int_value", "kvlist_value"};
	for (size_t i = 0; i < sizeof(snake) / sizeof(snake[0]); i++)
		cr_assert_null(strstr(text.data, snake[i]), "%s in %s", snake[i], text.data);
	cJSON_Delete(j);
	eu_buf_free(&req);
	eu_buf_free(&text);
	kinds_free(&k);
}

/* ---- metrics from the registry and eu_otlp_metrics_request ---- */

Test(otlp_wire_json, metrics_sums_gauges_histograms_by_value)
{
	eu_error err = {0};
	struct eu_metrics_opts o = {.sz = sizeof(o)};
	struct eu_metrics *m;
	cr_assert_eq(eu_metrics_new(&o, &m, &err), 0);
	struct eu_metric_family *f;
	struct eu_metric_desc c = {.name = "opens", .help = "files opened",
				   .type = EU_METRIC_COUNTER};
	cr_assert_eq(eu_metrics_family(m, &c, &f, &err), 0);
	eu_metric_add(eu_metric_series_get(f, NULL, 100), 3);
	double bounds[] = {1, 10};
	struct eu_metric_desc h = {.name = "lat", .unit = "s", .type = EU_METRIC_HISTOGRAM,
				   .bounds = bounds, .n_bounds = 2};
	cr_assert_eq(eu_metrics_family(m, &h, &f, &err), 0);
	struct eu_metric_series *lat = eu_metric_series_get(f, NULL, 100);
	eu_metric_observe(lat, 0.5);
	eu_metric_observe(lat, 5);
	eu_metric_observe(lat, 50);
	struct eu_metric_desc g = {.name = "temp", .type = EU_METRIC_GAUGE};
	cr_assert_eq(eu_metrics_family(m, &g, &f, &err), 0);
	eu_metric_set(eu_metric_series_get(f, NULL, 100), -21.5, 100);
	eu_buf req, text;
	eu_buf_init(&req);
	eu_buf_init(&text);
	cr_assert_eq(eu_otlp_metrics_from_registry(m, "", 0, EU_TEMPORALITY_CUMULATIVE, 1000, &req,
						   &err), 0, "%s", err.msg);
	/* the exporter sends concatenated requests as one: the agent's counters follow */
	struct eu_otlp_counter ctr[] = {{"eunomia.big", "", "{event}", UINT64_MAX, NULL, 0, false},
					{"eunomia.queue", "", "{record}", 5, NULL, 0, true}};
	cr_assert_eq(eu_otlp_metrics_request("", 0, "agent", "1.2", 10, 20, ctr, 2, &req, &err), 0);
	cJSON *j = transcode(EU_OTLP_WIRE_METRICS, &req, &text);
	cr_assert_eq(cJSON_GetArraySize(at(j, "resourceMetrics")), 2);
	const cJSON *ms = at(j, "resourceMetrics.0.scopeMetrics.0.metrics");
	const cJSON *opens = NULL, *latm = NULL, *temp = NULL, *e;
	cJSON_ArrayForEach(e, ms) {
		const char *n = str_at(e, "name");
		if (!strcmp(n, "opens"))
			opens = e;
		else if (!strcmp(n, "lat"))
			latm = e;
		else if (!strcmp(n, "temp"))
			temp = e;
	}
	cr_assert(opens && latm && temp, "%s", text.data);
	cr_assert_str_eq(str_at(opens, "description"), "files opened");
	cr_assert(cJSON_IsTrue(at(opens, "sum.isMonotonic")));
	cr_assert_eq(num_at(opens, "sum.aggregationTemporality"), 2); /* CUMULATIVE */
	cr_assert_eq(num_at(opens, "sum.dataPoints.0.asDouble"), 3);
	cr_assert_str_eq(str_at(opens, "sum.dataPoints.0.startTimeUnixNano"), "100");
	cr_assert_str_eq(str_at(opens, "sum.dataPoints.0.timeUnixNano"), "1000");
	cr_assert_str_eq(str_at(latm, "unit"), "s");
	const cJSON *hp = at(latm, "histogram.dataPoints.0");
	cr_assert_str_eq(str_at(hp, "count"), "3");
	cr_assert_eq(num_at(hp, "sum"), 55.5);
	cr_assert_eq(cJSON_GetArraySize(at(hp, "bucketCounts")), 3);
	for (int i = 0; i < 3; i++) {
		char p[32];
		snprintf(p, sizeof(p), "bucketCounts.%d", i);
		cr_assert_str_eq(str_at(hp, p), "1"); /* fixed64: strings */
	}
	cr_assert_eq(cJSON_GetArraySize(at(hp, "explicitBounds")), 2);
	cr_assert_eq(num_at(hp, "explicitBounds.0"), 1);
	cr_assert_eq(num_at(hp, "explicitBounds.1"), 10);
	cr_assert_eq(num_at(temp, "gauge.dataPoints.0.asDouble"), -21.5);
	const cJSON *agent = at(j, "resourceMetrics.1.scopeMetrics.0");
	cr_assert_str_eq(str_at(agent, "scope.name"), "agent");
	cr_assert_str_eq(str_at(agent, "metrics.0.name"), "eunomia.big");
	/* sfixed64 asInt: a string; clamped to INT64_MAX by the encoder */
	cr_assert_str_eq(str_at(agent, "metrics.0.sum.dataPoints.0.asInt"),
			 "9223372036854775807");
	cr_assert_str_eq(str_at(agent, "metrics.1.gauge.dataPoints.0.asInt"), "5");
	cJSON_Delete(j);
	eu_buf_free(&req);
	eu_buf_free(&text);
	eu_metrics_free(m);
}

/* ---- what our encoders do not write, but the schema has ---- */

Test(otlp_wire_json, ids_are_hex_and_exemplars_flags_min_max)
{
	typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HPoint;
	Opentelemetry__Proto__Metrics__V1__Exemplar ex;
	opentelemetry__proto__metrics__v1__exemplar__init(&ex);
	uint8_t tid[16], sid[8];
	for (int i = 0; i < 16; i++)
		tid[i] = (uint8_t)(0xf0 + i);
	for (int i = 0; i < 8; i++)
		sid[i] = (uint8_t)(0x0a * i);
	ex.trace_id = (ProtobufCBinaryData){16, tid};
	ex.span_id = (ProtobufCBinaryData){8, sid};
	ex.value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
	ex.as_int = -3;
	ex.time_unix_nano = 18446744073709551615ull;
	Opentelemetry__Proto__Metrics__V1__Exemplar *exs[] = {&ex};
	HPoint hp;
	opentelemetry__proto__metrics__v1__histogram_data_point__init(&hp);
	hp.n_exemplars = 1;
	hp.exemplars = exs;
	hp.min = -0.5;
	hp.max = 1e300;
	hp.flags = 1;
	uint8_t buf[256];
	size_t n = opentelemetry__proto__metrics__v1__histogram_data_point__pack(&hp, buf);
	/* wrapped by hand: Metric{histogram{dataPoints}} in a request */
	eu_buf req, text, hist, metric, sm, rm;
	eu_buf_init(&req), eu_buf_init(&text), eu_buf_init(&hist), eu_buf_init(&metric);
	eu_buf_init(&sm), eu_buf_init(&rm);
	eu_pb_put_len_field(&hist, 1, n);
	eu_buf_append(&hist, buf, n);
	eu_pb_put_len_field(&metric, 9, hist.len);
	eu_buf_append(&metric, hist.data, hist.len);
	eu_pb_put_len_field(&sm, 2, metric.len);
	eu_buf_append(&sm, metric.data, metric.len);
	eu_pb_put_len_field(&rm, 2, sm.len);
	eu_buf_append(&rm, sm.data, sm.len);
	eu_pb_put_len_field(&req, 1, rm.len);
	eu_buf_append(&req, rm.data, rm.len);
	cJSON *j = transcode(EU_OTLP_WIRE_METRICS, &req, &text);
	const cJSON *p =
		at(j, "resourceMetrics.0.scopeMetrics.0.metrics.0.histogram.dataPoints.0");
	cr_assert_str_eq(str_at(p, "exemplars.0.traceId"), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	cr_assert_str_eq(str_at(p, "exemplars.0.spanId"), "000a141e28323c46");
	cr_assert_str_eq(str_at(p, "exemplars.0.asInt"), "-3");
	cr_assert_str_eq(str_at(p, "exemplars.0.timeUnixNano"), "18446744073709551615");
	cr_assert_eq(num_at(p, "flags"), 1);
	cr_assert_eq(num_at(p, "min"), -0.5);
	cr_assert_eq(num_at(p, "max"), 1e300);

	/* a LogRecord's ids and flags, its records split by another field of ScopeLogs (protobuf
	 * allows it): one logRecords array in wire order */
	Opentelemetry__Proto__Logs__V1__LogRecord lr;
	opentelemetry__proto__logs__v1__log_record__init(&lr);
	lr.trace_id = (ProtobufCBinaryData){16, tid};
	lr.span_id = (ProtobufCBinaryData){8, sid};
	lr.flags = 0x01;
	lr.time_unix_nano = 1;
	size_t a = opentelemetry__proto__logs__v1__log_record__pack(&lr, buf);
	lr.time_unix_nano = 2;
	size_t b = opentelemetry__proto__logs__v1__log_record__pack(&lr, buf + a);
	eu_buf_reset(&sm);
	eu_pb_put_len_field(&sm, 2, a);
	eu_buf_append(&sm, buf, a);
	eu_pb_put_len_field(&sm, 1, 3); /* scope { name: "s" } */
	eu_buf_append(&sm, "\x0a\x01s", 3);
	eu_pb_put_len_field(&sm, 2, b);
	eu_buf_append(&sm, buf + a, b);
	eu_buf_reset(&rm);
	eu_pb_put_len_field(&rm, 2, sm.len);
	eu_buf_append(&rm, sm.data, sm.len);
	eu_buf_reset(&req);
	eu_pb_put_len_field(&req, 1, rm.len);
	eu_buf_append(&req, rm.data, rm.len);
	cJSON_Delete(j);
	j = transcode(EU_OTLP_WIRE_LOGS, &req, &text);
	const cJSON *sl = at(j, "resourceLogs.0.scopeLogs.0");
	cr_assert_eq(cJSON_GetArraySize(at(sl, "logRecords")), 2, "%s", text.data);
	cr_assert_str_eq(str_at(sl, "logRecords.0.timeUnixNano"), "1");
	cr_assert_str_eq(str_at(sl, "logRecords.1.timeUnixNano"), "2");
	cr_assert_str_eq(str_at(sl, "scope.name"), "s");
	cr_assert_str_eq(str_at(sl, "logRecords.1.traceId"), "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	cr_assert_str_eq(str_at(sl, "logRecords.1.spanId"), "000a141e28323c46");
	cr_assert_eq(num_at(sl, "logRecords.1.flags"), 1);
	cJSON_Delete(j);
	eu_buf_free(&req), eu_buf_free(&text), eu_buf_free(&hist), eu_buf_free(&metric);
	eu_buf_free(&sm), eu_buf_free(&rm);
}

/* ---- malformed input ---- */

static void refused(enum eu_otlp_wire_request kind, const void *pb, size_t len, const char *why,
		    const char *want)
{
	eu_buf out;
	eu_buf_init(&out);
	eu_buf_puts(&out, "kept");
	eu_error err = {0};
	cr_assert_eq(eu_otlp_wire_json(kind, pb, len, &out, &err), -EINVAL, "%s accepted", why);
	cr_assert(strstr(err.msg, want), "%s: <%s> lacks <%s>", why, err.msg, want);
	cr_assert_eq(out.len, 4, "%s: the output was touched", why);
	cr_assert_str_eq(out.data, "kept");
	eu_buf_free(&out);
}

/* A logs request whose only LogRecord is rec[0..n) (scope-less ScopeLogs, no resource). */
static void logs_around(eu_buf *req, const void *rec, size_t n)
{
	eu_buf sl, rl;
	eu_buf_init(&sl), eu_buf_init(&rl);
	eu_buf_reset(req);
	eu_pb_put_len_field(&sl, 2, n);
	eu_buf_append(&sl, rec, n);
	eu_pb_put_len_field(&rl, 2, sl.len);
	eu_buf_append(&rl, sl.data, sl.len);
	eu_pb_put_len_field(req, 1, rl.len);
	eu_buf_append(req, rl.data, rl.len);
	eu_buf_free(&sl), eu_buf_free(&rl);
}

Test(otlp_wire_json, malformed_input_is_refused_and_output_untouched)
{
	static const struct {
		const char *rec; /* a LogRecord's bytes */
		size_t len;
		const char *why, *want;
	} bad[] = {
		{"\x09\x01\x02", 3, "a fixed64 cut short", "LogRecord"},
		{"\x10", 1, "a varint missing", "cut short"},
		{"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "an 11-byte varint",
		 "cut short"},
		{"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11, "a varint past 64 bits",
		 "cut short"},
		{"\x1a\x05" "ab", 4, "a length past the end", "cut short"},
		{"\x0b", 1, "a group (wire type 3)", "wire type"},
		{"\x00\x01", 2, "field number 0", "LogRecord"},
		{"\x68\x01", 2, "field 13, not in LogRecord", "field 13"},
		{"\x08\x01", 2, "timeUnixNano as a varint", "wrong wire type"},
		{"\x1a\x02\xc3\x28", 4, "severityText not UTF-8", "not UTF-8"},
		{"\x1a\x01x\x1a\x01y", 6, "severityText twice", "twice"},
		{"\x38\x80\x80\x80\x80\x10", 6, "droppedAttributesCount above uint32", "out of range"},
		{"\x10\x80\x80\x80\x80\x10", 6, "severityNumber above int32", "out of range"},
		/* body { stringValue "a" boolValue true }: two members of the oneof */
		{"\x2a\x05\x0a\x01" "a\x10\x01", 7, "two oneof members", "oneof"},
		/* attributes { key "k\xff" } */
		{"\x32\x04\x0a\x02k\xff", 6, "a key not UTF-8", "KeyValue"},
		/* body { arrayValue { values { ... cut } } } */
		{"\x2a\x04\x2a\x02\x0a\x05", 6, "an inner length past its message", "ArrayValue"},
	};
	eu_buf req;
	eu_buf_init(&req);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		logs_around(&req, bad[i].rec, bad[i].len);
		refused(EU_OTLP_WIRE_LOGS, req.data, req.len, bad[i].why, bad[i].want);
	}
	/* the request itself: a field the logs request lacks; a metrics field in logs */
	refused(EU_OTLP_WIRE_LOGS, "\x12\x00", 2, "field 2 of the request", "field 2");
	refused(EU_OTLP_WIRE_METRICS, "\x0a\x03\x12\x01\xff", 5, "a truncated ScopeMetrics",
		"ScopeMetrics");
	/* packed bucketCounts that is not a whole number of fixed64 */
	refused(EU_OTLP_WIRE_METRICS,
		"\x0a\x11\x12\x0f\x12\x0d\x4a\x0b\x0a\x09\x32\x07\x01\x02\x03\x04\x05\x06\x07", 19,
		"a packed run cut short", "packed");

	/* nesting deeper than the limit: AnyValue { arrayValue { values { ... } } } */
	eu_buf deep, tmp;
	eu_buf_init(&deep), eu_buf_init(&tmp);
	for (int i = 0; i < EU_OTLP_WIRE_MAX_DEPTH; i++) {
		eu_buf_reset(&tmp);
		eu_pb_put_len_field(&tmp, 1, deep.len); /* ArrayValue.values */
		eu_buf_append(&tmp, deep.data, deep.len);
		eu_buf_reset(&deep);
		eu_pb_put_len_field(&deep, 5, tmp.len); /* AnyValue.arrayValue */
		eu_buf_append(&deep, tmp.data, tmp.len);
	}
	eu_buf_reset(&tmp);
	eu_pb_put_len_field(&tmp, 5, deep.len); /* LogRecord.body */
	eu_buf_append(&tmp, deep.data, deep.len);
	logs_around(&req, tmp.data, tmp.len);
	refused(EU_OTLP_WIRE_LOGS, req.data, req.len, "too deep", "deeper");
	eu_buf_free(&deep), eu_buf_free(&tmp);

	/* every prefix of a real request: refused, or (cut at a field boundary) valid JSON */
	struct kinds k;
	kinds_make(&k);
	eu_buf full, out;
	eu_buf_init(&full), eu_buf_init(&out);
	kinds_request(&k, &full);
	size_t ok = 0;
	for (size_t n = 0; n < full.len; n++) {
		eu_error err = {0};
		eu_buf_reset(&out);
		int ret = eu_otlp_wire_json(EU_OTLP_WIRE_LOGS, full.data, n, &out, &err);
		cr_assert(ret == 0 || ret == -EINVAL, "prefix %zu: %d", n, ret);
		if (ret)
			continue;
		ok++;
		cJSON *j = cJSON_ParseWithLength(out.data, out.len);
		cr_assert_not_null(j, "prefix %zu: not JSON: %s", n, out.data);
		cJSON_Delete(j);
	}
	cr_assert_lt(ok, full.len / 10, "%zu of %zu prefixes accepted", ok, full.len);
	eu_buf_free(&full), eu_buf_free(&out), eu_buf_free(&req);
	kinds_free(&k);
}

Test(otlp_wire_json, partial_success_of_a_json_response)
{
	int64_t n;
	char msg[64];
	eu_error err = {0};
	const char *r1 = "{\"partialSuccess\":{\"rejectedLogRecords\":\"5\",\"errorMessage\":\"bad\"}}";
	cr_assert_eq(eu_otlp_wire_json_partial(EU_OTLP_WIRE_LOGS, r1, strlen(r1), &n, msg,
					       sizeof(msg), &err), 0, "%s", err.msg);
	cr_assert_eq(n, 5);
	cr_assert_str_eq(msg, "bad");
	/* a number is accepted as well as a string; the proto field names too */
	const char *r2 = "{\"partial_success\":{\"rejected_data_points\":7}}";
	cr_assert_eq(eu_otlp_wire_json_partial(EU_OTLP_WIRE_METRICS, r2, strlen(r2), &n, msg,
					       sizeof(msg), &err), 0);
	cr_assert_eq(n, 7);
	cr_assert_str_eq(msg, "");
	cr_assert_eq(eu_otlp_wire_json_partial(EU_OTLP_WIRE_LOGS, "{}", 2, &n, msg, sizeof(msg),
					       &err), 0);
	cr_assert_eq(n, 0);
	static const char *const bad[] = {"", "[]", "{\"partialSuccess\":1}", "<html>",
					  "{\"partialSuccess\":{\"rejectedLogRecords\":\"x\"}}",
					  "{\"partialSuccess\":{\"rejectedLogRecords\":1.5}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(eu_otlp_wire_json_partial(EU_OTLP_WIRE_LOGS, bad[i], strlen(bad[i]), &n,
						       msg, sizeof(msg), &err), -EINVAL, "%s",
			     bad[i]);
}
