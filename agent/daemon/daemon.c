/* The daemon's loop: config, sinks, watched directories and signals (see daemon.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_priv.h"
#include "metrics_daemon.h"
#include "eunomia/consumer.h"
#include "eunomia/log.h"
#include "notify.h"

static int copy_config(struct eu_config *dst, const struct eu_config *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src)
		return 0;
	for (size_t i = 0; i < src->n_watch; i++)
		if (eu_config_add_watch(dst, src->watch[i]))
			return -ENOMEM;
	for (size_t i = 0; i < src->n_sinks; i++) {
		struct eu_sink_config s;
		if (eu_sink_config_copy(&s, &src->sinks[i]) || eu_config_add_sink(dst, &s))
			return -ENOMEM;
	}
	dst->queue_size = src->queue_size;
	memcpy(dst->sink_options, src->sink_options, sizeof(dst->sink_options));
	dst->n_sink_options = src->n_sink_options;
	dst->log_level_set = src->log_level_set;
	dst->log_level = src->log_level;
	/* per-package params come from the file only */
	return 0;
}

static bool has_watch(const struct eu_config *c, const char *dir)
{
	for (size_t i = 0; i < c->n_watch; i++)
		if (!strcmp(c->watch[i], dir))
			return true;
	return false;
}

/* The effective config: the file's, plus the command line's watch dirs; the command line's
 * sinks and log level win. */
static int build_config(struct eu_daemon *d, struct eu_config *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	if (d->config_path) {
		int ret = eu_config_load_file(d->config_path, out, err);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < d->cli.n_watch; i++)
		if (!has_watch(out, d->cli.watch[i]) && eu_config_add_watch(out, d->cli.watch[i]))
			goto oom;
	if (d->cli.n_sinks) {
		for (size_t i = 0; i < out->n_sinks; i++)
			eu_sink_config_free(&out->sinks[i]);
		out->n_sinks = 0;
		for (size_t i = 0; i < d->cli.n_sinks; i++) {
			struct eu_sink_config s;
			if (eu_sink_config_copy(&s, &d->cli.sinks[i]) || eu_config_add_sink(out, &s))
				goto oom;
		}
	}
	if (d->cli.log_level_set) {
		out->log_level_set = true;
		out->log_level = d->cli.log_level;
	}
	if (d->cli.queue_size)
		out->queue_size = d->cli.queue_size;
	memcpy(out->sink_options, d->cli.sink_options, sizeof(out->sink_options));
	out->n_sink_options = d->cli.n_sink_options;
	int mret = daemon_metrics_config(d->metrics, out, err);
	if (mret) {
		eu_config_free(out);
		return mret;
	}
	return 0;
oom:
	eu_config_free(out);
	return eu_error_set(err, -ENOMEM, "out of memory");
}

/* What start-up refuses and a reload must refuse alike (a reload applies nothing then):
 * nothing to watch, a watch path that is not a directory. */
static int config_check(struct eu_daemon *d, const struct eu_config *cfg, eu_error *err)
{
	if (!cfg->n_watch && !daemon_metrics_has_packages(d->metrics))
		return eu_error_set(err, -EINVAL,
				    "nothing to watch: give --watch DIR or watch: in the config");
	for (size_t i = 0; i < cfg->n_watch; i++) {
		struct stat st;
		if (stat(cfg->watch[i], &st))
			return eu_error_set(err, -EINVAL, "watch %s: %s", cfg->watch[i],
					    strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return eu_error_set(err, -EINVAL, "watch %s: not a directory",
					    cfg->watch[i]);
	}
	return 0;
}

/* The sinks cfg will open: the registry's default type when it names none, the global queue
 * size where a sink has none of its own, the command line's sink options. */
static int sink_defaults(struct eu_config *cfg, eu_error *err)
{
	if (!cfg->n_sinks) {
		struct eu_sink_config s;
		int ret = eu_sink_config_init(&s, eu_sink_default_type(), err);
		if (ret)
			return ret;
		if (eu_config_add_sink(cfg, &s)) {
			eu_sink_config_free(&s);
			return eu_error_set(err, -ENOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		if (!cfg->sinks[i].queue_records)
			cfg->sinks[i].queue_records = cfg->queue_size;
		for (size_t k = 0; k < cfg->n_sink_options; k++) {
			int ret = eu_sink_config_apply_option(&cfg->sinks[i], &cfg->sink_options[k],
							      err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Opens every sink of cfg (defaults applied), or none; the sinks that export metrics read
 * them from feed. */
static int open_sink_set(struct eu_config *cfg, struct eu_metrics_feed *feed,
			 struct eu_sink ***out, eu_error *err)
{
	*out = NULL;
	int ret = sink_defaults(cfg, err);
	if (ret)
		return ret;
	struct eu_sink **sinks = calloc(cfg->n_sinks, sizeof(*sinks));
	if (!sinks)
		return eu_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		cfg->sinks[i].metrics = feed;
		ret = eu_sink_open(&cfg->sinks[i], &sinks[i], err);
		if (ret) {
			for (size_t k = 0; k < i; k++)
				eu_sink_close(sinks[k], 0);
			free(sinks);
			return ret;
		}
		eu_log(EU_LOG_DEBUG, "sink %s opened", eu_sink_name(sinks[i]));
	}
	*out = sinks;
	return 0;
}

static int open_sinks(struct eu_daemon *d, eu_error *err)
{
	int ret = open_sink_set(&d->cfg, daemon_metrics_feed(d->metrics), &d->router.sinks, err);
	if (!ret)
		d->router.n_sinks = d->cfg.n_sinks;
	return ret;
}

static bool same_sinks(const struct eu_config *a, const struct eu_config *b)
{
	if (a->n_sinks != b->n_sinks)
		return false;
	for (size_t i = 0; i < a->n_sinks; i++)
		if (!eu_sink_config_equal(&a->sinks[i], &b->sinks[i]))
			return false;
	return true;
}

static int watch_add(struct eu_daemon *d, const char *dir, eu_error *err)
{
	struct watch_dir *wd = calloc(1, sizeof(*wd));
	if (!wd || !(wd->dir = strdup(dir))) {
		free(wd);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	wd->d = d;
	/* linked before the first scan: the slots it creates point at it */
	wd->next = d->dirs;
	d->dirs = wd;
	struct eu_watcher_opts wo = {.sz = sizeof(wo), .debounce_ms = d->debounce_ms,
				     .settle_ms = d->settle_ms};
	int ret = eu_watcher_new(&d->loop, dir, &eu_daemon_watch_ops, wd, &wo, &wd->w, err);
	if (ret) {
		d->dirs = wd->next;
		free(wd->dir);
		free(wd);
	}
	return ret;
}

static void watch_remove(struct eu_daemon *d, struct watch_dir *wd)
{
	for (struct watch_dir **pp = &d->dirs; *pp; pp = &(*pp)->next) {
		if (*pp == wd) {
			*pp = wd->next;
			break;
		}
	}
	eu_watcher_close(wd->w);
	struct pkg_slot *s = d->slots;
	while (s) {
		struct pkg_slot *next = s->next;
		if (s->dir == wd)
			daemon_slot_free(d, s);
		s = next;
	}
	free(wd->dir);
	free(wd);
}

static void count_states(struct eu_daemon *d, size_t *loaded, size_t *failed)
{
	*loaded = *failed = 0;
	for (struct pkg_slot *s = d->slots; s; s = s->next)
		(*(s->cur ? loaded : failed))++;
}

void eu_daemon_foreach_package(struct eu_daemon *d, eu_daemon_pkg_fn fn, void *ctx)
{
	for (struct pkg_slot *s = d->slots; s; s = s->next) {
		struct eu_daemon_pkg_info info;
		daemon_pkg_info(s, &info);
		fn(ctx, &info);
	}
}

void eu_daemon_render_metrics(struct eu_daemon *d, eu_buf *out)
{
	if (d->metrics)
		daemon_metrics_render(d->metrics, out);
}

struct eu_metrics *eu_daemon_metrics_registry(struct eu_daemon *d)
{
	return daemon_metrics_registry(d->metrics);
}

static void log_pkg(void *ctx, const struct eu_daemon_pkg_info *i)
{
	if (i->state == EU_PKG_STATE_LOADED)
		eu_log(EU_LOG_INFO,
		       "counters: package %s (%s) version %s: loaded, %zu attached, received %llu, "
		       "decoded %llu, lost %llu, decode errors %llu, records %llu, format errors %llu%s%s",
		       i->name, i->path, i->version, i->attached, (unsigned long long)i->received,
		       (unsigned long long)i->decoded, (unsigned long long)i->lost,
		       (unsigned long long)i->decode_errors, (unsigned long long)i->records,
		       (unsigned long long)i->format_errors, i->reason ? "; last update failed: " : "",
		       i->reason ? i->reason : "");
	else
		eu_log(EU_LOG_INFO, "counters: package %s (%s): failed: %s", i->name, i->path,
		       i->reason ? i->reason : "unknown");
}

static void log_sink_set(struct eu_sink **sinks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct eu_sink_stats st;
		eu_sink_get_stats(sinks[i], &st);
		if (st.delivers) {
			/* handed over is not delivered: say what the receiver acknowledged */
			eu_log(EU_LOG_INFO,
			       "counters: sink %s: queued %llu, handed to the exporter %llu, exported "
			       "%llu, retried %llu, spooled %llu, replayed %llu, dropped %llu (in the "
			       "sink queue %llu, after the hand-over %llu, of which spool_full %llu), "
			       "in queue %zu",
			       eu_sink_name(sinks[i]), (unsigned long long)st.queued,
			       (unsigned long long)st.written, (unsigned long long)st.exported,
			       (unsigned long long)st.export_retries, (unsigned long long)st.spooled,
			       (unsigned long long)st.replayed,
			       (unsigned long long)(st.dropped + st.export_dropped),
			       (unsigned long long)st.dropped, (unsigned long long)st.export_dropped,
			       (unsigned long long)st.spool_full, st.queue_len);
			continue;
		}
		eu_log(EU_LOG_INFO,
		       "counters: sink %s: queued %llu, written %llu, dropped %llu, retried %llu, "
		       "bytes %llu, rotations %llu, in queue %zu",
		       eu_sink_name(sinks[i]), (unsigned long long)st.queued,
		       (unsigned long long)st.written, (unsigned long long)st.dropped,
		       (unsigned long long)st.retried, (unsigned long long)st.bytes,
		       (unsigned long long)st.rotations, st.queue_len);
	}
}

static void log_sinks(struct eu_daemon *d)
{
	log_sink_set(d->router.sinks, d->router.n_sinks);
}

/* How long replaced sinks together may take to write what they hold. */
#define SINK_SWAP_CLOSE_MS 2000

/* Flushes the sinks against one bound for all of them, logs their final counters, closes and
 * frees them. Blocks: run on the thread pool unless the caller must wait for it. */
static void retire_sink_set(struct eu_sink **sinks, size_t n, uint32_t bound_ms)
{
	uint64_t start = uv_hrtime();
	for (size_t i = 0; i < n; i++) {
		uint64_t spent = (uv_hrtime() - start) / 1000000u;
		int left = spent < bound_ms ? (int)(bound_ms - spent) : 0;
		if (eu_sink_flush(sinks[i], left))
			eu_log(EU_LOG_WARN, "sink %s: not flushed within %u ms: dropping the rest",
			       eu_sink_name(sinks[i]), bound_ms);
	}
	/* count first (what will not be written is dropped), log last: abandoned, then stopped,
	 * so that a plugin's own last delivery (an exporter's wait for its receiver, its
	 * shutdown) is in the counters logged, not after them */
	for (size_t i = 0; i < n; i++)
		eu_sink_abandon(sinks[i]);
	for (size_t i = 0; i < n; i++)
		eu_sink_stop(sinks[i], 0);
	log_sink_set(sinks, n);
	for (size_t i = 0; i < n; i++)
		eu_sink_close(sinks[i], 0);
	free(sinks);
}

struct sink_retire {
	uv_work_t work;
	struct eu_sink **sinks;
	size_t n;
};

static void sink_retire_work(uv_work_t *w)
{
	struct sink_retire *r = w->data;
	retire_sink_set(r->sinks, r->n, SINK_SWAP_CLOSE_MS);
}

static void sink_retire_done(uv_work_t *w, int status)
{
	free(w->data);
}

/* Whether a sink of a and one of b would hold the same exclusive resource (an otlp spool
 * directory). */
static bool shares_exclusive(const struct eu_config *a, const struct eu_config *b)
{
	for (size_t i = 0; i < a->n_sinks; i++) {
		const char *x = eu_sink_config_exclusive(&a->sinks[i]);
		for (size_t k = 0; x && k < b->n_sinks; k++) {
			const char *y = eu_sink_config_exclusive(&b->sinks[k]);
			if (y && !strcmp(x, y))
				return true;
		}
	}
	return false;
}

/* SIGHUP with other sinks in the config. Normally the new set is opened first (the running
 * one stays when any fails), records go to it from the next batch on, and the old sinks
 * write what they hold, log their final counters and close on the thread pool. Two otlp
 * sinks must never share a spool directory (each replays and names its files alone), so
 * when the new set would reuse an old one's, the old set is closed first, on the loop,
 * and reopened if the new one cannot open. */
static int swap_sinks(struct eu_daemon *d, struct eu_config *next, eu_error *err)
{
	daemon_router_flush(&d->router);
	daemon_metrics_handover(d->metrics);
	struct eu_sink **old = d->router.sinks, **sinks = NULL;
	size_t n_old = d->router.n_sinks;
	bool close_first = shares_exclusive(&d->cfg, next);
	int ret = 0;
	if (close_first) {
		d->router.sinks = NULL;
		d->router.n_sinks = 0;
		for (size_t i = 0; i < n_old; i++) {
			const char *x = eu_sink_config_exclusive(&d->cfg.sinks[i]);
			eu_log(EU_LOG_INFO, "config reload: sink %s replaced (closed first: the new "
			       "sinks use %s too)", eu_sink_name(old[i]), x ? x : "its resources");
		}
		retire_sink_set(old, n_old, SINK_SWAP_CLOSE_MS);
		ret = open_sink_set(next, daemon_metrics_feed(d->metrics), &sinks, err);
		if (ret) {
			eu_error again = {0};
			if (!open_sink_set(&d->cfg, daemon_metrics_feed(d->metrics), &d->router.sinks, &again))
				d->router.n_sinks = d->cfg.n_sinks;
			else
				eu_log(EU_LOG_ERROR, "config reload: the previous sinks do not open "
				       "again either (%s): records are dropped until a reload succeeds",
				       again.msg);
			return ret;
		}
	} else {
		ret = open_sink_set(next, daemon_metrics_feed(d->metrics), &sinks, err);
		if (ret)
			return ret;
	}
	d->router.sinks = sinks;
	d->router.n_sinks = next->n_sinks;
	for (size_t i = 0; !close_first && i < n_old; i++)
		eu_log(EU_LOG_INFO, "config reload: sink %s replaced", eu_sink_name(old[i]));
	if (!close_first) {
		struct sink_retire *r = calloc(1, sizeof(*r));
		if (r) {
			r->work.data = r;
			r->sinks = old;
			r->n = n_old;
		}
		if (!r || uv_queue_work(&d->loop, &r->work, sink_retire_work, sink_retire_done)) {
			free(r);
			retire_sink_set(old, n_old, SINK_SWAP_CLOSE_MS);
		}
	}
	for (size_t i = 0; i < d->router.n_sinks; i++)
		eu_log(EU_LOG_INFO, "config reload: sink %s opened", eu_sink_name(d->router.sinks[i]));
	return 0;
}

static void log_kbtf(struct eu_daemon *d)
{
	if (!d->kbtf) {
		eu_log(EU_LOG_INFO, "kernel BTF: not cached (EUNOMIA_BTF_TRIM=0): libbpf parses it "
		       "on every load");
		return;
	}
	struct eu_kbtf_stats s;
	eu_kbtf_cache_stats(d->kbtf, &s);
	eu_log(EU_LOG_INFO,
	       "kernel BTF: parsed %llu time(s) (last %.1f ms), %llu trimmed, %llu cache hit(s), "
	       "%llu from the store, "
	       "fallbacks to libbpf: kernel_btf=%llu object=%llu module_type=%llu unsupported=%llu "
	       "other=%llu",
	       (unsigned long long)s.kernel_parses, s.kernel_parse_ms, (unsigned long long)s.trims,
	       (unsigned long long)s.hits, (unsigned long long)s.store_hits,
	       (unsigned long long)s.fallbacks[EU_KBTF_FB_KERNEL_BTF],
	       (unsigned long long)s.fallbacks[EU_KBTF_FB_OBJECT],
	       (unsigned long long)s.fallbacks[EU_KBTF_FB_MODULE],
	       (unsigned long long)s.fallbacks[EU_KBTF_FB_UNSUPPORTED],
	       (unsigned long long)s.fallbacks[EU_KBTF_FB_OTHER]);
}

void eu_daemon_log_counters(struct eu_daemon *d)
{
	eu_daemon_foreach_package(d, log_pkg, NULL);
	log_sinks(d);
	log_kbtf(d);
}

/* SIGHUP: the config's watch dirs, params, log level and sinks; a package whose params
 * changed is reloaded (the rescan offers every file again; unchanged ones are kept as they
 * are); sinks are replaced only when their settings changed. A config start-up would refuse,
 * or sinks that do not open, change nothing at all: the running configuration stays. */
static void reload_config(struct eu_daemon *d)
{
	eu_error err = {0};
	struct eu_config next;
	if (build_config(d, &next, &err)) {
		eu_log(EU_LOG_ERROR, "config reload: %s (keeping the running configuration)",
		       err.msg);
		return;
	}
	bool keep_sinks = false;
	if (config_check(d, &next, &err) || sink_defaults(&next, &err) ||
	    (!(keep_sinks = same_sinks(&d->cfg, &next)) && swap_sinks(d, &next, &err))) {
		eu_log(EU_LOG_ERROR, "config reload: %s (keeping the running configuration)",
		       err.msg);
		eu_config_free(&next);
		return;
	}
	if (next.log_level_set)
		eu_log_set_level(next.log_level);
	if (keep_sinks) {
		struct eu_sink_config *sinks = d->cfg.sinks;
		size_t n_sinks = d->cfg.n_sinks;
		d->cfg.sinks = NULL;
		d->cfg.n_sinks = 0;
		for (size_t i = 0; i < next.n_sinks; i++)
			eu_sink_config_free(&next.sinks[i]);
		free(next.sinks);
		next.sinks = sinks;
		next.n_sinks = n_sinks;
	}
	eu_config_free(&d->cfg);
	d->cfg = next;

	struct watch_dir *wd = d->dirs;
	while (wd) {
		struct watch_dir *n = wd->next;
		if (!has_watch(&d->cfg, wd->dir)) {
			eu_log(EU_LOG_INFO, "config reload: no longer watching %s", wd->dir);
			watch_remove(d, wd);
		}
		wd = n;
	}
	for (size_t i = 0; i < d->cfg.n_watch; i++) {
		bool have = false;
		for (wd = d->dirs; wd; wd = wd->next)
			have = have || !strcmp(wd->dir, d->cfg.watch[i]);
		if (have)
			continue;
		if (watch_add(d, d->cfg.watch[i], &err))
			eu_log(EU_LOG_ERROR, "config reload: %s", err.msg);
		else
			eu_log(EU_LOG_INFO, "config reload: watching %s", d->cfg.watch[i]);
	}
	daemon_rescan_watched(d);
	eu_log(EU_LOG_INFO, "config reloaded");
}

static void on_stopped_handle(uv_handle_t *h)
{
}

static void on_stop_soon(uv_timer_t *t)
{
	eu_daemon_stop(t->data);
}

/* Stops the daemon from the loop's next turn (safe inside any callback): the router's
 * callback when the only sink's reader went away. */
static void stop_soon(void *ctx)
{
	struct eu_daemon *d = ctx;
	if (d->signals_init)
		uv_timer_start(&d->stop_soon, on_stop_soon, 0, 0);
}

void eu_daemon_stop(struct eu_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	daemon_router_stopping(&d->router);
	eu_notify_stopping();
	daemon_ctl_stop(d);
	while (d->dirs) {
		struct watch_dir *wd = d->dirs;
		d->dirs = wd->next;
		eu_watcher_close(wd->w);
		free(wd->dir);
		free(wd);
	}
	/* take what the kernel buffered, then the final counters, then detach everything */
	for (struct pkg_slot *s = d->slots; s; s = s->next) {
		if (s->cur && s->cur->cons) {
			eu_consumer_stop(s->cur->cons);
			eu_consumer_drain(s->cur->cons);
		}
	}
	daemon_router_flush(&d->router);
	eu_daemon_foreach_package(d, log_pkg, NULL);
	log_kbtf(d);
	daemon_metrics_stop(d->metrics);
	while (d->slots)
		daemon_slot_free(d, d->slots);
	if (d->signals_init) {
		uv_close((uv_handle_t *)&d->sig_int, on_stopped_handle);
		uv_close((uv_handle_t *)&d->sig_term, on_stopped_handle);
		uv_close((uv_handle_t *)&d->sig_hup, on_stopped_handle);
		uv_close((uv_handle_t *)&d->sig_usr1, on_stopped_handle);
		uv_close((uv_handle_t *)&d->stop_soon, on_stopped_handle);
		daemon_router_close(&d->router);
		d->signals_init = false;
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct eu_daemon *d = h->data;
	switch (signum) {
	case SIGINT:
	case SIGTERM:
		eu_log(EU_LOG_INFO, "%s: stopping", strsignal(signum));
		eu_daemon_stop(d);
		break;
	case SIGHUP:
		eu_log(EU_LOG_INFO, "SIGHUP: reopening sink files%s",
		       d->config_path ? " and reloading the config" : "");
		daemon_router_flush(&d->router);
		for (size_t i = 0; i < d->router.n_sinks; i++)
			eu_sink_reopen(d->router.sinks[i]);
		reload_config(d);
		break;
	case SIGUSR1:
		eu_daemon_log_counters(d);
		break;
	}
}

int eu_daemon_new(const struct eu_daemon_opts *opts, struct eu_daemon **out, eu_error *err)
{
	*out = NULL;
	struct eu_daemon *d = calloc(1, sizeof(*d));
	if (!d)
		return eu_error_set(err, -ENOMEM, "out of memory");
	eu_features_init(&d->features);
	d->debounce_ms = opts->debounce_ms;
	d->settle_ms = opts->settle_ms;
	d->shutdown_ms = opts->shutdown_timeout_ms ? opts->shutdown_timeout_ms : 5000;
	if (gethostname(d->host, sizeof(d->host) - 1))
		strcpy(d->host, "unknown");
	int ret;
	if ((opts->config_path && !(d->config_path = strdup(opts->config_path))) ||
	    (opts->btf_archive_dir && !(d->btf_archive_dir = strdup(opts->btf_archive_dir))) ||
	    copy_config(&d->cli, opts->cli)) {
		ret = eu_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	/* EUNOMIA_BTF_TRIM=0: libbpf parses the kernel BTF on every load (benches, a way out) */
	const char *trim = getenv("EUNOMIA_BTF_TRIM");
	if ((!trim || strcmp(trim, "0")) && (ret = eu_kbtf_cache_new(&d->kbtf, err)))
		goto fail;
	d->static_dir.d = d;
	const struct daemon_metrics_env menv = {.loop = &d->loop, .cfg = &d->cfg,
						.router = &d->router,
						.foreach_package = eu_daemon_foreach_package, .d = d};
	if ((ret = daemon_metrics_new(&d->metrics, opts, &menv, err)))
		goto fail;
	if ((ret = build_config(d, &d->cfg, err)) || (ret = config_check(d, &d->cfg, err)))
		goto fail;
	if (d->cfg.log_level_set)
		eu_log_set_level(d->cfg.log_level);
	if ((ret = uv_loop_init(&d->loop))) {
		eu_error_set(err, ret, "cannot create the event loop: %s", uv_strerror(ret));
		goto fail;
	}
	d->loop_init = true;
	if ((ret = open_sinks(d, err)))
		goto fail;
	if ((ret = daemon_metrics_start(d->metrics, err)))
		goto fail;
	uv_signal_init(&d->loop, &d->sig_int);
	uv_signal_init(&d->loop, &d->sig_term);
	uv_signal_init(&d->loop, &d->sig_hup);
	uv_signal_init(&d->loop, &d->sig_usr1);
	uv_timer_init(&d->loop, &d->stop_soon);
	daemon_router_init(&d->router, &d->loop, stop_soon, d);
	d->sig_int.data = d->sig_term.data = d->sig_hup.data = d->sig_usr1.data = d;
	d->stop_soon.data = d;
	d->signals_init = true;
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
	uv_signal_start(&d->sig_usr1, on_signal, SIGUSR1);
	if ((ret = daemon_ctl_init(d, opts, err)))
		goto fail;
	*out = d;
	return 0;
fail:
	eu_daemon_free(d);
	return ret;
}

int eu_daemon_watch(struct eu_daemon *d, eu_error *err)
{
	for (size_t i = 0; i < d->cfg.n_watch; i++) {
		int ret = watch_add(d, d->cfg.watch[i], err);
		if (ret)
			return ret;
	}
	daemon_load_exporter_packages(d);
	return 0;
}

int eu_daemon_run(struct eu_daemon *d)
{
	/* ready only now: the caller started what it adds (the API) after eu_daemon_new, and
	 * a failure there must come before any "ready" (systemd Type=notify included) */
	size_t loaded, failed;
	count_states(d, &loaded, &failed);
	eu_log(EU_LOG_INFO, "ready: watching %zu director%s, %zu package%s loaded, %zu failed",
	       d->cfg.n_watch, d->cfg.n_watch == 1 ? "y" : "ies", loaded, loaded == 1 ? "" : "s",
	       failed);
	char status[160];
	eu_notify_format_status(status, sizeof(status), d->cfg.n_watch, loaded, failed);
	if (eu_notify_ready(status))
		eu_log(EU_LOG_WARN, "cannot notify the service manager (NOTIFY_SOCKET) of readiness");
	uv_run(&d->loop, UV_RUN_DEFAULT);
	daemon_router_flush(&d->router);
	return 0;
}

void eu_daemon_free(struct eu_daemon *d)
{
	if (!d)
		return;
	if (d->loop_init) {
		eu_daemon_stop(d);
		/* closes handles and waits for detaches on the thread pool */
		uv_run(&d->loop, UV_RUN_DEFAULT);
	}
	daemon_router_flush(&d->router);
	retire_sink_set(d->router.sinks, d->router.n_sinks, d->shutdown_ms);
	d->router.sinks = NULL;
	d->router.n_sinks = 0;
	if (d->loop_init)
		uv_loop_close(&d->loop);
	daemon_router_free(&d->router);
	eu_config_free(&d->cfg);
	eu_config_free(&d->cli);
	daemon_metrics_free(d->metrics);
	d->metrics = NULL;
	daemon_ctl_free(d);
	free(d->config_path);
	eu_kbtf_cache_free(d->kbtf);
	free(d->btf_archive_dir);
	free(d);
}
