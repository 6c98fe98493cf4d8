/* The daemon's metrics glue (metrics_daemon.c), called from daemon.c and daemon_pkg.c. */
#ifndef EUNOMIA_METRICS_DAEMON_H
#define EUNOMIA_METRICS_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "eunomia/buf.h"
#include "eunomia/error.h"

struct eu_consumer;
struct eu_metrics_pkg;
struct daemon_router;
struct eu_daemon_metrics;

/* Every package's counters, for the agent's own metrics: the packages are above this file,
 * so daemon.c hands the walk down (eu_daemon_foreach_package). */
typedef void (*daemon_foreach_fn)(struct eu_daemon *d, eu_daemon_pkg_fn fn, void *ctx);

/* What of the daemon the metrics read: its loop, its effective config and its router (the
 * sinks' counters), each living as long as the daemon, and the walk over its packages (d
 * only passed back to it). Nothing else of the daemon is visible here. */
struct daemon_metrics_env {
	uv_loop_t *loop;
	const struct eu_config *cfg;
	const struct daemon_router *router;
	daemon_foreach_fn foreach_package;
	struct eu_daemon *d;
};

/* Before the config is built: keeps the options, reads the exporter config's package list.
 * *out is set (to be freed by daemon_metrics_free) even on an error. */
int daemon_metrics_new(struct eu_daemon_metrics **out, const struct eu_daemon_opts *opts,
		       const struct daemon_metrics_env *env, eu_error *err);
/* Adds the exporter config's rules to a config being built (start-up and SIGHUP). */
int daemon_metrics_config(struct eu_daemon_metrics *dm, struct eu_config *cfg, eu_error *err);
/* Whether the exporter config names packages (then no watch directory is needed). */
bool daemon_metrics_has_packages(const struct eu_daemon_metrics *dm);
/* Once the loop runs: the expiry timer and the --prometheus listener. */
int daemon_metrics_start(struct eu_daemon_metrics *dm, eu_error *err);
/* The exporter config's packages (loaded by daemon_pkg.c after the watched directories). */
struct eu_exporter_program;
const struct eu_exporter_program *daemon_metrics_packages(const struct eu_daemon_metrics *dm,
							  size_t *n);
void daemon_metrics_stop(struct eu_daemon_metrics *dm);
/* Before SIGHUP replaces the sinks: each takes a last copy of the metrics, exported when it
 * closes. */
void daemon_metrics_handover(struct eu_daemon_metrics *dm);
/* What the sinks get their copies of the metrics from (eu_sink_config.metrics). */
struct eu_metrics_feed *daemon_metrics_feed(struct eu_daemon_metrics *dm);
/* The feed's collect callback (ctx: the eu_daemon_metrics): a copy of the registry and the
 * agent's own counters. */
struct eu_metrics_snapshot;
int daemon_metrics_collect(void *ctx, struct eu_metrics_snapshot *out, eu_error *err);
void daemon_metrics_free(struct eu_daemon_metrics *dm);
/* The registry (eu_daemon_metrics_registry), or NULL. */
struct eu_metrics *daemon_metrics_registry(const struct eu_daemon_metrics *dm);
/* The Prometheus text of the registry and the agent's own counters
 * (eu_daemon_render_metrics). */
void daemon_metrics_render(struct eu_daemon_metrics *dm, eu_buf *out);
/* Appends the package's metric rules to its parameter key (frees key; NULL when out of
 * memory), so that a config reload that changes them reloads the package. */
char *daemon_metrics_key(struct eu_daemon_metrics *dm, const char *stem, const char *name,
			 char *key);
/* Compiles the rules of a starting instance (file stem, package name, its consumer) into
 * *out; nothing without a consumer. */
int daemon_metrics_inst(struct eu_daemon_metrics *dm, const char *stem, const char *name,
			struct eu_consumer *cons, struct eu_metrics_pkg **out, eu_error *err);

#endif
