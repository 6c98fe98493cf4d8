/* OTLP/gRPC on the wire: the 5-byte length prefix of a gRPC message, the status a response
 * ends with (grpc-status, grpc-message and grpc-status-details-bin, from the trailers or from
 * the headers of a trailers-only response) and which codes the OTLP specification says to
 * retry. Everything here parses bytes a remote peer chose, so every length is checked against
 * what is there (tests/fuzz/fuzz_otlp_grpc.c). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/codec.h"
#include "otlp_priv.h"

#define GRPC_PREFIX 5
/* a status with details larger than this is not one a collector sends: ignore the details */
#define MAX_DETAILS (16u << 10)

int eu_otlp_grpc_frame_begin(eu_buf *out)
{
	static const char zero[GRPC_PREFIX];
	size_t at = out->len;
	eu_buf_append(out, zero, GRPC_PREFIX);
	return out->oom ? -ENOMEM : (int)at;
}

void eu_otlp_grpc_frame_end(eu_buf *out, size_t at, bool compressed)
{
	size_t len = out->len - at - GRPC_PREFIX;
	uint8_t *p = (uint8_t *)out->data + at;
	p[0] = compressed ? 1 : 0;
	p[1] = (uint8_t)(len >> 24);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
}

int eu_otlp_grpc_unframe(const void *body, size_t len, const uint8_t **msg, size_t *msg_len,
			 bool *compressed)
{
	const uint8_t *p = body;
	*msg = NULL;
	*msg_len = 0;
	*compressed = false;
	if (!len)
		return 0; /* no message: a trailers-only answer */
	if (len < GRPC_PREFIX || p[0] > 1)
		return -EINVAL;
	size_t n = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
	/* a unary call answers with exactly one message */
	if (n != len - GRPC_PREFIX)
		return -EINVAL;
	*msg = p + GRPC_PREFIX;
	*msg_len = n;
	*compressed = p[0] == 1;
	return 0;
}

void eu_otlp_grpc_status_reset(struct eu_otlp_grpc_status *st)
{
	memset(st, 0, sizeof(*st));
	st->code = -1;
	st->retry_delay_ms = -1;
}

/* A header's value when line is "name: value" (any case, blanks and CRLF trimmed). */
static bool header_value(const char *line, size_t len, const char *name, const char **v,
			 size_t *vl)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return false;
	const char *s = line + nl + 1, *e = line + len;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*v = s;
	*vl = (size_t)(e - s);
	return true;
}

/* grpc-message is percent-encoded (the gRPC HTTP/2 protocol); a bad escape is kept as is */
static void percent_decode(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = eu_hex_digit(s[i + 1])) >= 0 &&
		    (lo = eu_hex_digit(s[i + 2])) >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			dst[o++] = s[i];
		}
	}
	dst[o] = '\0';
}

void eu_otlp_grpc_header(struct eu_otlp_grpc_status *st, const char *line, size_t len)
{
	const char *v;
	size_t vl;
	if (header_value(line, len, "grpc-status", &v, &vl)) {
		int code = 0;
		size_t i;
		for (i = 0; i < vl && i < 3 && isdigit((unsigned char)v[i]); i++)
			code = code * 10 + (v[i] - '0');
		st->code = i == vl && vl ? code : EU_GRPC_UNKNOWN;
	} else if (header_value(line, len, "grpc-message", &v, &vl)) {
		percent_decode(st->message, sizeof(st->message), v, vl);
	} else if (header_value(line, len, "grpc-status-details-bin", &v, &vl)) {
		uint8_t *bin = NULL;
		size_t bl = 0;
		if (vl > MAX_DETAILS * 2 || eu_base64_decode(v, vl, &bin, &bl, NULL))
			return;
		int64_t ms;
		if (!eu_otlp_grpc_retry_info(bin, bl, &ms)) {
			st->retry_info = true;
			st->retry_delay_ms = ms;
		}
		free(bin);
	}
}

/* ---- google.rpc.Status -> RetryInfo, read with a bounds-checked protobuf walker ---- */

struct pb {
	const uint8_t *p, *end;
};

static bool pb_varint(struct pb *b, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end)
			return false;
		uint8_t c = *b->p++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* The next field: its number, wire type and (for length-delimited ones) its bytes; the
 * varint value for wire type 0. False at the end or on malformed input. */
static bool pb_next(struct pb *b, uint32_t *field, unsigned *wt, struct pb *sub, uint64_t *val)
{
	uint64_t key, n;
	if (b->p >= b->end || !pb_varint(b, &key))
		return false;
	*field = (uint32_t)(key >> 3);
	*wt = key & 7;
	switch (*wt) {
	case 0:
		return pb_varint(b, val);
	case 1:
		if (b->end - b->p < 8)
			return false;
		b->p += 8;
		return true;
	case 5:
		if (b->end - b->p < 4)
			return false;
		b->p += 4;
		return true;
	case 2:
		if (!pb_varint(b, &n) || n > (uint64_t)(b->end - b->p))
			return false;
		sub->p = b->p;
		sub->end = b->p + n;
		b->p += n;
		return true;
	default:
		return false;
	}
}

static const char retry_info_type[] = "type.googleapis.com/google.rpc.RetryInfo";

/* RetryInfo { Duration retry_delay = 1; }  Duration { int64 seconds = 1; int32 nanos = 2; } */
static int parse_retry_info(struct pb ri, int64_t *ms)
{
	uint32_t f;
	unsigned wt;
	struct pb sub = {0}, dur = {0};
	uint64_t v;
	bool have = false;
	while (ri.p < ri.end) {
		if (!pb_next(&ri, &f, &wt, &sub, &v))
			return -EINVAL;
		if (f == 1 && wt == 2) {
			dur = sub;
			have = true;
		}
	}
	if (!have)
		return -ENOENT;
	int64_t secs = 0, nanos = 0;
	while (dur.p < dur.end) {
		if (!pb_next(&dur, &f, &wt, &sub, &v))
			return -EINVAL;
		if (f == 1 && wt == 0)
			secs = (int64_t)v;
		else if (f == 2 && wt == 0)
			nanos = (int32_t)(uint32_t)v;
	}
	if (secs < 0 || nanos < 0)
		return -EINVAL;
	if (secs > 86400)
		secs = 86400; /* a day: a collector asking for more is asking for a drop */
	*ms = secs * 1000 + nanos / 1000000;
	return 0;
}

int eu_otlp_grpc_retry_info(const void *status, size_t len, int64_t *delay_ms)
{
	struct pb b = {status, (const uint8_t *)status + len}, sub = {0};
	uint32_t f;
	unsigned wt;
	uint64_t v;
	while (b.p < b.end) {
		if (!pb_next(&b, &f, &wt, &sub, &v))
			return -EINVAL;
		if (f != 3 || wt != 2)
			continue;
		/* details: Any { string type_url = 1; bytes value = 2; } */
		struct pb any = sub, val = {0}, s2 = {0};
		bool is_retry = false, have_val = false;
		while (any.p < any.end) {
			if (!pb_next(&any, &f, &wt, &s2, &v))
				return -EINVAL;
			if (f == 1 && wt == 2)
				is_retry = (size_t)(s2.end - s2.p) == sizeof(retry_info_type) - 1 &&
					   !memcmp(s2.p, retry_info_type, sizeof(retry_info_type) - 1);
			else if (f == 2 && wt == 2) {
				val = s2;
				have_val = true;
			}
		}
		if (is_retry && have_val)
			return parse_retry_info(val, delay_ms);
	}
	return -ENOENT;
}

/* ---- what the codes mean for an exporter ---- */

bool eu_otlp_grpc_retryable(const struct eu_otlp_grpc_status *st)
{
	switch (st->code) {
	case EU_GRPC_CANCELLED:
	case EU_GRPC_DEADLINE_EXCEEDED:
	case EU_GRPC_ABORTED:
	case EU_GRPC_OUT_OF_RANGE:
	case EU_GRPC_UNAVAILABLE:
	case EU_GRPC_DATA_LOSS:
		return true;
	case EU_GRPC_RESOURCE_EXHAUSTED:
		/* the specification: retryable only when the server says when (RetryInfo);
		 * without it the server is out of a resource that a retry will not bring back */
		return st->retry_info;
	default:
		return false;
	}
}

int eu_otlp_grpc_code_from_http(long status)
{
	/* the gRPC project's HTTP-to-gRPC table, for answers of a proxy in front of a server */
	switch (status) {
	case 400:
		return EU_GRPC_INTERNAL;
	case 401:
		return EU_GRPC_UNAUTHENTICATED;
	case 403:
		return EU_GRPC_PERMISSION_DENIED;
	case 404:
		return EU_GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return EU_GRPC_UNAVAILABLE;
	default:
		return EU_GRPC_UNKNOWN;
	}
}

const char *eu_otlp_grpc_code_name(int code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};
	if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return "(unknown code)";
}
