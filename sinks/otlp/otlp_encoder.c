/* Events as OTLP LogRecords, written as protobuf straight from the decoding plan into the
 * caller's buffer: no message tree, no allocation per record or field (the buffer and the
 * walk's text scratch grow once and are reused).
 *
 * Length-delimited messages are written before their length is known: one byte is reserved
 * for the length, and when the message turns out to be 128 bytes or longer the body is moved
 * up to make room for the longer varint (rare below the LogRecord itself). The encoding is
 * canonical protobuf (minimal varints), which the protoc tests check.
 *
 * Field numbers (opentelemetry/proto/common/v1/common.proto, logs/v1/logs.proto):
 *   AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7
 *   ArrayValue.values 1, KeyValueList.values 1, KeyValue: key 1, value 2
 *   LogRecord: time 1 (fixed64), severity_number 2, severity_text 3, body 5, attributes 6,
 *              observed_time 11 (fixed64), event_name 12 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/decoder.h"
#include "eunomia/record.h"
#include "otlp.h"
#include "otlp_priv.h"

enum {
	AV_STRING = 1,
	AV_BOOL = 2,
	AV_INT = 3,
	AV_DOUBLE = 4,
	AV_ARRAY = 5,
	AV_KVLIST = 6,
	AV_BYTES = 7,
};

#define WT_VARINT 0
#define WT_FIXED64 1
#define WT_LEN 2

/* plan nesting is bounded at 32 (decoder.h); one more for the attribute itself */
#define MAX_DEPTH 40

/* Room for n more bytes (and the buffer's NUL): the common case is one comparison. */
static inline bool room(eu_buf *b, size_t n)
{
	return b->cap - b->len > n || eu_buf_reserve(b, n);
}

static inline void put_byte(eu_buf *b, uint8_t c)
{
	if (!room(b, 1))
		return;
	b->data[b->len++] = (char)c;
}

/* Writers into room already reserved: each returns where the next byte goes. */
static inline uint8_t *w_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint8_t *w_mem(uint8_t *p, const void *s, size_t n)
{
	if (n) /* (NULL, 0) for an empty value */
		memcpy(p, s, n);
	return p + n;
}

static inline uint8_t *w_at(eu_buf *b)
{
	return (uint8_t *)b->data + b->len;
}

static inline void w_done(eu_buf *b, const uint8_t *p)
{
	b->len = (size_t)((const char *)p - b->data);
}

static inline void put_varint(eu_buf *b, uint64_t v)
{
	if (!room(b, 10))
		return;
	w_done(b, w_varint(w_at(b), v));
}

/* How many bytes at the start of s[0..n) are ASCII, eight at a time: names and most values
 * are ASCII, and every string is checked for UTF-8 before it is written. */
static inline size_t ascii_prefix(const char *s, size_t n)
{
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			break;
	}
	while (i < n && (unsigned char)s[i] < 0x80)
		i++;
	return i;
}

static inline bool utf8_ok(const char *s, size_t n)
{
	size_t ok = ascii_prefix(s, n);
	return ok == n || ok + eu_utf8_valid_prefix(s + ok, n - ok) == n;
}

static inline void put_mem(eu_buf *b, const void *s, size_t n)
{
	if (!room(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static inline void put_tag(eu_buf *b, uint32_t field, unsigned wt)
{
	put_varint(b, (uint64_t)field << 3 | wt);
}

static inline uint8_t *w_fixed64(uint8_t *p, uint64_t v)
{
	uint64_t le = htole64(v);
	memcpy(p, &le, 8);
	return p + 8;
}

static void put_fixed64(eu_buf *b, uint32_t field, uint64_t v)
{
	if (!room(b, 15))
		return;
	w_done(b, w_fixed64(w_varint(w_at(b), (uint64_t)field << 3 | WT_FIXED64), v));
}

/* Opens a length-delimited field; returns where its body starts (for close_len). */
static inline size_t open_len(eu_buf *b, uint32_t field)
{
	put_tag(b, field, WT_LEN);
	put_byte(b, 0);
	return b->len;
}

static void close_len(eu_buf *b, size_t at)
{
	if (b->oom)
		return;
	size_t n = b->len - at;
	if (n < 0x80) {
		b->data[at - 1] = (char)n;
		return;
	}
	size_t extra = eu_pb_varint_len(n) - 1;
	if (!eu_buf_reserve(b, extra))
		return;
	memmove(b->data + at + extra, b->data + at, n);
	b->len += extra;
	uint8_t *p = (uint8_t *)b->data + at - 1;
	uint64_t v = n;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p = (uint8_t)v;
}

static void put_bytes(eu_buf *b, uint32_t field, const void *s, size_t n)
{
	if (!room(b, 15 + n)) /* tag (5) + length (10) */
		return;
	uint8_t *p = w_varint(w_at(b), (uint64_t)field << 3 | WT_LEN);
	w_done(b, w_mem(w_varint(p, n), s, n));
}

/* A string field: protobuf strings must be UTF-8, so invalid bytes become U+FFFD. */
static void put_string(eu_buf *b, uint32_t field, const char *s, size_t n)
{
	if (utf8_ok(s, n)) {
		put_bytes(b, field, s, n);
		return;
	}
	size_t at = open_len(b, field);
	eu_pb_put_utf8(b, s, n);
	close_len(b, at);
}

/* The bytes of a string (no field header), invalid UTF-8 replaced. */
static void put_string_body(eu_buf *b, const char *s, size_t n)
{
	if (utf8_ok(s, n))
		put_mem(b, s, n);
	else
		eu_pb_put_utf8(b, s, n);
}

struct frame {
	size_t kv_at;    /* the enclosing KeyValue's body, or SIZE_MAX inside an array */
	size_t av_at;    /* the AnyValue's body */
	size_t inner_at; /* the ArrayValue's / KeyValueList's body */
	bool array;
};

struct enc {
	eu_buf *b;
	const char *top_key; /* the attribute name of the walked field */
	size_t top_len;
	bool top_utf8;       /* top_key is known to be UTF-8 (a prep's) */
	uint32_t top_field;  /* its KeyValue's field: 6 in a LogRecord, 1 in a KeyValueList */
	struct frame st[MAX_DEPTH];
	int depth;
};

/* Ready to walk one field as key. The frame stack is left as it is: it is written before it
 * is read, and clearing its 1.3 kB for every field cost a fifth of the encoding. */
static void enc_start(struct enc *e, eu_buf *b, const char *key, size_t key_len, uint32_t field)
{
	e->b = b;
	e->top_key = key;
	e->top_len = key_len;
	e->top_field = field;
	e->top_utf8 = false;
	e->depth = 0;
}

/* Opens the AnyValue for v: as a KeyValue's value (top level: a LogRecord attribute; inside a
 * struct: a KeyValueList member) or as an ArrayValue element. */
static void open_value(struct enc *e, const struct eu_value *v, struct frame *f)
{
	eu_buf *b = e->b;
	bool in_array = e->depth && e->st[e->depth - 1].array;
	if (in_array) {
		f->kv_at = SIZE_MAX;
		f->av_at = open_len(b, 1);
		return;
	}
	f->kv_at = open_len(b, e->depth ? 1 : e->top_field);
	if (e->depth) {
		const char *name = v->name ? v->name : "";
		put_string(b, 1, name, strlen(name));
	} else {
		put_string(b, 1, e->top_key, e->top_len);
	}
	f->av_at = open_len(b, 2);
}

static void close_value(struct enc *e, const struct frame *f)
{
	close_len(e->b, f->av_at);
	if (f->kv_at != SIZE_MAX)
		close_len(e->b, f->kv_at);
}

/* A named value's name as a KeyValue of its own beside it, "KEY_name", as JSON has it. */
static void put_label(struct enc *e, const struct eu_value *v)
{
	eu_buf *b = e->b;
	const char *key = e->depth ? (v->name ? v->name : "") : e->top_key;
	size_t key_len = e->depth ? strlen(key) : e->top_len;
	size_t kv_at = open_len(b, e->depth ? 1 : e->top_field);
	size_t key_at = open_len(b, 1);
	eu_pb_put_utf8(b, key, key_len);
	eu_buf_append(b, "_name", 5);
	close_len(b, key_at);
	size_t av_at = open_len(b, 2);
	put_bytes(b, AV_STRING, v->label, strlen(v->label)); /* identifiers: ASCII */
	close_len(b, av_at);
	close_len(b, kv_at);
}

/* A scalar AnyValue, laid out before it is written so that every length around it is known
 * and written once: hdr (its field's tag, the value or a string's length), then n bytes at p. */
struct scalar {
	uint8_t hdr[16];
	size_t hdr_len;
	const void *p;
	size_t n;
	char text[24]; /* an unsigned 64-bit value above INT64_MAX, in decimal */
};

static void scalar_len(struct scalar *sc, unsigned av_field, const void *p, size_t n)
{
	sc->hdr[0] = (uint8_t)(av_field << 3 | WT_LEN);
	sc->hdr_len = (size_t)(w_varint(sc->hdr + 1, n) - sc->hdr);
	sc->p = p;
	sc->n = n;
}

/* false: not a scalar, or a string that is not UTF-8 (on_value's general path repairs it) */
static bool scalar_of(const struct eu_value *v, struct scalar *sc)
{
	sc->p = NULL;
	sc->n = 0;
	switch (v->kind) {
	case EU_VALUE_INT:
		sc->hdr[0] = AV_INT << 3 | WT_VARINT;
		sc->hdr_len = (size_t)(w_varint(sc->hdr + 1, (uint64_t)v->i) - sc->hdr);
		return true;
	case EU_VALUE_UINT:
		if (v->u <= INT64_MAX) {
			sc->hdr[0] = AV_INT << 3 | WT_VARINT;
			sc->hdr_len = (size_t)(w_varint(sc->hdr + 1, v->u) - sc->hdr);
		} else {
			/* OTLP has no unsigned type: the exact value as decimal text */
			int n = snprintf(sc->text, sizeof(sc->text), "%llu", (unsigned long long)v->u);
			scalar_len(sc, AV_STRING, sc->text, (size_t)n);
		}
		return true;
	case EU_VALUE_DOUBLE: {
		uint64_t bits;
		memcpy(&bits, &v->d, 8);
		sc->hdr[0] = AV_DOUBLE << 3 | WT_FIXED64;
		sc->hdr_len = (size_t)(w_fixed64(sc->hdr + 1, bits) - sc->hdr);
		return true;
	}
	case EU_VALUE_BOOL:
		sc->hdr[0] = AV_BOOL << 3 | WT_VARINT;
		sc->hdr[1] = v->b ? 1 : 0;
		sc->hdr_len = 2;
		return true;
	case EU_VALUE_STRING:
		if (!utf8_ok(v->s, v->len))
			return false;
		scalar_len(sc, AV_STRING, v->s, v->len);
		return true;
	case EU_VALUE_TEXT: /* the formatter's text is UTF-8 */
		scalar_len(sc, AV_STRING, v->s, v->len);
		return true;
	case EU_VALUE_BYTES:
		scalar_len(sc, AV_BYTES, v->s, v->len);
		return true;
	default:
		return false;
	}
}

/* A scalar as an ArrayValue element or as a KeyValue, every length computed up front (the
 * bytes are those open_len/close_len write: minimal varints). false when its key is not
 * UTF-8 (nothing written: the general path repairs it). */
static bool put_scalar(struct enc *e, const struct eu_value *v, const struct scalar *sc,
		       bool in_array)
{
	eu_buf *b = e->b;
	size_t av_len = sc->hdr_len + sc->n;
	if (in_array) {
		if (room(b, 11 + av_len)) {
			uint8_t *p = w_varint(w_at(b), 1 << 3 | WT_LEN);
			p = w_mem(w_varint(p, av_len), sc->hdr, sc->hdr_len);
			w_done(b, w_mem(p, sc->p, sc->n));
		}
		return true;
	}
	const char *key = e->top_key;
	size_t key_len = e->top_len;
	bool key_ok = e->top_utf8;
	if (e->depth) {
		key = v->name ? v->name : "";
		key_len = strlen(key);
		key_ok = false;
	}
	if (!key_ok && !utf8_ok(key, key_len))
		return false;
	size_t kv_len = eu_pb_len_field_size(1, key_len) + eu_pb_len_field_size(2, av_len);
	if (!room(b, 15 + kv_len))
		return true;
	uint8_t *p = w_varint(w_at(b), (uint64_t)(e->depth ? 1 : e->top_field) << 3 | WT_LEN);
	p = w_varint(p, kv_len);
	*p++ = 1 << 3 | WT_LEN;
	p = w_mem(w_varint(p, key_len), key, key_len);
	*p++ = 2 << 3 | WT_LEN;
	p = w_mem(w_varint(p, av_len), sc->hdr, sc->hdr_len);
	w_done(b, w_mem(p, sc->p, sc->n));
	return true;
}

static int on_value(void *ctx, const struct eu_value *v)
{
	struct enc *e = ctx;
	eu_buf *b = e->b;
	struct scalar sc;
	if (scalar_of(v, &sc)) {
		bool in_array = e->depth && e->st[e->depth - 1].array;
		if (put_scalar(e, v, &sc, in_array)) {
			if (v->label && !in_array)
				put_label(e, v);
			return b->oom ? -ENOMEM : 0;
		}
	}
	if (v->kind == EU_VALUE_END) {
		struct frame *f = &e->st[--e->depth];
		close_len(b, f->inner_at);
		close_value(e, f);
		return b->oom ? -ENOMEM : 0;
	}
	struct frame f;
	open_value(e, v, &f);
	switch (v->kind) {
	case EU_VALUE_INT:
		put_tag(b, AV_INT, WT_VARINT);
		put_varint(b, (uint64_t)v->i);
		break;
	case EU_VALUE_UINT:
		if (v->u <= INT64_MAX) {
			put_tag(b, AV_INT, WT_VARINT);
			put_varint(b, v->u);
		} else {
			/* OTLP has no unsigned type: the exact value as decimal text */
			char tmp[24];
			int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v->u);
			put_bytes(b, AV_STRING, tmp, (size_t)n);
		}
		break;
	case EU_VALUE_DOUBLE: {
		uint64_t bits;
		memcpy(&bits, &v->d, 8);
		put_fixed64(b, AV_DOUBLE, bits);
		break;
	}
	case EU_VALUE_BOOL:
		put_tag(b, AV_BOOL, WT_VARINT);
		put_byte(b, v->b ? 1 : 0);
		break;
	case EU_VALUE_STRING:
		put_string(b, AV_STRING, v->s, v->len);
		break;
	case EU_VALUE_TEXT:
		put_bytes(b, AV_STRING, v->s, v->len); /* the formatter's text is UTF-8 */
		break;
	case EU_VALUE_BYTES:
		put_bytes(b, AV_BYTES, v->s, v->len);
		break;
	case EU_VALUE_ARRAY_BEGIN:
	case EU_VALUE_MAP_BEGIN:
		if (e->depth == MAX_DEPTH)
			return -E2BIG;
		f.array = v->kind == EU_VALUE_ARRAY_BEGIN;
		f.inner_at = open_len(b, f.array ? AV_ARRAY : AV_KVLIST);
		e->st[e->depth++] = f;
		return b->oom ? -ENOMEM : 0;
	case EU_VALUE_END:
		break;
	}
	close_value(e, &f);
	if (v->label && f.kv_at != SIZE_MAX)
		put_label(e, v);
	return b->oom ? -ENOMEM : 0;
}

int eu_otlp_attr_names(const struct eu_plan *plan, const struct eu_otlp_attr_map *map,
		       size_t n_map, const char ***out)
{
	size_t nf = eu_plan_field_count(plan);
	const char **names = calloc(nf ? nf : 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < nf; i++) {
		const char *field = eu_plan_field(plan, i)->name;
		const char *key = eu_otlp_attr_name(field ? field : "", map, n_map);
		/* two fields mapping to one name (path and filename): the later keeps its own */
		for (size_t k = 0; key && k < i; k++)
			if (names[k] && !strcmp(names[k], key)) {
				key = field;
				break;
			}
		names[i] = key;
	}
	*out = names;
	return 0;
}

/* A sampled map's key or value as one attribute: the only field's value (scalar), a
 * kvlist of every field, or an empty value when there is no plan (a key printed as null). */
static int put_part(eu_buf *b, const char *name, const struct eu_plan *plan, const void *data,
		    size_t size, bool scalar, eu_buf *scratch)
{
	if (plan && scalar) {
		struct enc e;
		enc_start(&e, b, name, strlen(name), 6);
		return eu_plan_walk_field(plan, 0, data, size, scratch, on_value, &e);
	}
	size_t kv_at = open_len(b, 6);
	put_string(b, 1, name, strlen(name));
	size_t av_at = open_len(b, 2);
	int ret = 0;
	if (plan) {
		size_t in_at = open_len(b, AV_KVLIST);
		size_t nf = eu_plan_field_count(plan);
		for (size_t i = 0; i < nf && !ret; i++) {
			const char *f = eu_plan_field(plan, i)->name;
			f = f ? f : "";
			struct enc e;
			enc_start(&e, b, f, strlen(f), 1);
			ret = eu_plan_walk_field(plan, i, data, size, scratch, on_value, &e);
		}
		close_len(b, in_at);
	}
	close_len(b, av_at);
	close_len(b, kv_at);
	return ret ? ret : b->oom ? -ENOMEM : 0;
}

/* Stack k of the record as an attribute: key = [frame, ...] (an ArrayValue of strings). */
static void put_frames(eu_buf *b, const struct eu_otlp_log_event *ev, size_t k)
{
	const char *key = eu_record_stack_title(ev->stacks, ev->sample ? ev->key_plan : ev->plan,
						k);
	uint32_t n;
	bool missing;
	const char *p;
	eu_record_stack_frames(ev->stack_blob, ev->stack_blob_size, k, &n, &missing, &p);
	size_t kv_at = open_len(b, 6);
	put_string(b, 1, key, strlen(key));
	size_t av_at = open_len(b, 2);
	size_t arr_at = open_len(b, AV_ARRAY);
	for (uint32_t i = 0; i <= n; i++) {
		const char *name = i < n ? p : missing ? "[missing]" : NULL;
		if (!name)
			break;
		size_t len = strlen(name);
		size_t el_at = open_len(b, 1);
		put_string(b, AV_STRING, name, len);
		close_len(b, el_at);
		if (i < n)
			p += len + 1;
	}
	close_len(b, arr_at);
	close_len(b, av_at);
	close_len(b, kv_at);
}

static int stack_of_field(const struct eu_record_stacks *s, size_t field)
{
	for (size_t k = 0; s && k < s->n; k++)
		if ((size_t)s->f[k].field == field)
			return (int)k;
	return -1;
}

/* A sample's stacks and its folded line as attributes. */
static void put_sample_stacks(eu_buf *b, const struct eu_otlp_log_event *ev, eu_buf *scratch)
{
	for (size_t k = 0; k < ev->stacks->n; k++)
		put_frames(b, ev, k);
	eu_buf_reset(scratch);
	eu_record_stacks_folded(ev->stacks, ev->key_plan, ev->key, ev->key_size, ev->stack_blob,
				ev->stack_blob_size, scratch);
	size_t kv_at = open_len(b, 6);
	put_string(b, 1, "folded", 6);
	size_t av_at = open_len(b, 2);
	put_string(b, AV_STRING, scratch->data ? scratch->data : "", scratch->len);
	close_len(b, av_at);
	close_len(b, kv_at);
}

static const char *severity_text(int n)
{
	static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
	return n >= 1 && n <= 24 ? names[(n - 1) / 4] : "";
}

/* "<package>.<event_type>" as a string field. */
static void put_event_name(eu_buf *b, uint32_t field, const char *pkg, const char *type)
{
	size_t at = open_len(b, field);
	put_string_body(b, pkg, strlen(pkg));
	put_byte(b, '.');
	put_string_body(b, type, strlen(type));
	close_len(b, at);
}

/* severity_number and severity_text */
static void put_severity(eu_buf *b, const struct eu_otlp_log_event *ev)
{
	int sev = ev->severity_number > 0 && ev->severity_number <= 24 ? ev->severity_number
								       : EU_OTLP_SEVERITY_INFO;
	put_tag(b, 2, WT_VARINT);
	put_varint(b, (uint64_t)sev);
	const char *st = ev->severity_text ? ev->severity_text : severity_text(sev);
	put_string(b, 3, st, strlen(st));
}

/* The body of a record without text: its event name. */
static void put_name_body(eu_buf *b, const char *pkg, const char *type)
{
	size_t at = open_len(b, 5);
	put_event_name(b, AV_STRING, pkg, type);
	close_len(b, at);
}

struct eu_otlp_log_prep {
	eu_buf fixed;   /* severity_number and severity_text (sev_len bytes), then the body */
	size_t sev_len;
	eu_buf tail;    /* event_name */
	size_t n_keys;  /* the plan's fields */
	const char **keys; /* each field's attribute name, UTF-8 (repaired); NULL: dropped */
	size_t *key_len;
	eu_buf key_bytes; /* where keys point */
};

void eu_otlp_log_prep_free(struct eu_otlp_log_prep *p)
{
	if (!p)
		return;
	eu_buf_free(&p->fixed);
	eu_buf_free(&p->tail);
	eu_buf_free(&p->key_bytes);
	free(p->keys);
	free(p->key_len);
	free(p);
}

int eu_otlp_log_prep_new(const struct eu_otlp_log_event *t, struct eu_otlp_log_prep **out)
{
	*out = NULL;
	struct eu_otlp_log_prep *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	const char *pkg = t->package ? t->package : "";
	const char *type = t->event_type ? t->event_type : "";
	put_severity(&p->fixed, t);
	p->sev_len = p->fixed.len;
	put_name_body(&p->fixed, pkg, type);
	put_event_name(&p->tail, 12, pkg, type);
	bool oom = p->fixed.oom || p->tail.oom;
	size_t nf = t->plan && !t->sample && t->attr_names ? eu_plan_field_count(t->plan) : 0;
	if (nf && !oom) {
		p->keys = calloc(nf, sizeof(*p->keys));
		p->key_len = calloc(nf, sizeof(*p->key_len));
		size_t *at = calloc(nf, sizeof(*at));
		/* offsets first (the bytes move as they grow), then the pointers */
		oom = !p->keys || !p->key_len || !at || !eu_buf_reserve(&p->key_bytes, 64);
		for (size_t i = 0; i < nf && !oom; i++) {
			const char *key = t->attr_names[i];
			if (!key)
				continue;
			at[i] = p->key_bytes.len;
			eu_pb_put_utf8(&p->key_bytes, key, strlen(key));
			p->key_len[i] = p->key_bytes.len - at[i];
		}
		oom = oom || p->key_bytes.oom;
		for (size_t i = 0; i < nf && !oom; i++)
			if (t->attr_names[i])
				p->keys[i] = p->key_bytes.data + at[i];
		free(at);
		p->n_keys = nf;
	}
	if (oom) {
		eu_otlp_log_prep_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

int eu_otlp_log_encode(const struct eu_otlp_log_event *ev, eu_buf *out, eu_error *err)
{
	const char *pkg = ev->package ? ev->package : "";
	const char *type = ev->event_type ? ev->event_type : "";
	const struct eu_plan *plan = ev->plan;
	size_t need = plan ? (ev->sample ? eu_plan_size(plan) : eu_plan_min_size(plan)) : 0;
	if (ev->size < need)
		return eu_error_set(err, -EINVAL, "OTLP log %s.%s: record of %zu bytes is shorter "
						  "than the %zu the plan needs",
				    pkg, type, ev->size, need);
	if (ev->sample && ev->key_plan && ev->key_size < eu_plan_size(ev->key_plan))
		return eu_error_set(err, -EINVAL, "OTLP log %s.%s: key of %zu bytes is shorter "
						  "than the %zu its plan needs",
				    pkg, type, ev->key_size, eu_plan_size(ev->key_plan));
	size_t mark = out->len;
	eu_buf *b = out;
	const struct eu_otlp_log_prep *prep = ev->prep;
	if (ev->time_unix_nano)
		put_fixed64(b, 1, ev->time_unix_nano);
	if (prep)
		put_mem(b, prep->fixed.data, ev->text ? prep->sev_len : prep->fixed.len);
	else
		put_severity(b, ev);
	if (ev->text) {
		size_t body_at = open_len(b, 5);
		put_string(b, AV_STRING, ev->text, ev->text_len);
		close_len(b, body_at);
	} else if (!prep) {
		put_name_body(b, pkg, type);
	}
	eu_buf own;
	eu_buf_init(&own);
	eu_buf *scratch = ev->scratch ? ev->scratch : &own;
	/* a sample's fields are under "key" and "value", not attributes of their own */
	size_t nf = plan && !ev->sample ? eu_plan_field_count(plan) : 0;
	int ret = 0;
	/* callers that encode many records resolve the names once (eu_otlp_attr_names), or
	 * measure and check them once too (a prep) */
	const char **resolved = NULL;
	bool prep_keys = prep && prep->keys && prep->n_keys == nf;
	const char *const *names = prep_keys ? prep->keys : ev->attr_names;
	if (nf && !names) {
		ret = eu_otlp_attr_names(plan, ev->map, ev->n_map, &resolved);
		names = resolved;
	}
	const struct eu_record_stacks *stacks = ev->stacks && ev->stack_blob ? ev->stacks : NULL;
	struct enc e;
	for (size_t i = 0; i < nf && !ret; i++) {
		const char *key = names[i];
		int k = stack_of_field(stacks, i);
		if (k >= 0 && stacks->f[k].is_inline) {
			put_frames(b, ev, (size_t)k);
			continue;
		}
		if (!key)
			continue;
		enc_start(&e, b, key, prep_keys ? prep->key_len[i] : strlen(key), 6);
		e.top_utf8 = prep_keys;
		ret = eu_plan_walk_field(plan, i, ev->data, ev->size, scratch, on_value, &e);
		if (ret == -E2BIG)
			eu_error_set(err, ret, "OTLP log %s.%s: field %s: nested too deep", pkg, type,
				     eu_plan_field(plan, i)->name);
		if (k >= 0)
			put_frames(b, ev, (size_t)k);
	}
	if (ev->sample && !ret) {
		ret = put_part(b, "key", ev->key_plan, ev->key, ev->key_size, ev->key_scalar,
			       scratch);
		if (!ret)
			ret = put_part(b, "value", plan, ev->data, ev->size, ev->value_scalar,
				       scratch);
		if (!ret && stacks && ev->key_plan)
			put_sample_stacks(b, ev, scratch);
	}
	if (own.data)
		eu_buf_free(&own);
	free(resolved);
	if (!ret) {
		if (ev->observed_time_unix_nano)
			put_fixed64(b, 11, ev->observed_time_unix_nano);
		if (prep)
			put_mem(b, prep->tail.data, prep->tail.len);
		else
			put_event_name(b, 12, pkg, type);
		if (b->oom)
			ret = -ENOMEM;
	}
	if (ret) {
		if (ret == -ENOMEM)
			eu_error_set(err, ret, "OTLP log %s.%s: out of memory", pkg, type);
		else if (ret != -E2BIG)
			eu_error_set(err, ret, "OTLP log %s.%s: the record does not decode", pkg,
				     type);
		out->len = mark;
	}
	if (out->data && !out->oom)
		out->data[out->len] = '\0';
	return ret;
}
