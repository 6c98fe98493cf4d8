/* The route table (http_server.h) and the checks a request passes before its handler runs. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_server_priv.h"

static bool path_matches(const struct eu_http_route *rt, const char *path, const char **rest)
{
	if (rt->prefix) {
		/* "/v1/programs/" also answers "/v1/programs" */
		if (!strncmp(path, rt->path, rt->len)) {
			*rest = path + rt->len;
			return true;
		}
		if (strlen(path) == rt->len - 1 && !strncmp(path, rt->path, rt->len - 1)) {
			*rest = "";
			return true;
		}
		return false;
	}
	*rest = "";
	return !strcmp(path, rt->path);
}

/* 0 and r->route set; else the status to answer (404, 405). */
unsigned eu_http_route_find(struct eu_http_req *r)
{
	const struct eu_http_route *other = NULL;
	for (size_t i = 0; i < r->s->n_routes; i++) {
		const struct eu_http_route *rt = &r->s->routes[i];
		const char *rest;
		if (!path_matches(rt, r->path, &rest))
			continue;
		bool method_ok = !rt->method || !strcmp(rt->method, r->method) ||
				 (!strcmp(r->method, "HEAD") && !strcmp(rt->method, "GET"));
		if (method_ok) {
			r->route = rt;
			r->rest = rest;
			return 0;
		}
		if (!other)
			other = rt;
	}
	if (other) {
		r->route = other;
		return 405;
	}
	return 404;
}

void eu_http_route_fail(struct eu_http_req *r, unsigned status)
{
	if (status == 405)
		eu_http_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s",
				    r->method, r->path);
	else
		eu_http_reply_error(r, 404, "not_found", "no such endpoint: %s %s", r->method,
				    r->path);
	r->route = NULL;
}

void eu_http_run_handler(struct eu_http_req *r)
{
	r->route->fn(r->route->ctx, r);
	if (!r->answered && !r->deferred)
		eu_http_reply_error(r, 500, "internal", "the handler of %s %s gave no answer",
				    r->method, r->path);
}

int eu_http_server_route(struct eu_http_server *s, const char *method, const char *path,
			 eu_http_handler fn, void *ctx)
{
	return eu_http_server_route_ex(s, method, path, fn, ctx, false);
}

int eu_http_server_route_ex(struct eu_http_server *s, const char *method, const char *path,
			    eu_http_handler fn, void *ctx, bool open)
{
	struct eu_http_route *n = realloc(s->routes, (s->n_routes + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->routes = n;
	struct eu_http_route *rt = &n[s->n_routes];
	memset(rt, 0, sizeof(*rt));
	rt->method = method ? strdup(method) : NULL;
	rt->path = strdup(path);
	if ((method && !rt->method) || !rt->path) {
		free(rt->method);
		free(rt->path);
		return -ENOMEM;
	}
	rt->len = strlen(path);
	rt->prefix = rt->len > 1 && path[rt->len - 1] == '/';
	rt->fn = fn;
	rt->ctx = ctx;
	rt->open = open;
	s->n_routes++;
	return 0;
}

bool eu_http_token_ok(struct eu_http_req *r, const char *token)
{
	const char *h = eu_http_req_header(r, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7))
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	size_t n = strlen(token);
	return strlen(h) == n && CRYPTO_memcmp(h, token, n) == 0;
}

bool eu_http_body_too_big(struct eu_http_req *r)
{
	const char *cl = eu_http_req_header(r, "Content-Length");
	if (!cl)
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	return errno == ERANGE || n > r->s->max_body;
}
