/* Severity names, and ExportLogsServiceRequest assembly around packed records (the records
 * themselves are written by otlp_encoder.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#include "otlp.h"
#include "otlp_priv.h"

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

/* ---- request assembly ---- */

int eu_otlp_scope_pack(const char *name, const char *version, eu_buf *out)
{
	Opentelemetry__Proto__Common__V1__InstrumentationScope sc;
	opentelemetry__proto__common__v1__instrumentation_scope__init(&sc);
	char *nm = eu_otlp_utf8_dup(name ? name : "", name ? strlen(name) : 0);
	char *vs = eu_otlp_utf8_dup(version ? version : "", version ? strlen(version) : 0);
	int ret = -ENOMEM;
	if (nm && vs) {
		sc.name = nm;
		sc.version = vs;
		size_t l = opentelemetry__proto__common__v1__instrumentation_scope__get_packed_size(&sc);
		if (eu_buf_reserve(out, l)) {
			opentelemetry__proto__common__v1__instrumentation_scope__pack(
				&sc, (uint8_t *)out->data + out->len);
			out->len += l;
			ret = 0;
		}
	}
	free(nm);
	free(vs);
	return ret;
}

int eu_otlp_logs_assemble(const void *resource, size_t resource_len, const eu_buf *scopes,
			  size_t n_scopes, size_t n, eu_otlp_rec_fn rec, void *ctx,
			  size_t *scope_len, eu_buf *out)
{
	/* ResourceLogs = resource(1) + ScopeLogs(2)...; ScopeLogs = scope(1) + records(2)...;
	 * a scope's ScopeLogs goes where its first record is */
	for (size_t s = 0; s < n_scopes; s++)
		scope_len[s] = 0;
	struct eu_otlp_rec r;
	for (size_t i = 0; i < n; i++) {
		rec(ctx, i, &r);
		scope_len[r.scope] += eu_pb_len_field_size(2, r.len);
	}
	size_t rl_len = eu_pb_len_field_size(1, resource_len);
	for (size_t s = 0; s < n_scopes; s++) {
		if (!scope_len[s])
			continue;
		scope_len[s] += eu_pb_len_field_size(1, scopes[s].len);
		rl_len += eu_pb_len_field_size(2, scope_len[s]);
	}
	if (!eu_buf_reserve(out, eu_pb_len_field_size(1, rl_len)))
		return -ENOMEM;
	eu_pb_put_len_field(out, 1, rl_len);
	eu_pb_put_len_field(out, 1, resource_len);
	eu_buf_append(out, resource, resource_len);
	for (size_t i = 0; i < n; i++) {
		rec(ctx, i, &r);
		size_t s = r.scope;
		if (!scope_len[s])
			continue; /* its ScopeLogs is written */
		eu_pb_put_len_field(out, 2, scope_len[s]);
		eu_pb_put_len_field(out, 1, scopes[s].len);
		eu_buf_append(out, scopes[s].data, scopes[s].len);
		scope_len[s] = 0;
		for (size_t k = i; k < n; k++) {
			rec(ctx, k, &r);
			if (r.scope != s)
				continue;
			/* room was reserved above: the header and record go in without checks */
			uint8_t *p = (uint8_t *)out->data + out->len;
			*p++ = 2 << 3 | 2;
			size_t v = r.len;
			while (v >= 0x80) {
				*p++ = (uint8_t)(v | 0x80);
				v >>= 7;
			}
			*p++ = (uint8_t)v;
			if (r.len)
				memcpy(p, r.data, r.len);
			out->len = (size_t)((char *)p - out->data) + r.len;
		}
	}
	if (out->oom)
		return -ENOMEM;
	out->data[out->len] = '\0';
	return 0;
}

/* eu_otlp_logs_request's records, their scopes numbered by first appearance */
struct named_recs {
	const struct eu_otlp_scoped_record *recs;
	uint32_t *scope_of;
};

static void named_rec(void *ctx, size_t i, struct eu_otlp_rec *out)
{
	const struct named_recs *nr = ctx;
	*out = (struct eu_otlp_rec){nr->scope_of[i], nr->recs[i].record, nr->recs[i].len};
}

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
	size_t one = n ? n : 1;
	uint32_t *scope_of = malloc(one * sizeof(*scope_of));
	size_t *firsts = malloc(one * sizeof(*firsts));
	size_t *scope_len = malloc(one * sizeof(*scope_len));
	eu_buf *scopes = calloc(one, sizeof(*scopes));
	size_t ns = 0;
	int ret = -ENOMEM;
	if (!scope_of || !firsts || !scope_len || !scopes)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t s;
		for (s = 0; s < ns; s++)
			if (same_scope(&recs[firsts[s]], &recs[i]))
				break;
		if (s == ns) {
			firsts[ns] = i;
			eu_buf_init(&scopes[ns]);
			ns++;
			if (eu_otlp_scope_pack(recs[i].scope_name, recs[i].scope_version, &scopes[s]))
				goto out;
		}
		scope_of[i] = (uint32_t)s;
	}
	struct named_recs nr = {recs, scope_of};
	ret = eu_otlp_logs_assemble(resource, resource_len, scopes, ns, n, named_rec, &nr,
				    scope_len, out);
out:
	for (size_t s = 0; s < ns; s++)
		eu_buf_free(&scopes[s]);
	free(scopes);
	free(scope_of);
	free(firsts);
	free(scope_len);
	return ret;
}
