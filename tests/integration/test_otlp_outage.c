/* A collector outage of 30 s at the exporter's default backoff (1 s doubling to 5 s): every
 * record queued during it is delivered once the receiver is back, in order, exactly once,
 * with nothing dropped. Loopback only; slow (about 35 s), hence an integration test. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#include "eu_http_receiver.h"
#include "sinks/otlp/otlp.h"

static void on_tick(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void run_until(uv_loop_t *loop, struct eu_otlp_exporter *exp, uint64_t until_ms,
		      bool stop_when_idle)
{
	uv_timer_t t;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, on_tick, 10, 10);
	while (eu_http_now_ms() < until_ms && !(stop_when_idle && eu_otlp_exporter_idle(exp)))
		uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

Test(otlp_outage, thirty_seconds_down_then_back_loses_nothing, .timeout = 120)
{
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	uint16_t port = eu_http_receiver_port(rx);
	eu_http_receiver_stop(rx);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);

	struct eu_otlp_config cfg;
	eu_error err = {0};
	cr_assert_eq(eu_otlp_config_from_env(&cfg, url, NULL, NULL, &err), 0, "%s", err.msg);
	cfg.export_timeout_ms = 60000; /* the outage must fit in one batch's retry budget */
	cr_assert_eq(cfg.retry_initial_ms, 1000);
	cr_assert_eq(cfg.retry_max_ms, 5000);
	uv_loop_t loop;
	uv_loop_init(&loop);
	eu_buf res;
	eu_buf_init(&res);
	cr_assert_eq(eu_otlp_resource_encode(NULL, &res, NULL), 0);
	struct eu_otlp_exporter *exp;
	cr_assert_eq(eu_otlp_exporter_new(&loop, &cfg, res.data, res.len, &exp, &err), 0, "%s",
		     err.msg);
	eu_otlp_config_free(&cfg);

	uint64_t t0 = eu_http_now_ms();
	/* 100 records over the first 10 s of the outage */
	for (uint64_t i = 1; i <= 100; i++) {
		Opentelemetry__Proto__Logs__V1__LogRecord lr;
		opentelemetry__proto__logs__v1__log_record__init(&lr);
		lr.time_unix_nano = i;
		uint8_t buf[32];
		size_t len = opentelemetry__proto__logs__v1__log_record__pack(&lr, buf);
		cr_assert_eq(eu_otlp_exporter_log(exp, "outage", "1", buf, len), 0);
		run_until(&loop, exp, eu_http_now_ms() + 100, false);
	}
	run_until(&loop, exp, t0 + 30000, false);
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(exp, &st);
	cr_assert_eq(st.logs.exported, 0);
	cr_assert_geq(st.logs.retries, 6, "only %llu retries in 30 s",
		      (unsigned long long)st.logs.retries);
	cr_assert_leq(st.logs.retries, 30, "%llu retries in 30 s: no backoff",
		      (unsigned long long)st.logs.retries);

	rx = eu_http_receiver_start(port);
	cr_assert_not_null(rx);
	uint64_t back = eu_http_now_ms();
	run_until(&loop, exp, back + 15000, true);
	cr_assert(eu_otlp_exporter_idle(exp), "not delivered 15 s after the receiver came back");
	eu_otlp_exporter_get_stats(exp, &st);
	cr_assert_eq(st.logs.exported, 100);
	cr_assert_eq(st.logs.dropped_queue_full + st.logs.dropped_retries_exhausted +
			     st.logs.dropped_non_retryable, 0);
	uint64_t next = 1;
	for (size_t i = 0; i < eu_http_receiver_count(rx); i++) {
		const struct eu_http_request *rq = eu_http_receiver_request(rx, i);
		cr_assert_eq(rq->status, 200);
		Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *r =
			opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
				NULL, rq->body_len, rq->body);
		cr_assert_not_null(r);
		Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = r->resource_logs[0]->scope_logs[0];
		for (size_t k = 0; k < sl->n_log_records; k++)
			cr_assert_eq(sl->log_records[k]->time_unix_nano, next++);
		opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(
			r, NULL);
	}
	cr_assert_eq(next, 101);
	eu_otlp_exporter_close(exp);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	eu_buf_free(&res);
	eu_http_receiver_stop(rx);
}
