/* The daemon's metrics: the registry fed by every package, upstream's exporter config, the
 * agent's own counters, the `--prometheus ADDR:PORT` endpoint, and the feed through which
 * the otlp sinks take copies of it all to export on their own threads (metrics_daemon.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics_daemon.h"
#include "router.h"
#include "eunomia/consumer.h"
#include "http/http_server.h"
#include "eunomia/log.h"
#include "metrics/metrics_feed.h"
#include "metrics/metrics_rules.h"
#include "eunomia/package.h"
#include "sinks/sink.h"

#define EXPIRE_INTERVAL_MS 10000u

struct eu_daemon_metrics {
	struct eu_metrics *reg;
	char *exporter_config;
	struct eu_exporter_program *static_progs;
	size_t n_static;
	char *prometheus;
	char *token;                /* GET /metrics needs it; NULL: none (loopback only) */
	bool without_type_suffix;   /* --prometheus-without-type-suffix */
	struct eu_http_server *http;
	uv_timer_t expire;
	bool timer_init;
	eu_buf page;
	/* the otlp sinks ask for copies from their threads; the async wakes the loop to make
	 * them */
	struct eu_metrics_feed *feed;
	uv_async_t feed_wake;
	bool feed_wake_init;
	/* the loop, the config, the router and the walk over every package's counters
	 * (daemon.c hands it down: the packages are above) */
	struct daemon_metrics_env env;
	uint64_t start_ns;          /* the self counters' start: when the daemon was made */
};

static uint64_t now_real_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int daemon_metrics_new(struct eu_daemon_metrics **out, const struct eu_daemon_opts *opts,
		       const struct daemon_metrics_env *env, eu_error *err)
{
	struct eu_daemon_metrics *dm = calloc(1, sizeof(*dm));
	*out = dm;
	if (!dm)
		return eu_error_set(err, -ENOMEM, "out of memory");
	dm->env = *env;
	dm->start_ns = now_real_ns();
	eu_buf_init(&dm->page);
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
	int ret = eu_metrics_feed_new(daemon_metrics_collect, dm, &dm->feed, err);
	if (ret)
		return ret;
	if (dm->exporter_config) {
		/* read once here for the package list; rules are merged on every config build */
		struct eu_config tmp = {0};
		ret = eu_exporter_config_load(dm->exporter_config, &tmp, &dm->static_progs,
					      &dm->n_static, err);
		eu_config_free(&tmp);
	}
	return ret;
}

int daemon_metrics_config(struct eu_daemon_metrics *dm, struct eu_config *cfg, eu_error *err)
{
	if (!dm || !dm->exporter_config)
		return 0;
	struct eu_exporter_program *progs = NULL;
	size_t n = 0;
	int ret = eu_exporter_config_load(dm->exporter_config, cfg, &progs, &n, err);
	eu_exporter_programs_free(progs, n);
	return ret;
}

bool daemon_metrics_has_packages(const struct eu_daemon_metrics *dm)
{
	return dm && dm->n_static;
}

static void on_expire(uv_timer_t *t)
{
	struct eu_daemon_metrics *dm = t->data;
	eu_metrics_expire(dm->reg, now_real_ns());
}

static void on_metrics(void *ctx, struct eu_http_req *req)
{
	struct eu_daemon_metrics *dm = ctx;
	eu_buf_reset(&dm->page);
	dm->page.oom = false;
	daemon_metrics_render(dm, &dm->page);
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

static void on_feed_wake(uv_async_t *a)
{
	struct eu_daemon_metrics *dm = a->data;
	eu_metrics_feed_serve(dm->feed, false);
}

static void feed_wake(void *ctx)
{
	struct eu_daemon_metrics *dm = ctx;
	uv_async_send(&dm->feed_wake);
}

struct eu_metrics_feed *daemon_metrics_feed(struct eu_daemon_metrics *dm)
{
	return dm ? dm->feed : NULL;
}

int daemon_metrics_start(struct eu_daemon_metrics *dm, eu_error *err)
{
	const struct eu_config *cfg = dm->env.cfg;
	/* the config's settings apply from start-up (the registry outlives config reloads) */
	struct eu_metrics_opts mo = {
		.sz = sizeof(mo),
		.max_series = cfg->metrics_max_series,
		.idle_expiry_ns = cfg->metrics_idle_s == UINT64_MAX ? UINT64_MAX :
				  cfg->metrics_idle_s * 1000000000ull,
	};
	int ret = eu_metrics_new(&mo, &dm->reg, err);
	if (ret)
		return ret;
	uint64_t every = EXPIRE_INTERVAL_MS;
	if (cfg->metrics_idle_s && cfg->metrics_idle_s != UINT64_MAX &&
	    cfg->metrics_idle_s * 1000 / 2 < every)
		every = cfg->metrics_idle_s * 1000 / 2 ? cfg->metrics_idle_s * 1000 / 2 : 500;
	uv_timer_init(dm->env.loop, &dm->expire);
	dm->expire.data = dm;
	dm->timer_init = true;
	uv_timer_start(&dm->expire, on_expire, every, every);
	uv_unref((uv_handle_t *)&dm->expire);
	if ((ret = uv_async_init(dm->env.loop, &dm->feed_wake, on_feed_wake)))
		return eu_error_set(err, ret, "metrics: %s", uv_strerror(ret));
	dm->feed_wake.data = dm;
	dm->feed_wake_init = true;
	/* the loop runs for other reasons; waiting for asks is no reason of its own */
	uv_unref((uv_handle_t *)&dm->feed_wake);
	eu_metrics_feed_set_wake(dm->feed, feed_wake, dm);
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
	ret = eu_http_server_new(dm->env.loop, &ho, &dm->http, err);
	if (!ret)
		ret = eu_http_server_route(dm->http, "GET", "/metrics", on_metrics, dm);
	if (!ret)
		ret = eu_http_server_route_ex(dm->http, "GET", "/healthz", on_healthz, dm, true);
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

const struct eu_exporter_program *daemon_metrics_packages(const struct eu_daemon_metrics *dm,
							  size_t *n)
{
	*n = dm ? dm->n_static : 0;
	return dm ? dm->static_progs : NULL;
}

void daemon_metrics_handover(struct eu_daemon_metrics *dm)
{
	/* the sinks about to be replaced take a last copy with them: exported at their close */
	if (dm && dm->reg)
		eu_metrics_feed_serve(dm->feed, true);
}

void daemon_metrics_stop(struct eu_daemon_metrics *dm)
{
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
	if (dm->feed_wake_init) {
		/* a last copy for every sink, with the packages' final counters: the sinks export
		 * it when they close */
		eu_metrics_feed_serve(dm->feed, true);
		eu_metrics_feed_set_wake(dm->feed, NULL, NULL);
		uv_close((uv_handle_t *)&dm->feed_wake, NULL);
		dm->feed_wake_init = false;
	}
}

void daemon_metrics_free(struct eu_daemon_metrics *dm)
{
	if (!dm)
		return;
	eu_metrics_free(dm->reg);
	eu_exporter_programs_free(dm->static_progs, dm->n_static);
	free(dm->exporter_config);
	free(dm->prometheus);
	free(dm->token);
	eu_buf_free(&dm->page);
	eu_metrics_feed_free(dm->feed);
	free(dm);
}

struct eu_metrics *daemon_metrics_registry(const struct eu_daemon_metrics *dm)
{
	return dm ? dm->reg : NULL;
}

char *daemon_metrics_key(struct eu_daemon_metrics *dm, const char *stem, const char *name,
			 char *key)
{
	if (!key)
		return NULL;
	const struct eu_config_package *cp = eu_config_find_package(dm->env.cfg, stem, name);
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

int daemon_metrics_inst(struct eu_daemon_metrics *dm, const char *stem, const char *name,
			struct eu_consumer *cons, struct eu_metrics_pkg **out, eu_error *err)
{
	if (!dm || !dm->reg || !cons)
		return 0;
	const struct eu_config_package *cp = eu_config_find_package(dm->env.cfg, stem, name);
	return eu_metrics_pkg_new(dm->reg, name, cp ? cp->metrics : NULL, cons, out, err);
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

void daemon_metrics_render(struct eu_daemon_metrics *dm, eu_buf *out)
{
	if (dm->reg)
		eu_metrics_render_prometheus(dm->reg,
					     dm->without_type_suffix ||
							     dm->env.cfg->prom_without_type_suffix
						     ? EU_PROM_WITHOUT_TYPE_SUFFIX : 0,
					     out);
	for (size_t k = 0; k < N_PKG_METRICS; k++) {
		put_header(out, &pkg_metrics[k]);
		struct self_ctx c = {.out = out, .which = k};
		dm->env.foreach_package(dm->env.d, self_pkg, &c);
	}
	const struct daemon_router *r = dm->env.router;
	for (size_t k = 0; k < N_SINK_METRICS; k++) {
		put_header(out, &sink_metrics[k]);
		for (size_t i = 0; i < r->n_sinks; i++) {
			uint64_t v[N_SINK_METRICS];
			sink_values(r->sinks[i], v);
			eu_buf_printf(out, "%s{", sink_metrics[k].prom);
			put_label(out, "sink", eu_sink_name(r->sinks[i]));
			eu_buf_printf(out, "} %" PRIu64 "\n", v[k]);
		}
	}
}

/* The same counters as a registry of their own, for the metrics feed: counters set to their
 * totals since the daemon started, as whole numbers. */
static int self_family(struct eu_metrics *m, const struct self_metric *sm, const char *const *labels,
		       size_t n_labels, struct eu_metric_family **out, eu_error *err)
{
	struct eu_metric_desc desc = {
		.name = sm->otlp, .help = sm->help, .unit = sm->unit,
		.type = sm->gauge ? EU_METRIC_GAUGE : EU_METRIC_COUNTER,
		.labels = labels, .n_labels = n_labels, .integer = true,
	};
	return eu_metrics_family(m, &desc, out, err);
}

static void self_set(struct eu_metric_family *f, const struct eu_label_value *v, uint64_t value,
		     uint64_t start_ns, bool *oom)
{
	struct eu_metric_series *s = eu_metric_series_get(f, v, start_ns);
	if (!s)
		*oom = true;
	eu_metric_set(s, (double)value, start_ns);
}

struct self_fill {
	struct eu_metric_family *fam[N_PKG_METRICS];
	uint64_t start_ns;
	bool oom;
};

static void self_pkg_series(void *ctx, const struct eu_daemon_pkg_info *i)
{
	struct self_fill *c = ctx;
	uint64_t v[N_PKG_METRICS];
	pkg_values(i, v);
	const struct eu_label_value lv[] = {{i->name, strlen(i->name)}, {i->path, strlen(i->path)}};
	for (size_t k = 0; k < N_PKG_METRICS; k++)
		self_set(c->fam[k], lv, v[k], c->start_ns, &c->oom);
}

static int self_registry(struct eu_daemon_metrics *dm, struct eu_metrics **out, eu_error *err)
{
	const struct daemon_router *r = dm->env.router;
	/* no budget: every package and sink is a series */
	struct eu_metrics_opts mo = {.sz = sizeof(mo), .max_series = SIZE_MAX / 2,
				     .idle_expiry_ns = UINT64_MAX};
	struct eu_metrics *m;
	int ret = eu_metrics_new(&mo, &m, err);
	if (ret)
		return ret;
	static const char *const pkg_labels[] = {"package", "file"};
	static const char *const sink_labels[] = {"sink"};
	struct self_fill c = {.start_ns = dm->start_ns};
	for (size_t k = 0; !ret && k < N_PKG_METRICS; k++)
		ret = self_family(m, &pkg_metrics[k], pkg_labels, 2, &c.fam[k], err);
	if (!ret)
		dm->env.foreach_package(dm->env.d, self_pkg_series, &c);
	for (size_t k = 0; !ret && k < N_SINK_METRICS; k++) {
		struct eu_metric_family *f;
		if ((ret = self_family(m, &sink_metrics[k], sink_labels, 1, &f, err)))
			break;
		for (size_t i = 0; i < r->n_sinks; i++) {
			uint64_t v[N_SINK_METRICS];
			sink_values(r->sinks[i], v);
			const char *name = eu_sink_name(r->sinks[i]);
			const struct eu_label_value lv[] = {{name, strlen(name)}};
			self_set(f, lv, v[k], dm->start_ns, &c.oom);
		}
	}
	if (!ret && c.oom)
		ret = eu_error_set(err, -ENOMEM, "the agent's own metrics: out of memory");
	if (ret) {
		eu_metrics_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

int daemon_metrics_collect(void *ctx, struct eu_metrics_snapshot *out, eu_error *err)
{
	struct eu_daemon_metrics *dm = ctx;
	if (!dm || !dm->reg)
		return eu_error_set(err, -ENOENT, "the metrics registry is not running");
	out->taken_ns = now_real_ns();
	int ret = eu_metrics_clone(dm->reg, &out->reg, err);
	if (!ret)
		ret = self_registry(dm, &out->self, err);
	return ret;
}
