/* Decoded events as OTLP LogRecords, and ExportLogsServiceRequest assembly around packed
 * records. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#include "eunomia/decoder.h"
#include "otlp.h"
#include "otlp_priv.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

/* ---- the value tree, built from the decoder's walk ---- */
#define MAX_DEPTH 40

struct frame {
	AnyValue *av;
	const char *name;
	void **items;
	size_t n, cap;
};

struct builder {
	struct eu_otlp_arena *a;
	AnyValue *result;
	struct frame stack[MAX_DEPTH];
	int depth;
};

AnyValue *eu_otlp_new_value(struct eu_otlp_arena *a)
{
	AnyValue *av = eu_otlp_arena_alloc(a, sizeof(*av));
	if (av)
		opentelemetry__proto__common__v1__any_value__init(av);
	return av;
}

static int push_item(struct eu_otlp_arena *a, struct frame *f, void *item)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		void **items = eu_otlp_arena_alloc(a, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		if (f->n)
			memcpy(items, f->items, f->n * sizeof(*items));
		f->items = items;
		f->cap = cap;
	}
	f->items[f->n++] = item;
	return 0;
}

static int attach(struct builder *b, const char *name, AnyValue *av)
{
	if (!b->depth) {
		b->result = av;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	if (f->av->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE)
		return push_item(b->a, f, av);
	KeyValue *kv = eu_otlp_arena_alloc(b->a, sizeof(*kv));
	char *key = eu_otlp_arena_str(b->a, name ? name : "", name ? strlen(name) : 0);
	if (!kv || !key)
		return -ENOMEM;
	opentelemetry__proto__common__v1__key_value__init(kv);
	kv->key = key;
	kv->value = av;
	return push_item(b->a, f, kv);
}

static int on_value(void *ctx, const struct eu_value *v)
{
	struct builder *b = ctx;
	if (v->kind == EU_VALUE_END) {
		struct frame *f = &b->stack[--b->depth];
		AnyValue *av = f->av;
		if (av->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE) {
			av->array_value->n_values = f->n;
			av->array_value->values = (AnyValue **)f->items;
		} else {
			av->kvlist_value->n_values = f->n;
			av->kvlist_value->values = (KeyValue **)f->items;
		}
		return attach(b, f->name, av);
	}
	AnyValue *av = eu_otlp_new_value(b->a);
	if (!av)
		return -ENOMEM;
	switch (v->kind) {
	case EU_VALUE_INT:
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		av->int_value = v->i;
		break;
	case EU_VALUE_UINT:
		if (v->u <= INT64_MAX) {
			av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
			av->int_value = (int64_t)v->u;
		} else {
			/* OTLP has no unsigned type: keep the exact value as text */
			char tmp[24];
			snprintf(tmp, sizeof(tmp), "%" PRIu64, v->u);
			av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			av->string_value = eu_otlp_arena_str(b->a, tmp, strlen(tmp));
			if (!av->string_value)
				return -ENOMEM;
		}
		break;
	case EU_VALUE_DOUBLE:
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		av->double_value = v->d;
		break;
	case EU_VALUE_BOOL:
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		av->bool_value = v->b;
		break;
	case EU_VALUE_STRING:
	case EU_VALUE_TEXT:
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		av->string_value = eu_otlp_arena_str(b->a, v->s, v->len);
		if (!av->string_value)
			return -ENOMEM;
		break;
	case EU_VALUE_BYTES: {
		uint8_t *copy = eu_otlp_arena_alloc(b->a, v->len ? v->len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, v->s, v->len);
		av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
		av->bytes_value.data = copy;
		av->bytes_value.len = v->len;
		break;
	}
	case EU_VALUE_ARRAY_BEGIN:
	case EU_VALUE_MAP_BEGIN: {
		if (b->depth == MAX_DEPTH)
			return -E2BIG;
		if (v->kind == EU_VALUE_ARRAY_BEGIN) {
			av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
			av->array_value = eu_otlp_arena_alloc(b->a, sizeof(*av->array_value));
			if (!av->array_value)
				return -ENOMEM;
			opentelemetry__proto__common__v1__array_value__init(av->array_value);
		} else {
			av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
			av->kvlist_value = eu_otlp_arena_alloc(b->a, sizeof(*av->kvlist_value));
			if (!av->kvlist_value)
				return -ENOMEM;
			opentelemetry__proto__common__v1__key_value_list__init(av->kvlist_value);
		}
		b->stack[b->depth++] = (struct frame){.av = av, .name = v->name};
		return 0;
	}
	case EU_VALUE_END:
		break;
	}
	return attach(b, v->name, av);
}

int eu_otlp_severity_parse(const char *text, int *number)
{
	static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
	char *end;
	long v = strtol(text, &end, 10);
	if (end != text && !*end) {
		if (v < 1 || v > 24)
			return -EINVAL;
		*number = (int)v;
		return 0;
	}
	for (int i = 0; i < 6; i++) {
		size_t n = strlen(names[i]);
		if (strncasecmp(text, names[i], n))
			continue;
		if (!text[n]) {
			*number = i * 4 + 1;
			return 0;
		}
		if (text[n] >= '2' && text[n] <= '4' && !text[n + 1]) {
			*number = i * 4 + (text[n] - '0');
			return 0;
		}
	}
	return -EINVAL;
}

static const char *severity_text(int n)
{
	static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
	if (n < 1 || n > 24)
		return "";
	return names[(n - 1) / 4];
}

int eu_otlp_log_pack(struct eu_otlp_arena *a, const struct eu_otlp_log_head *h,
		     KeyValue **attrs, size_t n_attrs, eu_buf *out)
{
	const char *pkg = h->package ? h->package : "";
	const char *type = h->event_type ? h->event_type : "";
	Opentelemetry__Proto__Logs__V1__LogRecord lr;
	opentelemetry__proto__logs__v1__log_record__init(&lr);
	lr.time_unix_nano = h->time_unix_nano;
	lr.observed_time_unix_nano = h->observed_time_unix_nano;
	int sev = h->severity_number > 0 && h->severity_number <= 24 ? h->severity_number
								     : EU_OTLP_SEVERITY_INFO;
	lr.severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)sev;
	const char *st = h->severity_text ? h->severity_text : severity_text(sev);
	size_t nlen = strlen(pkg) + 1 + strlen(type);
	char *name = eu_otlp_arena_alloc(a, nlen + 1);
	AnyValue *body = eu_otlp_new_value(a);
	if (!name || !body)
		return -ENOMEM;
	snprintf(name, nlen + 1, "%s.%s", pkg, type);
	lr.event_name = eu_otlp_arena_str(a, name, nlen);
	lr.severity_text = eu_otlp_arena_str(a, st, strlen(st));
	if (!lr.event_name || !lr.severity_text || a->oom)
		return -ENOMEM;
	body->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	body->string_value = lr.event_name;
	lr.body = body;
	lr.attributes = attrs;
	lr.n_attributes = n_attrs;
	size_t len = opentelemetry__proto__logs__v1__log_record__get_packed_size(&lr);
	if (!eu_buf_reserve(out, len))
		return -ENOMEM;
	opentelemetry__proto__logs__v1__log_record__pack(&lr, (uint8_t *)out->data + out->len);
	out->len += len;
	out->data[out->len] = '\0';
	return 0;
}

int eu_otlp_log_encode(const struct eu_otlp_log_event *ev, eu_buf *out, eu_error *err)
{
	struct eu_otlp_arena a = {0};
	int ret = 0;
	size_t nf = ev->plan ? eu_plan_field_count(ev->plan) : 0;
	char name[160];
	snprintf(name, sizeof(name), "%s.%s", ev->package ? ev->package : "",
		 ev->event_type ? ev->event_type : "");
	KeyValue **attrs = eu_otlp_arena_alloc(&a, (nf ? nf : 1) * sizeof(*attrs));
	size_t n_attrs = 0;
	if (!attrs) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nf; i++) {
		const struct eu_field_info *fi = eu_plan_field(ev->plan, i);
		const char *key = eu_otlp_attr_name(fi->name, ev->map, ev->n_map);
		if (!key)
			continue;
		/* two fields mapping to one name (path and filename): the later keeps its own */
		for (size_t k = 0; k < n_attrs; k++)
			if (!strcmp(attrs[k]->key, key)) {
				key = fi->name;
				break;
			}
		struct builder b = {.a = &a};
		ret = eu_plan_walk_field(ev->plan, i, ev->data, ev->size, on_value, &b);
		if (ret || !b.result) {
			if (ret == -EINVAL)
				eu_error_set(err, ret, "OTLP log %s: record of %zu bytes is shorter "
						       "than the %zu the plan needs",
					     name, ev->size, eu_plan_size(ev->plan));
			else
				eu_error_set(err, ret ? ret : -EINVAL, "OTLP log %s: field %s: %s",
					     name, fi->name, ret == -E2BIG ? "nested too deep"
									 : "out of memory");
			ret = ret ? ret : -EINVAL;
			goto out_err;
		}
		KeyValue *kv = eu_otlp_arena_alloc(&a, sizeof(*kv));
		char *k = eu_otlp_arena_str(&a, key, strlen(key));
		if (!kv || !k) {
			ret = -ENOMEM;
			goto out;
		}
		opentelemetry__proto__common__v1__key_value__init(kv);
		kv->key = k;
		kv->value = b.result;
		attrs[n_attrs++] = kv;
	}
	struct eu_otlp_log_head h = {ev->package, ev->event_type, ev->time_unix_nano,
				     ev->observed_time_unix_nano, ev->severity_number,
				     ev->severity_text};
	ret = eu_otlp_log_pack(&a, &h, attrs, n_attrs, out);
out:
	if (ret == -ENOMEM)
		eu_error_set(err, ret, "OTLP log %s: out of memory", name);
out_err:
	eu_otlp_arena_free(&a);
	return ret;
}

/* ---- request assembly ---- */

static bool same_scope(const struct eu_otlp_scoped_record *a,
		       const struct eu_otlp_scoped_record *b)
{
	return !strcmp(a->scope_name ? a->scope_name : "", b->scope_name ? b->scope_name : "") &&
	       !strcmp(a->scope_version ? a->scope_version : "",
		       b->scope_version ? b->scope_version : "");
}

int eu_otlp_logs_request(const void *resource, size_t resource_len,
			 const struct eu_otlp_scoped_record *recs, size_t n, eu_buf *out)
{
	/* scope_of[i]: index of the first record of record i's scope */
	size_t *scope_of = malloc((n ? n : 1) * sizeof(*scope_of));
	size_t *firsts = malloc((n ? n : 1) * sizeof(*firsts));
	size_t *scope_len = malloc((n ? n : 1) * sizeof(*scope_len));
	eu_buf scopes;
	eu_buf_init(&scopes);
	size_t *scope_off = malloc((n ? n : 1) * sizeof(*scope_off));
	size_t *scope_msg = malloc((n ? n : 1) * sizeof(*scope_msg));
	int ret = -ENOMEM;
	if (!scope_of || !firsts || !scope_len || !scope_off || !scope_msg)
		goto out;
	size_t ns = 0;
	for (size_t i = 0; i < n; i++) {
		size_t s;
		for (s = 0; s < ns; s++)
			if (same_scope(&recs[firsts[s]], &recs[i]))
				break;
		if (s == ns) {
			firsts[ns] = i;
			scope_len[ns] = 0;
			/* the packed InstrumentationScope */
			Opentelemetry__Proto__Common__V1__InstrumentationScope sc;
			opentelemetry__proto__common__v1__instrumentation_scope__init(&sc);
			char *nm = eu_otlp_utf8_dup(recs[i].scope_name ? recs[i].scope_name : "",
						    recs[i].scope_name ? strlen(recs[i].scope_name) : 0);
			char *vs = eu_otlp_utf8_dup(recs[i].scope_version ? recs[i].scope_version : "",
						    recs[i].scope_version ? strlen(recs[i].scope_version)
									  : 0);
			if (!nm || !vs) {
				free(nm);
				free(vs);
				goto out;
			}
			sc.name = nm;
			sc.version = vs;
			size_t l = opentelemetry__proto__common__v1__instrumentation_scope__get_packed_size(
				&sc);
			scope_off[ns] = scopes.len;
			scope_msg[ns] = l;
			if (eu_buf_reserve(&scopes, l)) {
				opentelemetry__proto__common__v1__instrumentation_scope__pack(
					&sc, (uint8_t *)scopes.data + scopes.len);
				scopes.len += l;
			}
			free(nm);
			free(vs);
			if (scopes.oom)
				goto out;
			ns++;
		}
		scope_of[i] = s;
		scope_len[s] += eu_pb_len_field_size(2, recs[i].len);
	}
	/* ResourceLogs = resource(1) + ScopeLogs(2)...; ScopeLogs = scope(1) + records(2)... */
	size_t rl_len = eu_pb_len_field_size(1, resource_len);
	for (size_t s = 0; s < ns; s++) {
		scope_len[s] += eu_pb_len_field_size(1, scope_msg[s]);
		rl_len += eu_pb_len_field_size(2, scope_len[s]);
	}
	if (!eu_buf_reserve(out, eu_pb_len_field_size(1, rl_len)))
		goto out;
	eu_pb_put_len_field(out, 1, rl_len);
	eu_pb_put_len_field(out, 1, resource_len);
	eu_buf_append(out, resource, resource_len);
	for (size_t s = 0; s < ns; s++) {
		eu_pb_put_len_field(out, 2, scope_len[s]);
		eu_pb_put_len_field(out, 1, scope_msg[s]);
		eu_buf_append(out, scopes.data + scope_off[s], scope_msg[s]);
		for (size_t i = firsts[s]; i < n; i++) {
			if (scope_of[i] != s)
				continue;
			eu_pb_put_len_field(out, 2, recs[i].len);
			eu_buf_append(out, recs[i].record, recs[i].len);
		}
	}
	ret = out->oom ? -ENOMEM : 0;
out:
	free(scope_of);
	free(firsts);
	free(scope_len);
	free(scope_off);
	free(scope_msg);
	eu_buf_free(&scopes);
	return ret;
}
