/* Protobuf request bytes -> OTLP JSON, driven by a table of the request schemas (the
 * official protos in proto/, the fields this tree's copy has). See otlp_wire_json.h. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/codec.h"
#include "otlp_wire_json.h"

/* ---- the schema ---- */

enum kind {
	K_STRING,
	K_BYTES,
	K_HEX_BYTES, /* traceId, spanId: OTLP asks for hex */
	K_BOOL,
	K_UINT32,
	K_ENUM,
	K_INT64,
	K_FIXED64,
	K_SFIXED64,
	K_FIXED32,
	K_DOUBLE,
	K_MESSAGE,
};

enum msg {
	M_LOGS_REQUEST,
	M_RESOURCE_LOGS,
	M_SCOPE_LOGS,
	M_LOG_RECORD,
	M_METRICS_REQUEST,
	M_RESOURCE_METRICS,
	M_SCOPE_METRICS,
	M_METRIC,
	M_GAUGE,
	M_SUM,
	M_HISTOGRAM,
	M_NUMBER_POINT,
	M_HISTOGRAM_POINT,
	M_EXEMPLAR,
	M_RESOURCE,
	M_SCOPE,
	M_KEY_VALUE,
	M_ANY_VALUE,
	M_ARRAY_VALUE,
	M_KVLIST,
	M_COUNT,
};

struct field {
	uint8_t num;
	uint8_t kind;
	bool repeated;
	uint8_t oneof; /* 0: none; members of one oneof share a number */
	uint8_t msg;   /* K_MESSAGE: its type */
	uint8_t json_len;
	const char *json; /* "\"name\":" */
};

struct schema {
	const char *name;
	const struct field *f;
	size_t n;
};

#define KEY(name) sizeof("\"" name "\":") - 1, "\"" name "\":"
#define F(num, kind, name) {num, kind, false, 0, 0, KEY(name)}
#define R(num, kind, name) {num, kind, true, 0, 0, KEY(name)}
#define O(num, kind, group, name) {num, kind, false, group, 0, KEY(name)}
#define FM(num, m, name) {num, K_MESSAGE, false, 0, m, KEY(name)}
#define RM(num, m, name) {num, K_MESSAGE, true, 0, m, KEY(name)}
#define OM(num, m, group, name) {num, K_MESSAGE, false, group, m, KEY(name)}

static const struct field logs_request[] = {RM(1, M_RESOURCE_LOGS, "resourceLogs")};
static const struct field resource_logs[] = {
	FM(1, M_RESOURCE, "resource"), RM(2, M_SCOPE_LOGS, "scopeLogs"),
	F(3, K_STRING, "schemaUrl")};
static const struct field scope_logs[] = {
	FM(1, M_SCOPE, "scope"), RM(2, M_LOG_RECORD, "logRecords"), F(3, K_STRING, "schemaUrl")};
static const struct field log_record[] = {
	F(1, K_FIXED64, "timeUnixNano"),
	F(2, K_ENUM, "severityNumber"),
	F(3, K_STRING, "severityText"),
	FM(5, M_ANY_VALUE, "body"),
	RM(6, M_KEY_VALUE, "attributes"),
	F(7, K_UINT32, "droppedAttributesCount"),
	F(8, K_FIXED32, "flags"),
	F(9, K_HEX_BYTES, "traceId"),
	F(10, K_HEX_BYTES, "spanId"),
	F(11, K_FIXED64, "observedTimeUnixNano"),
	F(12, K_STRING, "eventName"),
};
static const struct field metrics_request[] = {RM(1, M_RESOURCE_METRICS, "resourceMetrics")};
static const struct field resource_metrics[] = {
	FM(1, M_RESOURCE, "resource"), RM(2, M_SCOPE_METRICS, "scopeMetrics"),
	F(3, K_STRING, "schemaUrl")};
static const struct field scope_metrics[] = {
	FM(1, M_SCOPE, "scope"), RM(2, M_METRIC, "metrics"), F(3, K_STRING, "schemaUrl")};
static const struct field metric[] = {
	F(1, K_STRING, "name"),
	F(2, K_STRING, "description"),
	F(3, K_STRING, "unit"),
	OM(5, M_GAUGE, 1, "gauge"),
	OM(7, M_SUM, 1, "sum"),
	OM(9, M_HISTOGRAM, 1, "histogram"),
	RM(12, M_KEY_VALUE, "metadata"),
};
static const struct field gauge[] = {RM(1, M_NUMBER_POINT, "dataPoints")};
static const struct field sum[] = {
	RM(1, M_NUMBER_POINT, "dataPoints"), F(2, K_ENUM, "aggregationTemporality"),
	F(3, K_BOOL, "isMonotonic")};
static const struct field histogram[] = {
	RM(1, M_HISTOGRAM_POINT, "dataPoints"), F(2, K_ENUM, "aggregationTemporality")};
static const struct field number_point[] = {
	F(2, K_FIXED64, "startTimeUnixNano"),
	F(3, K_FIXED64, "timeUnixNano"),
	O(4, K_DOUBLE, 1, "asDouble"),
	RM(5, M_EXEMPLAR, "exemplars"),
	O(6, K_SFIXED64, 1, "asInt"),
	RM(7, M_KEY_VALUE, "attributes"),
	F(8, K_UINT32, "flags"),
};
static const struct field histogram_point[] = {
	F(2, K_FIXED64, "startTimeUnixNano"),
	F(3, K_FIXED64, "timeUnixNano"),
	F(4, K_FIXED64, "count"),
	F(5, K_DOUBLE, "sum"),
	R(6, K_FIXED64, "bucketCounts"),
	R(7, K_DOUBLE, "explicitBounds"),
	RM(8, M_EXEMPLAR, "exemplars"),
	RM(9, M_KEY_VALUE, "attributes"),
	F(10, K_UINT32, "flags"),
	F(11, K_DOUBLE, "min"),
	F(12, K_DOUBLE, "max"),
};
static const struct field exemplar[] = {
	F(2, K_FIXED64, "timeUnixNano"),
	O(3, K_DOUBLE, 1, "asDouble"),
	F(4, K_HEX_BYTES, "spanId"),
	F(5, K_HEX_BYTES, "traceId"),
	O(6, K_SFIXED64, 1, "asInt"),
	RM(7, M_KEY_VALUE, "filteredAttributes"),
};
static const struct field resource[] = {
	RM(1, M_KEY_VALUE, "attributes"), F(2, K_UINT32, "droppedAttributesCount")};
static const struct field scope[] = {
	F(1, K_STRING, "name"), F(2, K_STRING, "version"), RM(3, M_KEY_VALUE, "attributes"),
	F(4, K_UINT32, "droppedAttributesCount")};
static const struct field key_value[] = {F(1, K_STRING, "key"), FM(2, M_ANY_VALUE, "value")};
static const struct field any_value[] = {
	O(1, K_STRING, 1, "stringValue"),
	O(2, K_BOOL, 1, "boolValue"),
	O(3, K_INT64, 1, "intValue"),
	O(4, K_DOUBLE, 1, "doubleValue"),
	OM(5, M_ARRAY_VALUE, 1, "arrayValue"),
	OM(6, M_KVLIST, 1, "kvlistValue"),
	O(7, K_BYTES, 1, "bytesValue"),
};
static const struct field array_value[] = {RM(1, M_ANY_VALUE, "values")};
static const struct field kvlist[] = {RM(1, M_KEY_VALUE, "values")};

#define S(name, table) {name, table, sizeof(table) / sizeof(table[0])}
static const struct schema schemas[M_COUNT] = {
	[M_LOGS_REQUEST] = S("ExportLogsServiceRequest", logs_request),
	[M_RESOURCE_LOGS] = S("ResourceLogs", resource_logs),
	[M_SCOPE_LOGS] = S("ScopeLogs", scope_logs),
	[M_LOG_RECORD] = S("LogRecord", log_record),
	[M_METRICS_REQUEST] = S("ExportMetricsServiceRequest", metrics_request),
	[M_RESOURCE_METRICS] = S("ResourceMetrics", resource_metrics),
	[M_SCOPE_METRICS] = S("ScopeMetrics", scope_metrics),
	[M_METRIC] = S("Metric", metric),
	[M_GAUGE] = S("Gauge", gauge),
	[M_SUM] = S("Sum", sum),
	[M_HISTOGRAM] = S("Histogram", histogram),
	[M_NUMBER_POINT] = S("NumberDataPoint", number_point),
	[M_HISTOGRAM_POINT] = S("HistogramDataPoint", histogram_point),
	[M_EXEMPLAR] = S("Exemplar", exemplar),
	[M_RESOURCE] = S("Resource", resource),
	[M_SCOPE] = S("InstrumentationScope", scope),
	[M_KEY_VALUE] = S("KeyValue", key_value),
	[M_ANY_VALUE] = S("AnyValue", any_value),
	[M_ARRAY_VALUE] = S("ArrayValue", array_value),
	[M_KVLIST] = S("KeyValueList", kvlist),
};

/* ---- the wire ---- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct tx {
	const uint8_t *base; /* the request: offsets in messages are from here */
	eu_buf *out;
	eu_error *err;
};

/* One field as it lies on the wire: its number and wire type, the varint's value or where
 * its bytes are. */
struct wire {
	uint32_t num;
	unsigned wt;
	uint64_t v;          /* WT_VARINT */
	const uint8_t *data; /* WT_I64, WT_I32, WT_LEN */
	size_t len;
	const uint8_t *at;   /* where the field's tag is */
};

static int bad(struct tx *t, const char *msg, const uint8_t *at, const char *what)
{
	return eu_error_set(t->err, -EINVAL, "not a well-formed %s: %s at byte %zu", msg, what,
			    (size_t)(at - t->base));
}

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		if (shift == 63 && b > 1)
			return false; /* more than 64 bits */
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false; /* truncated, or an eleventh byte */
}

/* Reads the field at *p into w and moves *p past it; false when it is cut short or has a wire
 * type protobuf 3 does not use (groups). */
static bool next_field(const uint8_t **p, const uint8_t *end, struct wire *w)
{
	uint64_t tag, n;
	w->at = *p;
	if (!varint(p, end, &tag) || tag >> 32 || !(tag >> 3))
		return false;
	w->num = (uint32_t)(tag >> 3);
	w->wt = (unsigned)(tag & 7);
	switch (w->wt) {
	case WT_VARINT:
		return varint(p, end, &w->v);
	case WT_I64:
		n = 8;
		break;
	case WT_I32:
		n = 4;
		break;
	case WT_LEN:
		if (!varint(p, end, &n))
			return false;
		break;
	default:
		return false;
	}
	if (n > (size_t)(end - *p))
		return false;
	w->data = *p;
	w->len = (size_t)n;
	*p += n;
	return true;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

/* ---- output ----
 * The buffer is reserved for the whole request up front, so appends take the short path:
 * a copy into room that is already there (eu_buf_append when it is not). The NUL after the
 * text is written once at the end. */

static inline void put(eu_buf *b, const void *s, size_t n)
{
	if (b->cap - b->len > n) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
	} else {
		eu_buf_append(b, s, n);
	}
}

static inline void put_c(eu_buf *b, char c)
{
	if (b->cap - b->len > 1)
		b->data[b->len++] = c;
	else
		eu_buf_putc(b, c);
}

static void put_u64(eu_buf *b, uint64_t v, bool minus)
{
	char d[21];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (minus)
		d[--i] = '-';
	put(b, d + i, sizeof(d) - i);
}

static void put_i64(eu_buf *b, int64_t v)
{
	put_u64(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* A JSON string of s[0..n): false when it is not UTF-8. Plain ASCII is copied in one go. */
static bool put_string(eu_buf *b, const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
		i++;
	if (i == n) {
		put_c(b, '"');
		put(b, s, n);
		put_c(b, '"');
		return true;
	}
	if (eu_utf8_valid_prefix((const char *)s, n) != n)
		return false;
	eu_buf_json_string(b, (const char *)s, n);
	return true;
}

/* ---- values ---- */

static void put_double(eu_buf *b, double d)
{
	if (isnan(d)) {
		eu_buf_append(b, "\"NaN\"", 5);
		return;
	}
	if (isinf(d)) {
		eu_buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	/* the shortest of %.15g and %.17g that reads back as the same double */
	char s[32];
	int n = snprintf(s, sizeof(s), "%.15g", d);
	if (strtod(s, NULL) != d)
		n = snprintf(s, sizeof(s), "%.17g", d);
	eu_buf_append(b, s, (size_t)n);
}

static void put_hex(eu_buf *b, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	eu_buf_putc(b, '"');
	if (eu_buf_reserve(b, 2 * n)) {
		char *o = b->data + b->len;
		for (size_t i = 0; i < n; i++) {
			*o++ = digits[p[i] >> 4];
			*o++ = digits[p[i] & 15];
		}
		b->len += 2 * n;
	}
	eu_buf_putc(b, '"');
}

static int put_message(struct tx *t, enum msg m, const uint8_t *p, const uint8_t *end,
		       unsigned depth);

/* One value of field f (one element when f is repeated: a packed run is split by the caller). */
static int put_value(struct tx *t, enum msg m, const struct field *f, const struct wire *w,
		     unsigned depth)
{
	eu_buf *b = t->out;
	const char *name = schemas[m].name;
	switch (f->kind) {
	case K_STRING:
		if (!put_string(b, w->data, w->len))
			return bad(t, name, w->at, "a string that is not UTF-8");
		return 0;
	case K_BYTES:
		put_c(b, '"');
		eu_base64_append(b, w->data, w->len);
		put_c(b, '"');
		return 0;
	case K_HEX_BYTES:
		put_hex(b, w->data, w->len);
		return 0;
	case K_BOOL:
		if (w->v)
			put(b, "true", 4);
		else
			put(b, "false", 5);
		return 0;
	case K_UINT32:
		if (w->v > UINT32_MAX)
			return bad(t, name, w->at, "a uint32 out of range");
		put_u64(b, w->v, false);
		return 0;
	case K_ENUM: {
		int64_t e = (int64_t)w->v;
		if (e < INT32_MIN || e > INT32_MAX)
			return bad(t, name, w->at, "an enum value out of range");
		put_i64(b, e);
		return 0;
	}
	case K_INT64:
		put_c(b, '"');
		put_i64(b, (int64_t)w->v);
		put_c(b, '"');
		return 0;
	case K_FIXED64:
		put_c(b, '"');
		put_u64(b, le64(w->data), false);
		put_c(b, '"');
		return 0;
	case K_SFIXED64:
		put_c(b, '"');
		put_i64(b, (int64_t)le64(w->data));
		put_c(b, '"');
		return 0;
	case K_FIXED32: {
		uint32_t v;
		memcpy(&v, w->data, 4);
		put_u64(b, le32toh(v), false);
		return 0;
	}
	case K_DOUBLE: {
		double d;
		uint64_t bits = le64(w->data);
		memcpy(&d, &bits, 8);
		put_double(b, d);
		return 0;
	}
	case K_MESSAGE:
		if (depth >= EU_OTLP_WIRE_MAX_DEPTH)
			return bad(t, name, w->at, "nesting deeper than "
					"EU_OTLP_WIRE_MAX_DEPTH");
		return put_message(t, f->msg, w->data, w->data + w->len, depth + 1);
	}
	return bad(t, name, w->at, "a field kind the table lacks");
}

static unsigned wire_type_of(const struct field *f)
{
	switch (f->kind) {
	case K_BOOL:
	case K_UINT32:
	case K_ENUM:
	case K_INT64:
		return WT_VARINT;
	case K_FIXED64:
	case K_SFIXED64:
	case K_DOUBLE:
		return WT_I64;
	case K_FIXED32:
		return WT_I32;
	default:
		return WT_LEN;
	}
}

/* The elements of repeated field f in one occurrence w: one, or (a packed run of 8-byte
 * scalars) each of them. */
static int put_elements(struct tx *t, enum msg m, const struct field *f, const struct wire *w,
			bool *first, unsigned depth)
{
	unsigned want = wire_type_of(f);
	if (w->wt == want) {
		if (!*first)
			put_c(t->out, ',');
		*first = false;
		return put_value(t, m, f, w, depth);
	}
	if (w->wt != WT_LEN || want != WT_I64)
		return bad(t, schemas[m].name, w->at, "a field with the wrong wire type");
	if (w->len % 8)
		return bad(t, schemas[m].name, w->at, "a packed run of 8-byte values cut short");
	for (size_t i = 0; i < w->len; i += 8) {
		struct wire one = {.num = w->num, .wt = WT_I64, .data = w->data + i, .len = 8,
				   .at = w->at};
		if (!*first)
			put_c(t->out, ',');
		*first = false;
		put_value(t, m, f, &one, depth); /* 8-byte scalars cannot fail */
	}
	return 0;
}

static const struct field *field_of(enum msg m, uint32_t num)
{
	const struct schema *s = &schemas[m];
	for (size_t i = 0; i < s->n; i++)
		if (s->f[i].num == num)
			return &s->f[i];
	return NULL;
}

static int put_message(struct tx *t, enum msg m, const uint8_t *p, const uint8_t *end,
		       unsigned depth)
{
	const char *name = schemas[m].name;
	uint32_t seen = 0;   /* field numbers already written (every schema number is < 32) */
	uint32_t oneofs = 0; /* oneof groups already given a member */
	bool any = false;
	put_c(t->out, '{');
	while (p < end) {
		struct wire w;
		if (!next_field(&p, end, &w))
			return bad(t, name, w.at, "a field cut short or of an unknown wire type");
		const struct field *f = field_of(m, w.num);
		if (!f) {
			char what[64];
			snprintf(what, sizeof(what), "field %" PRIu32 ", not in the schema,", w.num);
			return bad(t, name, w.at, what);
		}
		uint32_t bit = 1u << f->num;
		if (seen & bit) {
			if (f->repeated)
				continue; /* written with the field's first occurrence */
			return bad(t, name, w.at, "a singular field given twice");
		}
		if (f->oneof) {
			if (oneofs & 1u << f->oneof)
				return bad(t, name, w.at, "two members of one oneof");
			oneofs |= 1u << f->oneof;
		}
		seen |= bit;
		if (any)
			put_c(t->out, ',');
		any = true;
		put(t->out, f->json, f->json_len);
		int ret;
		if (!f->repeated) {
			if (w.wt != wire_type_of(f))
				return bad(t, name, w.at, "a field with the wrong wire type");
			ret = put_value(t, m, f, &w, depth);
			if (ret)
				return ret;
			continue;
		}
		/* every occurrence from here to the end of the message, in order: one array */
		put_c(t->out, '[');
		bool first = true;
		ret = put_elements(t, m, f, &w, &first, depth);
		for (const uint8_t *q = p; !ret && q < end;) {
			struct wire more;
			if (!next_field(&q, end, &more))
				return bad(t, name, more.at, "a field cut short or of an unknown wire "
							     "type");
			if (more.num == w.num)
				ret = put_elements(t, m, f, &more, &first, depth);
		}
		if (ret)
			return ret;
		put_c(t->out, ']');
	}
	put_c(t->out, '}');
	return 0;
}

int eu_otlp_wire_json(enum eu_otlp_wire_request kind, const void *pb, size_t len, eu_buf *out,
		      eu_error *err)
{
	size_t start = out->len;
	struct tx t = {.base = pb, .out = out, .err = err};
	const uint8_t *p = pb;
	/* JSON is about 2-3x the protobuf of a log record: one reservation for most requests */
	eu_buf_reserve(out, len * 3);
	int ret = put_message(&t, kind == EU_OTLP_WIRE_LOGS ? M_LOGS_REQUEST : M_METRICS_REQUEST,
			      p, p + len, 1);
	if (out->data && out->len < out->cap)
		out->data[out->len] = '\0';
	if (!ret && out->oom)
		ret = eu_error_set(err, -ENOMEM, "out of memory writing a %zu-byte request as JSON",
				   len);
	if (ret && !out->oom) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return ret;
}

/* ---- the response ---- */

/* An int64 of proto3 JSON: a decimal string or a number. */
static bool json_int64(const cJSON *v, int64_t *out)
{
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d)
			return false;
		*out = (int64_t)d;
		return true;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return false;
	char *end;
	errno = 0;
	long long n = strtoll(v->valuestring, &end, 10);
	if (errno || *end)
		return false;
	*out = n;
	return true;
}

/* A member by its JSON name or its proto field name (parsers accept both). */
static const cJSON *member(const cJSON *obj, const char *json, const char *proto)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, json);
	return v ? v : cJSON_GetObjectItemCaseSensitive(obj, proto);
}

int eu_otlp_wire_json_partial(enum eu_otlp_wire_request kind, const void *body, size_t len,
			      int64_t *rejected, char *msg, size_t msg_size, eu_error *err)
{
	*rejected = 0;
	if (msg_size)
		msg[0] = '\0';
	cJSON *root = cJSON_ParseWithLength(body, len);
	int ret = 0;
	if (!cJSON_IsObject(root)) {
		ret = eu_error_set(err, -EINVAL, "not a JSON object");
		goto out;
	}
	const cJSON *ps = member(root, "partialSuccess", "partial_success");
	if (!ps || cJSON_IsNull(ps))
		goto out;
	if (!cJSON_IsObject(ps)) {
		ret = eu_error_set(err, -EINVAL, "partialSuccess is not an object");
		goto out;
	}
	const cJSON *n = kind == EU_OTLP_WIRE_LOGS
				 ? member(ps, "rejectedLogRecords", "rejected_log_records")
				 : member(ps, "rejectedDataPoints", "rejected_data_points");
	if (n && !json_int64(n, rejected)) {
		ret = eu_error_set(err, -EINVAL, "the rejected count is not an int64");
		goto out;
	}
	const cJSON *m = member(ps, "errorMessage", "error_message");
	if (m && cJSON_IsString(m) && msg_size)
		snprintf(msg, msg_size, "%s", m->valuestring);
out:
	cJSON_Delete(root);
	return ret;
}
