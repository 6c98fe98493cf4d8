/* The YAML configuration file (format in config.h). libyaml's document API gives a node tree
 * with line numbers, which is all the error messages need. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "eunomia/buf.h"
#include "eunomia/package.h"
#include "core/file.h"
#include "metrics/metrics_rules.h"
#include "core/units.h"

struct cfg_parse {
	yaml_document_t *doc;
	const char *origin;
	eu_error *err;
};

static int cfg_fail(struct cfg_parse *p, const yaml_node_t *n, const char *path, const char *fmt,
		    const char *detail)
{
	char msg[EU_ERROR_MSG_MAX];
	snprintf(msg, sizeof(msg), fmt, detail ? detail : "");
	return eu_error_set(p->err, -EINVAL, "%s:%zu: %s: %s", p->origin,
			    n ? (size_t)n->start_mark.line + 1 : 0, path, msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML's null: a plain ~, null, Null, NULL or nothing */
static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		!strcmp(s, "NULL"));
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n ? n->type : YAML_NO_NODE) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static int get_uint(struct cfg_parse *p, const yaml_node_t *n, const char *path, uint64_t max,
		    uint64_t *out)
{
	const char *s = scalar(n);
	char *end = NULL;
	errno = 0;
	unsigned long long v = s && *s && *s != '-' ? strtoull(s, &end, 0) : 0;
	if (!s || !*s || *s == '-' || errno || *end || v > max) {
		char m[64];
		snprintf(m, sizeof(m), "expected a non-negative integer up to %llu, got %%s",
			 (unsigned long long)max);
		return cfg_fail(p, n, path, m, s ? s : node_kind(n));
	}
	*out = v;
	return 0;
}

static int get_bool(struct cfg_parse *p, const yaml_node_t *n, const char *path, bool *out)
{
	const char *s = scalar(n);
	if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") ||
		  !strcmp(s, "1")))
		*out = true;
	else if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") ||
		       !strcmp(s, "0")))
		*out = false;
	else
		return cfg_fail(p, n, path, "expected true or false, got %s", s ? s : node_kind(n));
	return 0;
}

static int get_str(struct cfg_parse *p, const yaml_node_t *n, const char *path, char **out)
{
	const char *s = scalar(n);
	if (!s || !*s)
		return cfg_fail(p, n, path, "expected a non-empty string, got %s",
				s ? "an empty one" : node_kind(n));
	free(*out);
	*out = strdup(s);
	return *out ? 0 : eu_error_set(p->err, -ENOMEM, "out of memory");
}

/* `prometheus: {without_type_suffix: true}`: the /metrics page's naming (metrics.h). */
static int parse_prometheus(struct cfg_parse *p, struct eu_config *cfg, yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return cfg_fail(p, n, "prometheus", "expected a mapping {without_type_suffix: BOOL}, "
				"got %s", node_kind(n));
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		const char *k = scalar(kn);
		if (!k || strcmp(k, "without_type_suffix"))
			return cfg_fail(p, kn, "prometheus", "unknown key '%s' (known: "
					"without_type_suffix)", k ? k : "?");
		int ret = get_bool(p, yaml_document_get_node(p->doc, pr->value),
				   "prometheus.without_type_suffix", &cfg->prom_without_type_suffix);
		if (ret)
			return ret;
	}
	return 0;
}

int eu_config_add_watch(struct eu_config *cfg, const char *dir)
{
	char **w = realloc(cfg->watch, (cfg->n_watch + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	cfg->watch = w;
	if (!(w[cfg->n_watch] = strdup(dir)))
		return -ENOMEM;
	cfg->n_watch++;
	return 0;
}

int eu_config_add_sink(struct eu_config *cfg, struct eu_sink_config *sink)
{
	struct eu_sink_config *s = realloc(cfg->sinks, (cfg->n_sinks + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	cfg->sinks = s;
	s[cfg->n_sinks++] = *sink;
	memset(sink, 0, sizeof(*sink));
	return 0;
}

static int parse_watch(struct cfg_parse *p, struct eu_config *cfg, yaml_node_t *n)
{
	if (n->type == YAML_SCALAR_NODE) {
		char *s = NULL;
		int ret = get_str(p, n, "watch", &s);
		if (!ret && eu_config_add_watch(cfg, s))
			ret = eu_error_set(p->err, -ENOMEM, "out of memory");
		free(s);
		return ret;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return cfg_fail(p, n, "watch", "expected a directory or a list of them, got %s",
				node_kind(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		char path[32], *s = NULL;
		snprintf(path, sizeof(path), "watch[%d]", (int)(it - n->data.sequence.items.start));
		int ret = get_str(p, yaml_document_get_node(p->doc, *it), path, &s);
		if (!ret && eu_config_add_watch(cfg, s))
			ret = eu_error_set(p->err, -ENOMEM, "out of memory");
		free(s);
		if (ret)
			return ret;
	}
	return 0;
}

/* A sink key that takes a key=value list: either a mapping, or one string already in the
 * list syntax. Keys may not hold ',' or '='; values are %-encoded where the syntax needs it.
 * A null or empty value is kept empty. The list is checked by the sink's key table. */
static int kv_list_text(struct cfg_parse *p, yaml_node_t *v, const char *kp, eu_buf *list)
{
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, pr->value);
		const char *k = scalar(kn), *val = scalar(vn);
		if (!k || !*k || strpbrk(k, ",="))
			return cfg_fail(p, kn, kp, "keys must be non-empty strings without ',' or '='%s",
					NULL);
		if (!val)
			return cfg_fail(p, vn, kp, "expected a string value, got %s", node_kind(vn));
		if (is_null(vn))
			val = "";
		eu_buf_printf(list, "%s%s=", list->len ? "," : "", k);
		/* the list syntax's own characters, and blanks (the parser trims them) */
		for (const char *c = val; *c; c++) {
			if (*c == ',' || *c == '=' || *c == '%' || (unsigned char)*c <= 0x20)
				eu_buf_printf(list, "%%%02X", (unsigned char)*c);
			else
				eu_buf_putc(list, *c);
		}
	}
	eu_buf_puts(list, "");
	return list->oom ? eu_error_set(p->err, -ENOMEM, "out of memory") : 0;
}

/* One key of a sink: its text (a mapping becomes a key=value list where the key takes one)
 * handed to the sink's key table, which parses and checks it. */
static int parse_sink_key(struct cfg_parse *p, yaml_node_t *kn, yaml_node_t *v, const char *path,
			  struct eu_sink_config *out)
{
	const char *k = scalar(kn);
	char kp[160];
	snprintf(kp, sizeof(kp), "%s.%s", path, k ? k : "?");
	if (!k)
		return cfg_fail(p, kn, path, "keys must be strings%s", NULL);
	eu_buf list;
	eu_buf_init(&list);
	const char *text = scalar(v);
	bool is_list = eu_sink_config_key_is_list(out, k);
	int ret = 0;
	if (is_list && v->type == YAML_MAPPING_NODE) {
		ret = kv_list_text(p, v, kp, &list);
		text = list.data;
	} else if (is_list && !text) {
		ret = cfg_fail(p, v, kp, "expected a mapping or a key=value list, got %s", node_kind(v));
	} else if (is_list && is_null(v)) {
		text = "";
	}
	eu_error e = {0};
	if (!ret) {
		ret = eu_sink_config_set(out, k, text, &e);
		if (ret == -ENOENT)
			ret = cfg_fail(p, kn, path, "%.200s", e.msg);
		else if (ret == -ENOMEM)
			ret = eu_error_set(p->err, ret, "out of memory");
		else if (ret) {
			/* not a scalar: the table's "got nothing" says what the node is instead */
			char *nothing = text ? NULL : strstr(e.msg, "got nothing");
			if (nothing)
				snprintf(nothing, sizeof(e.msg) - (size_t)(nothing - e.msg), "got %s",
					 node_kind(v));
			ret = cfg_fail(p, v, kp, "%.200s", e.msg);
		}
	}
	eu_buf_free(&list);
	return ret;
}

static int parse_sink(struct cfg_parse *p, yaml_node_t *n, int idx, struct eu_sink_config *out)
{
	char path[96];
	snprintf(path, sizeof(path), "sinks[%d]", idx);
	memset(out, 0, sizeof(*out));
	if (n->type != YAML_MAPPING_NODE)
		return cfg_fail(p, n, path, "expected a mapping with a type, got %s", node_kind(n));
	const char *type = NULL;
	yaml_node_t *type_node = n;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		const char *k = scalar(yaml_document_get_node(p->doc, pr->key));
		if (k && !strcmp(k, "type")) {
			type_node = yaml_document_get_node(p->doc, pr->value);
			type = scalar(type_node);
		}
	}
	if (!type)
		return cfg_fail(p, n, path, "a sink needs a type (%s)", eu_sink_plugin_names());
	eu_error e = {0};
	int ret = eu_sink_config_init(out, type, &e);
	if (ret == -ENOENT)
		return cfg_fail(p, type_node, path, "%.200s", e.msg);
	if (ret)
		return eu_error_set(p->err, ret, "out of memory");
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     !ret && pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		const char *k = scalar(kn);
		if (k && !strcmp(k, "type"))
			continue;
		ret = parse_sink_key(p, kn, yaml_document_get_node(p->doc, pr->value), path, out);
	}
	if (!ret && eu_sink_config_check(out, &e))
		ret = cfg_fail(p, n, path, "%.200s", e.msg);
	if (ret)
		eu_sink_config_free(out);
	return ret;
}

static int parse_sinks(struct cfg_parse *p, struct eu_config *cfg, yaml_node_t *n)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return cfg_fail(p, n, "sinks", "expected a list of sinks, got %s", node_kind(n));
	int i = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		struct eu_sink_config s;
		int ret = parse_sink(p, yaml_document_get_node(p->doc, *it), i, &s);
		if (ret)
			return ret;
		if (eu_config_add_sink(cfg, &s)) {
			eu_sink_config_free(&s);
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* A YAML list of scalars as "a,b,c" (malloc'd). */
static int join_scalars(struct cfg_parse *p, yaml_node_t *seq, const char *path, char **out)
{
	eu_buf b;
	eu_buf_init(&b);
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(p->doc, *it);
		const char *s = scalar(e);
		if (!s || strchr(s, ',')) {
			eu_buf_free(&b);
			return cfg_fail(p, e, path, "list elements must be numbers or names without "
					"commas, got %s", s ? s : node_kind(e));
		}
		if (it != seq->data.sequence.items.start)
			eu_buf_putc(&b, ',');
		eu_buf_puts(&b, s);
	}
	*out = b.data ? b.data : strdup("");
	return *out ? 0 : eu_error_set(p->err, -ENOMEM, "out of memory");
}

static int parse_params(struct cfg_parse *p, struct eu_config_package *pkg, yaml_node_t *n,
			const char *path)
{
	if (n->type != YAML_MAPPING_NODE)
		return cfg_fail(p, n, path, "expected a mapping of parameter: value, got %s",
				node_kind(n));
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *k = scalar(kn), *val = scalar(v);
		char kp[256];
		snprintf(kp, sizeof(kp), "%s.%s", path, k ? k : "?");
		if (!k || !*k)
			return cfg_fail(p, kn, path, "parameter names must be strings%s", NULL);
		char *list = NULL;
		if (!val && v->type == YAML_SEQUENCE_NODE) {
			/* an array parameter: [80, 443] is what `--ports 80,443` says */
			int ret = join_scalars(p, v, kp, &list);
			if (ret)
				return ret;
			val = list;
		}
		if (!val)
			return cfg_fail(p, v, kp, "expected a number, a string, a bool or a list of "
					"numbers, got %s", node_kind(v));
		struct eu_config_param *np = realloc(pkg->params, (pkg->n_params + 1) * sizeof(*np));
		if (!np) {
			free(list);
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		}
		pkg->params = np;
		np[pkg->n_params].name = strdup(k);
		np[pkg->n_params].value = list ? list : strdup(val);
		pkg->n_params++;
		if (!np[pkg->n_params - 1].name || !np[pkg->n_params - 1].value)
			return eu_error_set(p->err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* `map_sizes: {MAP: ENTRIES}`: max_entries per map, as `run --map-size MAP=N`. */
static int parse_map_sizes(struct cfg_parse *p, struct eu_config_package *pkg, yaml_node_t *n,
			   const char *path)
{
	if (n->type != YAML_MAPPING_NODE)
		return cfg_fail(p, n, path, "expected a mapping MAP: ENTRIES, got %s", node_kind(n));
	for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, q->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, q->value);
		const char *map = scalar(kn);
		char ep[300];
		snprintf(ep, sizeof(ep), "%s.%s", path, map ? map : "?");
		if (!map || !*map)
			return cfg_fail(p, kn, path, "map names must be strings%s", NULL);
		uint64_t entries = 0;
		int ret = get_uint(p, vn, ep, 1u << 31, &entries);
		if (!ret && !entries)
			ret = cfg_fail(p, vn, ep, "expected 1..2147483648 entries%s", NULL);
		if (ret)
			return ret;
		struct eu_map_size *ms = realloc(pkg->map_sizes,
						 (pkg->n_map_sizes + 1) * sizeof(*ms));
		if (!ms)
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		pkg->map_sizes = ms;
		char *name = strdup(map);
		if (!name)
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		ms[pkg->n_map_sizes++] = (struct eu_map_size){.map = name,
							      .max_entries = (uint32_t)entries};
	}
	return 0;
}

/* Checks the value of one PROG: VALUE pair of a per-program mapping; sets msg when wrong. */
typedef bool (*prog_value_check)(const char *value, char *msg, size_t n);

static bool attach_target_ok(const char *target, char *msg, size_t n)
{
	if (strchr(target, ':'))
		return true;
	snprintf(msg, n, "expected BINARY:FUNCTION[@PID], got %s", target);
	return false;
}

static bool perf_event_ok(const char *spec, char *msg, size_t n)
{
	struct eu_perf_event ev;
	eu_error e = {0};
	if (!eu_perf_event_parse(spec, &ev, &e))
		return true;
	snprintf(msg, n, "%s", e.msg);
	return false;
}

/* `attach: {PROG: BINARY:FUNCTION[@PID]}` and `perf_events: {PROG: EVENT}`: as `run
 * --attach PROG=...` and `run --perf-event PROG=...`, kept as "PROG=VALUE" (the program
 * names are checked at load). */
static int parse_prog_specs(struct cfg_parse *p, yaml_node_t *n, const char *path,
			    const char *want, prog_value_check check, char ***specs, size_t *count)
{
	char msg[EU_ERROR_MSG_MAX];
	if (n->type != YAML_MAPPING_NODE) {
		snprintf(msg, sizeof(msg), "expected a mapping PROGRAM: %s, got %s", want,
			 node_kind(n));
		return cfg_fail(p, n, path, "%s", msg);
	}
	for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top; q++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, q->key);
		yaml_node_t *vn = yaml_document_get_node(p->doc, q->value);
		const char *prog = scalar(kn), *value = scalar(vn);
		char ep[300];
		snprintf(ep, sizeof(ep), "%s.%s", path, prog ? prog : "?");
		if (!prog || !*prog)
			return cfg_fail(p, kn, path, "program names must be strings%s", NULL);
		if (!value) {
			snprintf(msg, sizeof(msg), "expected %s, got %s", want, node_kind(vn));
			return cfg_fail(p, vn, ep, "%s", msg);
		}
		if (!check(value, msg, sizeof(msg)))
			return cfg_fail(p, vn, ep, "%s", msg);
		char **a = realloc(*specs, (*count + 1) * sizeof(*a));
		if (!a)
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		*specs = a;
		if (asprintf(&a[*count], "%s=%s", prog, value) < 0)
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		(*count)++;
	}
	return 0;
}

static int parse_packages(struct cfg_parse *p, struct eu_config *cfg, yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return cfg_fail(p, n, "packages", "expected a mapping NAME: {params: {...}}, got %s",
				node_kind(n));
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *name = scalar(kn);
		if (!name || !*name)
			return cfg_fail(p, kn, "packages", "package names must be strings%s", NULL);
		char path[160];
		snprintf(path, sizeof(path), "packages.%s", name);
		struct eu_config_package *np = realloc(cfg->packages,
						       (cfg->n_packages + 1) * sizeof(*np));
		if (!np)
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		cfg->packages = np;
		struct eu_config_package *pkg = &np[cfg->n_packages++];
		memset(pkg, 0, sizeof(*pkg));
		if (!(pkg->name = strdup(name)))
			return eu_error_set(p->err, -ENOMEM, "out of memory");
		if (v->type != YAML_MAPPING_NODE)
			return cfg_fail(p, v, path, "expected a mapping with params, got %s",
					node_kind(v));
		for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
		     q++) {
			yaml_node_t *qk = yaml_document_get_node(p->doc, q->key);
			const char *k = scalar(qk);
			if (k && !strcmp(k, "metrics")) {
				char mp[200];
				snprintf(mp, sizeof(mp), "%s.metrics", path);
				eu_metric_rules_free(pkg->metrics);
				pkg->metrics = NULL;
				int ret = eu_metric_rules_parse_yaml(p->doc,
								     yaml_document_get_node(p->doc, q->value),
								     p->origin, mp, &pkg->metrics, p->err);
				if (ret)
					return ret;
				continue;
			}
			if (k && !strcmp(k, "sample_freq")) {
				char fp[200];
				uint64_t hz = 0;
				snprintf(fp, sizeof(fp), "%s.sample_freq", path);
				yaml_node_t *fv = yaml_document_get_node(p->doc, q->value);
				int ret = get_uint(p, fv, fp, 100000, &hz);
				if (!ret && !hz)
					ret = cfg_fail(p, fv, fp, "expected 1..100000 (Hz)%s", NULL);
				if (ret)
					return ret;
				pkg->sample_freq = (uint32_t)hz;
				continue;
			}
			if (k && !strcmp(k, "map_sizes")) {
				char mp[200];
				snprintf(mp, sizeof(mp), "%s.map_sizes", path);
				int ret = parse_map_sizes(p, pkg, yaml_document_get_node(p->doc, q->value),
							  mp);
				if (ret)
					return ret;
				continue;
			}
			if (k && (!strcmp(k, "attach") || !strcmp(k, "perf_events"))) {
				char ap[200];
				bool attach = !strcmp(k, "attach");
				snprintf(ap, sizeof(ap), "%s.%s", path, k);
				int ret = parse_prog_specs(
					p, yaml_document_get_node(p->doc, q->value), ap,
					attach ? "BINARY:FUNCTION[@PID]" : "EVENT[:period=N|:freq=HZ]",
					attach ? attach_target_ok : perf_event_ok,
					attach ? &pkg->attach : &pkg->perf_events,
					attach ? &pkg->n_attach : &pkg->n_perf_events);
				if (ret)
					return ret;
				continue;
			}
			if (!k || strcmp(k, "params"))
				return cfg_fail(p, qk, path,
						"unknown key '%s' (expected params, metrics, sample_freq, "
						"map_sizes, attach, perf_events)", k ? k : "?");
			char pp[200];
			snprintf(pp, sizeof(pp), "%s.params", path);
			int ret = parse_params(p, pkg, yaml_document_get_node(p->doc, q->value), pp);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int parse_root(struct cfg_parse *p, struct eu_config *cfg, yaml_node_t *root)
{
	/* an empty file (or comments only) is what an in-place copy caught half-way looks
	 * like: refused, so that a reload never takes it for "all defaults" */
	if (!root)
		return eu_error_set(p->err, -EINVAL,
				    "%s: empty: no settings (write {} for all defaults)", p->origin);
	if (root->type != YAML_MAPPING_NODE)
		return cfg_fail(p, root, "(top level)", "expected a mapping of settings, got %s",
				node_kind(root));
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		const char *k = scalar(kn);
		int ret = 0;
		uint64_t u;
		if (!k)
			ret = cfg_fail(p, kn, "(top level)", "keys must be strings%s", NULL);
		else if (!strcmp(k, "watch"))
			ret = parse_watch(p, cfg, v);
		else if (!strcmp(k, "sinks"))
			ret = parse_sinks(p, cfg, v);
		else if (!strcmp(k, "packages"))
			ret = parse_packages(p, cfg, v);
		else if (!strcmp(k, "queue_size")) {
			ret = get_uint(p, v, "queue_size", 1u << 30, &u);
			cfg->queue_size = (size_t)u;
		} else if (!strcmp(k, "log_level")) {
			const char *s = scalar(v);
			if (!s || eu_log_level_parse(s, &cfg->log_level))
				ret = cfg_fail(p, v, "log_level",
					       "expected error, warn, info, debug or trace, got %s",
					       s ? s : node_kind(v));
			cfg->log_level_set = true;
		} else if (!strcmp(k, "metrics")) {
			ret = eu_metrics_config_parse_yaml(p->doc, v, p->origin, &cfg->metrics_max_series,
							   &cfg->metrics_idle_s, p->err);
		} else if (!strcmp(k, "insecure_watch_dir")) {
			ret = get_bool(p, v, "insecure_watch_dir", &cfg->insecure_watch_dir);
		} else if (!strcmp(k, "prometheus")) {
			ret = parse_prometheus(p, cfg, v);
		} else
			ret = cfg_fail(p, kn, "(top level)",
				       "unknown key '%s' (known: watch, sinks, packages, queue_size, log_level, "
				       "insecure_watch_dir, metrics, prometheus)",
				       k);
		if (ret)
			return ret;
	}
	return 0;
}

int eu_config_parse(const char *text, size_t len, const char *origin, struct eu_config *out,
		    eu_error *err)
{
	memset(out, 0, sizeof(*out));
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return eu_error_set(err, -ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		int ret = eu_error_set(err, -EINVAL, "%s:%zu:%zu: YAML syntax: %s%s%s", origin,
				       (size_t)parser.problem_mark.line + 1,
				       (size_t)parser.problem_mark.column + 1,
				       parser.problem ? parser.problem : "invalid",
				       parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return ret;
	}
	struct cfg_parse p = {.doc = &doc, .origin = origin, .err = err};
	int ret = parse_root(&p, out, yaml_document_get_root_node(&doc));
	/* a second document is most likely a mistake ("---" in the middle) */
	yaml_document_t extra;
	if (!ret && yaml_parser_load(&parser, &extra)) {
		if (yaml_document_get_root_node(&extra))
			ret = eu_error_set(err, -EINVAL, "%s:%zu: only one YAML document is allowed",
					   origin, (size_t)parser.mark.line + 1);
		yaml_document_delete(&extra);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		eu_config_free(out);
	return ret;
}

int eu_config_load_file(const char *path, struct eu_config *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	void *text;
	size_t len;
	int ret = eu_file_read(path, 16u << 20, &text, &len, err);
	if (ret)
		return ret;
	ret = eu_config_parse(text, len, path, out, err);
	free(text);
	return ret;
}

void eu_config_free(struct eu_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_watch; i++)
		free(cfg->watch[i]);
	free(cfg->watch);
	for (size_t i = 0; i < cfg->n_sinks; i++)
		eu_sink_config_free(&cfg->sinks[i]);
	free(cfg->sinks);
	for (size_t i = 0; i < cfg->n_packages; i++) {
		for (size_t j = 0; j < cfg->packages[i].n_params; j++) {
			free(cfg->packages[i].params[j].name);
			free(cfg->packages[i].params[j].value);
		}
		free(cfg->packages[i].params);
		eu_metric_rules_free(cfg->packages[i].metrics);
		for (size_t j = 0; j < cfg->packages[i].n_map_sizes; j++)
			free((char *)cfg->packages[i].map_sizes[j].map);
		free(cfg->packages[i].map_sizes);
		for (size_t j = 0; j < cfg->packages[i].n_attach; j++)
			free(cfg->packages[i].attach[j]);
		free(cfg->packages[i].attach);
		for (size_t j = 0; j < cfg->packages[i].n_perf_events; j++)
			free(cfg->packages[i].perf_events[j]);
		free(cfg->packages[i].perf_events);
		free(cfg->packages[i].name);
	}
	free(cfg->packages);
	memset(cfg, 0, sizeof(*cfg));
}

const struct eu_config_package *eu_config_find_package(const struct eu_config *cfg,
						       const char *stem, const char *name)
{
	for (size_t i = 0; stem && i < cfg->n_packages; i++)
		if (!strcmp(cfg->packages[i].name, stem))
			return &cfg->packages[i];
	for (size_t i = 0; name && i < cfg->n_packages; i++)
		if (!strcmp(cfg->packages[i].name, name))
			return &cfg->packages[i];
	return NULL;
}

/* An exporter config program's rules, under its name; a package the config file already
 * gives rules keeps its own. */
static int add_exporter_rules(void *ctx, const char *name, struct eu_metric_rules *rules)
{
	struct eu_config *cfg = ctx;
	for (size_t i = 0; i < cfg->n_packages; i++) {
		if (!strcmp(cfg->packages[i].name, name)) {
			if (cfg->packages[i].metrics)
				eu_metric_rules_free(rules);
			else
				cfg->packages[i].metrics = rules;
			return 0;
		}
	}
	struct eu_config_package *np = realloc(cfg->packages, (cfg->n_packages + 1) * sizeof(*np));
	if (!np) {
		eu_metric_rules_free(rules);
		return -ENOMEM;
	}
	cfg->packages = np;
	struct eu_config_package *pkg = &np[cfg->n_packages];
	memset(pkg, 0, sizeof(*pkg));
	if (!(pkg->name = strdup(name))) {
		eu_metric_rules_free(rules);
		return -ENOMEM;
	}
	pkg->metrics = rules;
	cfg->n_packages++;
	return 0;
}

int eu_exporter_config_load(const char *file, struct eu_config *cfg,
			    struct eu_exporter_program **progs, size_t *n_progs, eu_error *err)
{
	return eu_exporter_config_read(file, add_exporter_rules, cfg, progs, n_progs, err);
}
