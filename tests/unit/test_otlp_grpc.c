/* OTLP/gRPC against a real gRPC server on loopback (grpcio, services from the repository's
 * official .proto files: tests/lib/otlp_grpc_receiver.py): logs and metrics arrive and decode
 * by value, over h2c and over TLS with ALPN, gzip-compressed or not; injected UNAVAILABLE is
 * retried, RESOURCE_EXHAUSTED is dropped without RetryInfo and retried after RetryInfo's delay
 * with it, INVALID_ARGUMENT is dropped, a partial success is counted; a receiver that is down
 * is told at once with its URL, and its recovery once. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"

#include "eu_grpc_receiver.h"
#include "eu_http_receiver.h"
#include "eu_run_util.h"
#include "eunomia/log.h"
#include "sinks/otlp/otlp.h"

static struct {
	uv_loop_t loop;
	struct eu_grpc_receiver *rx;
	struct eu_otlp_exporter *exp;
	eu_buf resource;
	eu_buf logbuf; /* every WARN/INFO line the exporter logged, one per line */
} F;

static void capture_log(void *ctx, enum eu_log_level level, const char *msg)
{
	(void)ctx;
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s %s\n", eu_log_level_name(level), msg);
	eu_buf_append(&F.logbuf, line, n > 0 && (size_t)n < sizeof(line) ? (size_t)n : 0);
}

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	cr_assert_eq(uv_loop_init(&F.loop), 0);
	eu_buf_init(&F.resource);
	eu_buf_init(&F.logbuf);
	struct eu_otlp_resource_opts o = {.host_name = "grpc-host"};
	cr_assert_eq(eu_otlp_resource_encode(&o, &F.resource, NULL), 0);
	eu_log_set_sink(capture_log, NULL);
	eu_log_set_level(EU_LOG_INFO);
}

static void teardown(void)
{
	if (F.exp)
		eu_otlp_exporter_close(F.exp);
	uv_run(&F.loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&F.loop), 0, "handles left open on the loop");
	eu_grpc_receiver_stop(F.rx);
	eu_log_set_sink(NULL, NULL);
	eu_buf_free(&F.resource);
	eu_buf_free(&F.logbuf);
}

TestSuite(otlp_grpc, .init = setup, .fini = teardown, .timeout = 90);

struct fake_env {
	const char *kv[8][2];
};

static const char *fake_getenv(void *ctx, const char *name)
{
	struct fake_env *e = ctx;
	for (size_t i = 0; i < 8 && e->kv[i][0]; i++)
		if (!strcmp(e->kv[i][0], name))
			return e->kv[i][1];
	return NULL;
}

static void start_rx(uint16_t port, const char *script, const char *cert, const char *key)
{
	const char *why = NULL;
	struct eu_grpc_receiver_opts o = {port, script, cert, key, false};
	F.rx = eu_grpc_receiver_start(&o, &why);
	cr_assert_not_null(F.rx, "%s", why);
}

/* An exporter speaking grpc to endpoint, with short timers. */
static void start_exporter(const char *endpoint, bool gzip, const char *ca)
{
	struct fake_env env = {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
				{"OTEL_EXPORTER_OTLP_COMPRESSION", gzip ? "gzip" : "none"},
				{"OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k%201"},
				{"OTEL_EXPORTER_OTLP_TIMEOUT", "3000"},
				{ca ? "OTEL_EXPORTER_OTLP_CERTIFICATE" : NULL, ca}}};
	struct eu_otlp_config cfg;
	eu_error err = {0};
	cr_assert_eq(eu_otlp_config_from_env(&cfg, endpoint, fake_getenv, &env, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(cfg.logs.protocol, EU_OTLP_GRPC);
	cfg.schedule_delay_ms = 20;
	cfg.retry_initial_ms = 50;
	cfg.retry_max_ms = 100;
	cfg.export_timeout_ms = 8000;
	cr_assert_eq(eu_otlp_exporter_new(&F.loop, &cfg, F.resource.data, F.resource.len, &F.exp,
					  &err), 0, "%s", err.msg);
	eu_otlp_config_free(&cfg);
}

static void on_tick(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Runs the loop until the exporter is idle (or timeout_ms). */
static void run_until_idle(int timeout_ms)
{
	uv_timer_t t;
	uv_timer_init(&F.loop, &t);
	uv_timer_start(&t, on_tick, 10, 10);
	uint64_t until = eu_http_now_ms() + (uint64_t)timeout_ms;
	while (eu_http_now_ms() < until && !eu_otlp_exporter_idle(F.exp))
		uv_run(&F.loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&F.loop, UV_RUN_NOWAIT);
}

static void run_for(int ms)
{
	uv_timer_t t;
	uv_timer_init(&F.loop, &t);
	uv_timer_start(&t, on_tick, 10, 10);
	uint64_t until = eu_http_now_ms() + (uint64_t)ms;
	while (eu_http_now_ms() < until)
		uv_run(&F.loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&F.loop, UV_RUN_NOWAIT);
}

/* Queues record i: time i, body "event <i>", attributes n=i (int), name="rec-<i>", ok=(i odd),
 * ratio=i/4.0, raw=bytes {i, 0xff}. */
static void log_record(uint64_t i)
{
	Opentelemetry__Proto__Logs__V1__LogRecord lr;
	opentelemetry__proto__logs__v1__log_record__init(&lr);
	lr.time_unix_nano = 1700000000000000000ull + i;
	lr.severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN;
	char body[32], name[32];
	snprintf(body, sizeof(body), "event %llu", (unsigned long long)i);
	snprintf(name, sizeof(name), "rec-%llu", (unsigned long long)i);
	Opentelemetry__Proto__Common__V1__AnyValue bv, v[5];
	opentelemetry__proto__common__v1__any_value__init(&bv);
	bv.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	bv.string_value = body;
	lr.body = &bv;
	Opentelemetry__Proto__Common__V1__KeyValue kv[5], *kvp[5];
	static const char *const keys[] = {"n", "name", "ok", "ratio", "raw"};
	uint8_t raw[2] = {(uint8_t)i, 0xff};
	for (int k = 0; k < 5; k++) {
		opentelemetry__proto__common__v1__key_value__init(&kv[k]);
		opentelemetry__proto__common__v1__any_value__init(&v[k]);
		kv[k].key = (char *)keys[k];
		kv[k].value = &v[k];
		kvp[k] = &kv[k];
	}
	v[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	v[0].int_value = (int64_t)i;
	v[1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v[1].string_value = name;
	v[2].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
	v[2].bool_value = i & 1;
	v[3].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
	v[3].double_value = (double)i / 4.0;
	v[4].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
	v[4].bytes_value.data = raw;
	v[4].bytes_value.len = 2;
	lr.attributes = kvp;
	lr.n_attributes = 5;
	uint8_t buf[512];
	size_t len = opentelemetry__proto__logs__v1__log_record__pack(&lr, buf);
	cr_assert_eq(eu_otlp_exporter_log(F.exp, "grpcpkg", "1.2.3", buf, len), 0);
}

static const cJSON *get(const cJSON *o, const char *path)
{
	/* "a.b.0.c": object members and array indexes */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	const cJSON *cur = o;
	for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
		if (tok[0] >= '0' && tok[0] <= '9')
			cur = cJSON_GetArrayItem(cur, atoi(tok));
		else
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
	}
	cr_assert_not_null(cur, "no %s in the decoded call", path);
	return cur;
}

static const char *str(const cJSON *o, const char *path)
{
	const cJSON *j = get(o, path);
	cr_assert(cJSON_IsString(j), "%s is not a string", path);
	return j->valuestring;
}

/* The attribute of record r with key k. */
static const cJSON *attr(const cJSON *r, const char *k)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(r, "attributes"))
		if (!strcmp(str(a, "key"), k))
			return get(a, "value");
	cr_assert_fail("record has no attribute %s", k);
	return NULL;
}

/* Every record of calls [from, to) decodes to what log_record(first..) queued, in order. */
static uint64_t check_logs(size_t from, size_t to, uint64_t first)
{
	uint64_t next = first;
	for (size_t c = from; c < to; c++) {
		const cJSON *call = eu_grpc_receiver_call(F.rx, c);
		cr_assert_str_eq(str(call, "service"), "logs");
		cr_assert_str_eq(str(call, "metadata.x-api-key"), "k 1");
		const cJSON *rl = get(call, "request.resource_logs.0");
		const cJSON *ra;
		bool host = false;
		cJSON_ArrayForEach(ra, get(rl, "resource.attributes"))
			host |= !strcmp(str(ra, "key"), "host.name") &&
				!strcmp(str(ra, "value.string_value"), "grpc-host");
		cr_assert(host, "resource lacks host.name=grpc-host");
		cr_assert_str_eq(str(rl, "scope_logs.0.scope.name"), "grpcpkg");
		cr_assert_str_eq(str(rl, "scope_logs.0.scope.version"), "1.2.3");
		const cJSON *r;
		cJSON_ArrayForEach(r, get(rl, "scope_logs.0.log_records")) {
			char want[64];
			snprintf(want, sizeof(want), "%llu",
				 1700000000000000000ull + (unsigned long long)next);
			cr_assert_str_eq(str(r, "time_unix_nano"), want);
			cr_assert_str_eq(str(r, "severity_number"), "SEVERITY_NUMBER_WARN");
			snprintf(want, sizeof(want), "event %llu", (unsigned long long)next);
			cr_assert_str_eq(str(r, "body.string_value"), want);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)next);
			cr_assert_str_eq(str(attr(r, "n"), "int_value"), want);
			snprintf(want, sizeof(want), "rec-%llu", (unsigned long long)next);
			cr_assert_str_eq(str(attr(r, "name"), "string_value"), want);
			cr_assert_eq(cJSON_IsTrue(get(attr(r, "ok"), "bool_value")), (bool)(next & 1));
			cr_assert_float_eq(get(attr(r, "ratio"), "double_value")->valuedouble,
					   (double)next / 4.0, 1e-9);
			uint8_t raw[2] = {(uint8_t)next, 0xff};
			char *b64 = eu_base64(raw, 2, 0);
			cr_assert_str_eq(str(attr(r, "raw"), "bytes_value"), b64);
			free(b64);
			next++;
		}
	}
	return next;
}

static void endpoint(char *out, size_t n, const char *scheme, uint16_t port)
{
	snprintf(out, n, "%s://127.0.0.1:%u", scheme, port);
}

static void logs_arrive_by_value(bool gzip)
{
	start_rx(0, NULL, NULL, NULL);
	char ep[64];
	endpoint(ep, sizeof(ep), "http", eu_grpc_receiver_port(F.rx));
	start_exporter(ep, gzip, NULL);
	/* three batches: calls after the first reuse the connection */
	for (uint64_t i = 1; i <= 1100; i++)
		log_record(i);
	eu_otlp_exporter_flush(F.exp);
	run_until_idle(10000);
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(F.exp, &st);
	cr_assert_eq(st.logs.exported, 1100, "exported %llu: log:\n%s",
		     (unsigned long long)st.logs.exported, F.logbuf.data);
	cr_assert_eq(st.logs.retries, 0);
	size_t n = eu_grpc_receiver_count(F.rx);
	cr_assert_eq(n, 3);
	cr_assert_eq(check_logs(0, n, 1), 1101);
	if (gzip)
		cr_assert_lt(st.logs.bytes_sent, st.logs.bytes_raw, "gzip did not shrink the calls");
	else
		cr_assert_eq(st.logs.bytes_sent, st.logs.bytes_raw + 5 * st.logs.requests);
	/* what was resolved is said once at start */
	char want[128];
	snprintf(want, sizeof(want), "exporting to http://127.0.0.1:%u/opentelemetry.proto."
				     "collector.logs.v1.LogsService/Export (grpc, %s",
		 eu_grpc_receiver_port(F.rx), gzip ? "gzip" : "no compression");
	cr_assert(strstr(F.logbuf.data, want), "no <%s> in the log:\n%s", want, F.logbuf.data);
}

Test(otlp_grpc, logs_arrive_by_value_h2c)
{
	logs_arrive_by_value(false);
}

Test(otlp_grpc, logs_arrive_by_value_h2c_gzip)
{
	logs_arrive_by_value(true);
}

/* Queues one metrics request (a counter of value v). */
static void metrics_request(int64_t v)
{
	struct eu_otlp_counter c = {"eunomia.events", "events seen", "{event}", v, NULL, 0, false};
	eu_buf req;
	eu_buf_init(&req);
	cr_assert_eq(eu_otlp_metrics_request(F.resource.data, F.resource.len, "eunomia-agent",
					     "0.1", 100, 200, &c, 1, &req, NULL), 0);
	cr_assert_eq(eu_otlp_exporter_metrics(F.exp, req.data, req.len), 0);
	eu_buf_free(&req);
}

/* Calls [from, to) came on one connection: the client end the receiver saw. */
static const char *one_peer(size_t from, size_t to)
{
	const char *peer = str(eu_grpc_receiver_call(F.rx, from), "peer");
	for (size_t c = from + 1; c < to; c++)
		cr_assert_str_eq(str(eu_grpc_receiver_call(F.rx, c), "peer"), peer,
				 "call %zu came on another connection", c);
	return peer;
}

/* Sends a batch of logs, then two more with a metrics request in flight beside them, to a
 * receiver that has had no call yet: each arrives once, in order, on the connection the
 * first opened. */
static void three_batches_on_one_connection(uint64_t first)
{
	for (uint64_t i = first; i < first + 500; i++)
		log_record(i);
	eu_otlp_exporter_flush(F.exp);
	run_until_idle(10000);
	for (uint64_t i = first + 500; i < first + 1100; i++)
		log_record(i);
	metrics_request((int64_t)first);
	eu_otlp_exporter_flush(F.exp);
	run_until_idle(10000);
	cr_assert(eu_grpc_receiver_wait(F.rx, 4, 5000), "%zu calls; log:\n%s",
		  eu_grpc_receiver_count(F.rx), F.logbuf.data ? F.logbuf.data : "");
	size_t n = eu_grpc_receiver_count(F.rx);
	cr_assert_eq(n, 4, "%zu calls to this receiver", n);
	one_peer(0, n);
	size_t metrics = 0;
	uint64_t next = first;
	for (size_t c = 0; c < n; c++) {
		const cJSON *call = eu_grpc_receiver_call(F.rx, c);
		if (strcmp(str(call, "service"), "metrics")) {
			next = check_logs(c, c + 1, next);
			continue;
		}
		char want[32];
		snprintf(want, sizeof(want), "%llu", (unsigned long long)first);
		cr_assert_str_eq(str(call, "request.resource_metrics.0.scope_metrics.0.metrics.0."
					   "sum.data_points.0.as_int"), want);
		metrics++;
	}
	cr_assert_eq(metrics, 1);
	cr_assert_eq(next, first + 1100);
}

Test(otlp_grpc, h2c_keeps_one_connection_across_a_receiver_restart)
{
	/* libcurl before 8.0 cannot reuse a prior-knowledge h2c connection (curl#10634) and
	 * upgrades from HTTP/1.1 otherwise, which gRPC servers refuse: otlp_http.c reuses with
	 * plain HTTP/2 and opens only prior-knowledge connections. A refused upgrade, or a
	 * request on a reused connection that the bug breaks, would fail the call: every call
	 * here must succeed at the first attempt (no retry, no warning). */
	start_rx(0, NULL, NULL, NULL);
	uint16_t port = eu_grpc_receiver_port(F.rx);
	char ep[64];
	endpoint(ep, sizeof(ep), "http", port);
	start_exporter(ep, true, NULL);
	three_batches_on_one_connection(1);
	/* the collector restarts between requests, on the same port */
	eu_grpc_receiver_stop(F.rx);
	F.rx = NULL;
	start_rx(port, NULL, NULL, NULL);
	three_batches_on_one_connection(1101);
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(F.exp, &st);
	cr_assert_eq(st.logs.exported, 2200);
	cr_assert_eq(st.logs.requests, 6, "%llu logs requests",
		     (unsigned long long)st.logs.requests);
	cr_assert_eq(st.logs.retries, 0, "log:\n%s", F.logbuf.data);
	cr_assert_eq(st.metrics.exported, 2);
	cr_assert_eq(st.metrics.requests, 2);
	cr_assert_eq(st.metrics.retries, 0, "log:\n%s", F.logbuf.data);
	cr_assert_null(strstr(F.logbuf.data, "WARN"), "log:\n%s", F.logbuf.data);
}

Test(otlp_grpc, metrics_arrive_by_value)
{
	start_rx(0, NULL, NULL, NULL);
	char ep[64];
	endpoint(ep, sizeof(ep), "http", eu_grpc_receiver_port(F.rx));
	start_exporter(ep, true, NULL);
	struct eu_otlp_kv a = {"package", "opensnoop"};
	struct eu_otlp_counter c[] = {
		{"eunomia.events", "events seen", "{event}", 12345, &a, 1, false},
		{"eunomia.queue.length", "records waiting", "{record}", 7, NULL, 0, true},
	};
	eu_buf req;
	eu_buf_init(&req);
	cr_assert_eq(eu_otlp_metrics_request(F.resource.data, F.resource.len, "eunomia-agent",
					     "0.1", 100, 200, c, 2, &req, NULL), 0);
	cr_assert_eq(eu_otlp_exporter_metrics(F.exp, req.data, req.len), 0);
	eu_buf_free(&req);
	eu_otlp_exporter_flush(F.exp);
	run_until_idle(10000);
	cr_assert(eu_grpc_receiver_wait(F.rx, 1, 5000));
	const cJSON *call = eu_grpc_receiver_call(F.rx, 0);
	cr_assert_str_eq(str(call, "service"), "metrics");
	const cJSON *ms = get(call, "request.resource_metrics.0.scope_metrics.0.metrics");
	cr_assert_str_eq(str(ms, "0.name"), "eunomia.events");
	cr_assert_str_eq(str(ms, "0.sum.data_points.0.as_int"), "12345");
	cr_assert(cJSON_IsTrue(get(ms, "0.sum.is_monotonic")));
	cr_assert_str_eq(str(ms, "0.sum.data_points.0.attributes.0.value.string_value"),
			 "opensnoop");
	cr_assert_str_eq(str(ms, "1.name"), "eunomia.queue.length");
	cr_assert_str_eq(str(ms, "1.gauge.data_points.0.as_int"), "7");
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(F.exp, &st);
	cr_assert_eq(st.metrics.exported, 1);
}

static char certdir[] = "/tmp/otlp-grpc-tls-XXXXXX";

Test(otlp_grpc, tls_with_alpn)
{
	cr_assert_not_null(mkdtemp(certdir));
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && exec >log 2>&1 && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-keyout server.key -out server.pem -days 2 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1",
		 certdir);
	cr_assert_eq(system(cmd), 0, "openssl could not make a certificate (%s/log)", certdir);
	char cert[128], key[128];
	snprintf(cert, sizeof(cert), "%s/server.pem", certdir);
	snprintf(key, sizeof(key), "%s/server.key", certdir);
	start_rx(0, NULL, cert, key);
	char ep[64];
	endpoint(ep, sizeof(ep), "https", eu_grpc_receiver_port(F.rx));
	start_exporter(ep, true, cert);
	/* two batches: the second call reuses the TLS connection */
	for (uint64_t i = 1; i <= 600; i++)
		log_record(i);
	eu_otlp_exporter_flush(F.exp);
	run_until_idle(10000);
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(F.exp, &st);
	cr_assert_eq(st.logs.exported, 600, "log:\n%s", F.logbuf.data);
	cr_assert_eq(eu_grpc_receiver_count(F.rx), 2);
	cr_assert_eq(check_logs(0, 2, 1), 601);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
	cr_assert_eq(system(cmd), 0);
}

/* One batch of 10 through a script; returns the stats once the exporter is idle. */
static struct eu_otlp_signal_stats scripted(const char *script)
{
	start_rx(0, script, NULL, NULL);
	char ep[64];
	endpoint(ep, sizeof(ep), "http", eu_grpc_receiver_port(F.rx));
	start_exporter(ep, false, NULL);
	for (uint64_t i = 1; i <= 10; i++)
		log_record(i);
	eu_otlp_exporter_flush(F.exp);
	run_until_idle(15000);
	cr_assert(eu_otlp_exporter_idle(F.exp), "still busy; log:\n%s", F.logbuf.data);
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(F.exp, &st);
	return st.logs;
}

Test(otlp_grpc, unavailable_is_retried)
{
	struct eu_otlp_signal_stats st = scripted("unavailable,unavailable");
	cr_assert_eq(st.exported, 10, "log:\n%s", F.logbuf.data);
	cr_assert_eq(st.requests, 3);
	cr_assert_eq(st.retries, 2);
	cr_assert_eq(st.dropped_non_retryable + st.dropped_retries_exhausted, 0);
	cr_assert_eq(eu_grpc_receiver_count(F.rx), 3);
	cr_assert_str_eq(str(eu_grpc_receiver_call(F.rx, 0), "answer"), "UNAVAILABLE");
	/* every attempt carried the same batch */
	for (size_t c = 0; c < 3; c++)
		cr_assert_eq(check_logs(c, c + 1, 1), 11);
	/* told at once, with the URL and the gRPC reason; and once when it worked again */
	cr_assert(strstr(F.logbuf.data, "failed: gRPC UNAVAILABLE: injected unavailable"),
		  "log:\n%s", F.logbuf.data);
	cr_assert(strstr(F.logbuf.data, "LogsService/Export failed"), "log:\n%s", F.logbuf.data);
	cr_assert(strstr(F.logbuf.data, "works again"), "log:\n%s", F.logbuf.data);
}

Test(otlp_grpc, resource_exhausted_without_retry_info_is_dropped)
{
	struct eu_otlp_signal_stats st = scripted("resource_exhausted");
	cr_assert_eq(st.exported, 0);
	cr_assert_eq(st.requests, 1);
	cr_assert_eq(st.retries, 0);
	cr_assert_eq(st.dropped_non_retryable, 10);
	cr_assert_eq(eu_grpc_receiver_count(F.rx), 1);
	cr_assert(strstr(F.logbuf.data, "RESOURCE_EXHAUSTED"), "log:\n%s", F.logbuf.data);
	cr_assert(strstr(F.logbuf.data, "10 records dropped"), "log:\n%s", F.logbuf.data);
}

Test(otlp_grpc, resource_exhausted_with_retry_info_waits_its_delay)
{
	struct eu_otlp_signal_stats st = scripted("resource_exhausted/retry:700");
	cr_assert_eq(st.exported, 10);
	cr_assert_eq(st.retries, 1);
	cr_assert_eq(st.dropped_non_retryable, 0);
	cr_assert_eq(eu_grpc_receiver_count(F.rx), 2);
	cr_assert_eq(check_logs(1, 2, 1), 11);
}

Test(otlp_grpc, invalid_argument_is_dropped)
{
	struct eu_otlp_signal_stats st = scripted("invalid_argument");
	cr_assert_eq(st.exported, 0);
	cr_assert_eq(st.retries, 0);
	cr_assert_eq(st.dropped_non_retryable, 10);
}

Test(otlp_grpc, partial_success_is_counted)
{
	struct eu_otlp_signal_stats st = scripted("partial:3:three too big");
	cr_assert_eq(st.exported, 10);
	cr_assert_eq(st.rejected, 3);
	cr_assert(strstr(F.logbuf.data, "partial success: 3 rejected: three too big"), "log:\n%s",
		  F.logbuf.data);
}

Test(otlp_grpc, receiver_down_is_told_at_once_and_recovery_once)
{
	/* a port nothing listens on (yet) */
	start_rx(0, NULL, NULL, NULL);
	uint16_t port = eu_grpc_receiver_port(F.rx);
	eu_grpc_receiver_stop(F.rx);
	F.rx = NULL;
	char ep[64];
	endpoint(ep, sizeof(ep), "http", port);
	start_exporter(ep, false, NULL);
	uint64_t t0 = eu_http_now_ms();
	log_record(1);
	eu_otlp_exporter_flush(F.exp);
	char url[160];
	snprintf(url, sizeof(url),
		 "export to http://127.0.0.1:%u/opentelemetry.proto.collector.logs.v1.LogsService/"
		 "Export failed: ", port);
	while (!(F.logbuf.data && strstr(F.logbuf.data, url)) && eu_http_now_ms() - t0 < 5000)
		run_for(20);
	cr_assert(F.logbuf.data && strstr(F.logbuf.data, url), "no <%s> within 5 s:\n%s", url,
		  F.logbuf.data ? F.logbuf.data : "");
	run_for(600); /* more failed attempts: no more warnings than the first */
	cr_assert_eq(strstr(strstr(F.logbuf.data, url) + strlen(url), url), NULL,
		     "the failure was told more than once:\n%s", F.logbuf.data);
	start_rx(port, NULL, NULL, NULL);
	run_until_idle(10000);
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(F.exp, &st);
	cr_assert_eq(st.logs.exported, 1);
	cr_assert_geq(st.logs.retries, 2);
	cr_assert(strstr(F.logbuf.data, "works again after"), "log:\n%s", F.logbuf.data);
}
