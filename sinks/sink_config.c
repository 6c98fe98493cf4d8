/* Sink settings from the plugins' key tables (sink.h, sink_plugin.h): every key is parsed,
 * checked, stored, copied and compared here, so neither the config file parser nor the
 * command line knows any sink's keys. A set key is kept twice: typed in the plugin's struct
 * (what the plugin reads) and as canonical text (what equality, copies and
 * eu_sink_config_getenv use). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/units.h"
#include "sink.h"
#include "sinks/plugin_api/sink_plugin.h"

/* The keys every sink has: they live in struct eu_sink_config itself. */
static const struct eu_sink_key common_keys[] = {
	{.key = "queue_size", .type = EU_SINK_KEY_UINT, .max = 1u << 30,
	 .offset = EU_SINK_KEY_NO_FIELD, /* struct eu_sink_config's queue_records */
	 .desc = "records this sink may queue before it drops (default: the top-level "
		 "queue_size, else 65536)"},
	{0},
};

static size_t n_keys(const struct eu_sink_plugin *p)
{
	size_t n = 0;
	while (p->keys && p->keys[n].key)
		n++;
	return n;
}

static void *field(void *conf, const struct eu_sink_key *k)
{
	return !conf || k->offset == EU_SINK_KEY_NO_FIELD ? NULL : (char *)conf + k->offset;
}

/* What a key takes, for errors and the help tables. */
static const char *expects(const struct eu_sink_key *k, char *buf, size_t n)
{
	switch (k->type) {
	case EU_SINK_KEY_STRING: return "a non-empty string";
	case EU_SINK_KEY_BOOL: return "true or false";
	case EU_SINK_KEY_UINT:
		if (k->min)
			snprintf(buf, n, "an integer from %" PRIu64 " to %" PRIu64, k->min,
				 k->max ? k->max : UINT64_MAX);
		else
			snprintf(buf, n, "a non-negative integer up to %" PRIu64,
				 k->max ? k->max : UINT64_MAX);
		return buf;
	case EU_SINK_KEY_SIZE: return "a size such as 1048576, 64K, 100M or 1G";
	case EU_SINK_KEY_SECONDS: return "a duration such as 3600, 30m, 1h or 1d";
	case EU_SINK_KEY_MILLIS:
		return "1 ms to 49 days, as milliseconds or a duration such as 500ms, 10s or 1m";
	case EU_SINK_KEY_ENUM: {
		size_t off = 0;
		buf[0] = '\0';
		for (size_t i = 0; k->choices[i] && off < n; i++)
			off += (size_t)snprintf(buf + off, n - off, "%s%s",
						i == 0 ? "" : (k->choices[i + 1] ? ", " : " or "),
						k->choices[i]);
		return buf;
	}
	case EU_SINK_KEY_LIST: return "a mapping or a key=value list";
	}
	return "a value";
}

/* Parses text for key k into its field (when it has one) and its canonical text *canon
 * (malloc'd). */
static int parse_value(const struct eu_sink_key *k, void *conf, const char *text, char **canon,
		       eu_error *err)
{
	char what[160], num[32];
	uint64_t u = 0;
	const char *c = text; /* the canonical text when it is the input */
	void *f = field(conf, k);
	int bad = 0;
	switch (k->type) {
	case EU_SINK_KEY_STRING:
		bad = !text || !*text;
		break;
	case EU_SINK_KEY_LIST:
		bad = !text;
		break;
	case EU_SINK_KEY_BOOL: {
		bool b = false;
		if (text && (!strcasecmp(text, "true") || !strcasecmp(text, "yes") ||
			     !strcasecmp(text, "on") || !strcmp(text, "1")))
			b = true;
		else if (!text || (strcasecmp(text, "false") && strcasecmp(text, "no") &&
				   strcasecmp(text, "off") && strcmp(text, "0")))
			bad = 1;
		c = b ? "true" : "false";
		if (!bad && f)
			*(bool *)f = b;
		break;
	}
	case EU_SINK_KEY_UINT: {
		char *end = NULL;
		errno = 0;
		bad = !text || !*text || *text == '-';
		if (!bad) {
			unsigned long long v = strtoull(text, &end, 0);
			u = v;
			bad = errno || *end || u < k->min || u > (k->max ? k->max : UINT64_MAX);
		}
		break;
	}
	case EU_SINK_KEY_SIZE:
		bad = !text || eu_parse_size(text, &u) != 0 || u < k->min;
		break;
	case EU_SINK_KEY_SECONDS:
		bad = !text || eu_parse_seconds(text, &u) != 0;
		break;
	case EU_SINK_KEY_MILLIS:
		bad = !text || eu_parse_millis(text, &u) != 0;
		break;
	case EU_SINK_KEY_ENUM: {
		int i = 0;
		while (text && k->choices[i] && strcasecmp(k->choices[i], text))
			i++;
		bad = !text || !k->choices[i];
		if (!bad && f)
			*(int *)f = i;
		if (!bad)
			c = k->choices[i]; /* any case in, the table's spelling out */
		break;
	}
	}
	if (bad)
		return eu_error_set(err, -EINVAL, "expected %s, got %s", expects(k, what, sizeof(what)),
				    text ? (*text ? text : "an empty one") : "nothing");
	if (k->type == EU_SINK_KEY_UINT || k->type == EU_SINK_KEY_SIZE ||
	    k->type == EU_SINK_KEY_SECONDS || k->type == EU_SINK_KEY_MILLIS) {
		snprintf(num, sizeof(num), "%" PRIu64, u);
		c = num;
		if (f)
			*(uint64_t *)f = u;
	}
	if (k->check) {
		int ret = k->check(c, err);
		if (ret)
			return ret;
	}
	char *copy = strdup(c);
	if (!copy)
		return eu_error_set(err, -ENOMEM, "out of memory");
	if (f && (k->type == EU_SINK_KEY_STRING || k->type == EU_SINK_KEY_LIST)) {
		char *v = strdup(c);
		if (!v) {
			free(copy);
			return eu_error_set(err, -ENOMEM, "out of memory");
		}
		free(*(char **)f);
		*(char **)f = v;
	}
	*canon = copy;
	return 0;
}

static void free_fields(const struct eu_sink_plugin *p, void *conf)
{
	for (size_t i = 0; conf && p->keys && p->keys[i].key; i++) {
		const struct eu_sink_key *k = &p->keys[i];
		if (field(conf, k) && (k->type == EU_SINK_KEY_STRING || k->type == EU_SINK_KEY_LIST)) {
			free(*(char **)field(conf, k));
			*(char **)field(conf, k) = NULL;
		}
	}
}

void eu_sink_config_free(struct eu_sink_config *cfg)
{
	if (!cfg || !cfg->plugin)
		return;
	free_fields(cfg->plugin, cfg->conf);
	free(cfg->conf);
	for (size_t i = 0; cfg->set && i < n_keys(cfg->plugin); i++)
		free(cfg->set[i]);
	free(cfg->set);
	memset(cfg, 0, sizeof(*cfg));
}

int eu_sink_config_init(struct eu_sink_config *cfg, const char *type, eu_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	const struct eu_sink_plugin *p = type ? eu_sink_plugin_find(type) : NULL;
	if (!p)
		return eu_error_set(err, -ENOENT, "unknown sink type '%s' (known: %s)",
				    type ? type : "", eu_sink_plugin_names());
	cfg->plugin = p;
	cfg->conf = calloc(1, p->conf_size ? p->conf_size : 1);
	cfg->set = calloc(n_keys(p) + 1, sizeof(*cfg->set));
	if (!cfg->conf || !cfg->set) {
		eu_sink_config_free(cfg);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; p->keys && p->keys[i].key; i++) {
		if (!p->keys[i].def)
			continue;
		char *canon = NULL;
		int ret = parse_value(&p->keys[i], cfg->conf, p->keys[i].def, &canon, err);
		free(canon);
		if (ret) {
			eu_sink_config_free(cfg);
			return eu_error_prefix(err, "sink %s: default of %s", p->name, p->keys[i].key);
		}
	}
	return 0;
}

int eu_sink_config_set(struct eu_sink_config *cfg, const char *key, const char *value,
		       eu_error *err)
{
	const struct eu_sink_key *k = eu_sink_key_find(cfg->plugin->keys, key);
	if (!k) {
		k = eu_sink_key_find(common_keys, key);
		if (!k)
			return eu_error_set(err, -ENOENT, "unknown key '%s' for a %s sink", key,
					    cfg->plugin->name);
		char *canon = NULL;
		int ret = parse_value(k, NULL, value, &canon, err);
		if (!ret)
			cfg->queue_records = (size_t)strtoull(canon, NULL, 10);
		free(canon);
		return ret;
	}
	char *canon = NULL;
	int ret = parse_value(k, cfg->conf, value, &canon, err);
	if (ret)
		return ret;
	size_t i = (size_t)(k - cfg->plugin->keys);
	free(cfg->set[i]);
	cfg->set[i] = canon;
	return 0;
}

bool eu_sink_config_key_is_list(const struct eu_sink_config *cfg, const char *key)
{
	const struct eu_sink_key *k = eu_sink_key_find(cfg->plugin->keys, key);
	return k && k->type == EU_SINK_KEY_LIST;
}

int eu_sink_config_check(const struct eu_sink_config *cfg, eu_error *err)
{
	for (size_t i = 0; cfg->plugin->keys && cfg->plugin->keys[i].key; i++)
		if (cfg->plugin->keys[i].required && !cfg->set[i])
			return eu_error_set(err, -EINVAL, "a %s sink needs a %s", cfg->plugin->name,
					    cfg->plugin->keys[i].key);
	return 0;
}

int eu_sink_config_from_spec(const char *spec, struct eu_sink_config *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *colon = strchr(spec, ':');
	char type[64];
	size_t tl = colon ? (size_t)(colon - spec) : strlen(spec);
	if (tl >= sizeof(type))
		tl = sizeof(type) - 1;
	memcpy(type, spec, tl);
	type[tl] = '\0';
	int ret = eu_sink_config_init(out, type, err);
	if (ret)
		return eu_error_set(err, ret, "unknown sink '%s' (known types: %s; TYPE:ARG gives "
					      "the argument where a type takes one)",
				    spec, eu_sink_plugin_names());
	const char *arg_key = out->plugin->arg_key;
	if (colon && !arg_key)
		ret = eu_error_set(err, -EINVAL, "sink '%s': a %s sink takes no argument", spec, type);
	else if (colon && (ret = eu_sink_config_set(out, arg_key, colon + 1, err)))
		eu_error_prefix(err, "sink '%s': %s", spec, arg_key);
	else if ((ret = eu_sink_config_check(out, err)))
		eu_error_prefix(err, "sink '%s' (%s:%s)", spec, type, arg_key ? arg_key : "");
	if (ret)
		eu_sink_config_free(out);
	return ret;
}

int eu_sink_config_copy(struct eu_sink_config *dst, const struct eu_sink_config *src)
{
	eu_error err = {0};
	if (eu_sink_config_init(dst, src->plugin->name, &err))
		return -ENOMEM;
	for (size_t i = 0; i < n_keys(src->plugin); i++) {
		if (src->set[i] &&
		    eu_sink_config_set(dst, src->plugin->keys[i].key, src->set[i], &err)) {
			eu_sink_config_free(dst);
			return -ENOMEM;
		}
	}
	dst->queue_records = src->queue_records;
	dst->queue_bytes = src->queue_bytes;
	dst->metrics = src->metrics;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool eu_sink_config_equal(const struct eu_sink_config *a, const struct eu_sink_config *b)
{
	if (a->plugin != b->plugin || a->queue_records != b->queue_records ||
	    a->queue_bytes != b->queue_bytes)
		return false;
	for (size_t i = 0; i < n_keys(a->plugin); i++)
		if (!str_eq(a->set[i], b->set[i]))
			return false;
	return true;
}

const char *eu_sink_config_type(const struct eu_sink_config *cfg)
{
	return cfg->plugin->name;
}

const char *eu_sink_config_exclusive(const struct eu_sink_config *cfg)
{
	return cfg->plugin->exclusive ? cfg->plugin->exclusive(cfg->conf) : NULL;
}

static void help_row(FILE *out, const struct eu_sink_key *k)
{
	char what[160];
	fprintf(out, "| `%s` | %s | %s | %s%s%s%s |\n", k->key, expects(k, what, sizeof(what)),
		k->def ? k->def : (k->required ? "(required)" : "-"), k->desc,
		k->env ? " (`" : "", k->env ? k->env : "", k->env ? "`)" : "");
}

void eu_sink_help(FILE *out)
{
	const struct eu_sink_plugin *pl;
	for (size_t n = 0; (pl = eu_sink_plugin_at(n)); n++) {
		fprintf(out, "### `%s` sink\n\n%s\n\n", pl->name, pl->desc);
		if (pl->arg_key)
			fprintf(out, "`--sink %s:ARG` sets `%s`.\n\n", pl->name, pl->arg_key);
		fprintf(out, "| key | value | default | meaning |\n|---|---|---|---|\n");
		for (size_t i = 0; pl->keys && pl->keys[i].key; i++)
			help_row(out, &pl->keys[i]);
		for (size_t i = 0; common_keys[i].key; i++)
			help_row(out, &common_keys[i]);
		fputc('\n', out);
	}
}

/* The n-th key of any plugin declaring option (n counts from 0), with its plugin. */
static const struct eu_sink_key *option_key(const char *option, size_t n,
					    const struct eu_sink_plugin **plugin)
{
	const struct eu_sink_plugin *pl;
	for (size_t p = 0; (pl = eu_sink_plugin_at(p)); p++)
		for (size_t i = 0; pl->keys && pl->keys[i].key; i++)
			if (pl->keys[i].option && !strcmp(pl->keys[i].option, option) && !n--) {
				*plugin = pl;
				return &pl->keys[i];
			}
	return NULL;
}

const char *eu_sink_option_at(size_t n)
{
	const struct eu_sink_plugin *pl;
	for (size_t p = 0; (pl = eu_sink_plugin_at(p)); p++)
		for (size_t i = 0; pl->keys && pl->keys[i].key; i++) {
			const char *o = pl->keys[i].option;
			const struct eu_sink_plugin *first;
			/* named once: at the first key declaring it */
			if (o && option_key(o, 0, &first) == &pl->keys[i] && !n--)
				return o;
		}
	return NULL;
}

int eu_sink_option_check(const char *option, const char *value, eu_error *err)
{
	const struct eu_sink_plugin *pl;
	const struct eu_sink_key *k;
	for (size_t n = 0; (k = option_key(option, n, &pl)); n++) {
		struct eu_sink_config cfg;
		char what[160];
		if (eu_sink_config_init(&cfg, pl->name, err))
			return -ENOMEM;
		int ret = value ? eu_sink_config_set(&cfg, k->key, value, err) : -EINVAL;
		eu_sink_config_free(&cfg);
		if (ret == -EINVAL)
			return eu_error_set(err, ret, "%s takes %s", option,
					    expects(k, what, sizeof(what)));
		if (ret)
			return ret;
	}
	return 0;
}

int eu_sink_config_apply_option(struct eu_sink_config *cfg, const struct eu_sink_option *o,
				eu_error *err)
{
	for (size_t i = 0; cfg->plugin->keys && cfg->plugin->keys[i].key; i++) {
		const struct eu_sink_key *k = &cfg->plugin->keys[i];
		if (k->option && !strcmp(k->option, o->option))
			return eu_sink_config_set(cfg, k->key, o->value, err);
	}
	return 0;
}

/* One option of a usage text: the option in a 24-column gutter, text wrapped at 86. */
static void usage_item(eu_buf *out, const char *head, const char *text)
{
	size_t col = (size_t)snprintf(NULL, 0, "  %s", head);
	eu_buf_printf(out, "  %s", head);
	if (col >= 23) {
		eu_buf_puts(out, "\n");
		col = 0;
	}
	while (*text) {
		size_t w = strcspn(text, " ");
		if (col > 24 && col + 1 + w > 86) {
			eu_buf_puts(out, "\n");
			col = 0;
		}
		if (col < 24) {
			eu_buf_printf(out, "%*s", (int)(24 - col), "");
			col = 24;
		} else {
			eu_buf_putc(out, ' ');
			col++;
		}
		eu_buf_append(out, text, w);
		col += w;
		text += w;
		text += strspn(text, " ");
	}
	eu_buf_putc(out, '\n');
}

static void upper(char *dst, size_t n, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < n; i++)
		dst[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
	dst[i] = '\0';
}

void eu_sink_usage(eu_buf *out)
{
	eu_buf types;
	eu_buf_init(&types);
	const struct eu_sink_plugin *pl;
	for (size_t p = 0; (pl = eu_sink_plugin_at(p)); p++) {
		char arg[64] = "";
		const struct eu_sink_key *k = pl->arg_key ? eu_sink_key_find(pl->keys, pl->arg_key)
							  : NULL;
		if (k)
			upper(arg, sizeof(arg), k->key);
		eu_buf_printf(&types, "%s%s%s%s%s%s", p ? ", " : "", pl->name,
			      k && !k->required ? "[" : "", k ? ":" : "", arg,
			      k && !k->required ? "]" : "");
		if (!p)
			eu_buf_puts(&types, " (default)");
	}
	eu_buf_puts(&types, "; repeatable (fan-out); replaces the config file's sinks");
	usage_item(out, "--sink TYPE[:ARG]", types.data);
	eu_buf_free(&types);
	const char *o;
	for (size_t n = 0; (o = eu_sink_option_at(n)); n++) {
		const struct eu_sink_key *k = option_key(o, 0, &pl);
		char head[96], arg[64], what[160], text[400];
		upper(arg, sizeof(arg), k->key);
		snprintf(head, sizeof(head), "%s %s", o, arg);
		snprintf(text, sizeof(text), "sets `%s` of every %s sink: %s (default %s)", k->key,
			 pl->name, expects(k, what, sizeof(what)), k->def ? k->def : "none");
		usage_item(out, head, text);
	}
}
