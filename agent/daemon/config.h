/* The daemon's configuration file: YAML, read with libyaml. YAML rather than JSON because the
 * OpenTelemetry exporter settings (issue 5) must be accepted as upstream writes them, and
 * those are YAML; JSON is YAML too, so a JSON config file is read as well.
 *
 *   watch: [/etc/eunomia.d]              # or a single string; repeatable on the CLI
 *   log_level: info                      # error, warn, info, debug, trace
 *   queue_size: 65536                    # records per sink queue (each sink may override)
 *   sinks:                               # default: one stdout sink
 *     - type: stdout
 *     - type: file                       # every other key: the sink type's key table
 *       path: /var/log/eunomia/events.jsonl   (eunomia-agent --help-sinks)
 *       max_size: 100M
 *       queue_size: 10000
 *   packages:                            # per-package parameters, by file stem or name
 *     bootstrap:
 *       params: {min_duration_ns: 1000000}
 *       metrics: {counters: [...], histograms: [...], gauges: [...]}   # metrics_rules.h
 *   metrics:                             # the metrics registry (metrics.h), start-up only
 *     max_series: 2000                   # default series budget per metric
 *     series_idle: 10m                   # idle series expire; 0: never
 *   prometheus:                          # the --prometheus page (metrics.h)
 *     without_type_suffix: true          # counters without _total (default false)
 *
 * Unknown keys are errors (a typo should not be silently ignored). Errors name the file, the
 * line and the key path: "agent.yaml:7: sinks[1].keep: expected a non-negative integer". */
#ifndef EUNOMIA_CONFIG_H
#define EUNOMIA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"
#include "eunomia/log.h"
#include "eunomia/program.h"
#include "sinks/sink.h"

struct eu_metric_rules;

struct eu_config_param {
	char *name;
	char *value; /* as text, what eu_params_set takes */
};

struct eu_config_package {
	char *name;  /* a package file stem ("bootstrap" for bootstrap.json) or package name */
	struct eu_config_param *params;
	size_t n_params;
	struct eu_metric_rules *metrics; /* `metrics:` (metrics_rules.h), or NULL */
	uint32_t sample_freq;            /* `sample_freq:` Hz for perf_event programs; 0: 49 */
	struct eu_map_size *map_sizes;   /* `map_sizes: {MAP: N}` (names malloc'd) */
	size_t n_map_sizes;
	char **attach;                   /* `attach: {PROG: BINARY:FUNCTION[@PID]}` as
					  * "PROG=BINARY:FUNCTION[@PID]" (eu_program_opts) */
	size_t n_attach;
	char **perf_events;              /* `perf_events: {PROG: EVENT[:period=N|:freq=HZ]}` as
					  * "PROG=EVENT..." (eu_program_opts.perf_event_specs) */
	size_t n_perf_events;
};

struct eu_config {
	char **watch;
	size_t n_watch;
	struct eu_sink_config *sinks;
	size_t n_sinks;
	struct eu_config_package *packages;
	size_t n_packages;
	size_t queue_size;        /* 0: the sink default */
	/* The command line's options that plugins' keys declare (stdout's --format), each set
	 * on every sink of that type (command line only; not owned) */
	struct eu_sink_option sink_options[EU_SINK_MAX_OPTIONS];
	size_t n_sink_options;
	bool log_level_set;
	enum eu_log_level log_level;
	/* `insecure_watch_dir: true`: as --insecure-watch-dir; read at start-up only */
	bool insecure_watch_dir;
	/* `metrics: {max_series: 2000, series_idle: 10m}` (metrics.h): the default series budget
	 * of a metric and how long a series may stay idle (s; UINT64_MAX: never); 0: the
	 * defaults. Start-up only. */
	size_t metrics_max_series;
	uint64_t metrics_idle_s;
	/* `prometheus: {without_type_suffix: true}`: counters on /metrics keep their name, no
	 * _total (EU_PROM_WITHOUT_TYPE_SUFFIX); or --prometheus-without-type-suffix. Follows
	 * SIGHUP. */
	bool prom_without_type_suffix;
};

/* Parses YAML text. On error, *out is left empty and err says where and why. */
int eu_config_parse(const char *text, size_t len, const char *origin, struct eu_config *out,
		    eu_error *err);
int eu_config_load_file(const char *path, struct eu_config *out, eu_error *err);
void eu_config_free(struct eu_config *cfg);

/* The params for a package (matched by file stem first, then by package name), or NULL. */
const struct eu_config_package *eu_config_find_package(const struct eu_config *cfg,
						       const char *stem, const char *name);

/* Appends a string to a list (watch dirs); -ENOMEM. */
int eu_config_add_watch(struct eu_config *cfg, const char *dir);
/* Appends a sink (takes ownership of what *sink holds; it is left empty). */
int eu_config_add_sink(struct eu_config *cfg, struct eu_sink_config *sink);

/* Upstream's exporter config (eunomia-otel.yaml, metrics_rules.h): each program's metric rules
 * are added to cfg's packages under the program's name (a package cfg already gives rules
 * keeps them), its package (a file or inline) to *progs (eu_exporter_programs_free). */
struct eu_exporter_program;
int eu_exporter_config_load(const char *file, struct eu_config *cfg,
			    struct eu_exporter_program **progs, size_t *n_progs, eu_error *err);

#endif
