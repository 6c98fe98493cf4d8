/* Keeps slow clients from holding a listener's connection slots (slowloris), for
 * http_server.c, independent of libmicrohttpd: it sees connections as sockets and the phases
 * of their requests.
 *
 * A connection is "waiting" from its accept (or the end of its previous request) until its
 * request has been handled; handled ones (answers being sent, event streams) are left alone.
 * Rules, for waiting connections only:
 *  - a deadline: the request head must be complete within head_s, its body within body_s
 *    after the head;
 *  - at most per_addr waiting connections from one TCP peer address;
 *  - at most max_waiting waiting connections in all (the listener's limit minus a reserve, so
 *    that a few slots are always free or serving requests that arrived whole: /healthz and
 *    authenticated requests get through while slow clients are being shed).
 * Over a cap, the OLDEST waiting connection is closed, not the new one: a client that sends
 * its request at once is never the oldest, so it is served, and a slow one cannot keep its
 * slots by refusing to finish. Closing is shutdown(2) of the socket: the HTTP library sees
 * the end of the stream and drops the connection on its next run. */
#ifndef EUNOMIA_HTTP_GUARD_H
#define EUNOMIA_HTTP_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct eu_http_guard;
struct eu_http_guard_conn;

struct eu_http_guard_limits {
	unsigned head_s;      /* request head deadline */
	unsigned body_s;      /* request body deadline, after the head */
	unsigned per_addr;    /* waiting connections per TCP peer address */
	unsigned max_waiting; /* waiting connections in all */
};

/* name: for log lines ("tcp:127.0.0.1:8080"); kept by pointer. NULL on out of memory. */
struct eu_http_guard *eu_http_guard_new(const struct eu_http_guard_limits *lim,
					const char *name);
void eu_http_guard_free(struct eu_http_guard *g);

/* A connection was accepted (sa: its peer, may be NULL). Applies the caps, closing the oldest
 * waiting connections over them. NULL on out of memory (the connection is then unguarded). */
struct eu_http_guard_conn *eu_http_guard_opened(struct eu_http_guard *g, int fd,
						const struct sockaddr *sa, uint64_t now_ms);
/* The request head is complete: from now on the body deadline applies. */
void eu_http_guard_head(struct eu_http_guard_conn *c, uint64_t now_ms);
/* The request was answered (or is streaming): no deadline until it ends. */
void eu_http_guard_handled(struct eu_http_guard_conn *c);
/* The request ended; the connection may carry another one: waiting again. */
void eu_http_guard_request_done(struct eu_http_guard_conn *c, uint64_t now_ms);
void eu_http_guard_closed(struct eu_http_guard_conn *c);

/* Closes waiting connections past their deadline; the number closed. */
unsigned eu_http_guard_sweep(struct eu_http_guard *g, uint64_t now_ms);
/* Waiting connections now (tests). */
unsigned eu_http_guard_waiting(const struct eu_http_guard *g);

#endif
