/* Event-derived metrics exported over OTLP/HTTP to a real receiver on loopback, with
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta: the delta points of a rule's counter,
 * summed over the requests, equal the events caused; and with the default (cumulative) the last
 * point carries the total with a fixed start time. The agent's own counters (per package, per
 * sink) travel in the same requests as monotonic cumulative Sums starting at daemon start. */
#include "daemon_fixture.h"

#include <inttypes.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "eu_http_receiver.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest Req;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint Point;

#define RUNS 3
#define CUMULATIVE \
	OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE

typedef void (*point_fn)(void *ctx, const Metric *m, const Point *dp);

/* Calls fn for every Sum point of request i; false when i is not a /v1/metrics request. */
static bool request_points(struct eu_http_receiver *rx, size_t i, point_fn fn, void *ctx)
{
	const struct eu_http_request *rq = eu_http_receiver_request(rx, i);
	if (strcmp(rq->path, "/v1/metrics"))
		return false;
	Req *r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, rq->body_len, rq->body);
	cr_assert_not_null(r, "request %zu does not decode", i);
	for (size_t a = 0; a < r->n_resource_metrics; a++) {
		for (size_t b = 0; b < r->resource_metrics[a]->n_scope_metrics; b++) {
			const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
				r->resource_metrics[a]->scope_metrics[b];
			for (size_t k = 0; k < sm->n_metrics; k++) {
				const Metric *m = sm->metrics[k];
				/* sum and gauge share a oneof: the case tells which it is */
				bool sum = m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
				bool gauge =
					m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
				for (size_t p = 0; sum && p < m->sum->n_data_points; p++)
					fn(ctx, m, m->sum->data_points[p]);
				for (size_t p = 0; gauge && p < m->gauge->n_data_points; p++)
					fn(ctx, m, m->gauge->data_points[p]);
			}
		}
	}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
	return true;
}

static const char *attr_str(const Point *dp, const char *key)
{
	for (size_t i = 0; i < dp->n_attributes; i++)
		if (!strcmp(dp->attributes[i]->key, key) && dp->attributes[i]->value &&
		    dp->attributes[i]->value->value_case ==
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
			return dp->attributes[i]->value->string_value;
	return NULL;
}

/* A daemon running bootstrap with a rule counting every event by comm, exporting to rx every
 * 300 ms; comm is the name of the binary dfix_exec runs. */
static void start_daemon(struct dfix *f, struct eu_http_receiver *rx, bool delta, char comm[16])
{
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "300", 1);
	if (delta)
		setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta", 1);
	else
		unsetenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
	dfix_init(f);
	char cfg[200];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", f->root);
	FILE *c = fopen(cfg, "w");
	cr_assert_not_null(c);
	fputs("packages:\n  bootstrap:\n    metrics:\n      counters:\n"
	      "        - {name: execs, labels: [comm]}\n", c);
	fclose(c);
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, f->watch);
	char sink[64];
	snprintf(sink, sizeof(sink), "otlp:http://127.0.0.1:%u", eu_http_receiver_port(rx));
	dfix_start(f, (const char *[]){"--config", cfg, "--sink", sink, NULL});
	cr_assert(dfix_wait_log(f, delta ? "delta temporality" : "cumulative temporality", 1,
				10000), "%s", eu_agent_stderr(f->a));
	snprintf(comm, 16, "%.15s", strrchr(f->bin, '/') + 1);
}

struct seen {
	const char *comm;
	double total, last;
	size_t points;
	int temporality;
	bool monotonic;
	uint64_t first_start, last_start;
};

static void execs_point(void *ctx, const Metric *m, const Point *dp)
{
	struct seen *s = ctx;
	const char *comm = attr_str(dp, "comm");
	if (strcmp(m->name, "execs") || dp->n_attributes != 1 || !comm || strcmp(comm, s->comm))
		return;
	s->total += dp->as_double;
	s->last = dp->as_double;
	if (!s->points)
		s->first_start = dp->start_time_unix_nano;
	s->last_start = dp->start_time_unix_nano;
	s->points++;
	s->temporality = m->sum->aggregation_temporality;
	s->monotonic = m->sum->is_monotonic;
}

/* Every "execs" point for comm over the /v1/metrics requests received so far. */
static void scan(struct eu_http_receiver *rx, const char *comm, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->comm = comm;
	size_t n = eu_http_receiver_count(rx);
	for (size_t i = 0; i < n; i++)
		request_points(rx, i, execs_point, s);
}

static void run_case(bool delta)
{
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	struct dfix f;
	char comm[16];
	start_daemon(&f, rx, delta, comm);
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
		cr_assert_eq(s.temporality, CUMULATIVE);
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

/* What one /v1/metrics request says about bootstrap's own counters and the otlp sink's. */
struct self_seen {
	const char *comm;
	bool found;          /* the received-events point of the package */
	uint64_t received, decoded, decode_errors;
	double execs_all;    /* every point of the rule's counter, all comms */
	double execs_comm;
	int temporality;
	bool monotonic;
	char unit[32];
	char file[256];
	size_t n_attrs;
	uint64_t start, time;
	bool sink_dropped;   /* a cumulative monotonic eunomia.sink.records.dropped point */
	uint64_t sink_dropped_value;
	int64_t loaded;      /* the eunomia.package.loaded gauge (-1: none) */
	bool queue_gauge;    /* an eunomia.sink.queue.length gauge for the otlp sink */
};

static void self_point(void *ctx, const Metric *m, const Point *dp)
{
	struct self_seen *s = ctx;
	const char *pkg = attr_str(dp, "package");
	const char *sink = attr_str(dp, "sink");
	bool ours = pkg && !strcmp(pkg, "bootstrap");
	if (!strcmp(m->name, "execs")) {
		s->execs_all += dp->as_double;
		const char *comm = attr_str(dp, "comm");
		if (comm && !strcmp(comm, s->comm))
			s->execs_comm = dp->as_double;
	} else if (ours && !strcmp(m->name, "eunomia.package.events.received")) {
		const char *file = attr_str(dp, "file");
		s->found = true;
		s->received = (uint64_t)dp->as_int;
		s->temporality = m->sum->aggregation_temporality;
		s->monotonic = m->sum->is_monotonic;
		snprintf(s->unit, sizeof(s->unit), "%s", m->unit);
		snprintf(s->file, sizeof(s->file), "%s", file ? file : "");
		s->n_attrs = dp->n_attributes;
		s->start = dp->start_time_unix_nano;
		s->time = dp->time_unix_nano;
	} else if (ours && !strcmp(m->name, "eunomia.package.events.decoded")) {
		s->decoded = (uint64_t)dp->as_int;
	} else if (ours && !strcmp(m->name, "eunomia.package.decode_errors")) {
		s->decode_errors = (uint64_t)dp->as_int;
	} else if (ours && !strcmp(m->name, "eunomia.package.loaded") &&
		   m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE) {
		s->loaded = dp->as_int;
	} else if (sink && !strncmp(sink, "otlp:", 5) && !strcmp(m->name, "eunomia.sink.queue.length")) {
		s->queue_gauge = m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE &&
				 !strcmp(m->unit, "{record}");
	} else if (sink && !strncmp(sink, "otlp:", 5) &&
		   !strcmp(m->name, "eunomia.sink.records.dropped") && m->sum->is_monotonic &&
		   m->sum->aggregation_temporality == CUMULATIVE) {
		s->sink_dropped = true;
		s->sink_dropped_value = (uint64_t)dp->as_int;
	}
}

/* The last request that has the package's received-events point; *start_stable tells
 * whether every such point so far had the same start time. */
static void scan_self(struct eu_http_receiver *rx, const char *comm, struct self_seen *s,
		      bool *start_stable)
{
	memset(s, 0, sizeof(*s));
	*start_stable = true;
	uint64_t first_start = 0;
	size_t n = eu_http_receiver_count(rx);
	for (size_t i = 0; i < n; i++) {
		struct self_seen cur = {.comm = comm, .loaded = -1};
		if (!request_points(rx, i, self_point, &cur) || !cur.found)
			continue;
		if (!first_start)
			first_start = cur.start;
		*start_stable = *start_stable && cur.start == first_start;
		*s = cur;
	}
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

Test(metrics_otlp_e2e, own_counters_are_monotonic_cumulative_sums)
{
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	struct dfix f;
	char comm[16];
	uint64_t before = real_ns();
	start_daemon(&f, rx, false, comm);
	uint64_t started = real_ns();
	for (int i = 0; i < RUNS; i++)
		dfix_exec(&f);
	struct self_seen s;
	bool start_stable;
	int64_t deadline = dfix_now_ms() + 30000;
	for (;;) {
		scan_self(rx, comm, &s, &start_stable);
		if ((s.found && s.execs_comm >= 2 * RUNS) || dfix_now_ms() > deadline)
			break;
		eu_http_receiver_wait(rx, eu_http_receiver_count(rx) + 1, 1000);
	}
	cr_assert(s.found, "no eunomia.package.events.received point for bootstrap in %zu requests",
		  eu_http_receiver_count(rx));
	cr_assert(s.monotonic);
	cr_assert_eq(s.temporality, CUMULATIVE);
	cr_assert_str_eq(s.unit, "{event}");
	cr_assert_eq(s.n_attrs, 2);
	char file[256];
	snprintf(file, sizeof(file), "%s/bootstrap.json", f.watch);
	cr_assert_str_eq(s.file, file);
	/* the start is the daemon's start, the same in every export */
	cr_assert(start_stable);
	cr_assert(s.start >= before && s.start <= started,
		  "start %" PRIu64 " not in [%" PRIu64 ", %" PRIu64 "]", s.start, before, started);
	cr_assert_gt(s.time, s.start);
	cr_assert_eq(s.execs_comm, 2 * RUNS, "our exec and exit events: %g", s.execs_comm);
	/* bootstrap sees every exec and exit on the host, so other processes' events count too:
	 * ours are a lower bound, and the rule's total over all comms, read in the same loop turn
	 * as the self counters of that request, is the exact value */
	cr_assert_geq(s.received, 2 * RUNS);
	cr_assert_eq(s.decode_errors, 0);
	cr_assert_eq(s.decoded, s.received);
	cr_assert_eq((double)s.received, s.execs_all, "received %" PRIu64 ", rule total %g",
		     s.received, s.execs_all);
	cr_assert(s.sink_dropped, "no eunomia.sink.records.dropped point for the otlp sink");
	cr_assert_eq(s.sink_dropped_value, 0);
	/* the gauges go out as Gauges beside the Sums */
	cr_assert_eq(s.loaded, 1, "eunomia.package.loaded gauge for bootstrap: %" PRId64, s.loaded);
	cr_assert(s.queue_gauge, "no eunomia.sink.queue.length gauge for the otlp sink");
	dfix_fini(&f);
	eu_http_receiver_stop(rx);
}

static void note_self_point(void *ctx, const Metric *m, const Point *dp)
{
	if (!strcmp(m->name, "eunomia.package.events.received"))
		*(bool *)ctx = true;
}

/* How many of rx's requests carry the agent's own counters (the metrics exporter's). */
static size_t self_metrics_requests(struct eu_http_receiver *rx)
{
	size_t n = 0;
	for (size_t i = 0; i < eu_http_receiver_count(rx); i++) {
		bool found = false;
		request_points(rx, i, note_self_point, &found);
		n += found;
	}
	return n;
}

static void write_sink_config(const char *path, struct eu_http_receiver *rx)
{
	FILE *c = fopen(path, "w");
	cr_assert_not_null(c);
	fprintf(c, "sinks:\n  - type: otlp\n    endpoint: http://127.0.0.1:%u\n"
		   "    metric_export_interval: 200ms\n", eu_http_receiver_port(rx));
	fclose(c);
}

/* SIGHUP moving the otlp sink to another collector moves the agent's metrics with it: the
 * old exporter sends its last export and stops, the new one exports to the new endpoint. */
Test(metrics_otlp_e2e, metrics_follow_the_sink_on_sighup)
{
	struct eu_http_receiver *rx1 = eu_http_receiver_start(0), *rx2 = eu_http_receiver_start(0);
	cr_assert(rx1 && rx2);
	unsetenv("OTEL_METRIC_EXPORT_INTERVAL");
	struct dfix f;
	dfix_init(&f);
	char cfg[200];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", f.root);
	write_sink_config(cfg, rx1);
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, f.watch);
	dfix_start(&f, (const char *[]){"--config", cfg, NULL});
	int64_t deadline = dfix_now_ms() + 15000;
	while (!self_metrics_requests(rx1) && dfix_now_ms() < deadline)
		dfix_pump(&f, 100);
	cr_assert(self_metrics_requests(rx1), "no metrics at the first endpoint: %s",
		  eu_agent_stderr(f.a));

	write_sink_config(cfg, rx2);
	kill(eu_agent_pid(f.a), SIGHUP);
	cr_assert(dfix_wait_log(&f, "config reloaded", 1, 5000), "%s", eu_agent_stderr(f.a));
	deadline = dfix_now_ms() + 15000;
	while (!self_metrics_requests(rx2) && dfix_now_ms() < deadline)
		dfix_pump(&f, 100);
	cr_assert(self_metrics_requests(rx2), "no metrics at the new endpoint: %s",
		  eu_agent_stderr(f.a));
	/* the old exporter is gone: its last export was sent at the reload, and no more of the
	 * agent's metrics reach the first endpoint (at 200 ms intervals, 1 s would bring ~5) */
	size_t at_swap = self_metrics_requests(rx1);
	dfix_pump(&f, 1000);
	cr_assert_eq(self_metrics_requests(rx1), at_swap,
		     "the first endpoint still gets the agent's metrics");
	dfix_fini(&f);
	eu_http_receiver_stop(rx1);
	eu_http_receiver_stop(rx2);
}
