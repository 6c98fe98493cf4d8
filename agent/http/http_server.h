/* A small HTTP server on a libuv loop, for the control API (api.h) and /metrics.
 *
 * HTTP parsing is libmicrohttpd's (Debian's libmicrohttpd12), run in its external epoll mode:
 * its epoll fd sits on a uv_poll and its timeouts on a uv_timer, so every callback runs on the
 * loop thread and nothing here needs a lock. One libmicrohttpd daemon per listener.
 *
 * Listeners: "unix:PATH" (a socket we bind ourselves, mode 0600 before it starts listening,
 * a stale socket file replaced) or "tcp:ADDR:PORT" (ADDR an IPv4 address, [IPv6], or a name;
 * PORT 0 picks one). A TCP listener on anything but a loopback address must have a bearer
 * token: the server refuses to start it otherwise. With a token, every request needs
 * `Authorization: Bearer TOKEN` (401 without it).
 *
 * Routes: method + path (exact, or a prefix when the registered path ends in '/'). A path
 * that matches with another method gets 405 with an Allow header; no match, 404. Errors are
 * JSON: {"error": {"code": "not_found", "message": "..."}}.
 *
 * Limits: the request body (413 when larger, from Content-Length before reading it, or as it
 * grows — a chunked body gets its 413 and the connection is closed as soon as it passes the
 * limit), concurrent connections (more wait in the kernel's listen queue, unaccepted, until
 * one closes), an idle timeout per connection (a slow client that sends nothing for that long
 * is disconnected), and slow-client shedding (http_guard.h): a request's head must be whole
 * within head_timeout_s of the accept (or of the connection's previous request), its body
 * within body_timeout_s after; at most max_conns/2 connections per peer address and
 * max_conns - max_conns/8 in all may be waiting for their request, the oldest waiting one
 * being closed beyond either, so that a reserve of slots stays for whole requests. */
#ifndef EUNOMIA_HTTP_SERVER_H
#define EUNOMIA_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"

struct eu_http_server;
struct eu_http_req;
struct eu_http_stream;

struct eu_http_opts {
	size_t sz;
	size_t max_body;        /* bytes; 0: 16 MiB */
	unsigned max_conns;     /* per listener; 0: 64 */
	unsigned timeout_s;     /* idle time before a connection is closed; 0: 30 */
	unsigned heartbeat_s;   /* streams waiting for data send their heartbeat; 0: 15 */
	unsigned head_timeout_s; /* a request's head must arrive within; 0: 10 */
	unsigned body_timeout_s; /* and its body within this after the head; 0: 120 */
	const char *what;       /* what the server is, for its log lines; NULL: "API" */
};

/* The handler must answer exactly once: eu_http_reply*, or eu_http_reply_stream. One that
 * returns without answering gets a 500 sent for it. */
typedef void (*eu_http_handler)(void *ctx, struct eu_http_req *req);

int eu_http_server_new(uv_loop_t *loop, const struct eu_http_opts *opts,
		       struct eu_http_server **out, eu_error *err);
/* method NULL: any method. A path ending in '/' matches every path below it. Routes are
 * matched in the order added. */
int eu_http_server_route(struct eu_http_server *s, const char *method, const char *path,
			 eu_http_handler fn, void *ctx);
/* open: the route answers without the listener's bearer token (a health probe, which a
 * kubelet sends without credentials); it must reveal nothing a stranger may not know. */
int eu_http_server_route_ex(struct eu_http_server *s, const char *method, const char *path,
			    eu_http_handler fn, void *ctx, bool open);
/* token: NULL or "" for none (refused for TCP beyond loopback). */
int eu_http_server_listen(struct eu_http_server *s, const char *spec, const char *token,
			  eu_error *err);
/* The bound address of listener i as a spec ("tcp:127.0.0.1:43121"), e.g. after port 0. */
const char *eu_http_server_address(struct eu_http_server *s, size_t i);
size_t eu_http_server_listener_count(struct eu_http_server *s);
/* Ends open streams, closes the listeners (removing unix socket files) and frees. The loop
 * must run afterwards for the handles to close. */
void eu_http_server_close(struct eu_http_server *s);

/* Parses a listener spec; *is_loopback tells whether a tcp address is loopback (unix: true). */
int eu_http_spec_check(const char *spec, bool *is_loopback, eu_error *err);

/* --- requests --- */
const char *eu_http_req_method(struct eu_http_req *r);
/* The path, without the query string. */
const char *eu_http_req_path(struct eu_http_req *r);
/* A decoded query argument, or NULL. */
const char *eu_http_req_query(struct eu_http_req *r, const char *key);
const char *eu_http_req_header(struct eu_http_req *r, const char *name);
const void *eu_http_req_body(struct eu_http_req *r, size_t *len);
/* The part of the path after the route's prefix ("" for an exact route). */
const char *eu_http_req_rest(struct eu_http_req *r);

/* Answers later: the handler returns without an answer and calls eu_http_reply* afterwards
 * on the loop (when work on the thread pool is done). Until then the connection is
 * suspended and the request stays valid; if the client leaves meanwhile, the late answer is
 * dropped and frees the request. Read the query and headers before deferring: they are gone
 * with the client. Only for requests on a socket: -EINVAL for dispatched ones. */
int eu_http_req_defer(struct eu_http_req *r);
int eu_http_reply(struct eu_http_req *r, unsigned status, const char *content_type,
		  const void *body, size_t len);
/* A JSON body; a buffer that ran out of memory becomes a 500. */
int eu_http_reply_json(struct eu_http_req *r, unsigned status, const eu_buf *json);
int eu_http_reply_error(struct eu_http_req *r, unsigned status, const char *code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A streamed body (chunked). fill copies up to max bytes into buf and returns how many;
 * 0 means nothing yet: the connection is suspended until eu_http_stream_wake; -1 ends the
 * body. done is called once when the connection is finished (client gone, end, or server
 * closing); after it the stream pointer is invalid. heartbeat (may be NULL) is sent when the
 * stream has waited heartbeat_s: a suspended connection is not watched, so writing is how a
 * client that went away is noticed (and its connection slot freed). */
typedef ssize_t (*eu_http_stream_fill)(void *ctx, char *buf, size_t max);
typedef void (*eu_http_stream_done)(void *ctx);
int eu_http_reply_stream(struct eu_http_req *r, unsigned status, const char *content_type,
			 eu_http_stream_fill fill, eu_http_stream_done done, void *ctx,
			 const char *heartbeat, struct eu_http_stream **out);
void eu_http_stream_wake(struct eu_http_stream *st);

/* --- without sockets (tests, fuzzing) --- */
struct eu_http_result {
	unsigned status;
	eu_buf body;      /* a stream's body: what fill returned until it returned 0 or -1 */
	char content_type[64];
};
/* Runs route matching and the handler on a request made of these parts ("K: V" headers,
 * NULL-terminated; may be NULL) and records the answer. Streams are filled and ended at once. */
int eu_http_server_dispatch(struct eu_http_server *s, const char *method, const char *url,
			    const char *const *headers, const void *body, size_t len,
			    struct eu_http_result *out);
void eu_http_result_free(struct eu_http_result *res);

#endif
