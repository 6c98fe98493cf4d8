/* The HTTP server's insides, shared by its files (http_server.h is the interface):
 *
 *	http_server.c      the server: options, the lifetime of the whole
 *	http_listener.c    one listening socket: its libmicrohttpd daemon on the loop, its close
 *	http_connection.c  libmicrohttpd's callbacks: a request's head, body and end on a socket
 *	http_route.c       the route table, and whether a request may reach its handler
 *	http_request.c     what a handler reads of a request
 *	http_reply.c       answers, now or deferred, and the 413 for an oversized body
 *	http_stream.c      streamed answers and their heartbeat
 *	http_dispatch.c    a request without a socket (tests, fuzzing)
 *
 * Everything runs on the loop thread: nothing here takes a lock. */
#ifndef EUNOMIA_HTTP_SERVER_PRIV_H
#define EUNOMIA_HTTP_SERVER_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <microhttpd.h>

#include "http_guard.h"
#include "http_linger.h"
#include "http_server.h"

struct eu_http_route {
	char *method;
	char *path;
	size_t len;
	bool prefix;
	eu_http_handler fn;
	void *ctx;
	bool open;             /* answered without the listener's token */
};

struct eu_http_listener {
	struct eu_http_server *s;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_timer_t sweep;      /* sheds connections past their request deadlines */
	struct eu_http_guard *guard;
	int open_handles;
	char *token;
	char *unix_path;
	dev_t unix_dev;        /* the socket file we bound: removed at close only if still ours */
	ino_t unix_ino;
	unsigned conns;        /* open connections after the last run */
	char addr[160];
};

struct eu_http_stream {
	struct eu_http_stream *next, *prev;
	struct eu_http_server *s;
	struct eu_http_listener *l;
	struct MHD_Connection *conn;
	eu_http_stream_fill fill;
	eu_http_stream_done done;
	void *ctx;
	const char *heartbeat;
	bool suspended;
	bool closing;
	bool beat;             /* the heartbeat timer woke it */
};

struct eu_http_server {
	uv_loop_t *loop;
	size_t max_body;
	unsigned max_conns, timeout_s, heartbeat_s, head_timeout_s, body_timeout_s;
	const char *what; /* static, from the options */
	uv_timer_t beat;
	bool beat_init;
	struct eu_http_route *routes;
	size_t n_routes;
	struct eu_http_listener **ls;
	size_t n_ls;
	struct eu_http_stream *streams;
	struct eu_http_req *deferred; /* requests whose handler answers later */
	struct eu_http_linger_set lingers; /* sockets answered 413 mid-body, read to the end */
};

struct eu_http_req {
	struct eu_http_server *s;
	struct eu_http_listener *l;
	struct MHD_Connection *conn;     /* NULL when dispatched without a socket */
	struct eu_http_guard_conn *gc;   /* its connection's slow-client guard, or NULL */
	char *method;
	char *path;
	const char *rest;
	const struct eu_http_route *route;
	eu_buf body;
	bool answered;
	/* eu_http_req_defer: the connection is suspended until the answer; the answer waits in
	 * pending until MHD asks again; conn_gone when the client left meanwhile */
	bool deferred, conn_gone;
	struct eu_http_req *next_deferred;
	struct MHD_Response *pending;
	unsigned pending_status;
	/* dispatched without a socket */
	struct eu_http_result *res;
	const char *const *headers;
	char **qk, **qv;
	size_t nq;
};

/* Monotonic milliseconds, the clock of the slow-client guard's deadlines. */
static inline uint64_t eu_http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* http_request.c: a request of s (path_len bytes of path); NULL when out of memory. */
struct eu_http_req *eu_http_req_new(struct eu_http_server *s, const char *method,
				    const char *path, size_t path_len);
void eu_http_req_free(struct eu_http_req *r);

/* http_route.c: 0 with r->route set, or the status to answer (404, 405) */
unsigned eu_http_route_find(struct eu_http_req *r);
/* answers the status eu_http_route_find gave */
void eu_http_route_fail(struct eu_http_req *r, unsigned status);
/* runs r's handler; answers 500 for it when it neither answered nor deferred */
void eu_http_run_handler(struct eu_http_req *r);
/* whether r carries `Authorization: Bearer token` (compared in constant time) */
bool eu_http_token_ok(struct eu_http_req *r, const char *token);
/* whether r's Content-Length is over the server's max_body */
bool eu_http_body_too_big(struct eu_http_req *r);

/* http_reply.c: queues resp (status, content type) on r's connection; a deferred request's
 * answer waits for libmicrohttpd to ask again */
int eu_http_queue(struct eu_http_req *r, unsigned status, struct MHD_Response *resp,
		  const char *content_type);
/* the content type of a socketless answer */
void eu_http_result_type(struct eu_http_result *res, const char *content_type);
/* takes r off the server's list of deferred requests */
void eu_http_deferred_unlink(struct eu_http_req *r);
/* 413 before the body is read */
void eu_http_reply_too_big(struct eu_http_req *r);
/* 413 in the middle of the body: written to the socket directly; the caller drops the
 * connection */
void eu_http_reply_too_big_mid_body(struct eu_http_req *r);

/* http_stream.c: starts the server's heartbeat timer (s->beat) if it is not running: every
 * heartbeat_s it wakes the streams that wait for data */
void eu_http_heartbeat_start(struct eu_http_server *s);

/* http_connection.c: libmicrohttpd's callbacks (cls: the listener) */
enum MHD_Result eu_http_on_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls);
void eu_http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe);
void eu_http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			   enum MHD_ConnectionNotificationCode toe);
void eu_http_mhd_log(void *cls, const char *fmt, va_list ap);

/* http_listener.c: runs l's daemon again soon (on the loop's next turn) */
void eu_http_listener_kick(struct eu_http_listener *l);
/* stops l: open streams end, deferred requests are resumed to be closed, its unix socket
 * file is removed if it is still ours; l is freed once its handles have closed */
void eu_http_listener_close(struct eu_http_listener *l);

#endif
