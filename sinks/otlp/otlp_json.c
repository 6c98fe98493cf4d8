/* The daemon's JSON record lines (record.h) as OTLP LogRecords, for the sink that receives
 * records as text. A small JSON parser of its own: integers must stay exact (nanosecond
 * times, u64 values), which a double-based parser would round. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"

#include "otlp.h"
#include "otlp_priv.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

#define MAX_DEPTH 64

struct jp {
	const char *p, *end;
	struct eu_otlp_arena *a;
	int depth;
	const char *why;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A string token (j->p at the opening quote) as valid UTF-8 in the arena. */
static char *jp_string(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"') {
		j->why = "expected a string";
		return NULL;
	}
	j->p++;
	const char *start = j->p;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\')
			j->p++;
		j->p++;
	}
	if (j->p >= j->end) {
		j->why = "unterminated string";
		return NULL;
	}
	/* each source byte yields at most 3 output bytes (\u escapes: 6 bytes -> <= 4) */
	char *tmp = malloc((size_t)(j->p - start) * 3 + 1);
	if (!tmp) {
		j->a->oom = true;
		return NULL;
	}
	size_t o = 0;
	for (const char *s = start; s < j->p; s++) {
		if (*s != '\\') {
			tmp[o++] = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 'b': tmp[o++] = '\b'; break;
		case 'f': tmp[o++] = '\f'; break;
		case 'n': tmp[o++] = '\n'; break;
		case 'r': tmp[o++] = '\r'; break;
		case 't': tmp[o++] = '\t'; break;
		case 'u': {
			int cp = j->p - s >= 5 ? hex4(s + 1) : -1;
			if (cp < 0) {
				free(tmp);
				j->why = "bad \\u escape";
				return NULL;
			}
			s += 4;
			unsigned u = (unsigned)cp;
			if (u >= 0xD800 && u < 0xDC00 && j->p - s >= 7 && s[1] == '\\' && s[2] == 'u') {
				int lo = hex4(s + 3);
				if (lo >= 0xDC00 && lo < 0xE000) {
					u = 0x10000 + ((u - 0xD800) << 10) + ((unsigned)lo - 0xDC00);
					s += 6;
				}
			}
			if (u >= 0xD800 && u < 0xE000)
				u = 0xFFFD; /* a lone surrogate is not UTF-8 */
			o += put_utf8(tmp + o, u);
			break;
		}
		default:
			tmp[o++] = *s; /* \" \\ \/ */
		}
	}
	j->p++;
	char *out = eu_otlp_arena_str(j->a, tmp, o);
	free(tmp);
	return out;
}

static AnyValue *jp_value(struct jp *j);

static AnyValue *jp_number(struct jp *j, AnyValue *av)
{
	const char *s = j->p;
	bool real = false;
	while (j->p < j->end && strchr("+-0123456789.eE", *j->p)) {
		if (*j->p == '.' || *j->p == 'e' || *j->p == 'E')
			real = true;
		j->p++;
	}
	size_t n = (size_t)(j->p - s);
	char tmp[64];
	if (!n || n >= sizeof(tmp)) {
		j->why = "bad number";
		return NULL;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	if (!real) {
		if (tmp[0] == '-') {
			long long v = strtoll(tmp, &end, 10);
			if (!errno && !*end) {
				av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
				av->int_value = v;
				return av;
			}
		} else {
			unsigned long long v = strtoull(tmp, &end, 10);
			if (!errno && !*end) {
				if (v <= INT64_MAX) {
					av->value_case =
						OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
					av->int_value = (int64_t)v;
				} else {
					/* as the plan encoder does: exact, as text */
					av->value_case =
						OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
					av->string_value = eu_otlp_arena_str(j->a, tmp, n);
					if (!av->string_value)
						return NULL;
				}
				return av;
			}
		}
		errno = 0;
	}
	double d = strtod(tmp, &end);
	if (*end) {
		j->why = "bad number";
		return NULL;
	}
	av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
	av->double_value = d;
	return av;
}

/* Pushes to a growing pointer array in the arena. */
static bool push(struct eu_otlp_arena *a, void ***items, size_t *n, size_t *cap, void *item)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		void **ni = eu_otlp_arena_alloc(a, ncap * sizeof(*ni));
		if (!ni)
			return false;
		if (*n)
			memcpy(ni, *items, *n * sizeof(*ni));
		*items = ni;
		*cap = ncap;
	}
	(*items)[(*n)++] = item;
	return true;
}

static bool lit(struct jp *j, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return false;
	j->p += n;
	return true;
}

static AnyValue *jp_value(struct jp *j)
{
	ws(j);
	if (j->p >= j->end) {
		j->why = "unexpected end";
		return NULL;
	}
	AnyValue *av = eu_otlp_new_value(j->a);
	if (!av)
		return NULL;
	char c = *j->p;
	if (c == '"') {
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		av->string_value = jp_string(j);
		return av->string_value ? av : NULL;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return jp_number(j, av);
	if (lit(j, "true") || lit(j, "false")) {
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		av->bool_value = j->p[-1] == 'e' && j->p[-2] == 'u';
		return av;
	}
	if (lit(j, "null"))
		return av; /* an empty AnyValue */
	if (c != '[' && c != '{') {
		j->why = "unexpected character";
		return NULL;
	}
	if (++j->depth > MAX_DEPTH) {
		j->why = "nested too deep";
		return NULL;
	}
	j->p++;
	void **items = NULL;
	size_t n = 0, cap = 0;
	ws(j);
	char close = c == '[' ? ']' : '}';
	if (j->p < j->end && *j->p == close) {
		j->p++;
	} else {
		for (;;) {
			void *item;
			if (c == '[') {
				item = jp_value(j);
			} else {
				ws(j);
				char *key = jp_string(j);
				if (!key)
					return NULL;
				ws(j);
				if (j->p >= j->end || *j->p != ':') {
					j->why = "expected ':'";
					return NULL;
				}
				j->p++;
				KeyValue *kv = eu_otlp_arena_alloc(j->a, sizeof(*kv));
				AnyValue *v = jp_value(j);
				if (!kv || !v)
					return NULL;
				opentelemetry__proto__common__v1__key_value__init(kv);
				kv->key = key;
				kv->value = v;
				item = kv;
			}
			if (!item || !push(j->a, &items, &n, &cap, item))
				return NULL;
			ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == close) {
				j->p++;
				break;
			}
			j->why = "expected ',' or a closing bracket";
			return NULL;
		}
	}
	j->depth--;
	if (c == '[') {
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
		av->array_value = eu_otlp_arena_alloc(j->a, sizeof(*av->array_value));
		if (!av->array_value)
			return NULL;
		opentelemetry__proto__common__v1__array_value__init(av->array_value);
		av->array_value->values = (AnyValue **)items;
		av->array_value->n_values = n;
	} else {
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
		av->kvlist_value = eu_otlp_arena_alloc(j->a, sizeof(*av->kvlist_value));
		if (!av->kvlist_value)
			return NULL;
		opentelemetry__proto__common__v1__key_value_list__init(av->kvlist_value);
		av->kvlist_value->values = (KeyValue **)items;
		av->kvlist_value->n_values = n;
	}
	return av;
}

static const char *str_member(AnyValue *obj, const char *key)
{
	for (size_t i = 0; i < obj->kvlist_value->n_values; i++) {
		KeyValue *kv = obj->kvlist_value->values[i];
		if (!strcmp(kv->key, key) &&
		    kv->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
			return kv->value->string_value;
	}
	return NULL;
}

static AnyValue *member(AnyValue *obj, const char *key)
{
	for (size_t i = 0; i < obj->kvlist_value->n_values; i++)
		if (!strcmp(obj->kvlist_value->values[i]->key, key))
			return obj->kvlist_value->values[i]->value;
	return NULL;
}

int eu_otlp_log_from_json(const char *line, size_t len, const struct eu_otlp_json_opts *opts,
			  eu_buf *out, char **package, char **version, eu_error *err)
{
	static const struct eu_otlp_json_opts none;
	if (!opts)
		opts = &none;
	*package = *version = NULL;
	struct eu_otlp_arena a = {0};
	struct jp j = {.p = line, .end = line + len, .a = &a};
	int ret = 0;
	AnyValue *rec = jp_value(&j);
	if (rec) {
		ws(&j);
		if (j.p != j.end)
			j.why = "text after the record";
	}
	if (!rec || j.why ||
	    rec->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE) {
		ret = a.oom ? -ENOMEM : -EINVAL;
		eu_error_set(err, ret, "OTLP: record at byte %zu: %s", (size_t)(j.p - line),
			     a.oom ? "out of memory" : j.why ? j.why : "not a JSON object");
		goto out;
	}
	struct eu_otlp_log_head h = {.observed_time_unix_nano = opts->observed_unix_nano};
	h.package = str_member(rec, "package");
	if (h.package && opts->severity)
		for (size_t i = 0; i < opts->severity->n; i++)
			if (!strcmp(opts->severity->v[i].key, h.package))
				eu_otlp_severity_parse(opts->severity->v[i].value, &h.severity_number);
	h.event_type = str_member(rec, "event");
	AnyValue *t = member(rec, "time_unix_nano");
	if (t && t->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE &&
	    t->int_value > 0)
		h.time_unix_nano = (uint64_t)t->int_value;
	const char *ver = str_member(rec, "version");
	AnyValue *fields = member(rec, "fields");
	KeyValue **attrs = NULL;
	size_t n_attrs = 0;
	if (fields &&
	    fields->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE) {
		size_t nf = fields->kvlist_value->n_values;
		attrs = eu_otlp_arena_alloc(&a, (nf ? nf : 1) * sizeof(*attrs));
		if (!attrs) {
			ret = -ENOMEM;
			goto oom;
		}
		for (size_t i = 0; i < nf; i++) {
			KeyValue *kv = fields->kvlist_value->values[i];
			const char *key = eu_otlp_attr_name(kv->key, opts->map, opts->n_map);
			if (!key)
				continue;
			for (size_t k = 0; k < n_attrs; k++)
				if (!strcmp(attrs[k]->key, key)) {
					key = kv->key;
					break;
				}
			if (key != kv->key) {
				kv->key = eu_otlp_arena_str(&a, key, strlen(key));
				if (!kv->key) {
					ret = -ENOMEM;
					goto oom;
				}
			}
			attrs[n_attrs++] = kv;
		}
	}
	*package = strdup(h.package ? h.package : "");
	*version = strdup(ver ? ver : "");
	if (!*package || !*version) {
		ret = -ENOMEM;
		goto oom;
	}
	ret = eu_otlp_log_pack(&a, &h, attrs, n_attrs, out);
oom:
	if (ret == -ENOMEM)
		eu_error_set(err, ret, "OTLP: record: out of memory");
	if (ret) {
		free(*package);
		free(*version);
		*package = *version = NULL;
	}
out:
	eu_otlp_arena_free(&a);
	return ret;
}
