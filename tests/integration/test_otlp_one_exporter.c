/* One OTLP exporter for logs and metrics: the daemon with one otlp sink and a metric rule on
 * bootstrap sends its records (logs) and its metrics (the rule's counter, the agent's own
 * counters, the sink's) to the same collector, in requests carrying byte-identical Resources,
 * over http/protobuf and over gRPC (real receivers on loopback). With the collector down, the
 * metrics requests go to the sink's spool beside the log batches (each in its own directory)
 * and are replayed, with the values they had, once the collector is back. */
#include "daemon_fixture.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "eu_grpc_receiver.h"
#include "eu_http_receiver.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest MReq;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest LReq;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;

#define RUNS 3

EU_DFIX_SUITE(F, otlp_one_exporter, 180);

/* The agent's config: bootstrap counting its events by comm, one otlp sink (extra: more of
 * its keys, one per line, indented). */
static void write_config(const char *path, const char *endpoint, const char *extra)
{
	FILE *c = fopen(path, "w");
	cr_assert_not_null(c);
	fprintf(c, "packages:\n  bootstrap:\n    metrics:\n      counters:\n"
		   "        - {name: execs, labels: [comm]}\n"
		   "sinks:\n  - type: otlp\n    endpoint: %s\n    metric_export_interval: 200ms\n"
		   "    schedule_delay: 100ms\n    service_name: one-exporter-test\n"
		   "    resource_attributes: test.run=%d\n%s",
		endpoint, (int)getpid(), extra ? extra : "");
	fclose(c);
}

static void start(const char *endpoint, const char *extra)
{
	char cfg[200];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	write_config(cfg, endpoint, extra);
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--config", cfg, NULL});
}

static const char *comm_of_bin(void)
{
	static char comm[16];
	snprintf(comm, sizeof(comm), "%.15s", strrchr(F.bin, '/') + 1);
	return comm;
}

/* ---- http/protobuf: decoded with protobuf-c from the official protos ---- */

/* The packed Resource of a request's first resource_* entry, malloc'd in *out. */
static size_t pack_resource(const Resource *r, uint8_t **out)
{
	cr_assert_not_null(r, "a request without a Resource");
	size_t n = opentelemetry__proto__resource__v1__resource__get_packed_size(r);
	*out = malloc(n ? n : 1);
	opentelemetry__proto__resource__v1__resource__pack(r, *out);
	return n;
}

static const char *attr_str(Opentelemetry__Proto__Common__V1__KeyValue **kv, size_t n,
			    const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i]->key, key) && kv[i]->value &&
		    kv[i]->value->value_case ==
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
			return kv[i]->value->string_value;
	return NULL;
}

/* What the metrics requests so far said. */
struct mseen {
	const char *comm;
	double execs;           /* the rule's counter for our comm, in the last request with it */
	bool self;              /* eunomia.package.events.received for bootstrap */
	uint64_t self_time;     /* its point's time: when the daemon read its counters */
	bool sink_own;          /* eunomia.otlp.log_records.queued */
	size_t requests;
};

static void scan_metrics(const MReq *r, struct mseen *s)
{
	for (size_t a = 0; a < r->n_resource_metrics; a++) {
		const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = r->resource_metrics[a];
		for (size_t b = 0; b < rm->n_scope_metrics; b++) {
			const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[b];
			for (size_t k = 0; k < sm->n_metrics; k++) {
				const Opentelemetry__Proto__Metrics__V1__Metric *m = sm->metrics[k];
				if (m->data_case != OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM)
					continue;
				for (size_t p = 0; p < m->sum->n_data_points; p++) {
					const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dp =
						m->sum->data_points[p];
					const char *comm = attr_str(dp->attributes, dp->n_attributes,
								    "comm");
					const char *pkg = attr_str(dp->attributes, dp->n_attributes,
								   "package");
					if (!strcmp(m->name, "execs") && comm && !strcmp(comm, s->comm))
						s->execs = dp->as_double;
					if (!strcmp(m->name, "eunomia.package.events.received") && pkg &&
					    !strcmp(pkg, "bootstrap")) {
						s->self = true;
						s->self_time = dp->time_unix_nano;
					}
					if (!strcmp(m->name, "eunomia.otlp.log_records.queued"))
						s->sink_own = true;
				}
			}
		}
	}
}

/* Whether a logs request holds a record of our binary. */
static bool logs_have_ours(const LReq *r, const char *comm)
{
	for (size_t a = 0; a < r->n_resource_logs; a++)
		for (size_t b = 0; b < r->resource_logs[a]->n_scope_logs; b++) {
			const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl =
				r->resource_logs[a]->scope_logs[b];
			for (size_t k = 0; k < sl->n_log_records; k++) {
				const Opentelemetry__Proto__Logs__V1__LogRecord *lr = sl->log_records[k];
				const char *c = attr_str(lr->attributes, lr->n_attributes,
							 "process.executable.name");
				if (c && !strcmp(c, comm))
					return true;
			}
		}
	return false;
}

/* Reads requests [from, count) of rx: metrics into *ms (only those whose points are older
 * than before_ns when that is not 0), logs into *logs_ours; every Resource is compared with
 * the first one seen (*res). */
static void scan_http(struct eu_http_receiver *rx, size_t from, struct mseen *ms,
		      bool *logs_ours, uint8_t **res, size_t *res_len, size_t *n_logs)
{
	size_t n = eu_http_receiver_count(rx);
	for (size_t i = from; i < n; i++) {
		const struct eu_http_request *rq = eu_http_receiver_request(rx, i);
		if (rq->status != 200 && rq->status != 0)
			continue;
		uint8_t *packed = NULL;
		size_t len = 0;
		if (!strcmp(rq->path, "/v1/metrics")) {
			MReq *r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
				NULL, rq->body_len, rq->body);
			cr_assert_not_null(r, "metrics request %zu does not decode", i);
			cr_assert_gt(r->n_resource_metrics, 0);
			/* every resource_metrics of the request (registry, agent, sink) has it */
			for (size_t a = 0; a < r->n_resource_metrics; a++) {
				uint8_t *p;
				size_t l = pack_resource(r->resource_metrics[a]->resource, &p);
				if (!a) {
					packed = p;
					len = l;
					continue;
				}
				cr_assert(l == len && !memcmp(p, packed, l),
					  "two Resources in one metrics request");
				free(p);
			}
			scan_metrics(r, ms);
			ms->requests++;
			opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
				r, NULL);
		} else if (!strcmp(rq->path, "/v1/logs")) {
			LReq *r = opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
				NULL, rq->body_len, rq->body);
			cr_assert_not_null(r, "logs request %zu does not decode", i);
			cr_assert_gt(r->n_resource_logs, 0);
			len = pack_resource(r->resource_logs[0]->resource, &packed);
			*logs_ours = *logs_ours || logs_have_ours(r, ms->comm);
			(*n_logs)++;
			opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(
				r, NULL);
		} else {
			cr_assert_fail("request to %s: neither /v1/logs nor /v1/metrics", rq->path);
		}
		if (!*res) {
			*res = packed;
			*res_len = len;
			continue;
		}
		cr_assert(len == *res_len && !memcmp(packed, *res, len),
			  "request %zu (%s) has another Resource than the first", i, rq->path);
		free(packed);
	}
}

/* The Resource's service.name and test.run, checked by value. */
static void check_resource(const uint8_t *packed, size_t len)
{
	Resource *r = opentelemetry__proto__resource__v1__resource__unpack(NULL, len, packed);
	cr_assert_not_null(r);
	const char *svc = attr_str(r->attributes, r->n_attributes, "service.name");
	const char *run = attr_str(r->attributes, r->n_attributes, "test.run");
	cr_assert_str_eq(svc ? svc : "", "one-exporter-test");
	char want[16];
	snprintf(want, sizeof(want), "%d", (int)getpid());
	cr_assert_str_eq(run ? run : "", want);
	opentelemetry__proto__resource__v1__resource__free_unpacked(r, NULL);
}

/* What the daemon says about its exporters: one, for both signals, from the sink. */
static void check_one_exporter(const char *url_base)
{
	const char *err = eu_agent_stderr(F.a);
	char want[160];
	snprintf(want, sizeof(want), "otlp metrics: exporting to %s", url_base);
	cr_assert_eq(dfix_count(err, "otlp metrics: exporting to"), 1, "%s", err);
	cr_assert(strstr(err, want), "no <%s>:\n%s", want, err);
	cr_assert_eq(dfix_count(err, "otlp logs: exporting to"), 1, "%s", err);
	cr_assert(strstr(err, "otlp metrics: every 200 ms, cumulative temporality: the agent's "
			      "metrics"), "%s", err);
}

Test(otlp_one_exporter, http_logs_and_metrics_one_endpoint_one_resource)
{
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", eu_http_receiver_port(rx));
	start(ep, NULL);
	check_one_exporter(ep);
	for (int i = 0; i < RUNS; i++)
		dfix_exec(&F);
	struct mseen ms = {0};
	bool ours = false;
	uint8_t *res = NULL;
	size_t res_len = 0, n_logs = 0;
	int64_t deadline = dfix_now_ms() + 30000;
	while (dfix_now_ms() < deadline) {
		memset(&ms, 0, sizeof(ms));
		ms.comm = comm_of_bin();
		ours = false;
		n_logs = 0;
		free(res);
		res = NULL;
		scan_http(rx, 0, &ms, &ours, &res, &res_len, &n_logs);
		if (ours && ms.execs >= 2 * RUNS && ms.self && ms.sink_own)
			break;
		dfix_pump(&F, 200);
	}
	cr_assert(ours, "no record of %s at /v1/logs:\n%s", ms.comm, eu_agent_stderr(F.a));
	/* exec and exit of each run, counted by the rule, read back from the wire */
	cr_assert_eq(ms.execs, 2 * RUNS, "execs{comm=%s} = %g", ms.comm, ms.execs);
	cr_assert(ms.self, "no agent counters in the metrics requests");
	cr_assert(ms.sink_own, "no otlp sink counters in the metrics requests");
	check_resource(res, res_len);
	free(res);
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	eu_http_receiver_stop(rx);
}

/* ---- gRPC: decoded by grpcio from the official protos, compared as JSON ---- */

static const cJSON *first_resource(const cJSON *call, const char *list)
{
	const cJSON *req = cJSON_GetObjectItem(call, "request");
	const cJSON *l = cJSON_GetObjectItem(req, list);
	return cJSON_GetObjectItem(cJSON_GetArrayItem(l, 0), "resource");
}

/* The value of execs{comm} in a metrics call, or -1. */
static double grpc_execs(const cJSON *call, const char *comm)
{
	double v = -1;
	const cJSON *rms = cJSON_GetObjectItem(cJSON_GetObjectItem(call, "request"),
					       "resource_metrics");
	const cJSON *rm, *sm, *m, *dp, *kv;
	cJSON_ArrayForEach(rm, rms)
	cJSON_ArrayForEach(sm, cJSON_GetObjectItem(rm, "scope_metrics"))
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(sm, "metrics")) {
		const cJSON *name = cJSON_GetObjectItem(m, "name");
		if (!cJSON_IsString(name) || strcmp(name->valuestring, "execs"))
			continue;
		cJSON_ArrayForEach(dp, cJSON_GetObjectItem(cJSON_GetObjectItem(m, "sum"),
							   "data_points"))
		cJSON_ArrayForEach(kv, cJSON_GetObjectItem(dp, "attributes")) {
			const cJSON *val = cJSON_GetObjectItem(cJSON_GetObjectItem(kv, "value"),
							       "string_value");
			if (cJSON_IsString(val) && !strcmp(val->valuestring, comm))
				v = cJSON_GetObjectItem(dp, "as_double")->valuedouble;
		}
	}
	return v;
}

Test(otlp_one_exporter, grpc_logs_and_metrics_one_endpoint_one_resource)
{
	const char *why = NULL;
	struct eu_grpc_receiver_opts o = {0};
	struct eu_grpc_receiver *rx = eu_grpc_receiver_start(&o, &why);
	cr_assert_not_null(rx, "%s", why);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", eu_grpc_receiver_port(rx));
	start(ep, "    protocol: grpc\n");
	check_one_exporter(ep);
	const char *err = eu_agent_stderr(F.a);
	cr_assert(strstr(err, "opentelemetry.proto.collector.metrics.v1.MetricsService/Export "
			      "(grpc"), "%s", err);
	for (int i = 0; i < RUNS; i++)
		dfix_exec(&F);
	const char *comm = comm_of_bin();
	const cJSON *log_res = NULL, *metric_res = NULL;
	double execs = -1;
	int64_t deadline = dfix_now_ms() + 30000;
	while (dfix_now_ms() < deadline && !(log_res && execs >= 2 * RUNS)) {
		dfix_pump(&F, 200);
		for (size_t c = 0; c < eu_grpc_receiver_count(rx); c++) {
			const cJSON *call = eu_grpc_receiver_call(rx, c);
			const char *svc = cJSON_GetObjectItem(call, "service")->valuestring;
			if (!strcmp(svc, "logs")) {
				char *text = cJSON_PrintUnformatted(call);
				if (text && strstr(text, comm))
					log_res = first_resource(call, "resource_logs");
				free(text);
			} else if (!strcmp(svc, "metrics")) {
				double v = grpc_execs(call, comm);
				if (v >= 0) {
					execs = v;
					metric_res = first_resource(call, "resource_metrics");
				}
			}
		}
	}
	cr_assert_not_null(log_res, "no record of %s over gRPC:\n%s", comm, eu_agent_stderr(F.a));
	cr_assert_eq(execs, 2 * RUNS, "execs{comm=%s} over gRPC: %g", comm, execs);
	cr_assert_not_null(metric_res);
	char *a = cJSON_PrintUnformatted(log_res), *b = cJSON_PrintUnformatted(metric_res);
	cr_assert(cJSON_Compare(log_res, metric_res, true), "logs Resource %s\nmetrics Resource %s",
		  a, b);
	cr_assert(strstr(a, "one-exporter-test"), "%s", a);
	free(a);
	free(b);
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	eu_grpc_receiver_stop(rx);
}

/* ---- the spool: down, then up ---- */

static size_t files_in(const char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "find %s -maxdepth 1 -type f -name '*.spool' 2>/dev/null | wc -l",
		 dir);
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	if (p) {
		if (fscanf(p, "%zu", &n) != 1)
			n = 0;
		pclose(p);
	}
	return n;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

Test(otlp_one_exporter, metrics_are_spooled_apart_and_replayed)
{
	/* a port, then nobody there: the collector is down */
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	uint16_t port = eu_http_receiver_port(rx);
	eu_http_receiver_stop(rx);
	char ep[64], extra[300], spool[200], mspool[220];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%u", port);
	snprintf(spool, sizeof(spool), "%s/spool", F.root);
	snprintf(mspool, sizeof(mspool), "%s/metrics", spool);
	snprintf(extra, sizeof(extra), "    spool_dir: %s\n    export_timeout: 300ms\n", spool);
	start(ep, extra);
	for (int i = 0; i < RUNS; i++)
		dfix_exec(&F);
	/* metrics requests pile up on disk in their own directory, log batches in theirs */
	int64_t deadline = dfix_now_ms() + 20000;
	while ((files_in(mspool) < 3 || !files_in(spool)) && dfix_now_ms() < deadline)
		dfix_pump(&F, 200);
	cr_assert_geq(files_in(mspool), 3, "metrics requests not spooled:\n%s",
		      eu_agent_stderr(F.a));
	cr_assert_gt(files_in(spool), 0, "log batches not spooled:\n%s", eu_agent_stderr(F.a));
	cr_assert(strstr(eu_agent_stderr(F.a), "otlp metrics: 1 records spooled after"), "%s",
		  eu_agent_stderr(F.a));

	uint64_t up_ns = real_ns();
	rx = eu_http_receiver_start(port);
	cr_assert_not_null(rx, "port %u taken meanwhile", port);
	struct mseen old = {0};
	bool ours = false;
	uint8_t *res = NULL;
	size_t res_len = 0, n_logs = 0;
	deadline = dfix_now_ms() + 30000;
	/* a request whose counter was read while the collector was down arrives now: replayed */
	while (dfix_now_ms() < deadline) {
		memset(&old, 0, sizeof(old));
		old.comm = comm_of_bin();
		ours = false;
		n_logs = 0;
		free(res);
		res = NULL;
		scan_http(rx, 0, &old, &ours, &res, &res_len, &n_logs);
		if (ours && files_in(mspool) == 0 && old.requests >= 3)
			break;
		dfix_pump(&F, 200);
	}
	cr_assert(ours, "the spooled records of %s did not arrive:\n%s", old.comm,
		  eu_agent_stderr(F.a));
	cr_assert_eq(files_in(mspool), 0, "metrics spool not emptied:\n%s", eu_agent_stderr(F.a));
	/* the first metrics request received is a replayed one: taken before the collector was
	 * up, with the rule's count as it was then */
	size_t first_m = 0;
	while (first_m < eu_http_receiver_count(rx) &&
	       strcmp(eu_http_receiver_request(rx, first_m)->path, "/v1/metrics"))
		first_m++;
	cr_assert_lt(first_m, eu_http_receiver_count(rx));
	const struct eu_http_request *rq = eu_http_receiver_request(rx, first_m);
	MReq *r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, rq->body_len, rq->body);
	cr_assert_not_null(r);
	struct mseen first = {.comm = old.comm};
	scan_metrics(r, &first);
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
	cr_assert(first.self, "the replayed request lacks the agent's counters");
	cr_assert_lt(first.self_time, up_ns,
		     "the first metrics request was not taken during the outage");
	check_resource(res, res_len);
	free(res);
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	const char *err = eu_agent_stderr(F.a);
	const char *fin = "counters: sink otlp metrics (final):";
	cr_assert(strstr(err, fin), "%s", err);
	long long spooled = dfix_number_after(err, fin, "retried, ");
	long long replayed = dfix_number_after(err, fin, "spooled, ");
	cr_assert_geq(spooled, 3, "%s", err);
	cr_assert_eq(replayed, spooled, "every spooled metrics request replayed:\n%s", err);
	cr_assert_eq(dfix_number_after(err, fin, "dropped "), 0, "%s", err);
	eu_http_receiver_stop(rx);
}
