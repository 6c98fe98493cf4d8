/* A running package's metrics (metrics_rules.h): rules compiled to field indexes per event
 * type, and sampled maps turned into histograms and gauges. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/consumer.h"
#include "eunomia/decoder.h"
#include "metrics_rules.h"
#include "eunomia/package.h"

#define LOG2_RULE_SLOTS 48

struct crule {
	struct eu_metric_family *fam;
	enum eu_metric_type type;
	int value_field;            /* -1: counters add 1 */
	int labels[EU_METRICS_MAX_LABELS];
	size_t n_labels;
	double scale;
};

/* Where a sampled map's label comes from. */
struct slabel {
	bool from_key;
	bool whole;                 /* the scalar key itself */
	int field;
};

struct sgauge {
	struct eu_metric_family *fam;
	int field;
};

struct cexport {
	const struct eu_plan *plan; /* events */
	struct crule *rules;
	size_t n_rules;
	/* sampled maps */
	bool sample;
	enum eu_sample_type st;
	bool clear;
	const struct eu_plan *kplan, *vplan;
	bool value_scalar;
	struct slabel labels[EU_METRICS_MAX_LABELS];
	const char *label_names[EU_METRICS_MAX_LABELS];
	size_t n_labels;
	int slots, base, step;
	uint32_t n_slots, slot_size;
	struct eu_metric_family *hist; /* made at the first sample (linear bounds come from it) */
	bool hist_failed;
	char *hist_name;
	const char *unit;
	double scale;
	struct sgauge *gauges;
	size_t n_gauges;
	uint64_t *counts;
	uint64_t overflow_ns;          /* the sample that last rebuilt the overflow series */
};

struct eu_metrics_pkg {
	struct eu_metrics *m;
	char *package;
	struct cexport *ex;
	size_t n;
	eu_buf scratch;
};

void eu_metrics_unit_base(const char *unit, const char **base, double *scale)
{
	static const struct {
		const char *u;
		double scale;
	} time_units[] = {
		{"s", 1}, {"sec", 1}, {"secs", 1}, {"seconds", 1},
		{"ms", 1e-3}, {"msec", 1e-3}, {"msecs", 1e-3}, {"milliseconds", 1e-3},
		{"us", 1e-6}, {"usec", 1e-6}, {"usecs", 1e-6}, {"microseconds", 1e-6},
		{"ns", 1e-9}, {"nsec", 1e-9}, {"nsecs", 1e-9}, {"nanoseconds", 1e-9},
	};
	*base = unit && *unit && strcmp(unit, "(unit)") ? unit : NULL;
	*scale = 1;
	for (size_t i = 0; *base && i < sizeof(time_units) / sizeof(time_units[0]); i++) {
		if (!strcmp(unit, time_units[i].u)) {
			*base = "s";
			*scale = time_units[i].scale;
		}
	}
}

/* Into the base unit. Dividing by the exact power of ten (1e9, not multiplying by the inexact
 * 1e-9) keeps bounds like 3 ns exact (3e-09, not 3.0000000000000004e-09); values and bounds go
 * through the same operation, so a value equal to a bound stays in that bound's bucket. */
static double to_base(double v, double scale)
{
	return scale < 1 ? v / nearbyint(1 / scale) : v * scale;
}

static uint64_t load_u(const unsigned char *p, uint32_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	switch (size) {
	case 1: memcpy(&u8, p, 1); return u8;
	case 2: memcpy(&u16, p, 2); return u16;
	case 4: memcpy(&u32, p, 4); return u32;
	case 8: memcpy(&u64, p, 8); return u64;
	default: return 0;
	}
}

static bool numeric_kind(enum eu_field_kind k)
{
	return k == EU_FIELD_INT || k == EU_FIELD_BOOL || k == EU_FIELD_FLOAT;
}

static bool field_number(const struct eu_plan *plan, int idx, const void *data, size_t size,
			 double *out)
{
	const struct eu_field_info *f = eu_plan_field(plan, (size_t)idx);
	if (f->kind == EU_FIELD_FLOAT) {
		if (f->offset + f->size > size)
			return false;
		if (f->size == 4) {
			float v;
			memcpy(&v, (const char *)data + f->offset, 4);
			*out = v;
			return true;
		}
		if (f->size == 8) {
			memcpy(out, (const char *)data + f->offset, 8);
			return true;
		}
		return false;
	}
	int64_t v;
	if (eu_plan_field_i64(plan, (size_t)idx, data, size, &v))
		return false;
	*out = f->is_signed ? (double)v : (double)(uint64_t)v;
	return true;
}

static void cexport_free(struct cexport *e)
{
	free(e->rules);
	free(e->gauges);
	free(e->counts);
	free(e->hist_name);
}

void eu_metrics_pkg_free(struct eu_metrics_pkg *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		cexport_free(&p->ex[i]);
	free(p->ex);
	free(p->package);
	eu_buf_free(&p->scratch);
	free(p);
}

/* One rule against one event type: 1 compiled, 0 when a field is missing, <0 on error. */
static int compile_rule(struct eu_metrics *m, const struct eu_metric_rule *r,
			const struct eu_plan *plan, struct crule *out, const char **missing,
			eu_error *err)
{
	memset(out, 0, sizeof(*out));
	out->type = r->type;
	out->value_field = -1;
	if (r->field) {
		int idx = eu_plan_find_field(plan, r->field);
		if (idx < 0) {
			*missing = r->field;
			return 0;
		}
		if (!numeric_kind(eu_plan_field(plan, (size_t)idx)->kind))
			return eu_error_set(err, -EINVAL,
					    "metric %s: field %s of %s is not a number", r->name,
					    r->field, eu_plan_name(plan));
		out->value_field = idx;
	}
	const char *names[EU_METRICS_MAX_LABELS];
	for (size_t i = 0; i < r->n_labels; i++) {
		const char *f = r->labels[i].from ? r->labels[i].from : r->labels[i].name;
		int idx = eu_plan_find_field(plan, f);
		if (idx < 0) {
			*missing = f;
			return 0;
		}
		out->labels[i] = idx;
		names[i] = r->labels[i].name;
	}
	out->n_labels = r->n_labels;
	const char *unit;
	eu_metrics_unit_base(r->unit, &unit, &out->scale);
	double log2_bounds[LOG2_RULE_SLOTS];
	for (size_t i = 0; r->log2 && i < LOG2_RULE_SLOTS; i++)
		log2_bounds[i] = to_base(ldexp(1.0, (int)i + 1) - 1, out->scale);
	double *scaled = NULL;
	if (r->n_bounds) {
		if (!(scaled = calloc(r->n_bounds, sizeof(double))))
			return eu_error_set(err, -ENOMEM, "out of memory");
		for (size_t i = 0; i < r->n_bounds; i++)
			scaled[i] = to_base(r->bounds[i], out->scale);
	}
	struct eu_metric_desc d = {
		.name = r->name, .help = r->help, .unit = unit, .type = r->type,
		.labels = names, .n_labels = r->n_labels,
		.bounds = r->log2 ? log2_bounds : scaled,
		.n_bounds = r->log2 ? LOG2_RULE_SLOTS : r->n_bounds,
		.max_series = r->max_series,
	};
	int ret = eu_metrics_family(m, &d, &out->fam, err);
	free(scaled);
	return ret ? ret : 1;
}

/* A rule's problem, added to the others (every bad rule is named, not only the first). */
static void add_problem(eu_buf *problems, const char *msg)
{
	eu_buf_printf(problems, "%s%s", problems->len ? "; " : "", msg);
}

static int compile_events(struct eu_metrics_pkg *p, struct cexport *e,
			  const struct eu_metric_rules *rules, const struct eu_plan *plan,
			  bool *used, const char **missing, eu_buf *problems, eu_error *err)
{
	e->rules = calloc(rules->n ? rules->n : 1, sizeof(*e->rules));
	if (!e->rules)
		return eu_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < rules->n; i++) {
		const char *miss = NULL;
		int ret = compile_rule(p->m, &rules->rules[i], plan, &e->rules[e->n_rules], &miss,
				       err);
		if (ret == -ENOMEM)
			return ret;
		if (ret < 0) {
			/* told once: the rule counts as placed, so it is not also "missing" */
			add_problem(problems, err->msg);
			used[i] = true;
			continue;
		}
		if (ret > 0) {
			e->n_rules++;
			used[i] = true;
		} else if (!missing[i]) {
			missing[i] = miss;
		}
	}
	return 0;
}

static int add_gauge(struct eu_metrics_pkg *p, struct cexport *e, const char *map,
		     const char *member, int field, eu_error *err)
{
	char *name = NULL;
	if (asprintf(&name, "%s.%s%s%s", p->package, map, member ? "." : "",
		     member ? member : "") < 0)
		return eu_error_set(err, -ENOMEM, "out of memory");
	struct eu_metric_desc d = {.name = name, .type = EU_METRIC_GAUGE,
				   .labels = e->label_names, .n_labels = e->n_labels,
				   .observed = true};
	char help[256];
	snprintf(help, sizeof(help), "Value%s%s of the sampled map %s of package %s.",
		 member ? " member " : "", member ? member : "", map, p->package);
	d.help = help;
	struct eu_metric_family *fam;
	int ret = eu_metrics_family(p->m, &d, &fam, err);
	free(name);
	if (ret)
		return ret;
	struct sgauge *g = realloc(e->gauges, (e->n_gauges + 1) * sizeof(*g));
	if (!g)
		return eu_error_set(err, -ENOMEM, "out of memory");
	e->gauges = g;
	g[e->n_gauges].fam = fam;
	g[e->n_gauges].field = field;
	e->n_gauges++;
	return 0;
}

static bool add_label(struct cexport *e, bool from_key, bool whole, int field, const char *name)
{
	if (e->n_labels >= EU_METRICS_MAX_LABELS)
		return false;
	for (size_t i = 0; i < e->n_labels; i++)
		if (!strcmp(e->label_names[i], name))
			return false;
	e->labels[e->n_labels] = (struct slabel){.from_key = from_key, .whole = whole,
						 .field = field};
	e->label_names[e->n_labels++] = name;
	return true;
}

static int compile_sample(struct eu_metrics_pkg *p, struct cexport *e, const struct eu_export *x,
			  eu_error *err)
{
	const struct eu_map_meta *mm = eu_export_meta(x);
	const char *map = eu_export_map_name(x);
	e->sample = true;
	e->st = mm ? mm->sample.type : EU_SAMPLE_DEFAULT_KV;
	e->clear = mm && mm->sample.clear_map;
	e->kplan = eu_export_key_plan(x);
	e->vplan = eu_export_plan(x);
	e->value_scalar = eu_export_value_scalar(x);
	e->slots = e->base = e->step = -1;
	eu_metrics_unit_base(mm ? mm->sample.unit : NULL, &e->unit, &e->scale);
	if (!e->vplan)
		return 0;
	if (e->kplan) {
		if (eu_export_key_scalar(x)) {
			add_label(e, true, true, 0, "key");
		} else {
			for (size_t i = 0; i < eu_plan_field_count(e->kplan); i++) {
				const struct eu_field_info *f = eu_plan_field(e->kplan, i);
				if (f->kind != EU_FIELD_STRUCT && f->kind != EU_FIELD_UNION &&
				    f->kind != EU_FIELD_ARRAY)
					add_label(e, true, false, (int)i, f->name);
			}
		}
	}
	bool hist = e->st == EU_SAMPLE_LOG2_HIST || e->st == EU_SAMPLE_LINEAR_HIST;
	if (hist && !e->value_scalar) {
		int idx = eu_plan_find_field(e->vplan, "slots");
		const struct eu_field_info *f = idx >= 0 ? eu_plan_field(e->vplan, (size_t)idx) : NULL;
		if (f && f->kind == EU_FIELD_ARRAY && f->elems && !(f->size % f->elems) &&
		    f->elems <= 4096) {
			uint32_t es = f->size / f->elems;
			if (es == 1 || es == 2 || es == 4 || es == 8) {
				e->slots = idx;
				e->n_slots = f->elems;
				e->slot_size = es;
			}
		}
		e->base = eu_plan_find_field(e->vplan, "base");
		if (e->base < 0)
			e->base = eu_plan_find_field(e->vplan, "min");
		e->step = eu_plan_find_field(e->vplan, "step");
	}
	/* value members: strings (and other text-like values) label, numbers measure */
	size_t nv = eu_plan_field_count(e->vplan);
	for (size_t i = 0; !e->value_scalar && i < nv; i++) {
		const struct eu_field_info *f = eu_plan_field(e->vplan, i);
		if ((int)i == e->slots || (int)i == e->base || (int)i == e->step)
			continue;
		if (f->kind == EU_FIELD_CHAR_ARRAY || f->kind == EU_FIELD_ENUM ||
		    f->kind == EU_FIELD_IPV4 || f->kind == EU_FIELD_IP)
			add_label(e, false, false, (int)i, f->name);
	}
	if (e->value_scalar) {
		if (numeric_kind(eu_plan_field(e->vplan, 0)->kind)) {
			int ret = add_gauge(p, e, map, NULL, 0, err);
			if (ret)
				return ret;
		}
	} else {
		for (size_t i = 0; i < nv; i++) {
			const struct eu_field_info *f = eu_plan_field(e->vplan, i);
			if ((int)i == e->slots || (int)i == e->base || (int)i == e->step ||
			    !numeric_kind(f->kind))
				continue;
			int ret = add_gauge(p, e, map, f->name, (int)i, err);
			if (ret)
				return ret;
		}
	}
	if (e->slots >= 0) {
		if (asprintf(&e->hist_name, "%s.%s", p->package, map) < 0)
			return eu_error_set(err, -ENOMEM, "out of memory");
		if (!(e->counts = calloc(e->n_slots, sizeof(uint64_t))))
			return eu_error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

int eu_metrics_pkg_new(struct eu_metrics *m, const char *package,
		       const struct eu_metric_rules *rules, const struct eu_consumer *cons,
		       struct eu_metrics_pkg **out, eu_error *err)
{
	*out = NULL;
	struct eu_metrics_pkg *p = calloc(1, sizeof(*p));
	size_t n = eu_consumer_export_count(cons);
	size_t nr = rules ? rules->n : 0;
	bool *used = calloc(nr + 1, sizeof(bool));
	const char **missing = calloc(nr + 1, sizeof(char *));
	if (!p || !used || !missing || !(p->package = strdup(package ? package : "package")) ||
	    !(p->ex = calloc(n ? n : 1, sizeof(*p->ex)))) {
		free(used);
		free(missing);
		eu_metrics_pkg_free(p);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	p->m = m;
	p->n = n;
	eu_buf_init(&p->scratch);
	int ret = 0;
	bool any_events = false;
	eu_buf problems;
	eu_buf_init(&problems);
	for (size_t i = 0; !ret && i < n; i++) {
		const struct eu_export *x = eu_consumer_export(cons, i);
		if (eu_export_kind(x) == EU_EXPORT_SAMPLE) {
			ret = compile_sample(p, &p->ex[i], x, err);
		} else if (rules && eu_export_plan(x)) {
			any_events = true;
			p->ex[i].plan = eu_export_plan(x);
			ret = compile_events(p, &p->ex[i], rules, eu_export_plan(x), used, missing,
					     &problems, err);
		}
	}
	for (size_t i = 0; !ret && i < nr; i++) {
		char msg[EU_ERROR_MSG_MAX];
		if (used[i])
			continue;
		if (!any_events)
			snprintf(msg, sizeof(msg), "metric %s: package %s exports no events",
				 rules->rules[i].name, p->package);
		else
			snprintf(msg, sizeof(msg),
				 "metric %s: no event type of package %s has a field '%s'",
				 rules->rules[i].name, p->package, missing[i]);
		add_problem(&problems, msg);
	}
	if (!ret && problems.oom)
		ret = eu_error_set(err, -ENOMEM, "out of memory");
	else if (!ret && problems.len)
		ret = eu_error_set(err, -EINVAL, "%.*s", (int)problems.len, problems.data);
	eu_buf_free(&problems);
	free(used);
	free(missing);
	if (ret) {
		eu_metrics_pkg_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

/* Formats the label values of one rule into the scratch buffer, then points vals at them. */
static bool event_labels(struct eu_metrics_pkg *p, const struct crule *r,
			 const struct eu_plan *plan, const void *data, size_t size,
			 struct eu_label_value *vals)
{
	size_t offs[EU_METRICS_MAX_LABELS + 1];
	eu_buf_reset(&p->scratch);
	for (size_t i = 0; i < r->n_labels; i++) {
		offs[i] = p->scratch.len;
		if (eu_plan_format_field_text(plan, (size_t)r->labels[i], data, size, &p->scratch))
			return false;
	}
	offs[r->n_labels] = p->scratch.len;
	if (p->scratch.oom) {
		p->scratch.oom = false;
		return false;
	}
	for (size_t i = 0; i < r->n_labels; i++) {
		vals[i].s = p->scratch.data ? p->scratch.data + offs[i] : "";
		vals[i].len = offs[i + 1] - offs[i];
	}
	return true;
}

void eu_metrics_pkg_event(struct eu_metrics_pkg *p, size_t idx, const void *data, size_t size,
			  uint64_t now_ns)
{
	if (!p || idx >= p->n)
		return;
	struct cexport *e = &p->ex[idx];
	for (size_t i = 0; i < e->n_rules; i++) {
		struct crule *r = &e->rules[i];
		double v = 1;
		if (r->value_field >= 0 && !field_number(e->plan, r->value_field, data, size, &v))
			continue;
		struct eu_label_value vals[EU_METRICS_MAX_LABELS];
		if (!event_labels(p, r, e->plan, data, size, vals))
			continue;
		struct eu_metric_series *s = eu_metric_series_get(r->fam, vals, now_ns);
		if (r->type == EU_METRIC_COUNTER)
			eu_metric_add(s, to_base(v, r->scale));
		else if (r->type == EU_METRIC_GAUGE)
			eu_metric_set(s, to_base(v, r->scale), now_ns);
		else
			eu_metric_observe(s, to_base(v, r->scale));
	}
}

/* The histogram family of a sampled map, made at its first sample: linear bounds come from
 * the value's base/step members. */
static struct eu_metric_family *sample_hist(struct eu_metrics_pkg *p, struct cexport *e,
					    const void *value, size_t vs)
{
	if (e->hist || e->hist_failed)
		return e->hist;
	double bounds[4096];
	size_t nb = e->n_slots - 1;
	double base = 0, step = 1;
	if (e->st == EU_SAMPLE_LINEAR_HIST) {
		if (e->base >= 0)
			field_number(e->vplan, e->base, value, vs, &base);
		if (e->step >= 0 && (!field_number(e->vplan, e->step, value, vs, &step) || step <= 0))
			step = 1;
	}
	for (size_t i = 0; i < nb; i++) {
		/* integer values: log2 slot i holds [2^i, 2^(i+1) - 1] (slot 0 also 0), linear
		 * slot i holds [base + i*step, base + (i+1)*step - 1]; the last slot is open */
		double le = e->st == EU_SAMPLE_LINEAR_HIST ? base + (double)(i + 1) * step - 1 :
							    ldexp(1.0, (int)i + 1) - 1;
		bounds[i] = to_base(le, e->scale);
	}
	char help[256];
	snprintf(help, sizeof(help), "Histogram of the sampled map %s (%s buckets).",
		 e->hist_name, e->st == EU_SAMPLE_LINEAR_HIST ? "linear" : "log2");
	struct eu_metric_desc d = {.name = e->hist_name, .help = help, .unit = e->unit,
				   .type = EU_METRIC_HISTOGRAM, .labels = e->label_names,
				   .n_labels = e->n_labels, .bounds = bounds, .n_bounds = nb,
				   .observed = true};
	eu_error err = {0};
	if (eu_metrics_family(p->m, &d, &e->hist, &err))
		e->hist_failed = true;
	return e->hist;
}

static bool sample_labels(struct eu_metrics_pkg *p, struct cexport *e, const void *key,
			  size_t ks, const void *value, size_t vs, struct eu_label_value *vals)
{
	size_t offs[EU_METRICS_MAX_LABELS + 1];
	eu_buf_reset(&p->scratch);
	for (size_t i = 0; i < e->n_labels; i++) {
		const struct slabel *l = &e->labels[i];
		offs[i] = p->scratch.len;
		const struct eu_plan *plan = l->from_key ? e->kplan : e->vplan;
		if (eu_plan_format_field_text(plan, (size_t)l->field, l->from_key ? key : value,
					      l->from_key ? ks : vs, &p->scratch))
			return false;
	}
	offs[e->n_labels] = p->scratch.len;
	if (p->scratch.oom) {
		p->scratch.oom = false;
		return false;
	}
	for (size_t i = 0; i < e->n_labels; i++) {
		vals[i].s = p->scratch.data ? p->scratch.data + offs[i] : "";
		vals[i].len = offs[i + 1] - offs[i];
	}
	return true;
}

void eu_metrics_pkg_sample(struct eu_metrics_pkg *p, size_t idx, const void *key, size_t ks,
			   const void *value, size_t vs, uint64_t now_ns)
{
	if (!p || idx >= p->n || !p->ex[idx].sample)
		return;
	struct cexport *e = &p->ex[idx];
	if (vs < eu_plan_size(e->vplan) || (e->kplan && ks < eu_plan_size(e->kplan)))
		return;
	struct eu_label_value vals[EU_METRICS_MAX_LABELS];
	if (!sample_labels(p, e, key, ks, value, vs, vals))
		return;
	for (size_t i = 0; i < e->n_gauges; i++) {
		double v;
		if (field_number(e->vplan, e->gauges[i].field, value, vs, &v))
			eu_metric_set(eu_metric_series_get(e->gauges[i].fam, vals, now_ns), v, now_ns);
	}
	if (e->slots < 0 || !sample_hist(p, e, value, vs))
		return;
	const struct eu_field_info *f = eu_plan_field(e->vplan, (size_t)e->slots);
	const unsigned char *base = (const unsigned char *)value + f->offset;
	double sum = 0;
	bool linear = e->st == EU_SAMPLE_LINEAR_HIST;
	double lb = 0, step = 1;
	if (linear) {
		if (e->base >= 0)
			field_number(e->vplan, e->base, value, vs, &lb);
		if (e->step >= 0 && (!field_number(e->vplan, e->step, value, vs, &step) || step <= 0))
			step = 1;
	}
	for (uint32_t i = 0; i < e->n_slots; i++) {
		e->counts[i] = load_u(base + (size_t)i * e->slot_size, e->slot_size);
		/* the map keeps no sum: estimate it from each slot's midpoint (the open last
		 * slot counts at its low end) */
		double lo, hi;
		if (linear) {
			lo = lb + (double)i * step;
			hi = lo + step - 1;
		} else {
			lo = i ? ldexp(1.0, (int)i) : 0;
			hi = ldexp(1.0, (int)i + 1) - 1;
		}
		double mid = i + 1 == e->n_slots ? lo : (lo + hi) / 2;
		sum += (double)e->counts[i] * to_base(mid, e->scale);
	}
	struct eu_metric_series *s = eu_metric_series_get(e->hist, vals, now_ns);
	if (e->clear) {
		eu_metric_hist_add(s, e->counts, e->n_slots, sum);
	} else if (eu_metric_series_is_overflow(s)) {
		/* keys beyond the budget of a cumulative map: the overflow series is the sum of
		 * their current values, rebuilt on every sample (all entries of one sample share
		 * now_ns) */
		if (e->overflow_ns != now_ns)
			eu_metric_hist_clear(s);
		e->overflow_ns = now_ns;
		eu_metric_hist_add(s, e->counts, e->n_slots, sum);
	} else {
		eu_metric_hist_set(s, e->counts, e->n_slots, sum, now_ns);
	}
}
