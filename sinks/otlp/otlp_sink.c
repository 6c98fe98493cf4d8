/* The otlp sink: the daemon's typed records as OTLP logs (http/protobuf or gRPC), each
 * encoded as protobuf straight from its decoding plan (otlp_encoder.c). Configuration
 * comes from the OTEL_EXPORTER_OTLP_* / OTEL_BLRP_* environment (eu_otlp_config_from_env);
 * "otlp:URL" gives the base endpoint. The exporter runs on a libuv loop owned by this
 * backend and driven from the sink's writer thread: a non-blocking pass after every batch and
 * every few milliseconds while anything is queued or in flight (no wake-ups when idle).
 * Records the exporter drops (queue full, not retryable, retries exhausted) are counted by
 * reason in its stats and logged at close. The sink core counts a batch "written" once its
 * records are in the exporter's queue; what became of them (exported, retried, spooled,
 * replayed, dropped) is published to the core's stats from a snapshot taken on the writer
 * thread after every pass of the loop, so the daemon's counters never call "written" what
 * was only queued.
 *
 * Metrics (otlp_sink_metrics.c): every OTEL_METRIC_EXPORT_INTERVAL ms (default 60000) and
 * once more at close, the agent's metrics (the daemon's feed, when it handed one) and the
 * sink's own counters go out through the same exporter (monotonic cumulative Sums):
 *   eunomia.otlp.log_records.queued / .exported / .rejected   {record}
 *   eunomia.otlp.log_records.dropped {reason=queue_full|not_retryable|retries_exhausted|
 *                                     spool_full|shutdown|bad_record}
 *   eunomia.otlp.log_records.spooled / .replayed               {record}
 *   eunomia.otlp.requests, eunomia.otlp.retries                {request}
 *   eunomia.otlp.metric_requests.exported / .spooled / .replayed / .dropped{reason}
 *   eunomia.otlp.sent                                          By (on the wire)
 *
 * The on-disk spool (see eu_otlp_config) is on when the sink's spool_dir (config file) or
 * EUNOMIA_OTLP_SPOOL_DIR names a directory; spool_max_size / EUNOMIA_OTLP_SPOOL_MAX_BYTES caps
 * it (default 256 MiB). With a spool, records are written ahead to it (acknowledged only once
 * appended; see eu_otlp_config.spool_write_ahead) unless spool_write_ahead: false or
 * EUNOMIA_OTLP_SPOOL_WRITE_AHEAD=0. The fsync policy is the file sink's: fsync: none (the page
 * cache: a killed agent loses nothing, a power loss may), interval (fdatasync of what was
 * written ahead every fsync_interval_ms) or always (after every batch the sink writes);
 * spool_fsync: true or EUNOMIA_OTLP_SPOOL_FSYNC=1 mean always. With any but none, every
 * batch file is fdatasync'd when it is complete. Metrics requests that cannot be sent wait
 * apart in SPOOL_DIR/metrics (overflow only, never written ahead) and are replayed from there.
 *
 * Two key=value lists (OTEL_RESOURCE_ATTRIBUTES syntax), from the sink's config keys or else
 * the environment:
 *   severity   / EUNOMIA_OTLP_SEVERITY="opensnoop=WARN,tcpstates=17"  severity per package
 *                                                                     (default INFO)
 *   attributes / EUNOMIA_OTLP_ATTRIBUTES="pid=my.pid,comm="  attribute names per event field,
 *                                                           overriding the semantic-convention
 *                                                           table; an empty name drops it */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "eunomia/log.h"
#include "eunomia/record.h"
#include "otlp.h"
#include "otlp_sink_metrics.h"
#include "sinks/plugin_api/sink_plugin.h"

/* how often the writer thread runs the loop while the exporter has work */
#define OTLP_TICK_MS 5u
/* how long close waits for what is queued to be delivered */
#define OTLP_CLOSE_MS 2000u

/* The fsync policy of the records written ahead (the file sink's, key fsync). */
enum otlp_fsync {
	OTLP_FSYNC_NONE = 0,
	OTLP_FSYNC_INTERVAL,
	OTLP_FSYNC_ALWAYS,
};

/* The otlp sink's settings (otlp_keys below); the exporter's own ones (OTEL_*) are read
 * through eu_sink_config_getenv. */
struct otlp_conf {
	char *endpoint;
	char *spool_dir;
	uint64_t spool_max_bytes;
	bool spool_fsync;
	bool spool_write_ahead;
	int fsync;                  /* enum otlp_fsync */
	uint64_t fsync_interval_ms;
	char *severity;
	char *attributes;
	bool metrics;
};

#define SRC_CACHE_MAX 256u

struct src_info;

struct eu_sink_backend {
	uv_loop_t loop;
	struct eu_otlp_exporter *exp;
	pthread_mutex_t snap_mu; /* the exporter's counters for readers on other threads */
	struct eu_otlp_stats snap;
	eu_buf rec;        /* the record being encoded */
	eu_buf scratch;    /* the encoder's text scratch */
	uint64_t bad_records;
	bool bad_logged;
	struct src_info *srcs; /* SRC_CACHE_MAX of them */
	size_t n_srcs;
	struct src_info *last;
	void *resource;
	size_t resource_len;
	struct eu_otlp_sink_metrics *mx;
	uint64_t mx_due_ms;          /* CLOCK_MONOTONIC: when mx wants to run again */
	struct eu_otlp_kvs severity;
	struct eu_otlp_kvs attr_env;
	struct eu_otlp_attr_map *map;
	size_t n_map;
	enum otlp_fsync fsync; /* of the records written ahead */
	uint32_t fsync_interval_ms;
	uint64_t synced_ms;
	bool sync_failed_told;
	bool finished; /* otlp_finish ran: the exporter is shut down, snap is final */
};

/* The sink's own counters as an ExportMetricsServiceRequest appended to out. */
static int own_metrics(void *ctx, uint64_t start_ns, uint64_t now_ns, eu_buf *out)
{
	struct eu_sink_backend *b = ctx;
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(b->exp, &st);
	const struct eu_otlp_signal_stats *l = &st.logs;
	static const char rec[] = "{record}", req[] = "{request}";
	struct eu_otlp_kv reasons[] = {
		{"reason", "queue_full"}, {"reason", "not_retryable"}, {"reason", "retries_exhausted"},
		{"reason", "spool_full"}, {"reason", "shutdown"},      {"reason", "bad_record"},
		{"reason", "not_collected"},
	};
	const struct eu_otlp_signal_stats *m = &st.metrics;
	const char *dropped = "eunomia.otlp.log_records.dropped";
	const char *dd = "log records the otlp sink lost, by reason";
	const char *mdropped = "eunomia.otlp.metric_requests.dropped";
	const char *mdd = "metrics requests the otlp sink lost, by reason (not_collected: the "
			  "agent's metrics could not be copied or encoded)";
	struct eu_otlp_counter c[] = {
		{"eunomia.otlp.log_records.queued", "log records accepted by the otlp sink", rec,
		 l->queued, NULL, 0, false},
		{"eunomia.otlp.log_records.exported", "log records acknowledged by the receiver", rec,
		 l->exported, NULL, 0, false},
		{"eunomia.otlp.log_records.rejected", "log records the receiver rejected (partial "
						       "success)", rec, l->rejected, NULL, 0, false},
		{dropped, dd, rec, l->dropped_queue_full, &reasons[0], 1, false},
		{dropped, dd, rec, l->dropped_non_retryable, &reasons[1], 1, false},
		{dropped, dd, rec, l->dropped_retries_exhausted, &reasons[2], 1, false},
		{dropped, dd, rec, l->dropped_spool_full, &reasons[3], 1, false},
		{dropped, dd, rec, l->dropped_shutdown, &reasons[4], 1, false},
		{dropped, dd, rec, b->bad_records, &reasons[5], 1, false},
		{"eunomia.otlp.log_records.spooled", "log records written to the spool", rec,
		 l->spooled, NULL, 0, false},
		{"eunomia.otlp.log_records.replayed", "log records delivered from the spool", rec,
		 l->replayed, NULL, 0, false},
		{"eunomia.otlp.metric_requests.exported", "metrics requests acknowledged by the "
		 "receiver", req, m->exported, NULL, 0, false},
		{mdropped, mdd, req, m->dropped_queue_full, &reasons[0], 1, false},
		{mdropped, mdd, req, m->dropped_non_retryable, &reasons[1], 1, false},
		{mdropped, mdd, req, m->dropped_retries_exhausted, &reasons[2], 1, false},
		{mdropped, mdd, req, m->dropped_spool_full, &reasons[3], 1, false},
		{mdropped, mdd, req, m->dropped_shutdown, &reasons[4], 1, false},
		{mdropped, mdd, req, b->mx ? eu_otlp_sink_metrics_failed(b->mx) : 0, &reasons[6], 1,
		 false},
		{"eunomia.otlp.metric_requests.spooled", "metrics requests written to the spool", req,
		 m->spooled, NULL, 0, false},
		{"eunomia.otlp.metric_requests.replayed", "metrics requests delivered from the spool",
		 req, m->replayed, NULL, 0, false},
		{"eunomia.otlp.requests", "HTTP requests sent", req, l->requests + st.metrics.requests,
		 NULL, 0, false},
		{"eunomia.otlp.retries", "HTTP requests that were retries", req,
		 l->retries + st.metrics.retries, NULL, 0, false},
		{"eunomia.otlp.sent", "request bytes sent on the wire", "By",
		 l->bytes_sent + st.metrics.bytes_sent, NULL, 0, false},
	};
	return eu_otlp_metrics_request(b->resource, b->resource_len, "eunomia-agent/otlp-sink",
				       EU_VERSION, start_ns, now_ns, c, sizeof(c) / sizeof(c[0]), out,
				       NULL);
}

/* Runs the exporter's loop once without waiting, then publishes its counters. */
static void run_loop(struct eu_sink_backend *b)
{
	uv_run(&b->loop, UV_RUN_NOWAIT);
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(b->exp, &st);
	pthread_mutex_lock(&b->snap_mu);
	b->snap = st;
	pthread_mutex_unlock(&b->snap_mu);
}

static uint64_t log_drops(const struct eu_otlp_signal_stats *l)
{
	return l->dropped_queue_full + l->dropped_non_retryable + l->dropped_retries_exhausted +
	       l->dropped_spool_full + l->dropped_shutdown;
}

static void otlp_stats(void *state, struct eu_sink_stats *out)
{
	struct eu_sink_backend *b = state;
	pthread_mutex_lock(&b->snap_mu);
	const struct eu_otlp_signal_stats *l = &b->snap.logs;
	out->delivers = true;
	out->exported = l->exported;
	out->export_retries = l->retries;
	out->spooled = l->spooled;
	out->replayed = l->replayed;
	out->export_dropped = log_drops(l) + b->bad_records;
	out->spool_full = l->dropped_spool_full;
	pthread_mutex_unlock(&b->snap_mu);
}

static void maybe_metrics(struct eu_sink_backend *b, uint64_t now_ms)
{
	if (b->mx && now_ms >= b->mx_due_ms)
		b->mx_due_ms = now_ms + eu_otlp_sink_metrics_tick(b->mx, now_ms);
}

/* The fsync policy over the records written ahead since the last sync. */
static void sync_spool(struct eu_sink_backend *b, uint64_t now_ms)
{
	if (b->fsync == OTLP_FSYNC_NONE ||
	    (b->fsync == OTLP_FSYNC_INTERVAL && now_ms - b->synced_ms < b->fsync_interval_ms))
		return;
	b->synced_ms = now_ms;
	int ret = eu_otlp_exporter_sync(b->exp);
	if (ret && !b->sync_failed_told)
		eu_log(EU_LOG_WARN, "sink otlp: cannot fdatasync the spool: %s; what was written "
				    "ahead may not survive a power loss (told once)", strerror(-ret));
	b->sync_failed_told |= ret != 0;
}

/* What the sink works out once per record source (a package version's export): the
 * attribute names of its fields, its package's severity, the encoder's prep (the fields
 * every record of it shares, pre-encoded) and its scope in the exporter. Keyed by the source's id, never its address (a
 * freed source's address may come back). */
struct src_info {
	uint64_t id;
	const char **names;
	int severity;
	struct eu_otlp_log_prep *prep;
	uint32_t scope; /* the exporter's number for its package and version */
};

static void src_info_free(struct src_info *si)
{
	free(si->names);
	eu_otlp_log_prep_free(si->prep);
}

static struct src_info *src_info(struct eu_sink_backend *b, const struct eu_record_source *src)
{
	if (b->last && b->last->id == src->id)
		return b->last;
	for (size_t i = 0; i < b->n_srcs; i++)
		if (b->srcs[i].id == src->id)
			return b->last = &b->srcs[i];
	if (b->n_srcs == SRC_CACHE_MAX) {
		/* sources come and go with package versions: start over rather than grow */
		for (size_t i = 0; i < b->n_srcs; i++)
			src_info_free(&b->srcs[i]);
		b->n_srcs = 0;
		b->last = NULL;
	}
	struct src_info *si = &b->srcs[b->n_srcs];
	*si = (struct src_info){.id = src->id};
	if (src->kind == EU_RECORD_EVENT &&
	    eu_otlp_attr_names(src->plan, b->map, b->n_map, &si->names))
		return NULL;
	for (size_t i = 0; i < b->severity.n; i++)
		if (!strcmp(b->severity.v[i].key, src->package))
			eu_otlp_severity_parse(b->severity.v[i].value, &si->severity);
	struct eu_otlp_log_event tmpl = {
		.package = src->package, .event_type = src->event, .plan = src->plan,
		.severity_number = si->severity, .attr_names = si->names,
		.sample = src->kind == EU_RECORD_SAMPLE};
	if (eu_otlp_log_prep_new(&tmpl, &si->prep) ||
	    eu_otlp_exporter_scope(b->exp, src->package, src->version, &si->scope)) {
		src_info_free(si);
		return NULL;
	}
	b->n_srcs++;
	return b->last = si;
}

static void bad_record(struct eu_sink_backend *b, uint64_t n, const char *why)
{
	b->bad_records += n;
	if (!b->bad_logged)
		eu_log(EU_LOG_WARN, "sink otlp: %s: dropped (counted as bad_record; logged once)",
		       why);
	b->bad_logged = true;
}

static int otlp_write(void *state, const struct eu_sink_batch *batch, uint64_t *retries,
		      uint64_t *bytes)
{
	struct eu_sink_backend *b = state;
	const struct eu_record_batch *rb = batch->records;
	size_t n = eu_record_batch_count(rb);
	if (batch->n_records > n)
		bad_record(b, batch->n_records - n, "records that came as text lines have no types "
			   "to encode");
	uint64_t observed = eu_record_batch_observed(rb);
	for (size_t i = 0; i < n; i++) {
		const struct eu_record *r = eu_record_batch_at(rb, i);
		const struct eu_record_source *src = r->src;
		struct src_info *si = src_info(b, src);
		if (!si) {
			bad_record(b, 1, "out of memory");
			continue;
		}
		bool sample = src->kind == EU_RECORD_SAMPLE;
		struct eu_otlp_log_event ev = {
			.package = src->package, .event_type = src->event, .plan = src->plan,
			.data = r->data, .size = r->size, .time_unix_nano = r->time_ns,
			.observed_time_unix_nano = observed, .severity_number = si->severity,
			.attr_names = si->names, .scratch = &b->scratch, .sample = sample,
			.key_plan = src->key_plan, .key = r->key, .key_size = r->key_size,
			.key_scalar = src->key_scalar, .value_scalar = src->value_scalar,
			.stacks = r->stacks ? &src->stacks : NULL, .stack_blob = r->stacks,
			.stack_blob_size = r->stacks_size, .prep = si->prep};
		if (src->kind == EU_RECORD_LINE || src->kind == EU_RECORD_OBJECT) {
			ev.plan = NULL;
			ev.text = r->data;
			ev.text_len = r->size;
		}
		eu_error err = {0};
		eu_buf_reset(&b->rec);
		if (eu_otlp_log_encode(&ev, &b->rec, &err)) {
			bad_record(b, 1, err.msg);
			continue;
		}
		*bytes += b->rec.len;
		eu_otlp_exporter_log_scope(b->exp, si->scope, b->rec.data, b->rec.len);
	}
	sync_spool(b, eu_sink_now_ms());
	maybe_metrics(b, eu_sink_now_ms());
	uv_run(&b->loop, UV_RUN_NOWAIT);
	return 0;
}

static void otlp_tick(void *state, uint64_t now_ms)
{
	struct eu_sink_backend *b = state;
	sync_spool(b, eu_sink_now_ms());
	maybe_metrics(b, eu_sink_now_ms());
	run_loop(b);
}

static uint32_t otlp_tick_period(void *state)
{
	struct eu_sink_backend *b = state;
	if (!eu_otlp_exporter_idle(b->exp))
		return OTLP_TICK_MS;
	if (!b->mx)
		return 0;
	/* idle: wake only for the next metrics export */
	uint64_t now = eu_sink_now_ms();
	uint64_t wait = b->mx_due_ms > now ? b->mx_due_ms - now : 1;
	return wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
}

static void log_stats(const struct eu_otlp_signal_stats *s, const char *what)
{
	eu_log(EU_LOG_INFO,
	       "counters: sink otlp %s (final): %llu queued, %llu exported, %llu rejected, %llu "
	       "requests, %llu retried, %llu spooled, %llu replayed; dropped %llu: %llu "
	       "queue_full, %llu not_retryable, %llu retries_exhausted, %llu spool_full, %llu "
	       "shutdown",
	       what, (unsigned long long)s->queued, (unsigned long long)s->exported,
	       (unsigned long long)s->rejected, (unsigned long long)s->requests,
	       (unsigned long long)s->retries, (unsigned long long)s->spooled,
	       (unsigned long long)s->replayed, (unsigned long long)log_drops(s),
	       (unsigned long long)s->dropped_queue_full,
	       (unsigned long long)s->dropped_non_retryable,
	       (unsigned long long)s->dropped_retries_exhausted,
	       (unsigned long long)s->dropped_spool_full,
	       (unsigned long long)s->dropped_shutdown);
}

static void on_stop_tick(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void otlp_flush(void *state)
{
	struct eu_sink_backend *b = state;
	eu_otlp_exporter_flush(b->exp);
	uv_run(&b->loop, UV_RUN_NOWAIT);
}

/* The exporter's last bounded wait for its receiver, then its shutdown (which counts what it
 * still held as dropped at shutdown or spooled); the snapshot the sink's stats read is
 * updated after it, so the daemon's counters line, logged after this, is final. */
static void otlp_finish(void *state)
{
	struct eu_sink_backend *b = state;
	if (b->finished)
		return;
	b->finished = true;
	if (b->mx)
		eu_otlp_sink_metrics_final(b->mx);
	eu_otlp_exporter_flush(b->exp);
	uv_timer_t t;
	uv_timer_init(&b->loop, &t);
	uv_timer_start(&t, on_stop_tick, OTLP_TICK_MS, OTLP_TICK_MS);
	uint64_t until = uv_now(&b->loop) + OTLP_CLOSE_MS;
	while (!eu_otlp_exporter_idle(b->exp) && uv_now(&b->loop) < until)
		uv_run(&b->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	eu_otlp_exporter_close(b->exp);
	/* dropped_shutdown is final once close has run */
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(b->exp, &st);
	pthread_mutex_lock(&b->snap_mu);
	b->snap = st;
	pthread_mutex_unlock(&b->snap_mu);
	log_stats(&st.logs, "logs");
	if (b->mx)
		log_stats(&st.metrics, "metrics");
	eu_otlp_sink_metrics_free(b->mx);
	b->mx = NULL;
	if (b->bad_records)
		eu_log(EU_LOG_WARN, "sink otlp: %llu records could not be encoded and were dropped "
		       "(bad_record)", (unsigned long long)b->bad_records);
	/* the closes end (the timer above lives on this stack), and the exporter is freed */
	uv_run(&b->loop, UV_RUN_DEFAULT);
	b->exp = NULL;
}

static void otlp_close(void *state)
{
	struct eu_sink_backend *b = state;
	otlp_finish(b);
	uv_loop_close(&b->loop);
	eu_buf_free(&b->rec);
	eu_buf_free(&b->scratch);
	for (size_t i = 0; i < b->n_srcs; i++)
		src_info_free(&b->srcs[i]);
	free(b->srcs);
	free(b->resource);
	free(b->map);
	eu_otlp_kvs_free(&b->severity);
	eu_otlp_kvs_free(&b->attr_env);
	pthread_mutex_destroy(&b->snap_mu);
	free(b);
}

/* The sink's severity and attributes lists (config file, else environment) into b. */
static int naming_setup(struct eu_sink_backend *b, const struct otlp_conf *cfg,
			eu_error *err)
{
	const char *sev = cfg->severity ? cfg->severity : getenv("EUNOMIA_OTLP_SEVERITY");
	const char *sev_from = cfg->severity ? "severity" : "EUNOMIA_OTLP_SEVERITY";
	if (sev && eu_otlp_kvs_parse(sev, &b->severity, err))
		return eu_error_prefix(err, "otlp sink: %s", sev_from);
	for (size_t i = 0; i < b->severity.n; i++) {
		int n;
		if (eu_otlp_severity_parse(b->severity.v[i].value, &n))
			return eu_error_set(err, -EINVAL, "otlp sink: %s: %s=%s: "
							  "expected TRACE..FATAL4 or 1..24",
					    sev_from, b->severity.v[i].key, b->severity.v[i].value);
	}
	const char *attrs = cfg->attributes ? cfg->attributes : getenv("EUNOMIA_OTLP_ATTRIBUTES");
	if (attrs && eu_otlp_kvs_parse(attrs, &b->attr_env, err))
		return eu_error_prefix(err, "otlp sink: %s",
				       cfg->attributes ? "attributes" : "EUNOMIA_OTLP_ATTRIBUTES");
	if (b->attr_env.n) {
		b->map = calloc(b->attr_env.n, sizeof(*b->map));
		if (!b->map)
			return eu_error_set(err, -ENOMEM, "otlp sink: out of memory");
		for (size_t i = 0; i < b->attr_env.n; i++)
			b->map[i] = (struct eu_otlp_attr_map){b->attr_env.v[i].key,
							      b->attr_env.v[i].value};
		b->n_map = b->attr_env.n;
	}
	return 0;
}

static int otlp_open(const struct eu_sink_config *sc, const void *conf, void **out,
		     eu_error *err)
{
	const struct otlp_conf *cfg = conf;
	struct eu_otlp_config ocfg;
	/* the config file's OTEL_* settings for this sink first, then the environment */
	void *env = (void *)sc;
	int ret = eu_otlp_config_from_env(&ocfg, cfg->endpoint, eu_sink_config_getenv, env, err);
	if (ret)
		return eu_error_prefix(err, "otlp sink");
	const char *spool = cfg->spool_dir ? cfg->spool_dir : getenv("EUNOMIA_OTLP_SPOOL_DIR");
	enum otlp_fsync fsync = (enum otlp_fsync)cfg->fsync;
	if (spool && *spool) {
		ocfg.spool_dir = strdup(spool);
		if (!ocfg.spool_dir) {
			eu_otlp_config_free(&ocfg);
			return eu_error_set(err, -ENOMEM, "otlp sink: out of memory");
		}
		const char *cap = getenv("EUNOMIA_OTLP_SPOOL_MAX_BYTES");
		if (cfg->spool_max_bytes)
			ocfg.spool_max_bytes = cfg->spool_max_bytes;
		else if (cap && strtoull(cap, NULL, 10))
			ocfg.spool_max_bytes = strtoull(cap, NULL, 10);
		const char *fs = getenv("EUNOMIA_OTLP_SPOOL_FSYNC");
		if (cfg->spool_fsync || (fs && !strcmp(fs, "1")))
			fsync = OTLP_FSYNC_ALWAYS;
		ocfg.spool_fsync = fsync != OTLP_FSYNC_NONE;
		/* unset in the config: the variable decides (default on) */
		const char *wa = getenv("EUNOMIA_OTLP_SPOOL_WRITE_AHEAD");
		ocfg.spool_write_ahead = eu_sink_config_get(sc, "spool_write_ahead")
						 ? cfg->spool_write_ahead
						 : !(wa && !strcmp(wa, "0"));
	}
	eu_buf res;
	eu_buf_init(&res);
	eu_error rerr = {0};
	struct eu_otlp_resource_opts ro = {.getenv = eu_sink_config_getenv, .getenv_ctx = env};
	ret = eu_otlp_resource_encode(&ro, &res, &rerr);
	if (ret < 0) {
		eu_otlp_config_free(&ocfg);
		eu_buf_free(&res);
		return eu_error_set(err, ret, "otlp sink: %s", rerr.msg);
	}
	if (ret == 1)
		eu_log(EU_LOG_WARN, "otlp sink: %s", rerr.msg);
	if (!res.data) {
		eu_otlp_config_free(&ocfg);
		return eu_error_set(err, -ENOMEM, "otlp sink: out of memory");
	}
	struct eu_sink_backend *b = calloc(1, sizeof(*b));
	if (!b || uv_loop_init(&b->loop)) {
		free(b);
		eu_otlp_config_free(&ocfg);
		eu_buf_free(&res);
		return eu_error_set(err, -ENOMEM, "otlp sink: cannot set up its loop");
	}
	eu_buf_init(&b->rec);
	eu_buf_init(&b->scratch);
	b->srcs = calloc(SRC_CACHE_MAX, sizeof(*b->srcs));
	pthread_mutex_init(&b->snap_mu, NULL);
	ret = b->srcs ? naming_setup(b, cfg, err)
		      : eu_error_set(err, -ENOMEM, "otlp sink: out of memory");
	if (ret) {
		free(b->srcs);
		eu_otlp_kvs_free(&b->severity);
		eu_otlp_kvs_free(&b->attr_env);
		free(b->map);
		uv_loop_close(&b->loop);
		free(b);
		eu_otlp_config_free(&ocfg);
		eu_buf_free(&res);
		return ret;
	}
	b->fsync = ocfg.spool_write_ahead ? fsync : OTLP_FSYNC_NONE;
	b->fsync_interval_ms = cfg->fsync_interval_ms ? (uint32_t)cfg->fsync_interval_ms : 1000;
	b->synced_ms = eu_sink_now_ms();
	ret = eu_otlp_exporter_new(&b->loop, &ocfg, res.data, res.len, &b->exp, err);
	b->resource = res.data; /* the buffer's storage, kept for the metrics requests */
	b->resource_len = res.len;
	if (!ret && cfg->metrics) {
		/* every otlp sink exports the agent's metrics unless told not to */
		struct eu_otlp_sink_metrics_opts mo = {
			.feed = sc->metrics, .interval_ms = ocfg.metric_interval_ms,
			.temporality = ocfg.temporality, .resource = b->resource,
			.resource_len = b->resource_len, .exp = b->exp, .own = own_metrics,
			.own_ctx = b,
		};
		ret = eu_otlp_sink_metrics_new(&mo, &b->mx, err);
		if (ret)
			eu_otlp_exporter_close(b->exp);
		else
			b->mx_due_ms = eu_sink_now_ms();
	}
	eu_otlp_config_free(&ocfg);
	if (ret) {
		free(b->resource);
		free(b->srcs);
		free(b->map);
		eu_otlp_kvs_free(&b->severity);
		eu_otlp_kvs_free(&b->attr_env);
		uv_run(&b->loop, UV_RUN_DEFAULT);
		uv_loop_close(&b->loop);
		free(b);
		return eu_error_prefix(err, "otlp sink");
	}
	*out = b;
	return 0;
}

static const char *otlp_spool_dir(const void *conf)
{
	const struct otlp_conf *c = conf;
	const char *s = c->spool_dir ? c->spool_dir : getenv("EUNOMIA_OTLP_SPOOL_DIR");
	return s && *s ? s : NULL;
}

static int check_list(const char *value, eu_error *err)
{
	struct eu_otlp_kvs kvs;
	int ret = eu_otlp_kvs_parse(value, &kvs, err);
	if (!ret)
		eu_otlp_kvs_free(&kvs);
	return ret;
}

static int check_severities(const char *value, eu_error *err)
{
	struct eu_otlp_kvs kvs;
	int ret = eu_otlp_kvs_parse(value, &kvs, err);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < kvs.n; i++) {
		int num;
		if (eu_otlp_severity_parse(kvs.v[i].value, &num))
			ret = eu_error_set(err, -EINVAL, "%s: '%.80s' is not a severity (TRACE..FATAL4 "
							 "or 1..24)", kvs.v[i].key, kvs.v[i].value);
	}
	eu_otlp_kvs_free(&kvs);
	return ret;
}

static const char *const compression_choices[] = {"gzip", "none", NULL};
static const char *const protocol_choices[] = {"http/protobuf", "http/json", "grpc", NULL};
static const char *const fsync_choices[] = {"none", "interval", "always", NULL};
static const char *const temporality_choices[] = {"cumulative", "delta", "lowmemory", NULL};

#define OTEL_KEY(k, t, var, d) \
	{.key = k, .type = t, .offset = EU_SINK_KEY_NO_FIELD, .env = var, .desc = d}

static const struct eu_sink_key otlp_keys[] = {
	{.key = "endpoint", .type = EU_SINK_KEY_STRING, .offset = offsetof(struct otlp_conf, endpoint),
	 .env = "OTEL_EXPORTER_OTLP_ENDPOINT",
	 .desc = "the collector's base URL; http/protobuf and http/json append /v1/logs and "
		 "/v1/metrics, grpc "
		 "calls the services' Export methods (default http://localhost:4318, grpc "
		 "http://localhost:4317)"},
	{.key = "spool_dir", .type = EU_SINK_KEY_STRING,
	 .offset = offsetof(struct otlp_conf, spool_dir), .env = "EUNOMIA_OTLP_SPOOL_DIR",
	 .desc = "the disk spool: log records are written ahead to it (spool_write_ahead) or "
		 "only what the collector did not take, and replayed; metrics requests that could "
		 "not be sent wait apart in DIR/metrics"},
	{.key = "spool_max_size", .type = EU_SINK_KEY_SIZE, .min = 1,
	 .offset = offsetof(struct otlp_conf, spool_max_bytes), .env = "EUNOMIA_OTLP_SPOOL_MAX_BYTES",
	 .desc = "the spool's cap (default 256M); beyond it batches are dropped and counted"},
	{.key = "spool_fsync", .type = EU_SINK_KEY_BOOL, .def = "false",
	 .offset = offsetof(struct otlp_conf, spool_fsync),
	 .desc = "the same as fsync: always (also EUNOMIA_OTLP_SPOOL_FSYNC=1)"},
	{.key = "spool_write_ahead", .type = EU_SINK_KEY_BOOL,
	 .offset = offsetof(struct otlp_conf, spool_write_ahead),
	 .env = "EUNOMIA_OTLP_SPOOL_WRITE_AHEAD",
	 .desc = "with a spool: every record reaches the spool before it is taken (a kill -9 "
		 "loses none, at least once); false: only what the collector did not take "
		 "(default true)"},
	{.key = "fsync", .type = EU_SINK_KEY_ENUM, .def = "none", .choices = fsync_choices,
	 .offset = offsetof(struct otlp_conf, fsync),
	 .desc = "of the spool: none: leave it to the kernel (a kill -9 loses nothing, a power "
		 "loss may); interval: fdatasync what was written ahead every fsync_interval_ms; "
		 "always: after every batch the sink takes"},
	{.key = "fsync_interval_ms", .type = EU_SINK_KEY_UINT, .def = "1000", .min = 1,
	 .max = 3600000, .offset = offsetof(struct otlp_conf, fsync_interval_ms),
	 .desc = "the interval of fsync: interval"},
	{.key = "severity", .type = EU_SINK_KEY_LIST, .check = check_severities,
	 .offset = offsetof(struct otlp_conf, severity), .env = "EUNOMIA_OTLP_SEVERITY",
	 .desc = "severity per package: package=LEVEL (TRACE..FATAL4 or 1..24; default INFO)"},
	{.key = "metrics", .type = EU_SINK_KEY_BOOL, .def = "true",
	 .offset = offsetof(struct otlp_conf, metrics),
	 .desc = "export the agent's metrics (the registry, the agent's and this sink's counters) "
		 "beside the logs, every metric_export_interval; each otlp sink does unless false"},
	{.key = "attributes", .type = EU_SINK_KEY_LIST, .check = check_list,
	 .offset = offsetof(struct otlp_conf, attributes), .env = "EUNOMIA_OTLP_ATTRIBUTES",
	 .desc = "attribute name per event field: field=name (empty: drop the field)"},
	{.key = "headers", .type = EU_SINK_KEY_LIST, .check = check_list,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "OTEL_EXPORTER_OTLP_HEADERS",
	 .desc = "request headers: name=value"},
	{.key = "compression", .type = EU_SINK_KEY_ENUM, .choices = compression_choices,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "OTEL_EXPORTER_OTLP_COMPRESSION",
	 .desc = "request body compression (default none)"},
	{.key = "compression_level", .type = EU_SINK_KEY_UINT, .min = 1, .max = EU_OTLP_GZIP_LEVEL_MAX,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "EUNOMIA_OTLP_COMPRESSION_LEVEL",
	 .desc = "gzip's level: 1 fastest (default, ISA-L's igzip) .. 9 smallest (libdeflate); "
		 "bench/otlp_bench measured level 6 at 3.9-4.8x the CPU of level 1 for 20-23% "
		 "fewer bytes"},
	OTEL_KEY("timeout", EU_SINK_KEY_MILLIS, "OTEL_EXPORTER_OTLP_TIMEOUT",
		 "one request's timeout (default 10s)"),
	{.key = "protocol", .type = EU_SINK_KEY_ENUM, .choices = protocol_choices,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "OTEL_EXPORTER_OTLP_PROTOCOL",
	 .desc = "the OTLP transport: http/protobuf (the default), http/json (the same requests "
		 "as JSON) or grpc"},
	OTEL_KEY("insecure", EU_SINK_KEY_BOOL, "OTEL_EXPORTER_OTLP_INSECURE",
		 "grpc: an endpoint without a scheme is plain h2c, not TLS (default false)"),
	OTEL_KEY("certificate", EU_SINK_KEY_STRING, "OTEL_EXPORTER_OTLP_CERTIFICATE",
		 "CA file (PEM) to verify the collector with"),
	OTEL_KEY("client_certificate", EU_SINK_KEY_STRING, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
		 "client certificate (PEM) for mutual TLS"),
	OTEL_KEY("client_key", EU_SINK_KEY_STRING, "OTEL_EXPORTER_OTLP_CLIENT_KEY",
		 "client key (PEM) for mutual TLS"),
	{.key = "max_queue_size", .type = EU_SINK_KEY_UINT, .min = 1, .max = 1u << 24,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "OTEL_BLRP_MAX_QUEUE_SIZE",
	 .desc = "log records the exporter queues (default 2048)"},
	{.key = "max_export_batch_size", .type = EU_SINK_KEY_UINT, .min = 1, .max = 1u << 24,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
	 .desc = "log records per request (default 512)"},
	OTEL_KEY("schedule_delay", EU_SINK_KEY_MILLIS, "OTEL_BLRP_SCHEDULE_DELAY",
		 "how long a partial batch waits (default 1s)"),
	OTEL_KEY("export_timeout", EU_SINK_KEY_MILLIS, "OTEL_BLRP_EXPORT_TIMEOUT",
		 "a batch's whole export, retries included (default 30s)"),
	OTEL_KEY("service_name", EU_SINK_KEY_STRING, "OTEL_SERVICE_NAME",
		 "the resource's service.name (default eunomia-agent)"),
	{.key = "resource_attributes", .type = EU_SINK_KEY_LIST, .check = check_list,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "OTEL_RESOURCE_ATTRIBUTES",
	 .desc = "more resource attributes: name=value"},
	OTEL_KEY("metric_export_interval", EU_SINK_KEY_MILLIS, "OTEL_METRIC_EXPORT_INTERVAL",
		 "how often the agent's metrics are exported (default 60s)"),
	{.key = "metrics_temporality", .type = EU_SINK_KEY_ENUM, .choices = temporality_choices,
	 .offset = EU_SINK_KEY_NO_FIELD, .env = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
	 .desc = "of the registry's counters and histograms: cumulative (default), delta, or "
		 "lowmemory (delta for those counted from events)"},
	{0},
};

const struct eu_sink_plugin eu_sink_plugin_otlp = {
	.name = "otlp",
	.desc = "OpenTelemetry logs and metrics over OTLP, http/protobuf, http/json or grpc, "
		"through one exporter (records as LogRecords, one scope per package version; the agent's "
		"metrics every metric_export_interval), with retries and an optional disk spool. "
		"Keys fall back to the environment variable named.",
	.arg_key = "endpoint",
	.keys = otlp_keys,
	.conf_size = sizeof(struct otlp_conf),
	.open = otlp_open,
	.write = otlp_write,
	.flush = otlp_flush,
	.tick = otlp_tick,
	.tick_period_ms = otlp_tick_period,
	.finish = otlp_finish,
	.close = otlp_close,
	.stats = otlp_stats,
	.exclusive = otlp_spool_dir,
};
