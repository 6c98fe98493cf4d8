/* The `metrics:` block of a package in the config file, and upstream's exporter config
 * (metrics_rules.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/units.h"
#include "metrics_rules.h"

struct mparse {
	yaml_document_t *doc;
	const char *origin;
	eu_error *err;
};

static int mfail(struct mparse *p, const yaml_node_t *n, const char *path, const char *msg,
		 const char *detail)
{
	return eu_error_set(p->err, -EINVAL, "%s:%zu: %s: %s%s", p->origin,
			    n ? (size_t)n->start_mark.line + 1 : 0, path, msg, detail ? detail : "");
}

/* Key paths for messages; vsnprintf because a long path is cut, not an error. */
static void spath(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void spath(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(struct mparse *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

static int get_str(struct mparse *p, yaml_node_t *n, const char *path, char **out)
{
	const char *s = scalar(n);
	if (!s || !*s)
		return mfail(p, n, path, "expected a non-empty string", NULL);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : eu_error_set(p->err, -ENOMEM, "out of memory");
}

static int get_double(struct mparse *p, yaml_node_t *n, const char *path, double *out)
{
	const char *s = scalar(n);
	char *end = NULL;
	double v = s ? strtod(s, &end) : 0;
	if (!s || !*s || *end || !isfinite(v))
		return mfail(p, n, path, "expected a number, got ", s ? s : "a non-scalar");
	*out = v;
	return 0;
}

static int get_bool(struct mparse *p, yaml_node_t *n, const char *path, bool *out)
{
	const char *s = scalar(n);
	if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")))
		*out = true;
	else if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")))
		*out = false;
	else
		return mfail(p, n, path, "expected true or false", NULL);
	return 0;
}

static int get_size(struct mparse *p, yaml_node_t *n, const char *path, size_t *out)
{
	double v = 0;
	int ret = get_double(p, n, path, &v);
	if (ret)
		return ret;
	if (v < 1 || v > 1e7 || v != floor(v))
		return mfail(p, n, path, "expected an integer from 1 to 10000000", NULL);
	*out = (size_t)v;
	return 0;
}

static int parse_labels(struct mparse *p, yaml_node_t *n, const char *path,
			struct eu_metric_rule *r)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return mfail(p, n, path, "expected a list of {name, from}", NULL);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > EU_METRICS_MAX_LABELS)
		return mfail(p, n, path, "too many labels (at most 16)", NULL);
	/* a repeated key: the last one wins, as for the other keys */
	for (size_t i = 0; i < r->n_labels; i++) {
		free(r->labels[i].name);
		free(r->labels[i].from);
	}
	free(r->labels);
	r->n_labels = 0;
	r->labels = calloc(cnt ? cnt : 1, sizeof(*r->labels));
	if (!r->labels)
		return eu_error_set(p->err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
		char lp[320];
		spath(lp, sizeof(lp), "%s[%zu]", path, i);
		struct eu_metric_label_rule *l = &r->labels[r->n_labels++];
		int ret = 0;
		if (scalar(it)) {
			/* shorthand: a field name */
			ret = get_str(p, it, lp, &l->name);
		} else if (it->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *pr = it->data.mapping.pairs.start;
			     !ret && pr < it->data.mapping.pairs.top; pr++) {
				const char *k = scalar(node(p, pr->key));
				yaml_node_t *v = node(p, pr->value);
				char kp[400];
				spath(kp, sizeof(kp), "%s.%s", lp, k ? k : "?");
				if (k && !strcmp(k, "name"))
					ret = get_str(p, v, kp, &l->name);
				else if (k && !strcmp(k, "from"))
					ret = get_str(p, v, kp, &l->from);
				else
					ret = mfail(p, node(p, pr->key), lp,
						    "unknown key (expected name, from): ", k ? k : "?");
			}
			if (!ret && !l->name)
				ret = mfail(p, it, lp, "a label needs a name", NULL);
		} else {
			ret = mfail(p, it, lp, "expected {name, from} or a field name", NULL);
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_bounds(struct mparse *p, yaml_node_t *n, const char *path,
			struct eu_metric_rule *r)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return mfail(p, n, path, "expected a list of increasing numbers", NULL);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!cnt || cnt > EU_METRICS_MAX_BOUNDS)
		return mfail(p, n, path, "expected 1 to 256 bucket bounds", NULL);
	free(r->bounds);
	r->n_bounds = 0;
	r->bounds = calloc(cnt, sizeof(double));
	if (!r->bounds)
		return eu_error_set(p->err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		char bp[320];
		spath(bp, sizeof(bp), "%s[%zu]", path, i);
		yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
		int ret = get_double(p, it, bp, &r->bounds[i]);
		if (ret)
			return ret;
		if (i && !(r->bounds[i] > r->bounds[i - 1]))
			return mfail(p, it, bp, "bucket bounds must increase", NULL);
		r->n_bounds++;
	}
	return 0;
}

static int parse_rule(struct mparse *p, yaml_node_t *n, const char *path, size_t max_series,
		      struct eu_metric_rule *r)
{
	if (n->type != YAML_MAPPING_NODE)
		return mfail(p, n, path, "expected a mapping with a name", NULL);
	r->max_series = max_series;
	int ret = 0;
	bool have_bounds = false;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     !ret && pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = node(p, pr->key), *v = node(p, pr->value);
		const char *k = scalar(kn);
		char kp[320];
		spath(kp, sizeof(kp), "%s.%s", path, k ? k : "?");
		if (!k)
			ret = mfail(p, kn, path, "keys must be strings", NULL);
		else if (!strcmp(k, "name"))
			ret = get_str(p, v, kp, &r->name);
		else if (!strcmp(k, "description") || !strcmp(k, "help"))
			ret = get_str(p, v, kp, &r->help);
		else if (!strcmp(k, "labels"))
			ret = parse_labels(p, v, kp, r);
		else if (!strcmp(k, "field") || !strcmp(k, "from"))
			ret = get_str(p, v, kp, &r->field);
		else if (!strcmp(k, "unit"))
			ret = get_str(p, v, kp, &r->unit);
		else if (!strcmp(k, "max_series"))
			ret = get_size(p, v, kp, &r->max_series);
		else if (r->type == EU_METRIC_HISTOGRAM && !strcmp(k, "buckets")) {
			ret = parse_bounds(p, v, kp, r);
			have_bounds = true;
		} else if (r->type == EU_METRIC_HISTOGRAM && !strcmp(k, "log2"))
			ret = get_bool(p, v, kp, &r->log2);
		else
			ret = mfail(p, kn, path, "unknown key ", k);
	}
	if (ret)
		return ret;
	if (!r->name)
		return mfail(p, n, path, "a metric needs a name", NULL);
	if (r->type != EU_METRIC_COUNTER && !r->field)
		return mfail(p, n, path, "needs `field`: the numeric field it measures", NULL);
	if (r->type == EU_METRIC_HISTOGRAM && have_bounds == r->log2)
		return mfail(p, n, path, "a histogram needs either buckets: [...] or log2: true",
			     NULL);
	return 0;
}

void eu_metric_rules_free(struct eu_metric_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		struct eu_metric_rule *r = &rs->rules[i];
		free(r->name);
		free(r->help);
		free(r->unit);
		free(r->field);
		for (size_t j = 0; j < r->n_labels; j++) {
			free(r->labels[j].name);
			free(r->labels[j].from);
		}
		free(r->labels);
		free(r->bounds);
	}
	free(rs->rules);
	free(rs);
}

static void put_field(eu_buf *out, const char *s)
{
	/* length-prefixed: no value can fake a separator */
	if (s)
		eu_buf_printf(out, "%zu:%s", strlen(s), s);
	else
		eu_buf_putc(out, '-');
}

void eu_metric_rules_fingerprint(const struct eu_metric_rules *rs, eu_buf *out)
{
	for (size_t i = 0; rs && i < rs->n; i++) {
		const struct eu_metric_rule *r = &rs->rules[i];
		eu_buf_printf(out, "[%d", (int)r->type);
		put_field(out, r->name);
		put_field(out, r->help);
		put_field(out, r->unit);
		put_field(out, r->field);
		for (size_t j = 0; j < r->n_labels; j++) {
			put_field(out, r->labels[j].name);
			put_field(out, r->labels[j].from);
		}
		for (size_t j = 0; j < r->n_bounds; j++)
			eu_buf_printf(out, ",%.17g", r->bounds[j]);
		eu_buf_printf(out, "|%d|%zu]", r->log2, r->max_series);
	}
}

static int parse_list(struct mparse *p, yaml_node_t *n, const char *path, enum eu_metric_type t,
		      size_t max_series, struct eu_metric_rules *rs)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return mfail(p, n, path, "expected a list of metrics", NULL);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	struct eu_metric_rule *nr = realloc(rs->rules, (rs->n + cnt + 1) * sizeof(*nr));
	if (!nr)
		return eu_error_set(p->err, -ENOMEM, "out of memory");
	rs->rules = nr;
	for (size_t i = 0; i < cnt; i++) {
		char rp[320];
		spath(rp, sizeof(rp), "%s[%zu]", path, i);
		struct eu_metric_rule *r = &rs->rules[rs->n++];
		memset(r, 0, sizeof(*r));
		r->type = t;
		int ret = parse_rule(p, node(p, n->data.sequence.items.start[i]), rp, max_series, r);
		if (ret)
			return ret;
	}
	return 0;
}

int eu_metric_rules_parse_yaml(yaml_document_t *doc, yaml_node_t *n, const char *origin,
			       const char *path, struct eu_metric_rules **out, eu_error *err)
{
	struct mparse p = {.doc = doc, .origin = origin, .err = err};
	*out = NULL;
	if (n->type != YAML_MAPPING_NODE)
		return mfail(&p, n, path, "expected a mapping with counters, histograms, gauges",
			     NULL);
	struct eu_metric_rules *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return eu_error_set(err, -ENOMEM, "out of memory");
	size_t max_series = 0;
	int ret = 0;
	/* max_series first: it is the default of every rule, wherever it is written */
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     !ret && pr < n->data.mapping.pairs.top; pr++) {
		const char *k = scalar(node(&p, pr->key));
		if (k && !strcmp(k, "max_series")) {
			char kp[320];
			spath(kp, sizeof(kp), "%s.max_series", path);
			ret = get_size(&p, node(&p, pr->value), kp, &max_series);
		}
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     !ret && pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = node(&p, pr->key), *v = node(&p, pr->value);
		const char *k = scalar(kn);
		char kp[320];
		spath(kp, sizeof(kp), "%s.%s", path, k ? k : "?");
		if (k && !strcmp(k, "counters"))
			ret = parse_list(&p, v, kp, EU_METRIC_COUNTER, max_series, rs);
		else if (k && !strcmp(k, "histograms"))
			ret = parse_list(&p, v, kp, EU_METRIC_HISTOGRAM, max_series, rs);
		else if (k && !strcmp(k, "gauges"))
			ret = parse_list(&p, v, kp, EU_METRIC_GAUGE, max_series, rs);
		else if (!k || strcmp(k, "max_series"))
			ret = mfail(&p, kn, path,
				    "unknown key (expected counters, histograms, gauges, max_series): ",
				    k ? k : "?");
	}
	if (ret) {
		eu_metric_rules_free(rs);
		return ret;
	}
	*out = rs;
	return 0;
}

int eu_metrics_config_parse_yaml(yaml_document_t *doc, yaml_node_t *n, const char *origin,
				 size_t *max_series, uint64_t *idle_s, eu_error *err)
{
	struct mparse p = {.doc = doc, .origin = origin, .err = err};
	if (n->type != YAML_MAPPING_NODE)
		return mfail(&p, n, "metrics", "expected a mapping with max_series, series_idle", NULL);
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *kn = node(&p, pr->key), *v = node(&p, pr->value);
		const char *k = scalar(kn);
		int ret;
		if (k && !strcmp(k, "max_series")) {
			ret = get_size(&p, v, "metrics.max_series", max_series);
		} else if (k && !strcmp(k, "series_idle")) {
			const char *s = scalar(v);
			ret = !s || eu_parse_seconds(s, idle_s) ?
				      mfail(&p, v, "metrics.series_idle",
					    "expected a duration such as 30s, 10m or 1h, got ",
					    s ? s : "a non-scalar") : 0;
			/* 0: never (0 in the struct means the default) */
			if (!ret && !*idle_s)
				*idle_s = UINT64_MAX;
		} else {
			ret = mfail(&p, kn, "metrics", "unknown key (expected max_series, series_idle): ",
				    k ? k : "?");
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* --- upstream's exporter config --- */

static int add_program(struct eu_exporter_program **progs, size_t *n, const char *file,
		       const char *path_in_file, char **name, char **rel, char **data,
		       size_t data_len)
{
	struct eu_exporter_program pr = {0};
	const char *slash = strrchr(file, '/');
	if (*rel && ((*rel)[0] == '/' || !slash)) {
		pr.path = strdup(*rel);
	} else if (*rel && asprintf(&pr.path, "%.*s/%s", (int)(slash - file), file, *rel) < 0) {
		pr.path = NULL;
	}
	if (pr.path)
		pr.origin = strdup(pr.path);
	else if (!*rel && asprintf(&pr.origin, "%s:%s.ebpf_data", file, path_in_file) < 0)
		pr.origin = NULL;
	struct eu_exporter_program *np = pr.origin ? realloc(*progs, (*n + 1) * sizeof(*np)) : NULL;
	if (!np) {
		free(pr.path);
		free(pr.origin);
		return -ENOMEM;
	}
	pr.name = *name;
	pr.inline_pkg = *data;
	pr.inline_len = data_len;
	*name = *data = NULL;
	*progs = np;
	np[(*n)++] = pr;
	return 0;
}

void eu_exporter_programs_free(struct eu_exporter_program *progs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(progs[i].name);
		free(progs[i].path);
		free(progs[i].inline_pkg);
		free(progs[i].origin);
	}
	free(progs);
}

static int parse_program(struct mparse *p, yaml_node_t *n, const char *path, const char *file,
			 eu_exporter_rules_fn add, void *ctx, struct eu_exporter_program **progs,
			 size_t *n_progs)
{
	if (n->type != YAML_MAPPING_NODE)
		return mfail(p, n, path, "expected a mapping with name and compiled_ebpf_filename "
			     "or ebpf_data", NULL);
	char *name = NULL, *pkg = NULL, *data = NULL;
	size_t data_len = 0;
	struct eu_metric_rules *rules = NULL;
	int ret = 0;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     !ret && pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = node(p, pr->key), *v = node(p, pr->value);
		const char *k = scalar(kn);
		char kp[320];
		spath(kp, sizeof(kp), "%s.%s", path, k ? k : "?");
		if (k && !strcmp(k, "name")) {
			ret = get_str(p, v, kp, &name);
		} else if (k && !strcmp(k, "compiled_ebpf_filename")) {
			ret = get_str(p, v, kp, &pkg);
		} else if (k && !strcmp(k, "ebpf_data")) {
			/* the package's text: its length from the node (a YAML string holds no NUL
			 * the parser would have let through, but the length is what was read) */
			if (!scalar(v) || !v->data.scalar.length) {
				ret = mfail(p, v, kp, "expected the package's JSON text as a string "
					    "(upstream's ebpf_data), got ",
					    scalar(v) ? "an empty one" : "a non-scalar");
			} else {
				free(data);
				data_len = v->data.scalar.length;
				if (!(data = malloc(data_len + 1)))
					ret = eu_error_set(p->err, -ENOMEM, "out of memory");
				else {
					memcpy(data, v->data.scalar.value, data_len);
					data[data_len] = '\0';
				}
			}
		} else if (k && !strcmp(k, "metrics")) {
			eu_metric_rules_free(rules);
			ret = eu_metric_rules_parse_yaml(p->doc, v, p->origin, kp, &rules, p->err);
		} else {
			ret = mfail(p, kn, path,
				    "unknown key (expected name, compiled_ebpf_filename, ebpf_data, "
				    "metrics): ", k ? k : "?");
		}
	}
	if (!ret && !name)
		ret = mfail(p, n, path, "a program needs a name", NULL);
	if (!ret && !pkg && !data)
		ret = mfail(p, n, path, "a program needs compiled_ebpf_filename (its package file) "
			    "or ebpf_data (the package inline)", NULL);
	if (!ret && pkg && data)
		ret = mfail(p, n, path, "a program gives compiled_ebpf_filename or ebpf_data, not "
			    "both", NULL);
	if (!ret && add_program(progs, n_progs, file, path, &name, &pkg, &data, data_len))
		ret = eu_error_set(p->err, -ENOMEM, "out of memory");
	if (!ret && rules) {
		const char *pname = (*progs)[*n_progs - 1].name;
		if (add(ctx, pname, rules))
			ret = eu_error_set(p->err, -ENOMEM, "out of memory");
		rules = NULL;
	}
	eu_metric_rules_free(rules);
	free(name);
	free(pkg);
	free(data);
	return ret;
}

int eu_exporter_config_read(const char *file, eu_exporter_rules_fn add, void *ctx,
			    struct eu_exporter_program **progs, size_t *n_progs, eu_error *err)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return eu_error_set(err, -errno, "%s: cannot open: %s", file, strerror(errno));
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		int ret = eu_error_set(err, -EINVAL, "%s:%zu: YAML syntax: %s", file,
				       (size_t)parser.problem_mark.line + 1,
				       parser.problem ? parser.problem : "invalid");
		yaml_parser_delete(&parser);
		fclose(f);
		return ret;
	}
	struct mparse p = {.doc = &doc, .origin = file, .err = err};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	int ret = 0;
	if (!root || root->type != YAML_MAPPING_NODE)
		ret = mfail(&p, root, "(top level)", "expected a mapping with programs", NULL);
	for (yaml_node_pair_t *pr = root && !ret ? root->data.mapping.pairs.start : NULL;
	     pr && !ret && pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = node(&p, pr->key), *v = node(&p, pr->value);
		const char *k = scalar(kn);
		if (!k || strcmp(k, "programs")) {
			ret = mfail(&p, kn, "(top level)", "unknown key (expected programs): ",
				    k ? k : "?");
			break;
		}
		if (v->type != YAML_SEQUENCE_NODE) {
			ret = mfail(&p, v, "programs", "expected a list of programs", NULL);
			break;
		}
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     !ret && it < v->data.sequence.items.top; it++) {
			char pp[64];
			spath(pp, sizeof(pp), "programs[%d]",
				 (int)(it - v->data.sequence.items.start));
			ret = parse_program(&p, node(&p, *it), pp, file, add, ctx, progs,
					    n_progs);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}
