/* The metrics registry (metrics.h): families, series hashed by their label values, the
 * cardinality budget and idle expiry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_priv.h"

#define FNV_OFFSET 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

int eu_metrics_new(const struct eu_metrics_opts *opts, struct eu_metrics **out, eu_error *err)
{
	struct eu_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return eu_error_set(err, -ENOMEM, "out of memory");
	m->tail = &m->families;
	m->max_series = opts && opts->max_series ? opts->max_series : EU_METRICS_DEFAULT_MAX_SERIES;
	m->idle_ns = opts && opts->idle_expiry_ns ? opts->idle_expiry_ns :
						   EU_METRICS_DEFAULT_IDLE_EXPIRY_NS;
	*out = m;
	return 0;
}

static void series_free(struct eu_metric_series *s)
{
	free(s->values);
	free(s->buckets);
	free(s->exp_buckets);
	free(s);
}

static void family_free(struct eu_metric_family *f)
{
	struct eu_metric_series *s = f->all;
	while (s) {
		struct eu_metric_series *n = s->all_next;
		series_free(s);
		s = n;
	}
	if (f->overflow)
		series_free(f->overflow);
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->bounds);
	free(f->table);
	free(f->name);
	free(f->help);
	free(f->unit);
	free(f);
}

void eu_metrics_free(struct eu_metrics *m)
{
	if (!m)
		return;
	struct eu_metric_family *f = m->families;
	while (f) {
		struct eu_metric_family *n = f->next;
		family_free(f);
		f = n;
	}
	free(m);
}

static int family_check(const struct eu_metric_family *f, const struct eu_metric_desc *d,
			eu_error *err)
{
	bool same = f->type == d->type && f->n_labels == d->n_labels &&
		    f->n_bounds == d->n_bounds;
	for (size_t i = 0; same && i < d->n_labels; i++)
		same = !strcmp(f->labels[i], d->labels[i]);
	for (size_t i = 0; same && i < d->n_bounds; i++)
		same = f->bounds[i] == d->bounds[i];
	if (!same)
		return eu_error_set(err, -EEXIST,
				    "metric %s: already defined with another type, labels or buckets",
				    d->name);
	return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *r = strdup(s);
	if (!r)
		*oom = true;
	return r;
}

int eu_metrics_family(struct eu_metrics *m, const struct eu_metric_desc *d,
		      struct eu_metric_family **out, eu_error *err)
{
	*out = NULL;
	if (!d->name || !*d->name)
		return eu_error_set(err, -EINVAL, "a metric needs a name");
	if (d->type < EU_METRIC_COUNTER || d->type > EU_METRIC_HISTOGRAM)
		return eu_error_set(err, -EINVAL, "metric %s: unknown type", d->name);
	if (d->n_labels > EU_METRICS_MAX_LABELS)
		return eu_error_set(err, -E2BIG, "metric %s: %zu labels (at most %u)", d->name,
				    d->n_labels, EU_METRICS_MAX_LABELS);
	if (d->n_bounds > EU_METRICS_MAX_BOUNDS)
		return eu_error_set(err, -E2BIG, "metric %s: %zu buckets (at most %u)", d->name,
				    d->n_bounds, EU_METRICS_MAX_BOUNDS);
	for (size_t i = 1; i < d->n_bounds; i++)
		if (!(d->bounds[i] > d->bounds[i - 1]))
			return eu_error_set(err, -EINVAL,
					    "metric %s: bucket bounds must increase (%g after %g)",
					    d->name, d->bounds[i], d->bounds[i - 1]);
	for (size_t i = 0; i < d->n_labels; i++) {
		if (!d->labels[i] || !*d->labels[i])
			return eu_error_set(err, -EINVAL, "metric %s: label %zu has no name", d->name, i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->labels[i], d->labels[j]))
				return eu_error_set(err, -EINVAL, "metric %s: label %s appears twice",
						    d->name, d->labels[i]);
	}
	for (struct eu_metric_family *f = m->families; f; f = f->next) {
		if (!strcmp(f->name, d->name)) {
			int ret = family_check(f, d, err);
			if (!ret)
				*out = f;
			return ret;
		}
	}
	struct eu_metric_family *f = calloc(1, sizeof(*f));
	if (!f)
		return eu_error_set(err, -ENOMEM, "out of memory");
	bool oom = false;
	f->reg = m;
	f->name = dup_or_null(d->name, &oom);
	f->help = dup_or_null(d->help, &oom);
	f->unit = dup_or_null(d->unit, &oom);
	f->type = d->type;
	f->observed = d->observed;
	f->integer = d->integer;
	f->max_series = d->max_series ? d->max_series : m->max_series;
	f->table_size = 64;
	f->table = calloc(f->table_size, sizeof(*f->table));
	f->labels = calloc(d->n_labels ? d->n_labels : 1, sizeof(char *));
	f->bounds = calloc(d->n_bounds ? d->n_bounds : 1, sizeof(double));
	oom = oom || !f->table || !f->labels || !f->bounds;
	for (size_t i = 0; !oom && i < d->n_labels; i++, f->n_labels++)
		f->labels[i] = dup_or_null(d->labels[i], &oom);
	if (!oom && d->n_bounds)
		memcpy(f->bounds, d->bounds, d->n_bounds * sizeof(double));
	f->n_bounds = d->n_bounds;
	if (oom) {
		family_free(f);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	*m->tail = f;
	m->tail = &f->next;
	*out = f;
	return 0;
}

const char *eu_metric_family_name(const struct eu_metric_family *f)
{
	return f->name;
}

size_t eu_metric_family_series_count(const struct eu_metric_family *f)
{
	return f->n_series;
}

static uint64_t hash_values(const struct eu_label_value *v, size_t n)
{
	uint64_t h = FNV_OFFSET;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].len; j++) {
			h ^= (unsigned char)v[i].s[j];
			h *= FNV_PRIME;
		}
		/* a separator no value byte can fake: "a","bc" != "ab","c" */
		h ^= 0x100 + i;
		h *= FNV_PRIME;
	}
	return h;
}

static bool values_eq(const struct eu_metric_series *s, const struct eu_label_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s->values[i].len != v[i].len || memcmp(s->values[i].s, v[i].s, v[i].len))
			return false;
	return true;
}

static struct eu_metric_series *series_alloc(struct eu_metric_family *f, uint64_t now_ns)
{
	struct eu_metric_series *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (f->type == EU_METRIC_HISTOGRAM &&
	    !(s->buckets = calloc(f->n_bounds + 1, sizeof(uint64_t)))) {
		free(s);
		return NULL;
	}
	s->fam = f;
	s->start_ns = s->last_ns = now_ns;
	return s;
}

static void table_grow(struct eu_metric_family *f)
{
	size_t n = f->table_size * 2;
	struct eu_metric_series **t = calloc(n, sizeof(*t));
	if (!t)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < f->table_size; i++) {
		struct eu_metric_series *s = f->table[i];
		while (s) {
			struct eu_metric_series *next = s->next;
			s->next = t[s->hash & (n - 1)];
			t[s->hash & (n - 1)] = s;
			s = next;
		}
	}
	free(f->table);
	f->table = t;
	f->table_size = n;
}

static struct eu_metric_series *overflow_series(struct eu_metric_family *f, uint64_t now_ns)
{
	if (!f->overflow)
		f->overflow = series_alloc(f, now_ns);
	if (f->overflow) {
		f->overflow->last_ns = now_ns;
		f->overflowed++;
	}
	return f->overflow;
}

struct eu_metric_series *eu_metric_series_get(struct eu_metric_family *f,
					      const struct eu_label_value *values,
					      uint64_t now_ns)
{
	uint64_t h = hash_values(values, f->n_labels);
	for (struct eu_metric_series *s = f->table[h & (f->table_size - 1)]; s; s = s->next) {
		if (s->hash == h && values_eq(s, values, f->n_labels)) {
			s->last_ns = now_ns;
			return s;
		}
	}
	if (f->n_series >= f->max_series)
		return overflow_series(f, now_ns);
	size_t total = 0;
	for (size_t i = 0; i < f->n_labels; i++)
		total += values[i].len + 1;
	struct eu_metric_series *s = series_alloc(f, now_ns);
	if (!s)
		return NULL;
	/* the values and their text in one block */
	s->values = malloc(f->n_labels * sizeof(*s->values) + total + 1);
	if (!s->values) {
		series_free(s);
		return NULL;
	}
	char *text = (char *)(s->values + f->n_labels);
	for (size_t i = 0; i < f->n_labels; i++) {
		if (values[i].len) /* an empty label value may come as (NULL, 0) */
			memcpy(text, values[i].s, values[i].len);
		text[values[i].len] = '\0';
		s->values[i].s = text;
		s->values[i].len = values[i].len;
		text += values[i].len + 1;
	}
	s->hash = h;
	if (f->n_series >= f->table_size)
		table_grow(f);
	s->next = f->table[h & (f->table_size - 1)];
	f->table[h & (f->table_size - 1)] = s;
	/* newest first keeps insertion O(1); rendering order is not part of the format */
	s->all_next = f->all;
	f->all = s;
	f->n_series++;
	return s;
}

void eu_metric_add(struct eu_metric_series *s, double delta)
{
	if (s && delta > 0)
		s->value += delta;
}

void eu_metric_set(struct eu_metric_series *s, double value, uint64_t now_ns)
{
	if (!s)
		return;
	if (s->fam->type == EU_METRIC_COUNTER && value < s->value)
		s->start_ns = now_ns;
	s->value = value;
}

static size_t bucket_of(const struct eu_metric_family *f, double v)
{
	/* the first bound >= v (le semantics); n_bounds for +Inf */
	size_t lo = 0, hi = f->n_bounds;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v <= f->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void eu_metric_observe(struct eu_metric_series *s, double value)
{
	if (!s || !s->buckets)
		return;
	s->buckets[bucket_of(s->fam, value)]++;
	s->count++;
	s->sum += value;
}

void eu_metric_hist_add(struct eu_metric_series *s, const uint64_t *counts, size_t n, double sum)
{
	if (!s || !s->buckets || n != s->fam->n_bounds + 1)
		return;
	for (size_t i = 0; i < n; i++) {
		s->buckets[i] += counts[i];
		s->count += counts[i];
	}
	s->sum += sum;
}

void eu_metric_hist_set(struct eu_metric_series *s, const uint64_t *counts, size_t n, double sum,
			uint64_t now_ns)
{
	if (!s || !s->buckets || n != s->fam->n_bounds + 1)
		return;
	uint64_t count = 0;
	bool reset = false;
	for (size_t i = 0; i < n; i++) {
		reset = reset || counts[i] < s->buckets[i];
		s->buckets[i] = counts[i];
		count += counts[i];
	}
	if (reset)
		s->start_ns = now_ns;
	s->count = count;
	s->sum = sum;
}

bool eu_metric_series_is_overflow(const struct eu_metric_series *s)
{
	return s && !s->values;
}

void eu_metric_hist_clear(struct eu_metric_series *s)
{
	if (!s || !s->buckets)
		return;
	memset(s->buckets, 0, (s->fam->n_bounds + 1) * sizeof(uint64_t));
	s->count = 0;
	s->sum = 0;
}

static void unlink_series(struct eu_metric_family *f, struct eu_metric_series *s)
{
	for (struct eu_metric_series **pp = &f->table[s->hash & (f->table_size - 1)]; *pp;
	     pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
}

size_t eu_metrics_expire(struct eu_metrics *m, uint64_t now_ns)
{
	if (m->idle_ns == UINT64_MAX)
		return 0;
	size_t n = 0;
	for (struct eu_metric_family *f = m->families; f; f = f->next) {
		for (struct eu_metric_series **pp = &f->all; *pp;) {
			struct eu_metric_series *s = *pp;
			if (now_ns > s->last_ns && now_ns - s->last_ns > m->idle_ns) {
				*pp = s->all_next;
				unlink_series(f, s);
				series_free(s);
				f->n_series--;
				f->expired++;
				n++;
			} else {
				pp = &s->all_next;
			}
		}
		if (f->overflow && now_ns > f->overflow->last_ns &&
		    now_ns - f->overflow->last_ns > m->idle_ns) {
			series_free(f->overflow);
			f->overflow = NULL;
			f->expired++;
			n++;
		}
	}
	return n;
}

double eu_metric_value(const struct eu_metric_series *s)
{
	return s ? s->value : 0;
}

uint64_t eu_metric_hist_count(const struct eu_metric_series *s)
{
	return s ? s->count : 0;
}

uint64_t eu_metric_start_ns(const struct eu_metric_series *s)
{
	return s ? s->start_ns : 0;
}

void metrics_point_of(const struct eu_metric_series *s, struct eu_metric_point *p)
{
	const struct eu_metric_family *f = s->fam;
	memset(p, 0, sizeof(*p));
	p->name = f->name;
	p->help = f->help;
	p->unit = f->unit;
	p->type = f->type;
	p->label_names = (const char *const *)f->labels;
	p->label_values = s->values;
	p->n_labels = f->n_labels;
	p->overflow = !s->values;
	p->start_ns = s->start_ns;
	p->value = s->value;
	p->bounds = f->bounds;
	p->n_bounds = f->n_bounds;
	p->buckets = s->buckets;
	p->count = s->count;
	p->sum = s->sum;
}

void eu_metrics_foreach(const struct eu_metrics *m, eu_metric_point_fn fn, void *ctx)
{
	for (const struct eu_metric_family *f = m->families; f; f = f->next) {
		struct eu_metric_point p;
		for (const struct eu_metric_series *s = f->all; s; s = s->all_next) {
			metrics_point_of(s, &p);
			fn(ctx, &p);
		}
		if (f->overflow) {
			metrics_point_of(f->overflow, &p);
			fn(ctx, &p);
		}
	}
}

struct eu_metric_series *eu_metric_series_find(const struct eu_metric_family *f,
					       const struct eu_label_value *values)
{
	if (!values)
		return f->overflow;
	uint64_t h = hash_values(values, f->n_labels);
	for (struct eu_metric_series *s = f->table[h & (f->table_size - 1)]; s; s = s->next)
		if (s->hash == h && values_eq(s, values, f->n_labels))
			return s;
	return NULL;
}

const struct eu_metric_family *eu_metrics_find_family(const struct eu_metrics *m,
						      const char *name)
{
	for (const struct eu_metric_family *f = m->families; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* The state of src in dst (a series dst_f just made for it). */
static void series_copy(struct eu_metric_series *dst, const struct eu_metric_series *src)
{
	dst->start_ns = src->start_ns;
	dst->last_ns = src->last_ns;
	dst->value = src->value;
	dst->count = src->count;
	dst->sum = src->sum;
	if (dst->buckets && src->buckets)
		memcpy(dst->buckets, src->buckets, (src->fam->n_bounds + 1) * sizeof(uint64_t));
}

int eu_metrics_clone(const struct eu_metrics *src, struct eu_metrics **out, eu_error *err)
{
	struct eu_metrics_opts o = {.sz = sizeof(o), .max_series = src->max_series,
				    .idle_expiry_ns = src->idle_ns};
	struct eu_metrics *m = NULL;
	int ret = eu_metrics_new(&o, &m, err);
	if (ret)
		return ret;
	for (const struct eu_metric_family *f = src->families; f && !ret; f = f->next) {
		struct eu_metric_desc d = {
			.name = f->name, .help = f->help, .unit = f->unit, .type = f->type,
			.labels = (const char *const *)f->labels, .n_labels = f->n_labels,
			.bounds = f->bounds, .n_bounds = f->n_bounds, .max_series = f->max_series,
			.observed = f->observed, .integer = f->integer,
		};
		struct eu_metric_family *df;
		if ((ret = eu_metrics_family(m, &d, &df, err)))
			break;
		/* oldest first, so the copy lists its series in the source's order */
		size_t n = f->n_series, i = 0;
		const struct eu_metric_series **order = malloc((n ? n : 1) * sizeof(*order));
		if (!order) {
			ret = eu_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		for (const struct eu_metric_series *s = f->all; s; s = s->all_next)
			order[n - 1 - i++] = s;
		for (i = 0; i < n && !ret; i++) {
			struct eu_metric_series *ds = eu_metric_series_get(df, order[i]->values, 0);
			if (!ds)
				ret = eu_error_set(err, -ENOMEM, "out of memory");
			else
				series_copy(ds, order[i]);
		}
		free(order);
		if (!ret && f->overflow) {
			struct eu_metric_series *ds = overflow_series(df, 0);
			if (!ds)
				ret = eu_error_set(err, -ENOMEM, "out of memory");
			else
				series_copy(ds, f->overflow);
			df->overflowed = f->overflowed;
		}
		df->expired = f->expired;
	}
	if (ret) {
		eu_metrics_free(m);
		return ret;
	}
	*out = m;
	return 0;
}
