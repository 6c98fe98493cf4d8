/* The daemon's metrics glue (metrics_daemon.c), called from daemon.c and daemon_pkg.c. */
#ifndef EUNOMIA_METRICS_DAEMON_H
#define EUNOMIA_METRICS_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "daemon.h"
#include "eunomia/error.h"

struct pkg_inst;

/* Every package's counters, for the agent's own metrics: the packages are above this file,
 * so daemon.c hands the walk down (eu_daemon_foreach_package). */
typedef void (*daemon_foreach_fn)(struct eu_daemon *d, eu_daemon_pkg_fn fn, void *ctx);
/* Before the config is built: keeps the options, reads the exporter config's package list. */
int daemon_metrics_new(struct eu_daemon *d, const struct eu_daemon_opts *opts,
		       daemon_foreach_fn foreach_package, eu_error *err);
/* Adds the exporter config's rules to a config being built (start-up and SIGHUP). */
int daemon_metrics_config(struct eu_daemon *d, struct eu_config *cfg, eu_error *err);
/* Whether the exporter config names packages (then no watch directory is needed). */
bool daemon_metrics_has_packages(struct eu_daemon *d);
/* Once the loop runs: the expiry timer and the --prometheus listener. */
int daemon_metrics_start(struct eu_daemon *d, eu_error *err);
/* The exporter config's packages (loaded by daemon_pkg.c after the watched directories). */
struct eu_exporter_program;
const struct eu_exporter_program *daemon_metrics_packages(struct eu_daemon *d, size_t *n);
void daemon_metrics_stop(struct eu_daemon *d);
/* Before SIGHUP replaces the sinks: each takes a last copy of the metrics, exported when it
 * closes. */
void daemon_metrics_handover(struct eu_daemon *d);
/* What the sinks get their copies of the metrics from (eu_sink_config.metrics). */
struct eu_metrics_feed *daemon_metrics_feed(struct eu_daemon *d);
/* The feed's collect callback: a copy of the registry and the agent's own counters. */
struct eu_metrics_snapshot;
int daemon_metrics_collect(void *ctx, struct eu_metrics_snapshot *out, eu_error *err);
void daemon_metrics_free(struct eu_daemon *d);
/* Appends the package's metric rules to its parameter key (frees key; NULL when out of
 * memory), so that a config reload that changes them reloads the package. */
char *daemon_metrics_key(struct eu_daemon *d, const char *stem, const char *name, char *key);
/* Compiles the rules of a starting instance into inst->metrics. */
int daemon_metrics_inst(struct eu_daemon *d, struct pkg_inst *inst, eu_error *err);

#endif
