/* The registry's internals, shared by metrics.c (series, budget, expiry) and metrics_prom.c
 * (text exposition). */
#ifndef EUNOMIA_METRICS_PRIV_H
#define EUNOMIA_METRICS_PRIV_H

#include "metrics.h"

struct eu_metric_series {
	struct eu_metric_series *next;     /* hash chain */
	struct eu_metric_series *all_next; /* the family's list, creation order */
	struct eu_metric_family *fam;
	uint64_t hash;
	uint64_t start_ns, last_ns;
	struct eu_label_value *values;     /* NULL for the overflow series */
	double value;                      /* counter / gauge */
	uint64_t *buckets;                 /* histograms: n_bounds + 1 */
	uint64_t count;
	double sum;
	/* what the last delta export sent (otlp_metrics_reg.c) */
	uint64_t exp_ns;
	double exp_value;
	uint64_t *exp_buckets;
	uint64_t exp_count;
	double exp_sum;
};

struct eu_metric_family {
	struct eu_metric_family *next;
	struct eu_metrics *reg;
	char *name, *help, *unit;
	enum eu_metric_type type;
	char **labels;
	size_t n_labels;
	double *bounds;
	size_t n_bounds;
	size_t max_series;
	bool observed;
	bool integer;
	struct eu_metric_series **table;
	size_t table_size;                 /* power of two */
	struct eu_metric_series *all;
	size_t n_series;
	struct eu_metric_series *overflow;
	uint64_t overflowed, expired;
};

struct eu_metrics {
	struct eu_metric_family *families;
	struct eu_metric_family **tail;
	size_t max_series;
	uint64_t idle_ns;
};

void metrics_point_of(const struct eu_metric_series *s, struct eu_metric_point *p);

#endif
