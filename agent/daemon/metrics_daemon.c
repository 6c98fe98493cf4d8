/* The daemon's metrics: the registry fed by every package, upstream's exporter config, the
 * agent's own counters and the `--prometheus ADDR:PORT` endpoint (metrics_daemon.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon_priv.h"
#include "metrics_daemon.h"
#include "eunomia/consumer.h"
#include "http/http_server.h"
#include "eunomia/log.h"
#include "metrics/metrics_rules.h"
#include "sinks/otlp/otlp.h"
#include "eunomia/package.h"

#define EXPIRE_INTERVAL_MS 10000u

struct eu_daemon_metrics {
	struct eu_metrics *reg;
	char *exporter_config;
	struct eu_exporter_program *static_progs;
	size_t n_static;
	struct watch_dir static_dir; /* the slots of the exporter config's packages */
	char *prometheus;
	char *token;                /* GET /metrics needs it; NULL: none (loopback only) */
	bool without_type_suffix;   /* --prometheus-without-type-suffix */
	struct eu_http_server *http;
	uv_timer_t expire;
	bool timer_init;
	eu_buf page;
	/* OTLP metrics: an exporter of our own beside the otlp sink's (same OTEL_* settings) */
	struct eu_otlp_exporter *otlp;
	enum eu_metrics_temporality temporality;
	uv_timer_t export_timer;
	bool export_init;
	uint64_t export_deadline;
	eu_buf req;
	eu_buf resource;            /* packed Resource */
	struct eu_daemon *d;
	uint64_t start_ns;          /* the self counters' start: when the daemon was made */
};

static uint64_t now_real_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int daemon_metrics_new(struct eu_daemon *d, const struct eu_daemon_opts *opts, eu_error *err)
{
	struct eu_daemon_metrics *dm = calloc(1, sizeof(*dm));
	if (!dm)
		return eu_error_set(err, -ENOMEM, "out of memory");
	d->metrics = dm;
	dm->d = d;
	dm->start_ns = now_real_ns();
	eu_buf_init(&dm->page);
	eu_buf_init(&dm->req);
	eu_buf_init(&dm->resource);
	dm->static_dir.d = d;
	bool has_prom = opts->sz > offsetof(struct eu_daemon_opts, prometheus) && opts->prometheus;
	bool has_exp = opts->sz > offsetof(struct eu_daemon_opts, exporter_config) &&
		       opts->exporter_config;
	bool has_token = opts->sz > offsetof(struct eu_daemon_opts, metrics_token) &&
			 opts->metrics_token && *opts->metrics_token;
	dm->without_type_suffix = opts->sz > offsetof(struct eu_daemon_opts,
						      prom_without_type_suffix) &&
				  opts->prom_without_type_suffix;
	if ((has_prom && !(dm->prometheus = strdup(opts->prometheus))) ||
	    (has_token && !(dm->token = strdup(opts->metrics_token))) ||
	    (has_exp && !(dm->exporter_config = strdup(opts->exporter_config))))
		return eu_error_set(err, -ENOMEM, "out of memory");
	int ret = 0;
	if (dm->exporter_config) {
		/* read once here for the package list; rules are merged on every config build */
		struct eu_config tmp = {0};
		ret = eu_exporter_config_load(dm->exporter_config, &tmp, &dm->static_progs,
					      &dm->n_static, err);
		eu_config_free(&tmp);
	}
	return ret;
}

int daemon_metrics_config(struct eu_daemon *d, struct eu_config *cfg, eu_error *err)
{
	struct eu_daemon_metrics *dm = d->metrics;
	if (!dm || !dm->exporter_config)
		return 0;
	struct eu_exporter_program *progs = NULL;
	size_t n = 0;
	int ret = eu_exporter_config_load(dm->exporter_config, cfg, &progs, &n, err);
	eu_exporter_programs_free(progs, n);
	return ret;
}

bool daemon_metrics_has_packages(struct eu_daemon *d)
{
	return d->metrics && d->metrics->n_static;
}

static void on_expire(uv_timer_t *t)
{
	struct eu_daemon_metrics *dm = t->data;
	eu_metrics_expire(dm->reg, now_real_ns());
}

static void on_metrics(void *ctx, struct eu_http_req *req)
{
	struct eu_daemon *d = ctx;
	struct eu_daemon_metrics *dm = d->metrics;
	eu_buf_reset(&dm->page);
	dm->page.oom = false;
	eu_daemon_render_metrics(d, &dm->page);
	if (dm->page.oom) {
		eu_http_reply_error(req, 500, "out_of_memory", "out of memory");
		return;
	}
	eu_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", dm->page.data,
		      dm->page.len);
}

/* For liveness and readiness probes, which carry no credentials: the loop answers, and the
 * packages present at start-up were loaded before the listener opened. Nothing else. */
static void on_healthz(void *ctx, struct eu_http_req *req)
{
	(void)ctx;
	static const char ok[] = "{\"status\":\"ok\"}\n";
	eu_http_reply(req, 200, "application/json", ok, sizeof(ok) - 1);
}

static int self_otlp(struct eu_daemon *d, uint64_t now_ns, eu_buf *out, eu_error *err);

static void export_now(struct eu_daemon_metrics *dm)
{
	eu_error err = {0};
	uint64_t now = now_real_ns();
	eu_buf_reset(&dm->req);
	dm->req.oom = false;
	/* Two ExportMetricsServiceRequests back to back are one request whose resource_metrics
	 * hold both (protobuf merges a repeated field's occurrences): the registry's metrics, then
	 * the agent's own counters, sent together. */
	if (eu_otlp_metrics_from_registry(dm->reg, dm->resource.data ? dm->resource.data : "",
					  dm->resource.len, dm->temporality, now, &dm->req,
					  &err) ||
	    self_otlp(dm->d, now, &dm->req, &err)) {
		eu_log(EU_LOG_WARN, "OTLP metrics: %s", err.msg);
		return;
	}
	/* a full queue drops the request and counts it in the exporter's stats */
	eu_otlp_exporter_metrics(dm->otlp, dm->req.data, dm->req.len);
}

static void on_export(uv_timer_t *t)
{
	struct eu_daemon_metrics *dm = t->data;
	export_now(dm);
}

/* The OTLP metrics exporter follows the first otlp sink's settings. */
static bool is_otlp(const struct eu_sink_config *sc)
{
	return !strcmp(eu_sink_config_type(sc), "otlp");
}

static int otlp_start(struct eu_daemon *d, const struct eu_sink_config *sc, eu_error *err)
{
	struct eu_daemon_metrics *dm = d->metrics;
	/* the otlp sink's OTEL_* settings from the config file, then the environment */
	void *env = (void *)sc;
	const char *tp =
		eu_sink_config_getenv(env, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
	if (eu_metrics_temporality_parse(tp, &dm->temporality))
		eu_log(EU_LOG_WARN, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=%s: expected "
		       "cumulative, delta or lowmemory: using cumulative", tp);
	uint64_t interval = 60000;
	const char *iv = eu_sink_config_getenv(env, "OTEL_METRIC_EXPORT_INTERVAL");
	if (iv && *iv) {
		char *end = NULL;
		unsigned long long v = strtoull(iv, &end, 10);
		if (*end || !v)
			eu_log(EU_LOG_WARN, "OTEL_METRIC_EXPORT_INTERVAL=%s: expected milliseconds: "
			       "using 60000", iv);
		else
			interval = v;
	}
	struct eu_otlp_config oc;
	memset(&oc, 0, sizeof(oc));
	int ret = eu_otlp_config_from_env(&oc, eu_sink_config_get(sc, "endpoint"),
					  eu_sink_config_getenv, env, err);
	if (ret)
		return ret;
	eu_buf res;
	eu_buf_init(&res);
	eu_error rerr = {0};
	struct eu_otlp_resource_opts ro = {.getenv = eu_sink_config_getenv, .getenv_ctx = env};
	if (eu_otlp_resource_encode(&ro, &res, &rerr) < 0 || res.oom) {
		eu_otlp_config_free(&oc);
		eu_buf_free(&res);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	ret = eu_otlp_exporter_new(&d->loop, &oc, res.data ? res.data : "", res.len, &dm->otlp,
				   err);
	eu_otlp_config_free(&oc);
	/* every request is assembled around the packed resource: keep it */
	eu_buf_free(&dm->resource);
	dm->resource = res;
	if (ret)
		return ret;
	if (!dm->export_init) {
		uv_timer_init(&d->loop, &dm->export_timer);
		dm->export_timer.data = dm;
		dm->export_init = true;
	}
	uv_timer_start(&dm->export_timer, on_export, interval, interval);
	eu_log(EU_LOG_INFO, "OTLP metrics: every %llu ms, %s temporality",
	       (unsigned long long)interval,
	       dm->temporality == EU_TEMPORALITY_DELTA ? "delta" :
	       dm->temporality == EU_TEMPORALITY_LOWMEMORY ? "lowmemory" : "cumulative");
	return 0;
}

int daemon_metrics_start(struct eu_daemon *d, eu_error *err)
{
	struct eu_daemon_metrics *dm = d->metrics;
	/* the config's settings apply from start-up (the registry outlives config reloads) */
	struct eu_metrics_opts mo = {
		.sz = sizeof(mo),
		.max_series = d->cfg.metrics_max_series,
		.idle_expiry_ns = d->cfg.metrics_idle_s == UINT64_MAX ? UINT64_MAX :
				  d->cfg.metrics_idle_s * 1000000000ull,
	};
	int ret = eu_metrics_new(&mo, &dm->reg, err);
	if (ret)
		return ret;
	uint64_t every = EXPIRE_INTERVAL_MS;
	if (d->cfg.metrics_idle_s && d->cfg.metrics_idle_s != UINT64_MAX &&
	    d->cfg.metrics_idle_s * 1000 / 2 < every)
		every = d->cfg.metrics_idle_s * 1000 / 2 ? d->cfg.metrics_idle_s * 1000 / 2 : 500;
	uv_timer_init(&d->loop, &dm->expire);
	dm->expire.data = dm;
	dm->timer_init = true;
	uv_timer_start(&dm->expire, on_expire, every, every);
	uv_unref((uv_handle_t *)&dm->expire);
	for (size_t i = 0; i < d->cfg.n_sinks; i++) {
		if (is_otlp(&d->cfg.sinks[i])) {
			if ((ret = otlp_start(d, &d->cfg.sinks[i], err)))
				return ret;
			break;
		}
	}
	if (!dm->prometheus)
		return 0;
	char spec[300];
	snprintf(spec, sizeof(spec), "%s%s", strncmp(dm->prometheus, "tcp:", 4) ? "tcp:" : "",
		 dm->prometheus);
	bool loopback = false;
	if ((ret = eu_http_spec_check(spec, &loopback, err)))
		return eu_error_prefix(err, "--prometheus %s", dm->prometheus);
	if (!loopback && !dm->token)
		return eu_error_set(err, -EINVAL,
				    "--prometheus %s: not a loopback address: anyone who reaches it "
				    "would read the metrics (package names, files, counters); give "
				    "--metrics-token-file FILE (scrapers send Authorization: Bearer "
				    "TOKEN), or listen on 127.0.0.1",
				    dm->prometheus);
	struct eu_http_opts ho = {.sz = sizeof(ho), .what = "Prometheus endpoint"};
	ret = eu_http_server_new(&d->loop, &ho, &dm->http, err);
	if (!ret)
		ret = eu_http_server_route(dm->http, "GET", "/metrics", on_metrics, d);
	if (!ret)
		ret = eu_http_server_route_ex(dm->http, "GET", "/healthz", on_healthz, d, true);
	if (!ret)
		ret = eu_http_server_listen(dm->http, spec, dm->token, err);
	if (ret) {
		char why[EU_ERROR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", err->msg[0] ? err->msg : "cannot listen");
		return eu_error_set(err, ret, "--prometheus %s: %s", dm->prometheus, why);
	}
	eu_log(EU_LOG_INFO, "prometheus: /metrics %s; /healthz for probes needs none",
	       dm->token ? "needs the bearer token" : "without a token (loopback only)");
	eu_log(EU_LOG_INFO, "prometheus: serving /metrics on %s",
	       eu_http_server_address(dm->http, 0));
	return 0;
}

void daemon_metrics_load_packages(struct eu_daemon *d)
{
	struct eu_daemon_metrics *dm = d->metrics;
	for (size_t i = 0; dm && i < dm->n_static; i++) {
		const struct eu_exporter_program *p = &dm->static_progs[i];
		if (p->path)
			eu_daemon_watch_ops.file_changed(&dm->static_dir, p->path, true);
		else
			daemon_offer_inline(&dm->static_dir, p->origin, p->name, p->inline_pkg,
					    p->inline_len);
	}
}

static void on_drain(uv_timer_t *t)
{
	struct eu_daemon_metrics *dm = t->data;
	if (!eu_otlp_exporter_idle(dm->otlp) && uv_now(t->loop) < dm->export_deadline)
		return;
	eu_otlp_exporter_close(dm->otlp);
	dm->otlp = NULL;
	uv_close((uv_handle_t *)&dm->export_timer, NULL);
	dm->export_init = false;
}

/* An exporter being replaced: it sends what it holds, then closes (bounded). */
struct retiring_exporter {
	struct eu_otlp_exporter *exp;
	uv_timer_t timer;
	uint64_t deadline;
};

static void on_retired_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_retire_drain(uv_timer_t *t)
{
	struct retiring_exporter *r = t->data;
	if (!eu_otlp_exporter_idle(r->exp) && uv_now(t->loop) < r->deadline)
		return;
	eu_otlp_exporter_close(r->exp);
	uv_close((uv_handle_t *)&r->timer, on_retired_closed);
}

void daemon_metrics_sinks_changed(struct eu_daemon *d)
{
	struct eu_daemon_metrics *dm = d->metrics;
	if (!dm || d->stopping)
		return;
	if (dm->otlp) {
		/* a last export with the old settings, sent while the new exporter starts */
		export_now(dm);
		eu_otlp_exporter_flush(dm->otlp);
		struct retiring_exporter *r = calloc(1, sizeof(*r));
		if (r) {
			r->exp = dm->otlp;
			r->deadline = uv_now(&d->loop) + d->shutdown_ms;
			uv_timer_init(&d->loop, &r->timer);
			r->timer.data = r;
			uv_timer_start(&r->timer, on_retire_drain, 20, 20);
		} else {
			eu_otlp_exporter_close(dm->otlp);
		}
		dm->otlp = NULL;
		uv_timer_stop(&dm->export_timer);
	}
	for (size_t i = 0; i < d->cfg.n_sinks; i++) {
		if (!is_otlp(&d->cfg.sinks[i]))
			continue;
		eu_error err = {0};
		if (otlp_start(d, &d->cfg.sinks[i], &err))
			eu_log(EU_LOG_ERROR, "config reload: OTLP metrics: %s (not exported until a "
			       "reload succeeds)", err.msg);
		break;
	}
}

void daemon_metrics_stop(struct eu_daemon *d)
{
	struct eu_daemon_metrics *dm = d->metrics;
	if (!dm)
		return;
	if (dm->http) {
		eu_http_server_close(dm->http);
		dm->http = NULL;
	}
	if (dm->timer_init) {
		uv_close((uv_handle_t *)&dm->expire, NULL);
		dm->timer_init = false;
	}
	if (dm->otlp) {
		/* a last export, then the loop runs on until it is sent or the bound passes */
		export_now(dm);
		eu_otlp_exporter_flush(dm->otlp);
		dm->export_deadline = uv_now(&d->loop) + d->shutdown_ms;
		uv_timer_start(&dm->export_timer, on_drain, 20, 20);
	} else if (dm->export_init) {
		/* a reload left no exporter (no otlp sink any more, or it failed to start) */
		uv_close((uv_handle_t *)&dm->export_timer, NULL);
		dm->export_init = false;
	}
}

void daemon_metrics_free(struct eu_daemon *d)
{
	struct eu_daemon_metrics *dm = d->metrics;
	if (!dm)
		return;
	eu_metrics_free(dm->reg);
	eu_exporter_programs_free(dm->static_progs, dm->n_static);
	free(dm->exporter_config);
	free(dm->prometheus);
	free(dm->token);
	eu_buf_free(&dm->page);
	eu_buf_free(&dm->req);
	eu_buf_free(&dm->resource);
	free(dm);
	d->metrics = NULL;
}

struct eu_metrics *eu_daemon_metrics_registry(struct eu_daemon *d)
{
	return d->metrics ? d->metrics->reg : NULL;
}

char *daemon_metrics_key(struct eu_daemon *d, const char *stem, const char *name, char *key)
{
	if (!key)
		return NULL;
	const struct eu_config_package *cp = eu_config_find_package(&d->cfg, stem, name);
	if (!cp || !cp->metrics)
		return key;
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, key);
	eu_buf_puts(&b, "metrics=");
	eu_metric_rules_fingerprint(cp->metrics, &b);
	eu_buf_putc(&b, '\n');
	free(key);
	if (b.oom) {
		eu_buf_free(&b);
		return NULL;
	}
	return b.data;
}

int daemon_metrics_inst(struct eu_daemon *d, struct pkg_inst *inst, eu_error *err)
{
	if (!d->metrics || !d->metrics->reg || !inst->cons)
		return 0;
	const struct eu_config_package *cp =
		eu_config_find_package(&d->cfg, inst->start_stem,
				       inst->pkg->name);
	return eu_metrics_pkg_new(d->metrics->reg, inst->pkg->name,
				  cp ? cp->metrics : NULL, inst->cons, &inst->metrics, err);
}

/* --- the agent's own counters and gauges ---
 * One table per kind serves both the Prometheus text and the OTLP export (counters as
 * monotonic cumulative Sums, gauges as Gauges). */

struct self_metric {
	const char *prom, *otlp, *help, *unit;
	bool gauge;
};

static const struct self_metric pkg_metrics[] = {
	{"eunomia_package_loaded", "eunomia.package.loaded",
	 "1 when a version of the package runs, 0 when it failed.", "1", true},
	{"eunomia_package_events_received_total", "eunomia.package.events.received",
	 "Records read from the package's buffers and maps.", "{event}", false},
	{"eunomia_package_events_decoded_total", "eunomia.package.events.decoded",
	 "Records decoded.", "{event}", false},
	{"eunomia_package_events_lost_total", "eunomia.package.events.lost",
	 "Records the kernel dropped (perf buffer lost samples, failed ring buffer reserves).",
	 "{event}", false},
	{"eunomia_package_decode_errors_total", "eunomia.package.decode_errors",
	 "Records that could not be decoded.", "{event}", false},
	{"eunomia_package_records_total", "eunomia.package.records",
	 "Records handed to the sinks.", "{record}", false},
};

static const struct self_metric sink_metrics[] = {
	{"eunomia_sink_records_queued_total", "eunomia.sink.records.queued",
	 "Records accepted into the sink's queue.", "{record}", false},
	{"eunomia_sink_records_written_total", "eunomia.sink.records.written",
	 "Records the sink wrote out.", "{record}", false},
	{"eunomia_sink_records_dropped_total", "eunomia.sink.records.dropped",
	 "Records the sink lost (queue full, write errors).", "{record}", false},
	{"eunomia_sink_writes_retried_total", "eunomia.sink.writes.retried",
	 "Writes the sink retried.", "{write}", false},
	{"eunomia_sink_queue_length", "eunomia.sink.queue.length",
	 "Records waiting in the sink's queue.", "{record}", true},
};

#define N_PKG_METRICS (sizeof(pkg_metrics) / sizeof(pkg_metrics[0]))
#define N_SINK_METRICS (sizeof(sink_metrics) / sizeof(sink_metrics[0]))

/* A package's values in pkg_metrics' order. */
static void pkg_values(const struct eu_daemon_pkg_info *i, uint64_t v[N_PKG_METRICS])
{
	const uint64_t all[] = {i->state == EU_PKG_STATE_LOADED, i->received, i->decoded, i->lost,
				i->decode_errors, i->records};
	_Static_assert(sizeof(all) / sizeof(all[0]) == N_PKG_METRICS, "one value per metric");
	memcpy(v, all, sizeof(all));
}

/* A sink's values in sink_metrics' order. */
static void sink_values(struct eu_sink *s, uint64_t v[N_SINK_METRICS])
{
	struct eu_sink_stats st;
	eu_sink_get_stats(s, &st);
	const uint64_t all[] = {st.queued, st.written, st.dropped, st.retried, st.queue_len};
	_Static_assert(sizeof(all) / sizeof(all[0]) == N_SINK_METRICS, "one value per metric");
	memcpy(v, all, sizeof(all));
}

struct self_ctx {
	eu_buf *out;
	size_t which;
};

static void put_header(eu_buf *out, const struct self_metric *m)
{
	eu_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->prom, m->help, m->prom,
		      m->gauge ? "gauge" : "counter");
}

static void put_label(eu_buf *out, const char *name, const char *v)
{
	eu_buf_printf(out, "%s=\"", name);
	eu_metrics_prom_escape_label(out, v, strlen(v));
	eu_buf_putc(out, '"');
}

static void self_pkg(void *ctx, const struct eu_daemon_pkg_info *i)
{
	struct self_ctx *c = ctx;
	uint64_t v[N_PKG_METRICS];
	pkg_values(i, v);
	eu_buf_printf(c->out, "%s{", pkg_metrics[c->which].prom);
	put_label(c->out, "package", i->name);
	eu_buf_putc(c->out, ',');
	put_label(c->out, "file", i->path);
	eu_buf_printf(c->out, "} %" PRIu64 "\n", v[c->which]);
}

void eu_daemon_render_metrics(struct eu_daemon *d, eu_buf *out)
{
	if (d->metrics && d->metrics->reg)
		eu_metrics_render_prometheus(d->metrics->reg,
					     d->metrics->without_type_suffix ||
							     d->cfg.prom_without_type_suffix
						     ? EU_PROM_WITHOUT_TYPE_SUFFIX : 0,
					     out);
	for (size_t k = 0; k < N_PKG_METRICS; k++) {
		put_header(out, &pkg_metrics[k]);
		struct self_ctx c = {.out = out, .which = k};
		eu_daemon_foreach_package(d, self_pkg, &c);
	}
	for (size_t k = 0; k < N_SINK_METRICS; k++) {
		put_header(out, &sink_metrics[k]);
		for (size_t i = 0; i < d->n_sinks; i++) {
			uint64_t v[N_SINK_METRICS];
			sink_values(d->sinks[i], v);
			eu_buf_printf(out, "%s{", sink_metrics[k].prom);
			put_label(out, "sink", eu_sink_name(d->sinks[i]));
			eu_buf_printf(out, "} %" PRIu64 "\n", v[k]);
		}
	}
}

/* The same counters as OTLP Sums. Each package's values are read once into a row, so the
 * counters of one metric, which must be consecutive, can be laid out metric by metric. */
struct self_pkg_row {
	uint64_t v[N_PKG_METRICS];
	struct eu_otlp_kv attrs[2]; /* package, file: point into the slot, valid this turn */
};

struct self_rows {
	struct self_pkg_row *rows;
	size_t n, cap;
	bool oom;
};

static void self_pkg_row(void *ctx, const struct eu_daemon_pkg_info *i)
{
	struct self_rows *r = ctx;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct self_pkg_row *nr = realloc(r->rows, cap * sizeof(*nr));
		if (!nr) {
			r->oom = true;
			return;
		}
		r->rows = nr;
		r->cap = cap;
	}
	struct self_pkg_row *row = &r->rows[r->n++];
	pkg_values(i, row->v);
	row->attrs[0] = (struct eu_otlp_kv){(char *)"package", (char *)i->name};
	row->attrs[1] = (struct eu_otlp_kv){(char *)"file", (char *)i->path};
}

static int self_otlp(struct eu_daemon *d, uint64_t now_ns, eu_buf *out, eu_error *err)
{
	struct eu_daemon_metrics *dm = d->metrics;
	struct self_rows r = {0};
	eu_daemon_foreach_package(d, self_pkg_row, &r);
	size_t n_sinks = d->n_sinks;
	uint64_t (*sv)[N_SINK_METRICS] = calloc(n_sinks ? n_sinks : 1, sizeof(*sv));
	struct eu_otlp_kv *sattr = calloc(n_sinks ? n_sinks : 1, sizeof(*sattr));
	struct eu_otlp_counter *c =
		calloc(N_PKG_METRICS * r.n + N_SINK_METRICS * n_sinks + 1, sizeof(*c));
	int ret = -ENOMEM;
	if (r.oom || !sv || !sattr || !c) {
		eu_error_set(err, ret, "OTLP self metrics: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_sinks; i++) {
		sink_values(d->sinks[i], sv[i]);
		sattr[i] = (struct eu_otlp_kv){(char *)"sink", (char *)eu_sink_name(d->sinks[i])};
	}
	size_t nc = 0;
	for (size_t k = 0; k < N_PKG_METRICS; k++) {
		for (size_t i = 0; pkg_metrics[k].otlp && i < r.n; i++)
			c[nc++] = (struct eu_otlp_counter){pkg_metrics[k].otlp, pkg_metrics[k].help,
							   pkg_metrics[k].unit, r.rows[i].v[k],
							   r.rows[i].attrs, 2, pkg_metrics[k].gauge};
	}
	for (size_t k = 0; k < N_SINK_METRICS; k++) {
		for (size_t i = 0; sink_metrics[k].otlp && i < n_sinks; i++)
			c[nc++] = (struct eu_otlp_counter){sink_metrics[k].otlp, sink_metrics[k].help,
							   sink_metrics[k].unit, sv[i][k], &sattr[i],
							   1, sink_metrics[k].gauge};
	}
	ret = eu_otlp_metrics_request(dm->resource.data ? dm->resource.data : "",
				      dm->resource.len, "eunomia-agent/self", EU_VERSION,
				      dm->start_ns, now_ns, c, nc, out, err);
out:
	free(r.rows);
	free(sv);
	free(sattr);
	free(c);
	return ret;
}
