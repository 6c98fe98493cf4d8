/* Prometheus text exposition format 0.0.4 of the registry (metrics.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_priv.h"

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

static void put_sanitized(eu_buf *out, const char *s, bool label)
{
	if (!*s || (s[0] >= '0' && s[0] <= '9'))
		eu_buf_putc(out, '_');
	for (; *s; s++)
		eu_buf_putc(out, name_char(*s, false) && !(label && *s == ':') ? *s : '_');
}

/* The suffix OpenTelemetry's Prometheus exporters use for common units. */
static const char *unit_suffix(const char *unit)
{
	static const struct {
		const char *unit, *suffix;
	} map[] = {
		{"s", "seconds"}, {"sec", "seconds"}, {"secs", "seconds"}, {"seconds", "seconds"},
		{"ms", "milliseconds"}, {"msec", "milliseconds"}, {"msecs", "milliseconds"},
		{"us", "microseconds"}, {"usec", "microseconds"}, {"usecs", "microseconds"},
		{"ns", "nanoseconds"}, {"nsec", "nanoseconds"}, {"nsecs", "nanoseconds"},
		{"By", "bytes"}, {"bytes", "bytes"}, {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},
		{"1", ""}, {"(unit)", ""},
	};
	if (!unit || !*unit)
		return "";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(unit, map[i].unit))
			return map[i].suffix;
	return unit;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

void eu_metrics_prom_name(const char *name, const char *unit, enum eu_metric_type type,
			  unsigned flags, eu_buf *out)
{
	size_t start = out->len;
	put_sanitized(out, name, false);
	const char *suffix = unit_suffix(unit);
	if (*suffix) {
		eu_buf b;
		eu_buf_init(&b);
		put_sanitized(&b, suffix, false);
		/* "_seconds" must not be doubled in "x_seconds" nor in "x_seconds_total" */
		size_t n = out->len - start;
		const char *cur = out->data + start;
		bool has = !b.oom && (ends_with(cur, n, b.data) ||
				      (n > 6 && ends_with(cur, n - 6, b.data) &&
				       ends_with(cur, n, "_total")));
		if (!has && !b.oom) {
			eu_buf_putc(out, '_');
			eu_buf_append(out, b.data, b.len);
		}
		eu_buf_free(&b);
	}
	if (type == EU_METRIC_COUNTER && !(flags & EU_PROM_WITHOUT_TYPE_SUFFIX) &&
	    !ends_with(out->data + start, out->len - start, "_total"))
		eu_buf_puts(out, "_total");
}

void eu_metrics_prom_escape_label(eu_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			eu_buf_puts(out, "\\\\");
		else if (s[i] == '"')
			eu_buf_puts(out, "\\\"");
		else if (s[i] == '\n')
			eu_buf_puts(out, "\\n");
		else
			eu_buf_putc(out, s[i]);
	}
}

static void put_help(eu_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			eu_buf_puts(out, "\\\\");
		else if (*s == '\n')
			eu_buf_puts(out, "\\n");
		else
			eu_buf_putc(out, *s);
	}
}

static void put_double(eu_buf *out, double v)
{
	if (isnan(v))
		eu_buf_puts(out, "NaN");
	else if (isinf(v))
		eu_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		eu_buf_printf(out, "%.0f", v);
	else {
		/* the shortest text that reads back as the same double */
		char t[40];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(t, sizeof(t), "%.*g", prec, v);
			if (strtod(t, NULL) == v)
				break;
		}
		eu_buf_puts(out, t);
	}
}

/* {a="x",b="y"[,le="..."]} */
static void put_labels(eu_buf *out, const struct eu_metric_family *f,
		       const struct eu_metric_series *s, const char *le)
{
	bool any = false;
	if (!s->values) {
		eu_buf_puts(out, "{otel_metric_overflow=\"true\"");
		any = true;
	} else {
		for (size_t i = 0; i < f->n_labels; i++) {
			eu_buf_putc(out, any ? ',' : '{');
			put_sanitized(out, f->labels[i], true);
			eu_buf_puts(out, "=\"");
			eu_metrics_prom_escape_label(out, s->values[i].s, s->values[i].len);
			eu_buf_putc(out, '"');
			any = true;
		}
	}
	if (le) {
		eu_buf_puts(out, any ? ",le=\"" : "{le=\"");
		eu_buf_puts(out, le);
		eu_buf_putc(out, '"');
		any = true;
	}
	if (any)
		eu_buf_putc(out, '}');
}

static void put_series(eu_buf *out, const struct eu_metric_family *f,
		       const struct eu_metric_series *s, const char *name, size_t name_len)
{
	if (f->type != EU_METRIC_HISTOGRAM) {
		eu_buf_append(out, name, name_len);
		put_labels(out, f, s, NULL);
		eu_buf_putc(out, ' ');
		put_double(out, s->value);
		eu_buf_putc(out, '\n');
		return;
	}
	uint64_t cum = 0;
	for (size_t i = 0; i <= f->n_bounds; i++) {
		char le[64];
		cum += s->buckets[i];
		if (i == f->n_bounds) {
			snprintf(le, sizeof(le), "+Inf");
		} else {
			eu_buf b;
			eu_buf_init(&b);
			put_double(&b, f->bounds[i]);
			snprintf(le, sizeof(le), "%s", b.oom ? "0" : b.data);
			eu_buf_free(&b);
		}
		eu_buf_append(out, name, name_len);
		eu_buf_puts(out, "_bucket");
		put_labels(out, f, s, le);
		eu_buf_printf(out, " %" PRIu64 "\n", cum);
	}
	eu_buf_append(out, name, name_len);
	eu_buf_puts(out, "_sum");
	put_labels(out, f, s, NULL);
	eu_buf_putc(out, ' ');
	put_double(out, s->sum);
	eu_buf_putc(out, '\n');
	eu_buf_append(out, name, name_len);
	eu_buf_puts(out, "_count");
	put_labels(out, f, s, NULL);
	eu_buf_printf(out, " %" PRIu64 "\n", s->count);
}

static const char *type_name(enum eu_metric_type t)
{
	return t == EU_METRIC_COUNTER ? "counter" : t == EU_METRIC_GAUGE ? "gauge" : "histogram";
}

static void put_family(eu_buf *out, const struct eu_metric_family *f, unsigned flags)
{
	eu_buf name;
	eu_buf_init(&name);
	eu_metrics_prom_name(f->name, f->unit, f->type, flags, &name);
	if (name.oom) {
		out->oom = true;
		return;
	}
	/* the family name of a counter in 0.0.4 is the sample name, _total included */
	eu_buf_printf(out, "# HELP %s ", name.data);
	put_help(out, f->help && *f->help ? f->help : f->name);
	eu_buf_printf(out, "\n# TYPE %s %s\n", name.data, type_name(f->type));
	for (const struct eu_metric_series *s = f->all; s; s = s->all_next)
		put_series(out, f, s, name.data, name.len);
	if (f->overflow)
		put_series(out, f, f->overflow, name.data, name.len);
	eu_buf_free(&name);
}

static void put_self(eu_buf *out, const struct eu_metrics *m)
{
	static const struct {
		const char *name, *help, *type;
	} self[] = {
		{"eunomia_metric_series", "Live series per metric (overflow series included).",
		 "gauge"},
		{"eunomia_metric_overflow_measurements_total",
		 "Measurements for new label sets beyond the metric's series budget, counted into its "
		 "otel.metric.overflow series.", "counter"},
		{"eunomia_metric_series_expired_total", "Series removed after being idle.", "counter"},
	};
	for (size_t k = 0; k < 3; k++) {
		eu_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", self[k].name, self[k].help,
			      self[k].name, self[k].type);
		for (const struct eu_metric_family *f = m->families; f; f = f->next) {
			uint64_t v = k == 0 ? f->n_series + (f->overflow ? 1 : 0) :
				     k == 1 ? f->overflowed : f->expired;
			eu_buf_printf(out, "%s{metric=\"", self[k].name);
			eu_metrics_prom_escape_label(out, f->name, strlen(f->name));
			eu_buf_printf(out, "\"} %" PRIu64 "\n", v);
		}
	}
}

void eu_metrics_render_prometheus(const struct eu_metrics *m, unsigned flags, eu_buf *out)
{
	for (const struct eu_metric_family *f = m->families; f; f = f->next)
		if (f->all || f->overflow)
			put_family(out, f, flags);
	put_self(out, m);
}
