/* The metrics registry: counters, gauges and histograms made from events (rules, see
 * metrics_rules.h) and from sampled maps, rendered as Prometheus text.
 *
 * A metric is a family (name, help, unit, type, label names, histogram bounds) with one series
 * per label-value set. Values are kept cumulative, with the series' start time; a cumulative
 * value that goes down (a map that was reset, a package reloaded) restarts the series' start
 * time like a counter reset.
 *
 * Cardinality: each family has a budget of series (max_series, default 2000). A measurement for
 * a new label set beyond the budget goes to one overflow series whose only label is
 * otel.metric.overflow="true" (as the OpenTelemetry SDK specification does) and is counted in
 * eunomia_metric_overflow_measurements_total{metric=...}. Series not updated for idle_expiry
 * (default 10 min) are removed by eu_metrics_expire and counted in
 * eunomia_metric_series_expired_total{metric=...}; eunomia_metric_series{metric=...} is the number
 * of live series.
 *
 * Updates allocate only when a label set is seen for the first time: the label values are hashed
 * and compared in place. Not thread-safe: the daemon uses one registry from its loop thread. */
#ifndef EUNOMIA_METRICS_H
#define EUNOMIA_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"

enum eu_metric_type {
	EU_METRIC_COUNTER = 1,
	EU_METRIC_GAUGE,
	EU_METRIC_HISTOGRAM,
};

#define EU_METRICS_DEFAULT_MAX_SERIES 2000u
#define EU_METRICS_DEFAULT_IDLE_EXPIRY_NS (600ull * 1000000000ull)
#define EU_METRICS_MAX_LABELS 16u
#define EU_METRICS_MAX_BOUNDS 256u

struct eu_metrics_opts {
	size_t sz;
	size_t max_series;         /* per family unless the family says otherwise; 0: default */
	uint64_t idle_expiry_ns;   /* 0: default; UINT64_MAX: never */
};

struct eu_metric_desc {
	const char *name;          /* as configured ("eunomia_file_open_counter", "runqlat.hists") */
	const char *help;          /* may be NULL */
	const char *unit;          /* may be NULL: "us", "usecs", "s", "ms", "ns", "By", ... */
	enum eu_metric_type type;
	const char *const *labels; /* label names */
	size_t n_labels;           /* up to EU_METRICS_MAX_LABELS */
	const double *bounds;      /* histograms: increasing upper bounds (le); +Inf is implied */
	size_t n_bounds;           /* up to EU_METRICS_MAX_BOUNDS */
	size_t max_series;         /* 0: the registry's */
	/* read from a source that keeps its own totals (a sampled map) rather than counted as
	 * events happen: an asynchronous instrument for OTLP's "lowmemory" temporality */
	bool observed;
	/* OTLP: the values are whole counts, sent as int rather than double (the agent's own
	 * counters) */
	bool integer;
};

struct eu_label_value {
	const char *s;
	size_t len;
};

struct eu_metrics;
struct eu_metric_family;
struct eu_metric_series;

int eu_metrics_new(const struct eu_metrics_opts *opts, struct eu_metrics **out, eu_error *err);
void eu_metrics_free(struct eu_metrics *m);

/* Finds the family by name or creates it. An existing family with another type, label names
 * or bounds is refused (-EEXIST) with a message naming both. */
int eu_metrics_family(struct eu_metrics *m, const struct eu_metric_desc *desc,
		      struct eu_metric_family **out, eu_error *err);
const char *eu_metric_family_name(const struct eu_metric_family *f);
size_t eu_metric_family_series_count(const struct eu_metric_family *f);

/* The series for these label values (n_labels of them), created when new and within the
 * budget, else the overflow series. now_ns (CLOCK_REALTIME) marks it used. NULL only when out
 * of memory. */
struct eu_metric_series *eu_metric_series_get(struct eu_metric_family *f,
					      const struct eu_label_value *values,
					      uint64_t now_ns);

/* Counters: add a non-negative delta. Gauges: set. Counters from cumulative sources: set (a
 * lower value is a reset). */
void eu_metric_add(struct eu_metric_series *s, double delta);
void eu_metric_set(struct eu_metric_series *s, double value, uint64_t now_ns);
/* Histograms: one observation. */
void eu_metric_observe(struct eu_metric_series *s, double value);
/* Histograms from bucket counts (n must be n_bounds + 1; the last is the +Inf bucket, all
 * non-cumulative per bucket): add them (a delta) or replace the state (a cumulative source;
 * a bucket going down is a reset). */
void eu_metric_hist_add(struct eu_metric_series *s, const uint64_t *counts, size_t n, double sum);
void eu_metric_hist_set(struct eu_metric_series *s, const uint64_t *counts, size_t n, double sum,
			uint64_t now_ns);

/* Whether s is its family's overflow series. */
bool eu_metric_series_is_overflow(const struct eu_metric_series *s);
/* Histograms: zero the counts, keeping the start time (an overflow series rebuilt from the
 * current values of a cumulative source on every sample). */
void eu_metric_hist_clear(struct eu_metric_series *s);

/* The series for these label values when it exists (NULL values: the overflow series), else
 * NULL; nothing is created or marked used. */
struct eu_metric_series *eu_metric_series_find(const struct eu_metric_family *f,
					       const struct eu_label_value *values);
const struct eu_metric_family *eu_metrics_find_family(const struct eu_metrics *m,
						      const char *name);

/* A copy of every family and series of src (values, start times, overflow series and the
 * registry's own counts) as a registry of its own: what an exporter on another thread reads
 * while src goes on changing. 0 or -ENOMEM. */
int eu_metrics_clone(const struct eu_metrics *src, struct eu_metrics **out, eu_error *err);

/* Removes series idle longer than the expiry; returns how many. */
size_t eu_metrics_expire(struct eu_metrics *m, uint64_t now_ns);

/* Reading a series back (tests, exporters). */
double eu_metric_value(const struct eu_metric_series *s);
uint64_t eu_metric_hist_count(const struct eu_metric_series *s);
uint64_t eu_metric_start_ns(const struct eu_metric_series *s);

/* Prometheus rendering flags. WITHOUT_TYPE_SUFFIX: counters keep their configured name, no
 * _total added (the OpenTelemetry Prometheus exporter's `without_type_suffix` option), for
 * dashboards written against upstream's exporter, whose counters have none. */
#define EU_PROM_WITHOUT_TYPE_SUFFIX 0x1u

/* Prometheus text exposition format 0.0.4 of every family with series, then the registry's
 * own metrics. Names: characters outside [a-zA-Z0-9_:] become '_', a leading digit gets a
 * '_' in front, a unit adds its suffix (_seconds, _milliseconds, _microseconds, _nanoseconds,
 * _bytes, else the sanitised unit) unless the name already ends with it, counters end in
 * _total (unless flags has EU_PROM_WITHOUT_TYPE_SUFFIX; the registry's own counters, named
 * ..._total, keep it). Histograms: _bucket{le="..."} cumulative with le="+Inf", _sum, _count. */
void eu_metrics_render_prometheus(const struct eu_metrics *m, unsigned flags, eu_buf *out);

/* The Prometheus name a family gets (tests, docs); flags as above. */
void eu_metrics_prom_name(const char *name, const char *unit, enum eu_metric_type type,
			  unsigned flags, eu_buf *out);
/* Appends a label value escaped for the text format (\\, \", \n). */
void eu_metrics_prom_escape_label(eu_buf *out, const char *s, size_t n);

/* Visiting every point (exporters): called once per series with its values. */
struct eu_metric_point {
	const char *name;
	const char *help;
	const char *unit;
	enum eu_metric_type type;
	const char *const *label_names;
	const struct eu_label_value *label_values; /* NULL for the overflow series */
	size_t n_labels;
	bool overflow;
	uint64_t start_ns;
	double value;              /* counters, gauges */
	const double *bounds;      /* histograms */
	size_t n_bounds;
	const uint64_t *buckets;   /* n_bounds + 1, per bucket (not cumulative) */
	uint64_t count;
	double sum;
};
typedef void (*eu_metric_point_fn)(void *ctx, const struct eu_metric_point *p);
void eu_metrics_foreach(const struct eu_metrics *m, eu_metric_point_fn fn, void *ctx);

/* OTLP export (otlp_metrics_reg.c). Temporality as OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_
 * PREFERENCE says: cumulative (default); delta (counters and histograms as deltas since the
 * previous export); lowmemory (delta for counters and histograms counted from events,
 * cumulative for those observed from maps). Gauges have none. */
enum eu_metrics_temporality {
	EU_TEMPORALITY_CUMULATIVE = 0,
	EU_TEMPORALITY_DELTA,
	EU_TEMPORALITY_LOWMEMORY,
};
/* Case-insensitive "cumulative", "delta", "lowmemory"; NULL or "" is cumulative. */
int eu_metrics_temporality_parse(const char *s, enum eu_metrics_temporality *out);

/* Appends an ExportMetricsServiceRequest of every series: counters as monotonic Sums,
 * gauges as Gauges, histograms as explicit-bounds Histograms; one scope "eunomia-agent/
 * metrics"; labels as string attributes (the overflow series: otel.metric.overflow=true).
 * Delta points cover the time since the previous export (whose values this remembers). */
int eu_otlp_metrics_from_registry(struct eu_metrics *m, const void *resource,
				  size_t resource_len, enum eu_metrics_temporality t,
				  uint64_t now_ns, eu_buf *out, eu_error *err);
/* The same under another scope name ("eunomia-agent/self"). */
int eu_otlp_metrics_from_registry_scope(struct eu_metrics *m, const char *scope,
					const void *resource, size_t resource_len,
					enum eu_metrics_temporality t, uint64_t now_ns, eu_buf *out,
					eu_error *err);
/* Delta bookkeeping between copies (eu_metrics_clone): every series of snap that prev also
 * has counts from what prev held, as exported at prev_ns; the others start afresh. An
 * exporter keeps the copy it last sent as prev, so each exporter has deltas of its own. */
void eu_otlp_metrics_carry(struct eu_metrics *snap, const struct eu_metrics *prev,
			   uint64_t prev_ns);

#endif
