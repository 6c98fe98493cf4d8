/* What a handler reads of a request (http_server.h), on a socket or dispatched without one. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_server_priv.h"

void eu_http_req_free(struct eu_http_req *r)
{
	if (!r)
		return;
	if (r->pending)
		MHD_destroy_response(r->pending);
	free(r->method);
	free(r->path);
	eu_buf_free(&r->body);
	for (size_t i = 0; i < r->nq; i++) {
		free(r->qk[i]);
		free(r->qv[i]);
	}
	free(r->qk);
	free(r->qv);
	free(r);
}

struct eu_http_req *eu_http_req_new(struct eu_http_server *s, const char *method,
				    const char *path, size_t path_len)
{
	struct eu_http_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->s = s;
	eu_buf_init(&r->body);
	r->method = strdup(method ? method : "");
	r->path = strndup(path ? path : "", path ? path_len : 0);
	if (!r->method || !r->path) {
		eu_http_req_free(r);
		return NULL;
	}
	r->rest = "";
	return r;
}

const char *eu_http_req_method(struct eu_http_req *r)
{
	return r->method;
}

const char *eu_http_req_path(struct eu_http_req *r)
{
	return r->path;
}

const char *eu_http_req_rest(struct eu_http_req *r)
{
	return r->rest;
}

const void *eu_http_req_body(struct eu_http_req *r, size_t *len)
{
	*len = r->body.len;
	return r->body.data ? r->body.data : "";
}

const char *eu_http_req_query(struct eu_http_req *r, const char *key)
{
	if (r->conn)
		return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
	for (size_t i = 0; i < r->nq; i++)
		if (!strcmp(r->qk[i], key))
			return r->qv[i];
	return NULL;
}

const char *eu_http_req_header(struct eu_http_req *r, const char *name)
{
	if (r->conn)
		return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
	size_t n = strlen(name);
	for (size_t i = 0; r->headers && r->headers[i]; i++) {
		const char *h = r->headers[i];
		if (!strncasecmp(h, name, n) && h[n] == ':') {
			h += n + 1;
			while (*h == ' ' || *h == '\t')
				h++;
			return h;
		}
	}
	return NULL;
}
