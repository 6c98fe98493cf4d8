/* Metric rules per package, and the metrics a running package feeds (metrics.h).
 *
 * In the config file, under a package (config.h):
 *
 *   packages:
 *     opensnoop:
 *       metrics:
 *         counters:                        # each event adds 1 (or the value of `field`)
 *           - name: file_opens
 *             description: files opened
 *             labels:                      # a label's value is the field of the same name,
 *               - name: comm               # or the field named by `from`
 *               - name: filename
 *                 from: fname
 *         histograms:
 *           - name: open_latency
 *             field: delta_us              # a numeric field
 *             unit: us                     # time units are converted to seconds
 *             buckets: [10, 100, 1000]     # explicit upper bounds, or
 *             log2: true                   # bcc's log2 slots: le = 2^(i+1) - 1
 *         gauges:
 *           - name: last_ret
 *             field: ret                   # the last value seen
 *         max_series: 2000                 # per metric (also a key of each metric)
 *
 * This is the `metrics:` block of upstream's exporter config, which is therefore accepted as it
 * is (eu_exporter_config_read reads the whole file). Label values: strings without quotes, enums
 * by name, integers in decimal (decoder.h text formatting).
 *
 * Rules are compiled once per running package against each event type's plan (field indexes),
 * so an event costs no lookups by name: a rule applies to the event types that have all its
 * fields. Sampled maps need no rule: log2_hist and linear_hist maps become histograms per key
 * (`slots` are the buckets, other string members labels, other numbers gauges), default_kv maps
 * gauges; clear_map maps deliver deltas that are accumulated, others are cumulative already.
 *
 * Metrics are global to the agent: two packages (or two versions of one) with a metric of the
 * same name share it, so they must agree on its type, labels and buckets (a package whose rule
 * disagrees fails to load, naming the metric). Changed rules in the config reload the package
 * on SIGHUP; series of a rule that is gone stay until they expire. */
#ifndef EUNOMIA_METRICS_RULES_H
#define EUNOMIA_METRICS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "eunomia/error.h"
#include "metrics.h"

struct eu_metric_label_rule {
	char *name;
	char *from; /* NULL: the field named like the label */
};

struct eu_metric_rule {
	enum eu_metric_type type;
	char *name, *help, *unit;
	char *field;                       /* counters: optional; others: required */
	struct eu_metric_label_rule *labels;
	size_t n_labels;
	double *bounds;
	size_t n_bounds;
	bool log2;
	size_t max_series;
};

struct eu_metric_rules {
	struct eu_metric_rule *rules;
	size_t n;
};

/* Parses a `metrics:` mapping of a YAML document; path names it in messages
 * ("agent.yaml:12: packages.opensnoop.metrics.counters[0].labels[1]: ..."). */
int eu_metric_rules_parse_yaml(yaml_document_t *doc, yaml_node_t *node, const char *origin,
			       const char *path, struct eu_metric_rules **out, eu_error *err);
void eu_metric_rules_free(struct eu_metric_rules *r);
/* Appends a text that differs whenever the rules differ (to notice changed rules). */
void eu_metric_rules_fingerprint(const struct eu_metric_rules *r, eu_buf *out);

/* The config file's top-level `metrics:` mapping: max_series (1..10000000) and series_idle
 * (a duration: 30s, 10m, 1h; "0" never expires). */
int eu_metrics_config_parse_yaml(yaml_document_t *doc, yaml_node_t *node, const char *origin,
				 size_t *max_series, uint64_t *idle_s, eu_error *err);

/* Base units: time units become seconds ("us" -> "s" with scale 1e-6), others stay. */
void eu_metrics_unit_base(const char *unit, const char **base, double *scale);

/* Upstream's exporter config (eunomia-otel.yaml):
 *   programs: [{name, compiled_ebpf_filename | ebpf_data, metrics: {counters: [...]}}]
 * compiled_ebpf_filename is the package file (relative paths are relative to the config
 * file); ebpf_data is the package itself, inline: the text of a package.json as a YAML string
 * (upstream's exporter reads compiled_ebpf_filename into ebpf_data with read_to_string, so
 * the two carry the same bytes). A program gives one of the two; each goes to *progs. Each
 * program's rules go to add(ctx, name, rules), which owns them from then on (also when it
 * fails). The daemon's config is the caller (eu_exporter_config_load, daemon/config.h): the
 * callback keeps this module from knowing the daemon's config struct. */
struct eu_exporter_program {
	char *name;
	char *path;        /* the package file, or NULL when inline */
	char *inline_pkg;  /* ebpf_data (NUL-terminated), or NULL */
	size_t inline_len;
	char *origin;      /* where, for messages: the path, or "FILE:programs[N].ebpf_data" */
};
typedef int (*eu_exporter_rules_fn)(void *ctx, const char *name, struct eu_metric_rules *rules);
int eu_exporter_config_read(const char *file, eu_exporter_rules_fn add, void *ctx,
			    struct eu_exporter_program **progs, size_t *n_progs, eu_error *err);
void eu_exporter_programs_free(struct eu_exporter_program *progs, size_t n);

/* --- a running package's metrics --- */
struct eu_consumer;
struct eu_export;
struct eu_metrics_pkg;

/* Compiles rules (may be NULL) against the consumer's exports and sets up the sampled maps'
 * metrics. A rule whose fields no event type has is an error naming the field. */
int eu_metrics_pkg_new(struct eu_metrics *m, const char *package,
		       const struct eu_metric_rules *rules, const struct eu_consumer *cons,
		       struct eu_metrics_pkg **out, eu_error *err);
void eu_metrics_pkg_free(struct eu_metrics_pkg *p);
void eu_metrics_pkg_event(struct eu_metrics_pkg *p, size_t export_index, const void *data,
			  size_t size, uint64_t now_ns);
void eu_metrics_pkg_sample(struct eu_metrics_pkg *p, size_t export_index, const void *key,
			   size_t key_size, const void *value, size_t value_size, uint64_t now_ns);

#endif
