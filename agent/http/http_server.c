/* libmicrohttpd on a libuv loop (http_server.h). */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/codec.h"
#include "eunomia/log.h"
#include "http_guard.h"
#include "http_linger.h"
#include "http_socket.h"

#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_CONNS 64
#define DEFAULT_TIMEOUT_S 30
#define STREAM_BLOCK 16384
#define DEFAULT_HEARTBEAT_S 15
#define DEFAULT_HEAD_TIMEOUT_S 10
#define DEFAULT_BODY_TIMEOUT_S 120
#define SWEEP_MS 500

struct route {
	char *method;
	char *path;
	size_t len;
	bool prefix;
	eu_http_handler fn;
	void *ctx;
	bool open;             /* answered without the listener's token */
};

struct listener {
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
	struct listener *l;
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
	struct route *routes;
	size_t n_routes;
	struct listener **ls;
	size_t n_ls;
	struct eu_http_stream *streams;
	struct eu_http_req *deferred; /* requests whose handler answers later */
	struct eu_http_linger_set lingers; /* sockets answered 413 mid-body, read to the end */
};

struct eu_http_req {
	struct eu_http_server *s;
	struct listener *l;
	struct MHD_Connection *conn;     /* NULL when dispatched without a socket */
	struct eu_http_guard_conn *gc;   /* its connection's slow-client guard, or NULL */
	char *method;
	char *path;
	const char *rest;
	const struct route *route;
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

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- requests --- */

static void req_free(struct eu_http_req *r)
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

static struct eu_http_req *req_new(struct eu_http_server *s, const char *method, const char *path,
				   size_t path_len)
{
	struct eu_http_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->s = s;
	eu_buf_init(&r->body);
	r->method = strdup(method ? method : "");
	r->path = strndup(path ? path : "", path ? path_len : 0);
	if (!r->method || !r->path) {
		req_free(r);
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

/* --- answers --- */

static void listener_kick(struct listener *l);

static void deferred_unlink(struct eu_http_req *r)
{
	if (!r->s)
		return;
	for (struct eu_http_req **p = &r->s->deferred; *p; p = &(*p)->next_deferred) {
		if (*p == r) {
			*p = r->next_deferred;
			break;
		}
	}
	r->next_deferred = NULL;
}

int eu_http_req_defer(struct eu_http_req *r)
{
	if (!r->conn || r->answered || r->deferred)
		return -EINVAL;
	r->deferred = true;
	r->next_deferred = r->s->deferred;
	r->s->deferred = r;
	MHD_suspend_connection(r->conn);
	return 0;
}

static int queue(struct eu_http_req *r, unsigned status, struct MHD_Response *resp,
		 const char *content_type)
{
	if (!resp)
		return -ENOMEM;
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == 405 && r->route && r->route->method)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->route->method);
	if (r->deferred) {
		/* MHD takes a response only inside its access callback: resume, answer there */
		deferred_unlink(r);
		r->pending = resp;
		r->pending_status = status;
		MHD_resume_connection(r->conn);
		listener_kick(r->l);
		return 0;
	}
	enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ok == MHD_YES ? 0 : -EIO;
}

static void result_type(struct eu_http_result *res, const char *content_type)
{
	snprintf(res->content_type, sizeof(res->content_type), "%s",
		 content_type ? content_type : "");
}

int eu_http_reply(struct eu_http_req *r, unsigned status, const char *content_type,
		  const void *body, size_t len)
{
	if (r->answered)
		return -EALREADY;
	if (r->conn_gone) { /* a deferred answer for a client that left: nobody to tell */
		req_free(r);
		return -EPIPE;
	}
	r->answered = true;
	if (!r->conn) {
		r->res->status = status;
		result_type(r->res, content_type);
		eu_buf_append(&r->res->body, body, len);
		return 0;
	}
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	return queue(r, status, resp, content_type);
}

int eu_http_reply_json(struct eu_http_req *r, unsigned status, const eu_buf *json)
{
	if (json->oom)
		return eu_http_reply_error(r, 500, "out_of_memory", "out of memory");
	return eu_http_reply(r, status, "application/json", json->data ? json->data : "",
			     json->len);
}

int eu_http_reply_error(struct eu_http_req *r, unsigned status, const char *code,
			const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "{\"error\":{\"code\":");
	eu_buf_json_string(&b, code, strlen(code));
	eu_buf_puts(&b, ",\"message\":");
	eu_buf_json_string(&b, msg, strlen(msg));
	eu_buf_puts(&b, "}}\n");
	int ret = b.oom ? eu_http_reply(r, status, "application/json", "{}", 2) :
			  eu_http_reply(r, status, "application/json", b.data, b.len);
	eu_buf_free(&b);
	return ret;
}

/* --- streams --- */

static void stream_unlink(struct eu_http_stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else if (st->s->streams == st)
		st->s->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->next = st->prev = NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct eu_http_stream *st = cls;
	if (st->closing)
		return MHD_CONTENT_READER_END_OF_STREAM;
	ssize_t n = st->fill(st->ctx, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n == 0 && st->beat && st->heartbeat && strlen(st->heartbeat) <= max) {
		n = (ssize_t)strlen(st->heartbeat);
		memcpy(buf, st->heartbeat, (size_t)n);
	}
	st->beat = false;
	if (n == 0 && !st->suspended) {
		/* nothing to send: park the connection until the producer wakes it, instead of
		 * being asked again on every turn of the loop */
		st->suspended = true;
		MHD_suspend_connection(st->conn);
	}
	return n;
}

static void stream_free(void *cls)
{
	struct eu_http_stream *st = cls;
	stream_unlink(st);
	if (st->done)
		st->done(st->ctx);
	free(st);
}


void eu_http_stream_wake(struct eu_http_stream *st)
{
	if (!st || !st->suspended || !st->conn)
		return;
	st->suspended = false;
	MHD_resume_connection(st->conn);
	listener_kick(st->l);
}

int eu_http_reply_stream(struct eu_http_req *r, unsigned status, const char *content_type,
			 eu_http_stream_fill fill, eu_http_stream_done done, void *ctx,
			 const char *heartbeat, struct eu_http_stream **out)
{
	if (out)
		*out = NULL;
	if (r->answered)
		return -EALREADY;
	if (!r->conn) {
		/* without a socket: what is there now, then the end */
		r->answered = true;
		r->res->status = status;
		result_type(r->res, content_type);
		char buf[4096];
		ssize_t n;
		size_t total = 0;
		while ((n = fill(ctx, buf, sizeof(buf))) > 0 && total < (64u << 20)) {
			eu_buf_append(&r->res->body, buf, (size_t)n);
			total += (size_t)n;
		}
		if (done)
			done(ctx);
		return 0;
	}
	struct eu_http_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->s = r->s;
	st->l = r->l;
	st->conn = r->conn;
	st->fill = fill;
	st->done = done;
	st->ctx = ctx;
	st->heartbeat = heartbeat;
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
								      stream_read, st, stream_free);
	if (!resp) {
		free(st);
		return -ENOMEM;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	st->next = r->s->streams;
	if (st->next)
		st->next->prev = st;
	r->s->streams = st;
	r->answered = true;
	if (out)
		*out = st;
	/* on failure the response is destroyed, which calls stream_free (and done) */
	return queue(r, status, resp, content_type);
}

/* --- routing --- */

static bool path_matches(const struct route *rt, const char *path, const char **rest)
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
static unsigned route_find(struct eu_http_req *r)
{
	const struct route *other = NULL;
	for (size_t i = 0; i < r->s->n_routes; i++) {
		const struct route *rt = &r->s->routes[i];
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

static void route_fail(struct eu_http_req *r, unsigned status)
{
	if (status == 405)
		eu_http_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s",
				    r->method, r->path);
	else
		eu_http_reply_error(r, 404, "not_found", "no such endpoint: %s %s", r->method,
				    r->path);
	r->route = NULL;
}

static void run_handler(struct eu_http_req *r)
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
	struct route *n = realloc(s->routes, (s->n_routes + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->routes = n;
	struct route *rt = &n[s->n_routes];
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

/* --- libmicrohttpd callbacks --- */

static bool token_ok(struct eu_http_req *r, const char *token)
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

static bool body_too_big(struct eu_http_req *r)
{
	const char *cl = eu_http_req_header(r, "Content-Length");
	if (!cl)
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	return errno == ERANGE || n > r->s->max_body;
}

static void reply_too_big(struct eu_http_req *r)
{
	eu_http_reply_error(r, 413, "body_too_large", "the request body is larger than %zu bytes",
			    r->s->max_body);
}

/* Over the limit in the middle of a body (a chunked one has no Content-Length to refuse up
 * front): libmicrohttpd takes no reply once the body is being received, so the 413 is written
 * to the socket here, the sending side shut (the client sees the answer and the end), and the
 * caller drops the connection instead of keeping the rest. A duplicate of the socket lingers
 * (http_linger.h), so the client reads the 413 rather than a reset. */
static void reply_too_big_mid_body(struct eu_http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	r->answered = true;
	if (!ci)
		return;
	char body[160], msg[400];
	int bl = snprintf(body, sizeof(body),
			  "{\"error\":{\"code\":\"body_too_large\",\"message\":\"the request body "
			  "is larger than %zu bytes\"}}\n",
			  r->s->max_body);
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
			 bl, body);
	/* a few hundred bytes into an empty send buffer: one non-blocking send is enough */
	if (send(ci->connect_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n &&
	    !shutdown(ci->connect_fd, SHUT_WR))
		eu_http_linger_start(&r->s->lingers, fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0));
	eu_log(EU_LOG_DEBUG, "http %s: request body over %zu bytes: answered 413, connection "
	       "closed", r->l->addr, r->s->max_body);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct eu_http_req *r = *con_cls;
	unsigned st;
	if (!r) {
		r = req_new(l->s, method, url, strlen(url));
		if (!r)
			return MHD_NO;
		r->l = l;
		r->conn = conn;
		*con_cls = r;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		r->gc = ci ? ci->socket_context : NULL;
		eu_http_guard_head(r->gc, mono_ms());
		st = route_find(r);
		if (l->token && !(r->route && r->route->open && !st) && !token_ok(r, l->token)) {
			r->route = NULL;
			eu_http_reply_error(r, 401, "unauthorized",
					    "this listener needs Authorization: Bearer TOKEN");
		} else if (st)
			route_fail(r, st);
		else if (body_too_big(r))
			reply_too_big(r);
		if (r->answered)
			eu_http_guard_handled(r->gc);
		return MHD_YES;
	}
	if (r->pending) { /* a deferred answer, back on the resumed connection */
		enum MHD_Result ok = MHD_queue_response(conn, r->pending_status, r->pending);
		MHD_destroy_response(r->pending);
		r->pending = NULL;
		r->deferred = false;
		return ok;
	}
	if (r->deferred) /* resumed only to be closed (the server stops) */
		return MHD_YES;
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->answered)
			return MHD_YES;
		if (r->body.len + n > r->s->max_body) {
			reply_too_big_mid_body(r);
			return MHD_NO;
		}
		eu_buf_append(&r->body, upload, n);
		return r->body.oom ? MHD_NO : MHD_YES;
	}
	if (!r->answered)
		run_handler(r);
	eu_http_guard_handled(r->gc);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct eu_http_req *r = *con_cls;
	if (r && r->deferred && !r->pending) {
		/* its handler still answers later: the request lives on, detached, and is freed
		 * then (the server may be gone by that time) */
		deferred_unlink(r);
		r->conn_gone = true;
		r->conn = NULL;
		r->s = NULL;
		r->l = NULL;
		r->gc = NULL;
		*con_cls = NULL;
		return;
	}
	/* the connection may carry another request: its head has a deadline again */
	if (r && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		eu_http_guard_request_done(r->gc, mono_ms());
	req_free(r);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		eu_http_guard_closed(*socket_context);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fd =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *sa =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	*socket_context = fd && l->guard ? eu_http_guard_opened(l->guard, fd->connect_fd,
								 sa ? sa->client_addr : NULL,
								 mono_ms()) :
					   NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct listener *l = cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	eu_log(EU_LOG_DEBUG, "http %s: %s", l->addr, msg);
}

/* --- the loop --- */

static void on_timer(uv_timer_t *t);

static void listener_run(struct listener *l)
{
	if (!l->mhd)
		return;
	MHD_run(l->mhd);
	/* At the connection limit libmicrohttpd takes its listening socket out of its epoll set;
	 * it puts it back only at the start of a later run, after a close has freed a slot. With
	 * nothing else to wake us, a connection waiting in the listen queue would wait for the
	 * next idle timeout: run again at once when the count went down. */
	const union MHD_DaemonInfo *ci =
		MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	unsigned conns = ci ? ci->num_connections : 0;
	bool freed = conns < l->conns;
	l->conns = conns;
	MHD_UNSIGNED_LONG_LONG ms;
	if (freed)
		uv_timer_start(&l->timer, on_timer, 0, 0);
	else if (MHD_get_timeout(l->mhd, &ms) == MHD_YES)
		uv_timer_start(&l->timer, on_timer, ms > 3600000 ? 3600000 : (uint64_t)ms, 0);
	else
		uv_timer_stop(&l->timer);
}

static void on_timer(uv_timer_t *t)
{
	listener_run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	listener_run(p->data);
}

static void listener_kick(struct listener *l)
{
	if (l && l->mhd)
		uv_timer_start(&l->timer, on_timer, 0, 0);
}

static void on_sweep(uv_timer_t *t)
{
	struct listener *l = t->data;
	if (l->guard && eu_http_guard_sweep(l->guard, mono_ms()))
		listener_kick(l);
}

static void on_beat(uv_timer_t *t)
{
	struct eu_http_server *s = t->data;
	for (struct eu_http_stream *st = s->streams; st; st = st->next) {
		if (st->suspended) {
			st->beat = true;
			eu_http_stream_wake(st);
		}
	}
}

/* --- listeners --- */

static void describe(struct listener *l, int fd, const struct eu_http_spec *sp)
{
	if (sp->is_unix) {
		snprintf(l->addr, sizeof(l->addr), "unix:%s", sp->path);
		return;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (!getsockname(fd, (struct sockaddr *)&ss, &len)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(l->addr, sizeof(l->addr), ss.ss_family == AF_INET6 ? "tcp:[%s]:%u" : "tcp:%s:%u",
		 host, port);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct listener *l = h->data;
	if (--l->open_handles == 0)
		free(l);
}

static void listener_close(struct listener *l)
{
	if (l->mhd) {
		/* a suspended connection must be resumed before the daemon stops */
		for (struct eu_http_stream *st = l->s->streams; st; st = st->next) {
			if (st->l != l)
				continue;
			st->closing = true;
			if (st->suspended) {
				st->suspended = false;
				MHD_resume_connection(st->conn);
			}
		}
		for (struct eu_http_req *r = l->s->deferred; r; r = r->next_deferred)
			if (r->l == l)
				MHD_resume_connection(r->conn);
		MHD_run(l->mhd);
	}
	if (l->open_handles) {
		uv_close((uv_handle_t *)&l->poll, on_handle_closed);
		uv_close((uv_handle_t *)&l->timer, on_handle_closed);
		uv_close((uv_handle_t *)&l->sweep, on_handle_closed);
	}
	if (l->mhd)
		MHD_stop_daemon(l->mhd);
	l->mhd = NULL;
	/* after the daemon: stopping it reports its last connections closed */
	eu_http_guard_free(l->guard);
	l->guard = NULL;
	struct stat st;
	if (l->unix_path && !lstat(l->unix_path, &st) && st.st_dev == l->unix_dev &&
	    st.st_ino == l->unix_ino)
		unlink(l->unix_path);
	free(l->unix_path);
	free(l->token);
	l->unix_path = l->token = NULL;
	if (!l->open_handles)
		free(l);
}

int eu_http_server_listen(struct eu_http_server *s, const char *spec, const char *token,
			  eu_error *err)
{
	struct eu_http_spec sp;
	int ret = eu_http_spec_parse(spec, &sp, err);
	if (ret)
		return ret;
	if (token && !*token)
		token = NULL;
	if (!sp.is_unix && !token && !eu_http_addr_loopback((struct sockaddr *)&sp.sa))
		return eu_error_set(err, -EPERM,
				    "listener '%s': not a loopback address: a bearer token is required "
				    "(--api-token-file FILE)", spec);
	struct listener **ls = realloc(s->ls, (s->n_ls + 1) * sizeof(*ls));
	if (!ls)
		return eu_error_set(err, -ENOMEM, "out of memory");
	s->ls = ls;
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return eu_error_set(err, -ENOMEM, "out of memory");
	l->s = s;
	if ((token && !(l->token = strdup(token))) ||
	    (sp.is_unix && !(l->unix_path = strdup(sp.path)))) {
		listener_close(l);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	int fd = eu_http_socket_open(spec, &sp, err);
	if (fd < 0) {
		free(l->unix_path);
		l->unix_path = NULL;
		listener_close(l);
		return fd;
	}
	describe(l, fd, &sp);
	struct stat st;
	if (sp.is_unix && !lstat(sp.path, &st)) {
		l->unix_dev = st.st_dev;
		l->unix_ino = st.st_ino;
	}
	/* a reserve of slots slow clients cannot take (http_guard.h) */
	unsigned reserve = s->max_conns / 8 ? s->max_conns / 8 : 1;
	struct eu_http_guard_limits lim = {
		.head_s = s->head_timeout_s, .body_s = s->body_timeout_s,
		.per_addr = s->max_conns / 2 ? s->max_conns / 2 : 1,
		.max_waiting = s->max_conns > reserve ? s->max_conns - reserve : 1};
	if (!(l->guard = eu_http_guard_new(&lim, l->addr))) {
		close(fd);
		listener_close(l);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
				  NULL, NULL, on_access, l,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, s->max_conns,
				  MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
				  MHD_OPTION_END);
	if (!l->mhd) {
		close(fd);
		listener_close(l);
		return eu_error_set(err, -EIO, "listener '%s': libmicrohttpd did not start", spec);
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || (ret = uv_poll_init(s->loop, &l->poll, info->epoll_fd))) {
		listener_close(l);
		return eu_error_set(err, -EIO, "listener '%s': cannot poll libmicrohttpd's epoll fd",
				    spec);
	}
	uv_timer_init(s->loop, &l->timer);
	uv_timer_init(s->loop, &l->sweep);
	l->poll.data = l->timer.data = l->sweep.data = l;
	l->open_handles = 3;
	uv_poll_start(&l->poll, UV_READABLE, on_poll);
	uv_timer_start(&l->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	/* the sweep alone must not keep a loop alive that has nothing else to do */
	uv_unref((uv_handle_t *)&l->sweep);
	s->ls[s->n_ls++] = l;
	if (!s->beat_init) {
		uv_timer_init(s->loop, &s->beat);
		s->beat.data = s;
		s->beat_init = true;
		uint64_t ms = (uint64_t)s->heartbeat_s * 1000;
		uv_timer_start(&s->beat, on_beat, ms, ms);
	}
	listener_run(l);
	eu_log(EU_LOG_INFO, "%s listening on %s%s", s->what, l->addr,
	       l->token ? " (bearer token)" : "");
	return 0;
}

const char *eu_http_server_address(struct eu_http_server *s, size_t i)
{
	return i < s->n_ls ? s->ls[i]->addr : NULL;
}

size_t eu_http_server_listener_count(struct eu_http_server *s)
{
	return s->n_ls;
}

int eu_http_server_new(uv_loop_t *loop, const struct eu_http_opts *opts,
		       struct eu_http_server **out, eu_error *err)
{
	*out = NULL;
	struct eu_http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return eu_error_set(err, -ENOMEM, "out of memory");
	s->loop = loop;
	s->lingers.loop = loop;
	s->max_body = opts && opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
	s->max_conns = opts && opts->max_conns ? opts->max_conns : DEFAULT_MAX_CONNS;
	s->timeout_s = opts && opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S;
	s->heartbeat_s = opts && opts->heartbeat_s ? opts->heartbeat_s : DEFAULT_HEARTBEAT_S;
	s->what = opts && opts->what ? opts->what : "API";
	s->head_timeout_s = opts && opts->head_timeout_s ? opts->head_timeout_s :
							    DEFAULT_HEAD_TIMEOUT_S;
	s->body_timeout_s = opts && opts->body_timeout_s ? opts->body_timeout_s :
							    DEFAULT_BODY_TIMEOUT_S;
	*out = s;
	return 0;
}

static void on_beat_closed(uv_handle_t *h)
{
	free(h->data);
}

void eu_http_server_close(struct eu_http_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ls; i++)
		listener_close(s->ls[i]);
	free(s->ls);
	eu_http_linger_stop_all(&s->lingers);
	for (size_t i = 0; i < s->n_routes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].path);
	}
	free(s->routes);
	/* the timer handle lives in s: freed once closed */
	if (s->beat_init)
		uv_close((uv_handle_t *)&s->beat, on_beat_closed);
	else
		free(s);
}

/* --- without sockets --- */

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
	struct eu_http_req *r = req_new(s, method, url, q ? (size_t)(q - url) : strlen(url));
	if (!r)
		return -ENOMEM;
	r->res = out;
	r->headers = headers;
	if (q && parse_query(r, q + 1)) {
		req_free(r);
		return -ENOMEM;
	}
	unsigned st = route_find(r);
	if (st) {
		route_fail(r, st);
	} else if (body_too_big(r) || len > s->max_body) {
		reply_too_big(r);
	} else {
		eu_buf_append(&r->body, body, len);
		run_handler(r);
	}
	req_free(r);
	return 0;
}

void eu_http_result_free(struct eu_http_result *res)
{
	eu_buf_free(&res->body);
}
