/* The metrics registry (metrics.h) as an OTLP ExportMetricsServiceRequest: counters as
 * monotonic Sums, gauges as Gauges, histograms with explicit bounds, cumulative or delta. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "metrics/metrics_priv.h"
#include "otlp_priv.h"

typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__Sum Sum;
typedef Opentelemetry__Proto__Metrics__V1__Gauge Gauge;
typedef Opentelemetry__Proto__Metrics__V1__Histogram Histogram;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint Point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint HPoint;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

#define TEMP_CUMULATIVE \
	OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define TEMP_DELTA \
	OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA

int eu_metrics_temporality_parse(const char *s, enum eu_metrics_temporality *out)
{
	if (!s || !*s || !strcasecmp(s, "cumulative"))
		*out = EU_TEMPORALITY_CUMULATIVE;
	else if (!strcasecmp(s, "delta"))
		*out = EU_TEMPORALITY_DELTA;
	else if (!strcasecmp(s, "lowmemory"))
		*out = EU_TEMPORALITY_LOWMEMORY;
	else
		return -EINVAL;
	return 0;
}

static bool is_delta(const struct eu_metric_family *f, enum eu_metrics_temporality t)
{
	if (f->type == EU_METRIC_GAUGE)
		return false;
	return t == EU_TEMPORALITY_DELTA || (t == EU_TEMPORALITY_LOWMEMORY && !f->observed);
}

/* Everything one request points into, freed together. */
struct arena {
	Metric *metrics;
	Metric **mptr;
	Sum *sums;
	Gauge *gauges;
	Histogram *hists;
	Point *points;
	HPoint *hpoints;
	void **pptr;
	KeyValue *kvs;
	KeyValue **kptr;
	AnyValue *vals;
	uint64_t *buckets;
};

static void arena_free(struct arena *a)
{
	free(a->metrics);
	free(a->mptr);
	free(a->sums);
	free(a->gauges);
	free(a->hists);
	free(a->points);
	free(a->hpoints);
	free(a->pptr);
	free(a->kvs);
	free(a->kptr);
	free(a->vals);
	free(a->buckets);
}

static size_t attrs_of(const struct eu_metric_series *s, struct arena *a, size_t na)
{
	const struct eu_metric_family *f = s->fam;
	if (!s->values) {
		opentelemetry__proto__common__v1__key_value__init(&a->kvs[na]);
		opentelemetry__proto__common__v1__any_value__init(&a->vals[na]);
		a->kvs[na].key = (char *)"otel.metric.overflow";
		a->kvs[na].value = &a->vals[na];
		a->vals[na].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		a->vals[na].bool_value = true;
		a->kptr[na] = &a->kvs[na];
		return 1;
	}
	for (size_t i = 0; i < f->n_labels; i++) {
		opentelemetry__proto__common__v1__key_value__init(&a->kvs[na + i]);
		opentelemetry__proto__common__v1__any_value__init(&a->vals[na + i]);
		a->kvs[na + i].key = f->labels[i];
		a->kvs[na + i].value = &a->vals[na + i];
		a->vals[na + i].value_case =
			OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		/* series values are stored NUL-terminated */
		a->vals[na + i].string_value = (char *)s->values[i].s;
		a->kptr[na + i] = &a->kvs[na + i];
	}
	return f->n_labels;
}

/* The point's start and value for this export; remembers what delta exports sent. */
static void number_point(struct eu_metric_series *s, bool delta, uint64_t now, Point *p)
{
	p->time_unix_nano = now;
	p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
	if (s->fam->type == EU_METRIC_GAUGE || !delta) {
		p->start_time_unix_nano = s->start_ns;
		p->as_double = s->value;
	} else {
		bool reset = !s->exp_ns || s->start_ns > s->exp_ns || s->value < s->exp_value;
		p->start_time_unix_nano = reset ? s->start_ns : s->exp_ns;
		p->as_double = reset ? s->value : s->value - s->exp_value;
		s->exp_value = s->value;
		s->exp_ns = now;
	}
	if (s->fam->integer) {
		double v = p->as_double;
		p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
		p->as_int = v >= 9223372036854775807.0 ? INT64_MAX : v <= 0 ? 0 : (int64_t)v;
	}
}

static void hist_point(struct eu_metric_series *s, bool delta, uint64_t now, uint64_t *buckets,
		       HPoint *p)
{
	size_t nb = s->fam->n_bounds + 1;
	p->time_unix_nano = now;
	p->n_explicit_bounds = s->fam->n_bounds;
	p->explicit_bounds = s->fam->bounds;
	p->n_bucket_counts = nb;
	p->bucket_counts = buckets;
	bool reset = !delta || !s->exp_ns || s->start_ns > s->exp_ns || s->count < s->exp_count ||
		     !s->exp_buckets;
	for (size_t i = 0; !reset && i < nb; i++)
		reset = s->buckets[i] < s->exp_buckets[i];
	p->start_time_unix_nano = reset ? s->start_ns : s->exp_ns;
	for (size_t i = 0; i < nb; i++)
		buckets[i] = reset ? s->buckets[i] : s->buckets[i] - s->exp_buckets[i];
	p->count = reset ? s->count : s->count - s->exp_count;
	p->sum = reset ? s->sum : s->sum - s->exp_sum;
	if (!delta)
		return;
	if (!s->exp_buckets)
		s->exp_buckets = calloc(nb, sizeof(uint64_t));
	if (s->exp_buckets)
		memcpy(s->exp_buckets, s->buckets, nb * sizeof(uint64_t));
	s->exp_count = s->count;
	s->exp_sum = s->sum;
	s->exp_ns = s->exp_buckets ? now : 0;
}

/* Every series of a family, then its overflow series (when it has one). */
struct series_iter {
	struct eu_metric_series *s;
	bool overflow_done;
};

static struct eu_metric_series *series_next(const struct eu_metric_family *f,
					    struct series_iter *it)
{
	struct eu_metric_series *cur = it->s;
	if (cur) {
		it->s = cur->all_next;
		return cur;
	}
	if (f->overflow && !it->overflow_done) {
		it->overflow_done = true;
		return f->overflow;
	}
	return NULL;
}

void eu_otlp_metrics_carry(struct eu_metrics *snap, const struct eu_metrics *prev,
			   uint64_t prev_ns)
{
	for (struct eu_metric_family *f = snap->families; prev && f; f = f->next) {
		const struct eu_metric_family *pf = eu_metrics_find_family(prev, f->name);
		if (!pf || pf->type != f->type || pf->n_bounds != f->n_bounds)
			continue;
		size_t nb = f->n_bounds + 1;
		struct series_iter it = {f->all, false};
		for (struct eu_metric_series *cur; (cur = series_next(f, &it));) {
			const struct eu_metric_series *ps = eu_metric_series_find(pf, cur->values);
			if (!ps)
				continue;
			cur->exp_ns = prev_ns;
			cur->exp_value = ps->value;
			cur->exp_count = ps->count;
			cur->exp_sum = ps->sum;
			if (f->type == EU_METRIC_HISTOGRAM && ps->buckets &&
			    (cur->exp_buckets = malloc(nb * sizeof(uint64_t))))
				memcpy(cur->exp_buckets, ps->buckets, nb * sizeof(uint64_t));
			else if (f->type == EU_METRIC_HISTOGRAM)
				cur->exp_ns = 0; /* no memory: the whole count again, from the start */
		}
	}
}

int eu_otlp_metrics_from_registry(struct eu_metrics *m, const void *resource,
				  size_t resource_len, enum eu_metrics_temporality t,
				  uint64_t now_ns, eu_buf *out, eu_error *err)
{
	return eu_otlp_metrics_from_registry_scope(m, "eunomia-agent/metrics", resource,
						   resource_len, t, now_ns, out, err);
}

int eu_otlp_metrics_from_registry_scope(struct eu_metrics *m, const char *scope,
					const void *resource, size_t resource_len,
					enum eu_metrics_temporality t, uint64_t now_ns, eu_buf *out,
					eu_error *err)
{
	size_t nf = 0, ns = 0, nl = 0, nbk = 0;
	for (struct eu_metric_family *f = m->families; f; f = f->next) {
		size_t k = f->n_series + (f->overflow ? 1 : 0);
		if (!k)
			continue;
		nf++;
		ns += k;
		nl += k * (f->n_labels ? f->n_labels : 1);
		if (f->type == EU_METRIC_HISTOGRAM)
			nbk += k * (f->n_bounds + 1);
	}
	struct arena a = {
		.metrics = calloc(nf + 1, sizeof(Metric)),
		.mptr = calloc(nf + 1, sizeof(Metric *)),
		.sums = calloc(nf + 1, sizeof(Sum)),
		.gauges = calloc(nf + 1, sizeof(Gauge)),
		.hists = calloc(nf + 1, sizeof(Histogram)),
		.points = calloc(ns + 1, sizeof(Point)),
		.hpoints = calloc(ns + 1, sizeof(HPoint)),
		.pptr = calloc(ns + 1, sizeof(void *)),
		.kvs = calloc(nl + 1, sizeof(KeyValue)),
		.kptr = calloc(nl + 1, sizeof(KeyValue *)),
		.vals = calloc(nl + 1, sizeof(AnyValue)),
		.buckets = calloc(nbk + 1, sizeof(uint64_t)),
	};
	int ret = -ENOMEM;
	if (!a.metrics || !a.mptr || !a.sums || !a.gauges || !a.hists || !a.points ||
	    !a.hpoints || !a.pptr || !a.kvs || !a.kptr || !a.vals || !a.buckets)
		goto out;
	size_t im = 0, ip = 0, ia = 0, ib = 0;
	for (struct eu_metric_family *f = m->families; f; f = f->next) {
		if (!f->n_series && !f->overflow)
			continue;
		bool delta = is_delta(f, t);
		Metric *mt = &a.metrics[im];
		opentelemetry__proto__metrics__v1__metric__init(mt);
		mt->name = f->name;
		mt->description = f->help ? f->help : (char *)"";
		mt->unit = f->unit ? f->unit : (char *)"";
		void **first = &a.pptr[ip];
		size_t count = 0;
		struct series_iter it = {f->all, false};
		for (struct eu_metric_series *cur; (cur = series_next(f, &it));) {
			KeyValue **attrs = &a.kptr[ia];
			size_t n_attrs = attrs_of(cur, &a, ia);
			ia += n_attrs;
			if (f->type == EU_METRIC_HISTOGRAM) {
				HPoint *hp = &a.hpoints[ip];
				opentelemetry__proto__metrics__v1__histogram_data_point__init(hp);
				hist_point(cur, delta, now_ns, &a.buckets[ib], hp);
				ib += f->n_bounds + 1;
				hp->attributes = attrs;
				hp->n_attributes = n_attrs;
				a.pptr[ip++] = hp;
			} else {
				Point *p = &a.points[ip];
				opentelemetry__proto__metrics__v1__number_data_point__init(p);
				number_point(cur, delta, now_ns, p);
				p->attributes = attrs;
				p->n_attributes = n_attrs;
				a.pptr[ip++] = p;
			}
			count++;
		}
		if (f->type == EU_METRIC_COUNTER) {
			Sum *sum = &a.sums[im];
			opentelemetry__proto__metrics__v1__sum__init(sum);
			sum->aggregation_temporality = delta ? TEMP_DELTA : TEMP_CUMULATIVE;
			sum->is_monotonic = true;
			sum->data_points = (Point **)first;
			sum->n_data_points = count;
			mt->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
			mt->sum = sum;
		} else if (f->type == EU_METRIC_GAUGE) {
			Gauge *g = &a.gauges[im];
			opentelemetry__proto__metrics__v1__gauge__init(g);
			g->data_points = (Point **)first;
			g->n_data_points = count;
			mt->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
			mt->gauge = g;
		} else {
			Histogram *h = &a.hists[im];
			opentelemetry__proto__metrics__v1__histogram__init(h);
			h->aggregation_temporality = delta ? TEMP_DELTA : TEMP_CUMULATIVE;
			h->data_points = (HPoint **)first;
			h->n_data_points = count;
			mt->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
			mt->histogram = h;
		}
		a.mptr[im++] = mt;
	}
	ret = eu_otlp_metrics_wrap(resource, resource_len, scope, EU_VERSION,
				   a.mptr, im, out);
out:
	arena_free(&a);
	if (ret)
		return eu_error_set(err, ret, "OTLP metrics request: out of memory");
	return 0;
}
