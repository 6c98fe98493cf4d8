/* Event-derived metrics exported over OTLP/HTTP to a real receiver on loopback, with
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta: the delta points of a rule's counter,
 * summed over the requests, equal the events caused; and with the default (cumulative) the last
 * point carries the total with a fixed start time. */
#include "daemon_fixture.h"

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "eu_http_receiver.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest Req;

#define RUNS 3

struct seen {
	double total, last;
	size_t points;
	int temporality;
	bool monotonic;
	uint64_t first_start, last_start;
};

/* Every "execs" point for comm over the /v1/metrics requests received so far. */
static void scan(struct eu_http_receiver *rx, const char *comm, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	size_t n = eu_http_receiver_count(rx);
	for (size_t i = 0; i < n; i++) {
		const struct eu_http_request *rq = eu_http_receiver_request(rx, i);
		if (strcmp(rq->path, "/v1/metrics"))
			continue;
		Req *r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
			NULL, rq->body_len, rq->body);
		cr_assert_not_null(r, "request %zu does not decode", i);
		for (size_t a = 0; a < r->n_resource_metrics; a++) {
			for (size_t b = 0; b < r->resource_metrics[a]->n_scope_metrics; b++) {
				const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
					r->resource_metrics[a]->scope_metrics[b];
				for (size_t k = 0; k < sm->n_metrics; k++) {
					const Opentelemetry__Proto__Metrics__V1__Metric *m = sm->metrics[k];
					if (strcmp(m->name, "execs") || !m->sum)
						continue;
					for (size_t p = 0; p < m->sum->n_data_points; p++) {
						const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dp =
							m->sum->data_points[p];
						if (dp->n_attributes != 1 ||
						    strcmp(dp->attributes[0]->value->string_value, comm))
							continue;
						s->total += dp->as_double;
						s->last = dp->as_double;
						if (!s->points)
							s->first_start = dp->start_time_unix_nano;
						s->last_start = dp->start_time_unix_nano;
						s->points++;
						s->temporality = m->sum->aggregation_temporality;
						s->monotonic = m->sum->is_monotonic;
					}
				}
			}
		}
		opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
			r, NULL);
	}
}

static void run_case(bool delta)
{
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "300", 1);
	if (delta)
		setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta", 1);
	else
		unsetenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
	struct dfix f;
	dfix_init(&f);
	char cfg[200];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", f.root);
	FILE *c = fopen(cfg, "w");
	cr_assert_not_null(c);
	fputs("packages:\n  bootstrap:\n    metrics:\n      counters:\n"
	      "        - {name: execs, labels: [comm]}\n", c);
	fclose(c);
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, f.watch);
	char sink[64];
	snprintf(sink, sizeof(sink), "otlp:http://127.0.0.1:%u", eu_http_receiver_port(rx));
	dfix_start(&f, (const char *[]){"--config", cfg, "--sink", sink, NULL});
	cr_assert(dfix_wait_log(&f, delta ? "delta temporality" : "cumulative temporality", 1,
				10000), "%s", eu_agent_stderr(f.a));
	char comm[16];
	snprintf(comm, sizeof(comm), "%.15s", strrchr(f.bin, '/') + 1);
	for (int i = 0; i < RUNS; i++)
		dfix_exec(&f);
	/* exec and exit events both count */
	struct seen s;
	int64_t deadline = dfix_now_ms() + 30000;
	for (;;) {
		scan(rx, comm, &s);
		double have = delta ? s.total : s.last;
		if (have >= 2 * RUNS || dfix_now_ms() > deadline)
			break;
		eu_http_receiver_wait(rx, eu_http_receiver_count(rx) + 1, 1000);
	}
	cr_assert(s.monotonic);
	if (delta) {
		cr_assert_eq(s.total, 2 * RUNS, "delta points sum to %g over %zu points", s.total,
			     s.points);
		cr_assert_eq(s.temporality,
			     OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA);
	} else {
		cr_assert_eq(s.last, 2 * RUNS, "last cumulative point %g", s.last);
		cr_assert_eq(s.first_start, s.last_start);
		cr_assert_eq(s.temporality,
			     OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
	}
	dfix_fini(&f);
	eu_http_receiver_stop(rx);
}

Test(metrics_otlp_e2e, delta_counter_sums_to_the_events)
{
	run_case(true);
}

Test(metrics_otlp_e2e, cumulative_counter_carries_the_total)
{
	run_case(false);
}
