/* The otlp sink backend (sinks/otlp/otlp_sink.c) as the sink core drives it: typed records in,
 * OTLP logs out to a real loopback receiver, one scope per package and version; the sink's
 * own counters out as OTLP metrics at close. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "sinks/otlp/otlp.h"
#include "sinks/plugin_api/sink_plugin.h"
#include "sinks/sink.h"
#include "eu_http_receiver.h"
#include "eunomia/record.h"
#include "otlp_fixture.h"

/* A loopback receiver; its base URL into url (64 bytes). */
static struct eu_http_receiver *start_receiver(char *url)
{
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	snprintf(url, 64, "http://127.0.0.1:%u", eu_http_receiver_port(rx));
	return rx;
}

extern const struct eu_sink_plugin eu_sink_plugin_otlp;

/* An otlp sink config sending to url. */
static void otlp_cfg(struct eu_sink_config *cfg, const char *url)
{
	eu_error err = {0};
	cr_assert_eq(eu_sink_config_init(cfg, "otlp", &err), 0, "%s", err.msg);
	cr_assert_eq(eu_sink_config_set(cfg, "endpoint", url, &err), 0, "%s", err.msg);
}

static void set_key(struct eu_sink_config *cfg, const char *key, const char *value)
{
	eu_error err = {0};
	cr_assert_eq(eu_sink_config_set(cfg, key, value, &err), 0, "%s: %s", key, err.msg);
}

/* Hands a batch to the plugin as the core does (and lets go of it). */
static int write_batch(const struct eu_sink_plugin *ops, void *b, struct eu_record_batch *rb)
{
	uint64_t retries = 0, bytes = 0;
	eu_record_batch_seal(rb, 1);
	struct eu_sink_batch batch = {rb, eu_record_batch_lines(rb)};
	int ret = ops->write(b, &batch, &retries, &bytes);
	eu_record_batch_unref(rb);
	return ret;
}

/* The fixture's event as the record of a package version. */
static struct eu_record_source *fixture_source(const struct exec_fixture *f, const char *pkg,
					       const char *version)
{
	struct eu_record_source t = {.kind = EU_RECORD_EVENT, .package = pkg, .version = version,
				     .event = "event", .host = "h", .plan = f->plan,
				     .ts_field = -1};
	struct eu_record_source *src;
	cr_assert_eq(eu_record_source_new(&t, &src), 0);
	return src;
}

/* Ticks the sink as its writer thread would until rx has n requests (at most 5 s). */
static void tick_until_received(const struct eu_sink_plugin *ops, void *b,
				struct eu_http_receiver *rx, size_t n)
{
	uint64_t end = eu_http_now_ms() + 5000;
	while (eu_http_receiver_count(rx) < n && eu_http_now_ms() < end) {
		ops->tick(b, 0);
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
}

Test(otlp_sink, record_lines_reach_the_receiver)
{
	char url[64];
	struct eu_http_receiver *rx = start_receiver(url);
	setenv("OTEL_BLRP_SCHEDULE_DELAY", "20", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	setenv("OTEL_SERVICE_NAME", "sink-test", 1);
	setenv("EUNOMIA_OTLP_SEVERITY", "opensnoop=ERROR", 1);
	setenv("EUNOMIA_OTLP_ATTRIBUTES", "filename=,ppid=parent", 1);

	struct eu_sink_config cfg;
	otlp_cfg(&cfg, url);
	void *b;
	const struct eu_sink_plugin *ops = &eu_sink_plugin_otlp;
	eu_error err = {0};
	cr_assert_eq(ops->open(&cfg, cfg.conf, &b, &err), 0, "%s", err.msg);

	struct exec_fixture f;
	exec_fixture(&f);
	struct eu_record_clock clk;
	eu_record_clock_sync(&clk);
	struct eu_record_source *m1 = fixture_source(&f, "bootstrap", "aaaaaaaaaaaa");
	struct eu_record_source *m2 = fixture_source(&f, "opensnoop", "bbbbbbbbbbbb");
	struct eu_record_batch *batch = eu_record_batch_new();
	cr_assert_eq(eu_record_batch_add(batch, m1, clk.real_now_ns, NULL, 0, f.rec, f.size), 0);
	cr_assert_eq(eu_record_batch_add(batch, m2, clk.real_now_ns, NULL, 0, f.rec, f.size), 0);
	cr_assert_eq(eu_record_batch_add(batch, m1, clk.real_now_ns, NULL, 0, f.rec, f.size), 0);
	eu_record_source_unref(m1);
	eu_record_source_unref(m2);
	cr_assert_eq(write_batch(ops, b, batch), 0);
	/* a line that came as text has no types to encode: dropped as bad_record */
	cr_assert_eq(write_batch(ops, b, eu_record_batch_text("{}\n", 3, 1)), 0);
	/* the core calls tick after each batch and then every tick_period_ms while it says so */
	cr_assert_gt(ops->tick_period_ms(b), 0, "records pending but no tick asked for");
	tick_until_received(ops, b, rx, 1);
	for (int i = 0; i < 100 && ops->tick_period_ms(b) < 1000; i++) {
		ops->tick(b, 0);
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
	}
	/* idle: the next wake-up is the metrics export, a minute away by default */
	cr_assert_gt(ops->tick_period_ms(b), 50000, "an idle sink still asks for frequent ticks");
	ops->close(b);

	/* the logs, then the sink's own counters sent at close */
	cr_assert_eq(eu_http_receiver_count(rx), 2);
	const struct eu_http_request *rq = eu_http_receiver_request(rx, 0);
	const struct eu_http_request *mq = eu_http_receiver_request(rx, 1);
	cr_assert_str_eq(mq->path, "/v1/metrics");
	Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *mr =
		opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
			NULL, mq->body_len, mq->body);
	cr_assert_not_null(mr);
	Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = mr->resource_metrics[0]->scope_metrics[0];
	int64_t exported = -1, bad = -1, full = -1;
	for (size_t i = 0; i < sm->n_metrics; i++) {
		Opentelemetry__Proto__Metrics__V1__Metric *m = sm->metrics[i];
		cr_assert(m->sum->is_monotonic);
		if (!strcmp(m->name, "eunomia.otlp.log_records.exported"))
			exported = m->sum->data_points[0]->as_int;
		if (!strcmp(m->name, "eunomia.otlp.log_records.dropped"))
			for (size_t k = 0; k < m->sum->n_data_points; k++) {
				const char *why =
					m->sum->data_points[k]->attributes[0]->value->string_value;
				if (!strcmp(why, "bad_record"))
					bad = m->sum->data_points[k]->as_int;
				if (!strcmp(why, "queue_full"))
					full = m->sum->data_points[k]->as_int;
			}
	}
	cr_assert_eq(exported, 3);
	cr_assert_eq(bad, 1);
	cr_assert_eq(full, 0);
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		mr, NULL);
	cr_assert(rq->gzip);
	cr_assert_eq(rq->gzip_xfl, 4, "the default level is 1 (gzip XFL 4: fastest): XFL %u",
		     rq->gzip_xfl);
	cr_assert_str_eq(rq->path, "/v1/logs");
	Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *r =
		opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
			NULL, rq->body_len, rq->body);
	cr_assert_not_null(r);
	Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = r->resource_logs[0];
	bool svc = false;
	for (size_t i = 0; i < rl->resource->n_attributes; i++)
		if (!strcmp(rl->resource->attributes[i]->key, "service.name"))
			svc = !strcmp(rl->resource->attributes[i]->value->string_value, "sink-test");
	cr_assert(svc, "OTEL_SERVICE_NAME not in the resource");
	cr_assert_eq(rl->n_scope_logs, 2);
	cr_assert_str_eq(rl->scope_logs[0]->scope->name, "bootstrap");
	cr_assert_str_eq(rl->scope_logs[0]->scope->version, "aaaaaaaaaaaa");
	cr_assert_eq(rl->scope_logs[0]->n_log_records, 2);
	cr_assert_str_eq(rl->scope_logs[1]->scope->name, "opensnoop");
	Opentelemetry__Proto__Logs__V1__LogRecord *lr = rl->scope_logs[1]->log_records[0];
	cr_assert_str_eq(lr->event_name, "opensnoop.event");
	cr_assert_eq(lr->time_unix_nano, clk.real_now_ns);
	cr_assert_eq(lr->severity_number, 17);
	cr_assert_eq(rl->scope_logs[0]->log_records[0]->severity_number, 9);
	bool has_file = false, has_parent = false;
	for (size_t i = 0; i < lr->n_attributes; i++) {
		has_file |= !strcmp(lr->attributes[i]->key, "file.path") ||
			    !strcmp(lr->attributes[i]->key, "filename");
		has_parent |= !strcmp(lr->attributes[i]->key, "parent");
	}
	cr_assert_not(has_file, "EUNOMIA_OTLP_ATTRIBUTES filename= did not drop it");
	cr_assert(has_parent);
	bool pid = false;
	for (size_t i = 0; i < lr->n_attributes; i++)
		if (!strcmp(lr->attributes[i]->key, "process.pid"))
			pid = lr->attributes[i]->value->int_value == 4242;
	cr_assert(pid);
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(
		r, NULL);
	exec_fixture_free(&f);
	eu_http_receiver_stop(rx);
}

Test(otlp_sink, bad_naming_variables_fail_the_open_bad_otel_values_do_not)
{
	struct eu_sink_config cfg;
	otlp_cfg(&cfg, "http://127.0.0.1:9");
	void *b;
	const struct eu_sink_plugin *ops = &eu_sink_plugin_otlp;
	eu_error err = {0};
	setenv("EUNOMIA_OTLP_SEVERITY", "opensnoop=LOUD", 1);
	cr_assert_eq(ops->open(&cfg, cfg.conf, &b, &err), -EINVAL);
	cr_assert(strstr(err.msg, "EUNOMIA_OTLP_SEVERITY: opensnoop=LOUD"), "%s", err.msg);
	unsetenv("EUNOMIA_OTLP_SEVERITY");
	/* an OTEL_* value that is not valid is not fatal (the specification: warn, default) */
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon", 1);
	cr_assert_eq(ops->open(&cfg, cfg.conf, &b, &err), 0, "%s", err.msg);
	ops->close(b);
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
}

/* The config file's settings win over the environment: severity and attributes over the
 * EUNOMIA_OTLP_* variables, the OTEL_* settings (headers, compression, service name) over
 * the same variables. */
Test(otlp_sink, config_settings_win_over_the_environment)
{
	char url[64];
	struct eu_http_receiver *rx = start_receiver(url);
	setenv("OTEL_BLRP_SCHEDULE_DELAY", "20", 1);
	setenv("EUNOMIA_OTLP_SEVERITY", "opensnoop=ERROR", 1);
	setenv("EUNOMIA_OTLP_ATTRIBUTES", "ppid=from.env", 1);
	setenv("OTEL_SERVICE_NAME", "from-env", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=env", 1);
	struct eu_sink_config cfg;
	otlp_cfg(&cfg, url);
	set_key(&cfg, "severity", "opensnoop=WARN2");
	set_key(&cfg, "attributes", "ppid=parent.pid,filename=");
	set_key(&cfg, "service_name", "from-config");
	set_key(&cfg, "compression", "gzip");
	setenv("EUNOMIA_OTLP_COMPRESSION_LEVEL", "1", 1);
	set_key(&cfg, "compression_level", "9");
	set_key(&cfg, "headers", "x-tenant=team%20a,x-api-key=k1");
	void *b;
	const struct eu_sink_plugin *ops = &eu_sink_plugin_otlp;
	eu_error err = {0};
	cr_assert_eq(ops->open(&cfg, cfg.conf, &b, &err), 0, "%s", err.msg);
	struct exec_fixture f;
	exec_fixture(&f);
	struct eu_record_source *m = fixture_source(&f, "opensnoop", "bbbbbbbbbbbb");
	struct eu_record_batch *batch = eu_record_batch_new();
	cr_assert_eq(eu_record_batch_add(batch, m, 1, NULL, 0, f.rec, f.size), 0);
	eu_record_source_unref(m);
	cr_assert_eq(write_batch(ops, b, batch), 0);
	tick_until_received(ops, b, rx, 1);
	ops->close(b);
	unsetenv("EUNOMIA_OTLP_SEVERITY");
	unsetenv("EUNOMIA_OTLP_ATTRIBUTES");
	cr_assert_geq(eu_http_receiver_count(rx), 1);
	const struct eu_http_request *rq = eu_http_receiver_request(rx, 0);
	cr_assert_str_eq(rq->path, "/v1/logs");
	cr_assert(rq->gzip, "compression: gzip from the config, not none from the env");
	cr_assert_eq(rq->gzip_xfl, 2, "compression_level 9 from the config (gzip XFL 2: slowest), "
				      "not 1 from the env: XFL %u", rq->gzip_xfl);
	unsetenv("EUNOMIA_OTLP_COMPRESSION_LEVEL");
	cr_assert(strstr(rq->headers, "x-tenant: team a\r\n"), "%s", rq->headers);
	cr_assert(strstr(rq->headers, "x-api-key: k1\r\n"), "%s", rq->headers);
	Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *r =
		opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
			NULL, rq->body_len, rq->body);
	cr_assert_not_null(r);
	bool svc = false;
	Opentelemetry__Proto__Resource__V1__Resource *res = r->resource_logs[0]->resource;
	for (size_t i = 0; i < res->n_attributes; i++)
		if (!strcmp(res->attributes[i]->key, "service.name"))
			svc = !strcmp(res->attributes[i]->value->string_value, "from-config");
	cr_assert(svc, "service.name is not the config's");
	Opentelemetry__Proto__Logs__V1__LogRecord *lr = r->resource_logs[0]->scope_logs[0]->log_records[0];
	cr_assert_eq(lr->severity_number, 14, "WARN2 from the config, not ERROR from the env");
	int64_t parent = -1;
	bool has_file = false, from_env = false;
	for (size_t i = 0; i < lr->n_attributes; i++) {
		const char *k = lr->attributes[i]->key;
		if (!strcmp(k, "parent.pid"))
			parent = lr->attributes[i]->value->int_value;
		has_file |= !strcmp(k, "file.path") || !strcmp(k, "filename");
		from_env |= !strcmp(k, "from.env");
	}
	cr_assert_eq(parent, 1, "ppid not renamed to parent.pid");
	cr_assert_not(has_file);
	cr_assert_not(from_env);
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(
		r, NULL);
	eu_sink_config_free(&cfg);
	exec_fixture_free(&f);
	eu_http_receiver_stop(rx);
}

Test(otlp_sink, counters_are_exported_every_interval)
{
	char url[64];
	struct eu_http_receiver *rx = start_receiver(url);
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "50", 1);
	struct eu_sink_config cfg;
	otlp_cfg(&cfg, url);
	void *b;
	const struct eu_sink_plugin *ops = &eu_sink_plugin_otlp;
	eu_error err = {0};
	cr_assert_eq(ops->open(&cfg, cfg.conf, &b, &err), 0, "%s", err.msg);
	/* drive it as the writer thread does: sleep tick_period_ms, then tick */
	uint64_t end = eu_http_now_ms() + 400;
	while (eu_http_now_ms() < end) {
		uint32_t period = ops->tick_period_ms(b);
		cr_assert_leq(period, 50);
		struct timespec ts = {0, (long)(period ? period : 1) * 1000000L};
		nanosleep(&ts, NULL);
		ops->tick(b, 0);
	}
	size_t during = eu_http_receiver_count(rx);
	ops->close(b);
	cr_assert_geq(during, 3, "%zu metrics exports in 400 ms at a 50 ms interval", during);
	cr_assert_leq(during, 9);
	for (size_t i = 0; i < eu_http_receiver_count(rx); i++)
		cr_assert_str_eq(eu_http_receiver_request(rx, i)->path, "/v1/metrics");
	eu_http_receiver_stop(rx);
}

/* Every variable the OTLP settings are resolved from (the exporter's and the Resource's) can
 * be set in the config file too: a key of the plugin's table names it. Signal-specific
 * variables (OTEL_EXPORTER_OTLP_LOGS_*, _METRICS_*) are environment-only by design. */
struct asked {
	char names[64][96];
	size_t n;
};

static const char *record_getenv(void *ctx, const char *name)
{
	struct asked *a = ctx;
	if (a->n < 64)
		snprintf(a->names[a->n++], sizeof(a->names[0]), "%s", name);
	return NULL;
}

Test(otlp_sink, every_otel_variable_read_has_a_config_key)
{
	struct asked a = {0};
	struct eu_otlp_config ocfg;
	eu_error err = {0};
	cr_assert_eq(eu_otlp_config_from_env(&ocfg, NULL, record_getenv, &a, &err), 0, "%s",
		     err.msg);
	eu_otlp_config_free(&ocfg);
	eu_buf res;
	eu_buf_init(&res);
	struct eu_otlp_resource_opts ro = {.getenv = record_getenv, .getenv_ctx = &a};
	cr_assert_geq(eu_otlp_resource_encode(&ro, &res, &err), 0, "%s", err.msg);
	eu_buf_free(&res);
	cr_assert_lt(a.n, 64);
	size_t generic = 0;
	for (size_t i = 0; i < a.n; i++) {
		const char *n = a.names[i];
		if (!strncmp(n, "OTEL_EXPORTER_OTLP_LOGS_", 24) ||
		    !strncmp(n, "OTEL_EXPORTER_OTLP_METRICS_", 27))
			continue;
		generic++;
		bool found = false;
		for (const struct eu_sink_key *k = eu_sink_plugin_otlp.keys; k->key; k++)
			if (k->env && !strcmp(k->env, n))
				found = true;
		cr_assert(found, "%s is read but no otlp key names it", n);
	}
	/* endpoint, protocol, insecure, headers, compression, timeout, 3 TLS files, 4 BLRP,
	 * service name, resource attributes */
	cr_assert_geq(generic, 15);
}
