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
