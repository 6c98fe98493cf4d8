/* HTTP requests from tests to the agent's servers (the control API, /metrics) and to the
 * servers a test starts, with libcurl: over TCP, or over a unix socket. Every request has a
 * timeout, so a server that never answers fails the test instead of hanging it. */
#ifndef EU_HTTP_CLIENT_H
#define EU_HTTP_CLIENT_H

#include <stddef.h>

struct eu_http_resp {
	long status; /* the HTTP status; without an answer, minus libcurl's error code */
	char *body;  /* malloc'd, NUL-terminated (after len bytes), never NULL */
	size_t len;
};

struct eu_http_call {
	const char *unix_socket;    /* connect here instead of to the URL's host; NULL: TCP */
	const char *method;         /* NULL: GET */
	const void *body;           /* NULL: none */
	size_t len;
	const char *const *headers; /* "Name: value", NULL-terminated; NULL: none */
	long timeout_ms;            /* 0: 10 s */
};

/* call may be NULL (a GET over TCP). */
struct eu_http_resp eu_http_request(const char *url, const struct eu_http_call *call);
void eu_http_resp_free(struct eu_http_resp *r);

/* GET url: the body (malloc'd) when the status is 200, else NULL. */
char *eu_http_get(const char *url);

#endif
