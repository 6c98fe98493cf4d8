/* The OTEL_* exporter variables as the specification reads them: per-signal precedence, URL
 * rules for http/protobuf and grpc, enum values in any case, and invalid or unsupported values
 * reported (naming the variable and the value) and replaced by the default instead of failing
 * the start; the semantic-convention name of `uid`. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "eunomia/buf.h"
#include "eunomia/log.h"
#include "sinks/otlp/otlp.h"

struct fake_env {
	const char *kv[12][2];
};

static const char *fake_getenv(void *ctx, const char *name)
{
	struct fake_env *e = ctx;
	for (size_t i = 0; i < 12 && e->kv[i][0]; i++)
		if (!strcmp(e->kv[i][0], name))
			return e->kv[i][1];
	return NULL;
}

static eu_buf logbuf;

static void capture_log(void *ctx, enum eu_log_level level, const char *msg)
{
	(void)ctx;
	eu_buf_append(&logbuf, eu_log_level_name(level), strlen(eu_log_level_name(level)));
	eu_buf_append(&logbuf, " ", 1);
	eu_buf_append(&logbuf, msg, strlen(msg));
	eu_buf_append(&logbuf, "\n", 1);
}

static void setup(void)
{
	eu_buf_init(&logbuf);
	eu_log_set_sink(capture_log, NULL);
	eu_log_set_level(EU_LOG_INFO);
}

static void teardown(void)
{
	eu_log_set_sink(NULL, NULL);
	eu_buf_free(&logbuf);
}

TestSuite(otlp_env, .init = setup, .fini = teardown);

static const char *logged(void)
{
	return logbuf.data ? logbuf.data : "";
}

static void load(struct eu_otlp_config *cfg, const char *base, struct fake_env *e)
{
	eu_error err = {0};
	eu_buf_reset(&logbuf);
	cr_assert_eq(eu_otlp_config_from_env(cfg, base, fake_getenv, e, &err), 0, "%s", err.msg);
}

Test(otlp_env, defaults_and_precedence)
{
	struct eu_otlp_config cfg;
	struct fake_env none = {{{NULL, NULL}}};
	load(&cfg, NULL, &none);
	cr_assert_eq(cfg.logs.protocol, EU_OTLP_HTTP_PROTOBUF);
	cr_assert_str_eq(cfg.logs.url, "http://localhost:4318/v1/logs");
	cr_assert_str_eq(cfg.metrics.url, "http://localhost:4318/v1/metrics");
	cr_assert_eq(cfg.logs.gzip, false);
	cr_assert_eq(cfg.logs.timeout_ms, 10000);
	cr_assert_eq(cfg.max_queue, 2048);
	cr_assert_eq(cfg.max_batch, 512);
	cr_assert_eq(cfg.schedule_delay_ms, 1000);
	cr_assert_eq(cfg.export_timeout_ms, 30000);
	cr_assert_eq(cfg.gzip_level, 1, "the fastest level (bench/otlp_bench)");
	cr_assert_str_eq(logged(), "", "defaults warn about nothing");
	eu_otlp_config_free(&cfg);

	struct fake_env e = {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/base/"},
			      {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "https://l:1/custom"},
			      {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=se%20cret,x=1"},
			      {"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "m=2"},
			      {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
			      {"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"},
			      {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
			      {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"},
			      {"OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", "/k.pem"},
			      {"OTEL_BLRP_MAX_QUEUE_SIZE", "100"},
			      {"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "500"}}};
	load(&cfg, NULL, &e);
	cr_assert_str_eq(cfg.logs.url, "https://l:1/custom");
	cr_assert_str_eq(cfg.metrics.url, "http://c:4318/base/v1/metrics");
	cr_assert_eq(cfg.logs.n_headers, 2);
	cr_assert_str_eq(cfg.logs.headers[0], "api-key: se cret");
	cr_assert_str_eq(cfg.logs.headers[1], "x: 1");
	cr_assert_eq(cfg.metrics.n_headers, 1);
	cr_assert_str_eq(cfg.metrics.headers[0], "m: 2");
	cr_assert(cfg.logs.gzip);
	cr_assert_not(cfg.metrics.gzip);
	cr_assert_eq(cfg.logs.timeout_ms, 2500);
	cr_assert_str_eq(cfg.logs.ca_file, "/ca.pem");
	cr_assert_str_eq(cfg.metrics.ca_file, "/ca.pem");
	cr_assert_str_eq(cfg.logs.client_key, "/k.pem");
	cr_assert_null(cfg.metrics.client_key);
	cr_assert_eq(cfg.max_queue, 100);
	cr_assert_eq(cfg.max_batch, 100, "batch clamped to the queue");
	eu_otlp_config_free(&cfg);

	struct fake_env lv = {{{"EUNOMIA_OTLP_COMPRESSION_LEVEL", " 9"}}};
	load(&cfg, NULL, &lv);
	cr_assert_eq(cfg.gzip_level, 9);
	cr_assert_str_eq(logged(), "");
	eu_otlp_config_free(&cfg);

	/* an explicit base (--sink otlp:URL) wins over the variable */
	load(&cfg, "http://x:9", &e);
	cr_assert_str_eq(cfg.metrics.url, "http://x:9/v1/metrics");
	eu_otlp_config_free(&cfg);
}

/* http/json is http/protobuf's transport (port 4318, /v1/<signal>) with JSON bodies. */
Test(otlp_env, http_json_endpoints)
{
	struct eu_otlp_config cfg;
	struct fake_env j = {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON"}}};
	load(&cfg, NULL, &j);
	cr_assert_eq(cfg.logs.protocol, EU_OTLP_HTTP_JSON);
	cr_assert_eq(cfg.metrics.protocol, EU_OTLP_HTTP_JSON);
	cr_assert_str_eq(cfg.logs.url, "http://localhost:4318/v1/logs");
	cr_assert_str_eq(cfg.metrics.url, "http://localhost:4318/v1/metrics");
	cr_assert_str_eq(eu_otlp_protocol_name(cfg.logs.protocol), "http/json");
	eu_otlp_config_free(&cfg);

	/* per signal: metrics as JSON, logs over grpc */
	struct fake_env m = {{{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"},
			      {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}};
	load(&cfg, "http://c:4000", &m);
	cr_assert_eq(cfg.logs.protocol, EU_OTLP_GRPC);
	cr_assert_eq(cfg.metrics.protocol, EU_OTLP_HTTP_JSON);
	cr_assert_str_eq(cfg.metrics.url, "http://c:4000/v1/metrics");
	cr_assert_str_eq(logged(), "");
	eu_otlp_config_free(&cfg);
}

#define LOGS_EXPORT "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
#define METRICS_EXPORT "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"

Test(otlp_env, grpc_endpoints)
{
	struct eu_otlp_config cfg;
	struct fake_env g = {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}};
	load(&cfg, NULL, &g);
	cr_assert_eq(cfg.logs.protocol, EU_OTLP_GRPC);
	cr_assert_eq(cfg.metrics.protocol, EU_OTLP_GRPC);
	cr_assert_str_eq(cfg.logs.url, "http://localhost:4317" LOGS_EXPORT);
	cr_assert_str_eq(cfg.metrics.url, "http://localhost:4317" METRICS_EXPORT);
	eu_otlp_config_free(&cfg);

	/* the endpoint names the server: a path is not appended to */
	struct fake_env p = {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "GRPC"},
			      {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://col:5317/ignored/path"},
			      {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1"}}};
	load(&cfg, NULL, &p);
	cr_assert_str_eq(cfg.logs.url, "https://col:5317" LOGS_EXPORT);
	cr_assert_str_eq(cfg.metrics.url, "http://m:1" METRICS_EXPORT);
	eu_otlp_config_free(&cfg);

	/* no scheme: TLS unless INSECURE says otherwise (per signal first) */
	struct fake_env s = {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
			      {"OTEL_EXPORTER_OTLP_ENDPOINT", "col:4317"},
			      {"OTEL_EXPORTER_OTLP_METRICS_INSECURE", "TRUE"}}};
	load(&cfg, NULL, &s);
	cr_assert_str_eq(cfg.logs.url, "https://col:4317" LOGS_EXPORT);
	cr_assert_str_eq(cfg.metrics.url, "http://col:4317" METRICS_EXPORT);
	eu_otlp_config_free(&cfg);

	/* per signal: logs over grpc, metrics over http/protobuf from the same base */
	struct fake_env m = {{{"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"},
			      {"OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/PROTOBUF"}}};
	load(&cfg, "http://c:4000", &m);
	cr_assert_eq(cfg.logs.protocol, EU_OTLP_GRPC);
	cr_assert_eq(cfg.metrics.protocol, EU_OTLP_HTTP_PROTOBUF);
	cr_assert_str_eq(cfg.logs.url, "http://c:4000" LOGS_EXPORT);
	cr_assert_str_eq(cfg.metrics.url, "http://c:4000/v1/metrics");
	cr_assert_str_eq(logged(), "");
	eu_otlp_config_free(&cfg);
}

/* Loads e; the value of one variable was bad: the load still works, and the warning names
 * the variable, the value and what is used instead. */
static void ignored(struct eu_otlp_config *cfg, struct fake_env *e, const char *want)
{
	load(cfg, NULL, e);
	cr_assert(strstr(logged(), want), "no <%s> in the log:\n%s", want, logged());
	cr_assert(!strncmp(logged(), "warn ", 5), "not a warning: %s", logged());
}

Test(otlp_env, invalid_values_warn_and_use_the_default)
{
	struct eu_otlp_config cfg;
	struct fake_env u = {{{"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "carrier-pigeon"}}};
	ignored(&cfg, &u, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=carrier-pigeon ignored: expected "
			  "grpc, http/protobuf or http/json; using http/protobuf");
	cr_assert_eq(cfg.logs.protocol, EU_OTLP_HTTP_PROTOBUF);
	eu_otlp_config_free(&cfg);

	struct fake_env c = {{{"OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "zstd"}}};
	ignored(&cfg, &c, "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=zstd ignored: expected gzip or "
			  "none; using none");
	cr_assert_not(cfg.logs.gzip);
	eu_otlp_config_free(&cfg);

	const char *bad_levels[] = {"0", "10", "fast", "-1"};
	for (size_t k = 0; k < sizeof(bad_levels) / sizeof(bad_levels[0]); k++) {
		struct fake_env l = {{{"EUNOMIA_OTLP_COMPRESSION_LEVEL", bad_levels[k]}}};
		char want[96];
		snprintf(want, sizeof(want), "EUNOMIA_OTLP_COMPRESSION_LEVEL=%s ignored: expected 1 "
					     "to 9; using 1", bad_levels[k]);
		ignored(&cfg, &l, want);
		cr_assert_eq(cfg.gzip_level, 1);
		eu_otlp_config_free(&cfg);
	}

	struct fake_env t = {{{"OTEL_EXPORTER_OTLP_TIMEOUT", "abc"}}};
	ignored(&cfg, &t, "OTEL_EXPORTER_OTLP_TIMEOUT=abc ignored: expected milliseconds; "
			  "using 10000");
	/* read for logs and for metrics, told once */
	cr_assert_eq(strstr(strstr(logged(), "TIMEOUT=abc") + 1, "TIMEOUT=abc"), NULL, "%s",
		     logged());
	cr_assert_eq(cfg.logs.timeout_ms, 10000);
	cr_assert_eq(cfg.metrics.timeout_ms, 10000);
	eu_otlp_config_free(&cfg);

	struct fake_env h = {{{"OTEL_EXPORTER_OTLP_HEADERS", "a=b%0D%0AX-Evil: 1"}}};
	ignored(&cfg, &h, "OTEL_EXPORTER_OTLP_HEADERS ignored: header 1 has a line break");
	cr_assert_eq(cfg.logs.n_headers, 0);
	eu_otlp_config_free(&cfg);

	struct fake_env h2 = {{{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}}};
	ignored(&cfg, &h2, "OTEL_EXPORTER_OTLP_HEADERS ignored: ");
	cr_assert_eq(cfg.logs.n_headers, 0);
	eu_otlp_config_free(&cfg);

	struct fake_env b = {{{"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "-5"}}};
	ignored(&cfg, &b, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=-5 ignored: expected a positive "
			  "integer; using 512");
	cr_assert_eq(cfg.max_batch, 512);
	eu_otlp_config_free(&cfg);

	struct fake_env z = {{{"OTEL_BLRP_SCHEDULE_DELAY", "0"}}};
	ignored(&cfg, &z, "OTEL_BLRP_SCHEDULE_DELAY=0 ignored");
	cr_assert_eq(cfg.schedule_delay_ms, 1000);
	eu_otlp_config_free(&cfg);

	struct fake_env i = {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
			      {"OTEL_EXPORTER_OTLP_ENDPOINT", "col:1"},
			      {"OTEL_EXPORTER_OTLP_INSECURE", "maybe"}}};
	ignored(&cfg, &i, "OTEL_EXPORTER_OTLP_INSECURE=maybe ignored: expected true or false; "
			  "using false");
	cr_assert_str_eq(cfg.logs.url, "https://col:1" LOGS_EXPORT);
	eu_otlp_config_free(&cfg);
}

Test(otlp_env, an_endpoint_that_is_not_http_is_an_error)
{
	/* where data goes is not defaulted: sending it to localhost instead would be silent */
	struct eu_otlp_config cfg;
	eu_error err = {0};
	struct fake_env e = {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x"}}};
	cr_assert_eq(eu_otlp_config_from_env(&cfg, NULL, fake_getenv, &e, &err), -EINVAL);
	cr_assert(strstr(err.msg, "ftp://x"), "%s", err.msg);
}

Test(otlp_env, uid_is_process_user_id)
{
	cr_assert_str_eq(eu_otlp_attr_name("uid", NULL, 0), "process.user.id");
	cr_assert_str_eq(eu_otlp_attr_name("pid", NULL, 0), "process.pid");
}
