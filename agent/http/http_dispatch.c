/* Requests without a socket (http_server.h): the URL's query decoded here, routing and the
 * handler as on a socket, the answer recorded. For tests and fuzzing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "http_server_priv.h"

static char *url_decode(const char *s, size_t n)
{
	char *o = malloc(n + 1), *p = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (s[i] == '+') {
			*p++ = ' ';
		} else if (s[i] == '%' && i + 2 < n && (h = eu_hex_digit(s[i + 1])) >= 0 &&
			   (l = eu_hex_digit(s[i + 2])) >= 0) {
			*p++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return o;
}

static int parse_query(struct eu_http_req *r, const char *q)
{
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t kl = eq ? (size_t)(eq - q) : n;
		char **k = realloc(r->qk, (r->nq + 1) * sizeof(*k));
		if (!k)
			return -ENOMEM;
		r->qk = k;
		char **v = realloc(r->qv, (r->nq + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->qv = v;
		k[r->nq] = url_decode(q, kl);
		v[r->nq] = eq ? url_decode(eq + 1, n - kl - 1) : strdup("");
		r->nq++;
		if (!k[r->nq - 1] || !v[r->nq - 1])
			return -ENOMEM;
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

int eu_http_server_dispatch(struct eu_http_server *s, const char *method, const char *url,
			    const char *const *headers, const void *body, size_t len,
			    struct eu_http_result *out)
{
	memset(out, 0, sizeof(*out));
	eu_buf_init(&out->body);
	const char *q = strchr(url, '?');
	size_t path_len = q ? (size_t)(q - url) : strlen(url);
	struct eu_http_req *r = eu_http_req_new(s, method, url, path_len);
	if (!r)
		return -ENOMEM;
	r->res = out;
	r->headers = headers;
	if (q && parse_query(r, q + 1)) {
		eu_http_req_free(r);
		return -ENOMEM;
	}
	unsigned st = eu_http_route_find(r);
	if (st) {
		eu_http_route_fail(r, st);
	} else if (eu_http_body_too_big(r) || len > s->max_body) {
		eu_http_reply_too_big(r);
	} else {
		eu_buf_append(&r->body, body, len);
		eu_http_run_handler(r);
	}
	eu_http_req_free(r);
	return 0;
}

void eu_http_result_free(struct eu_http_result *res)
{
	eu_buf_free(&res->body);
}
