/* The HTTP server module on a real libuv loop (in a thread), spoken to with libcurl over a
 * unix socket and TCP: routing, errors, limits, tokens, slow clients, streams. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "eu_http_client.h"
#include "http/http_server.h"

struct srv {
	uv_loop_t loop;
	uv_async_t stop;
	uv_async_t produce;
	uv_timer_t tick;
	struct eu_http_server *s;
	pthread_t th;
	char dir[64];
	char sock[128];
	char tcp[160];
	/* the stream under test */
	struct eu_http_stream *st;
	int produced, sent;
	bool ended;
	/* the deferred answer under test */
	uv_timer_t later;
	struct eu_http_req *deferred;
	int late_answers;
};

static void on_stop(uv_async_t *a)
{
	struct srv *v = a->data;
	eu_http_server_close(v->s);
	v->s = NULL;
	/* a deferred request outlives its server: the late answer only frees it */
	if (v->deferred) {
		cr_expect_eq(eu_http_reply(v->deferred, 200, "text/plain", "late", 4), -EPIPE);
		v->deferred = NULL;
	}
	uv_close((uv_handle_t *)&v->later, NULL);
	uv_close((uv_handle_t *)&v->stop, NULL);
	uv_close((uv_handle_t *)&v->produce, NULL);
	uv_close((uv_handle_t *)&v->tick, NULL);
}

static void *loop_main(void *arg)
{
	struct srv *v = arg;
	uv_run(&v->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void h_hello(void *ctx, struct eu_http_req *r)
{
	const char *who = eu_http_req_query(r, "who");
	char msg[128];
	snprintf(msg, sizeof(msg), "hello %s", who ? who : "nobody");
	eu_http_reply(r, 200, "text/plain", msg, strlen(msg));
}

static void h_echo(void *ctx, struct eu_http_req *r)
{
	size_t n;
	const void *b = eu_http_req_body(r, &n);
	eu_http_reply(r, 201, "application/octet-stream", b, n);
}

static void h_silent(void *ctx, struct eu_http_req *r)
{
}

/* 32 MiB: more than the socket buffers hold, so an unread answer keeps its connection busy */
static void h_big(void *ctx, struct eu_http_req *r)
{
	size_t n = 32u << 20;
	char *b = calloc(1, n);
	eu_http_reply(r, 200, "application/octet-stream", b, b ? n : 0);
	free(b);
}

/* A stream of "line N\n" up to 5 lines, fed by a timer on the loop (so the connection is
 * suspended and woken in between). */
static ssize_t s_fill(void *ctx, char *buf, size_t max)
{
	struct srv *v = ctx;
	if (v->sent < v->produced)
		return snprintf(buf, max, "line %d\n", v->sent++);
	return v->sent >= 5 ? -1 : 0;
}

static void s_done(void *ctx)
{
	struct srv *v = ctx;
	v->st = NULL;
	v->ended = true;
}

static void on_tick(uv_timer_t *t)
{
	struct srv *v = t->data;
	if (v->produced < 5)
		v->produced++;
	else
		uv_timer_stop(t);
	eu_http_stream_wake(v->st);
}

static void h_stream(void *ctx, struct eu_http_req *r)
{
	struct srv *v = ctx;
	v->produced = v->sent = 0;
	eu_http_reply_stream(r, 200, "application/x-ndjson", s_fill, s_done, v, NULL, &v->st);
	uv_timer_start(&v->tick, on_tick, 20, 20);
}

/* the same stream, one line every 1.5 s: longer than a 1 s idle timeout */
static void h_slow_stream(void *ctx, struct eu_http_req *r)
{
	struct srv *v = ctx;
	v->produced = v->sent = 0;
	eu_http_reply_stream(r, 200, "application/x-ndjson", s_fill, s_done, v, NULL, &v->st);
	uv_timer_start(&v->tick, on_tick, 1500, 1500);
}

/* never produces: only heartbeats, until the client goes away */
static ssize_t never_fill(void *ctx, char *buf, size_t max)
{
	return 0;
}

static void h_forever(void *ctx, struct eu_http_req *r)
{
	struct srv *v = ctx;
	eu_http_reply_stream(r, 200, "text/plain", never_fill, s_done, v, "hb\n", &v->st);
}

static void on_later(uv_timer_t *t)
{
	struct srv *v = t->data;
	if (!v->deferred)
		return;
	int ret = eu_http_reply(v->deferred, 200, "text/plain", "later", 5);
	v->deferred = NULL;
	if (!ret)
		v->late_answers++;
}

/* answers 2 s later, from a timer: as a pull on the thread pool would */
static void h_later(void *ctx, struct eu_http_req *r)
{
	struct srv *v = ctx;
	cr_assert_eq(eu_http_req_defer(r), 0);
	v->deferred = r;
	uv_timer_start(&v->later, on_later, 2000, 0);
}

static void srv_start(struct srv *v, const struct eu_http_opts *o, const char *token)
{
	memset(v, 0, sizeof(*v));
	strcpy(v->dir, "/tmp/eu-http-XXXXXX");
	cr_assert(mkdtemp(v->dir));
	snprintf(v->sock, sizeof(v->sock), "%s/run/api.sock", v->dir);
	cr_assert_eq(uv_loop_init(&v->loop), 0);
	uv_async_init(&v->loop, &v->stop, on_stop);
	uv_async_init(&v->loop, &v->produce, NULL);
	uv_timer_init(&v->loop, &v->tick);
	uv_timer_init(&v->loop, &v->later);
	v->stop.data = v->tick.data = v->later.data = v;
	eu_error err = {0};
	cr_assert_eq(eu_http_server_new(&v->loop, o, &v->s, &err), 0);
	cr_assert_eq(eu_http_server_route(v->s, "GET", "/hello", h_hello, v), 0);
	cr_assert_eq(eu_http_server_route(v->s, "POST", "/echo", h_echo, v), 0);
	cr_assert_eq(eu_http_server_route(v->s, "GET", "/silent", h_silent, v), 0);
	cr_assert_eq(eu_http_server_route(v->s, "GET", "/big", h_big, v), 0);
	cr_assert_eq(eu_http_server_route(v->s, "GET", "/stream", h_stream, v), 0);
	cr_assert_eq(eu_http_server_route(v->s, "GET", "/slowstream", h_slow_stream, v), 0);
	cr_assert_eq(eu_http_server_route(v->s, "GET", "/forever", h_forever, v), 0);
	cr_assert_eq(eu_http_server_route(v->s, "GET", "/later", h_later, v), 0);
	char spec[160];
	snprintf(spec, sizeof(spec), "unix:%s", v->sock);
	cr_assert_eq(eu_http_server_listen(v->s, spec, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_http_server_listen(v->s, "tcp:127.0.0.1:0", token, &err), 0, "%s", err.msg);
	snprintf(v->tcp, sizeof(v->tcp), "%s", eu_http_server_address(v->s, 1));
	cr_assert_eq(strncmp(v->tcp, "tcp:127.0.0.1:", 14), 0, "%s", v->tcp);
	cr_assert_eq(pthread_create(&v->th, NULL, loop_main, v), 0);
}

static void srv_stop(struct srv *v)
{
	uv_async_send(&v->stop);
	pthread_join(v->th, NULL);
	uv_loop_close(&v->loop);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", v->dir);
	cr_assert_eq(system(cmd), 0);
}

/* unix: socket path or NULL for the TCP listener. */
static struct eu_http_resp request(struct srv *v, bool use_unix, const char *method,
				   const char *path, const char *body, size_t len,
				   const char *auth)
{
	char url[256];
	snprintf(url, sizeof(url), "http://%s%s", use_unix ? "localhost" : v->tcp + 4, path);
	struct eu_http_call call = {.unix_socket = use_unix ? v->sock : NULL,
				    .method = method,
				    .body = body,
				    .len = len,
				    .headers = (const char *const[]){auth, NULL},
				    .timeout_ms = 60000};
	return eu_http_request(url, &call);
}

static void error_code_is(const struct eu_http_resp *r, const char *code)
{
	cJSON *j = cJSON_Parse(r->body);
	cr_assert(j, "not JSON: %s", r->body);
	cJSON *e = cJSON_GetObjectItem(j, "error");
	cr_assert(cJSON_IsObject(e), "%s", r->body);
	cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")), code);
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
	cJSON_Delete(j);
}

Test(http_server, routes_and_errors_over_unix_and_tcp)
{
	struct srv v;
	srv_start(&v, NULL, NULL);
	struct stat st;
	cr_assert_eq(stat(v.sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	for (int u = 0; u < 2; u++) {
		struct eu_http_resp r = request(&v, u, "GET", "/hello?who=a%20b", NULL, 0, NULL);
		cr_assert_eq(r.status, 200);
		cr_assert_str_eq(r.body, "hello a b");
		free(r.body);
		r = request(&v, u, "GET", "/nope", NULL, 0, NULL);
		cr_assert_eq(r.status, 404);
		error_code_is(&r, "not_found");
		free(r.body);
		r = request(&v, u, "DELETE", "/hello", NULL, 0, NULL);
		cr_assert_eq(r.status, 405);
		error_code_is(&r, "method_not_allowed");
		free(r.body);
		r = request(&v, u, "POST", "/echo", "abc\0def", 7, NULL);
		cr_assert_eq(r.status, 201);
		cr_assert_eq(r.len, 7);
		cr_assert_eq(memcmp(r.body, "abc\0def", 7), 0);
		free(r.body);
		r = request(&v, u, "GET", "/silent", NULL, 0, NULL);
		cr_assert_eq(r.status, 500);
		error_code_is(&r, "internal");
		free(r.body);
	}
	srv_stop(&v);
	cr_assert_neq(stat(v.sock, &st), 0, "the socket file is removed at close");
}

Test(http_server, body_limit_413)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o), .max_body = 1000};
	srv_start(&v, &o, NULL);
	char *big = malloc(5000);
	memset(big, 'x', 5000);
	struct eu_http_resp r = request(&v, true, "POST", "/echo", big, 5000, NULL);
	cr_assert_eq(r.status, 413, "status %ld", r.status);
	error_code_is(&r, "body_too_large");
	free(r.body);
	r = request(&v, true, "POST", "/echo", big, 1000, NULL);
	cr_assert_eq(r.status, 201);
	cr_assert_eq(r.len, 1000);
	free(r.body);
	free(big);
	srv_stop(&v);
}

Test(http_server, bearer_token)
{
	struct srv v;
	srv_start(&v, NULL, "s3cret");
	struct eu_http_resp r = request(&v, false, "GET", "/hello", NULL, 0, NULL);
	cr_assert_eq(r.status, 401);
	error_code_is(&r, "unauthorized");
	free(r.body);
	r = request(&v, false, "GET", "/hello", NULL, 0, "Authorization: Bearer wrong");
	cr_assert_eq(r.status, 401);
	free(r.body);
	r = request(&v, false, "GET", "/hello", NULL, 0, "Authorization: Bearer s3cret");
	cr_assert_eq(r.status, 200);
	free(r.body);
	/* the unix listener has no token */
	r = request(&v, true, "GET", "/hello", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	free(r.body);
	srv_stop(&v);
}

Test(http_server, non_loopback_needs_token)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct eu_http_server *s;
	eu_error err = {0};
	cr_assert_eq(eu_http_server_new(&loop, NULL, &s, &err), 0);
	cr_assert_eq(eu_http_server_listen(s, "tcp:0.0.0.0:0", NULL, &err), -EPERM);
	cr_assert(strstr(err.msg, "token"), "%s", err.msg);
	cr_assert_eq(eu_http_server_listen(s, "bogus", NULL, &err), -EINVAL);
	cr_assert_eq(eu_http_server_listen(s, "tcp:0.0.0.0:0", "tok", &err), 0, "%s", err.msg);
	bool lo = true;
	cr_assert_eq(eu_http_spec_check("tcp:[::1]:80", &lo, &err), 0);
	cr_assert(lo);
	cr_assert_eq(eu_http_spec_check("tcp:10.1.2.3:80", &lo, &err), 0);
	cr_assert(!lo);
	eu_http_server_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

Test(http_server, slow_client_is_disconnected)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o), .timeout_s = 1};
	srv_start(&v, &o, NULL);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, v.sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	const char *part = "GET /hello HTTP/1.1\r\nHost: x\r\n";
	cr_assert_eq(write(fd, part, strlen(part)), (ssize_t)strlen(part));
	/* never finishes the headers: the server must hang up on its own */
	long long deadline = now_ms() + 30000;
	bool closed = false;
	while (!closed && now_ms() < deadline) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 500) > 0) {
			char buf[256];
			ssize_t n = read(fd, buf, sizeof(buf));
			closed = n <= 0;
		}
	}
	close(fd);
	cr_assert(closed, "the slow connection was not closed");
	/* and the server still answers others */
	struct eu_http_resp r = request(&v, true, "GET", "/hello", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	free(r.body);
	srv_stop(&v);
}

/* A unix connection to v with part of a request written, left open. */
static int half_open(struct srv *v)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, v->sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	const char *part = "GET /hello HTTP/1.1\r\n";
	cr_assert_eq(write(fd, part, strlen(part)), (ssize_t)strlen(part));
	return fd;
}

/* Whether the server hangs up on fd within ms. */
static bool hung_up(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return false;
	char buf[256];
	return read(fd, buf, sizeof(buf)) <= 0;
}

/* A unix connection to v with a whole request for a big answer (a handled request: the
 * slow-client rules leave it alone), its answer unread. */
static int big_open(struct srv *v)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, v->sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	const char *req = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

/* Over the limit, a connection waits in the kernel's listen queue (libmicrohttpd stops
 * accepting) and is served once a slot is free; the server holds no state for it meanwhile. */
Test(http_server, connection_limit)
{
	struct srv v;
	/* the slots are held by answers too big for the socket buffers, unread */
	struct eu_http_opts o = {.sz = sizeof(o), .max_conns = 2};
	srv_start(&v, &o, NULL);
	/* one after the other: two connections still waiting for their requests would be one
	 * over the slow-client cap (max_conns - 1) */
	int a = big_open(&v);
	usleep(200 * 1000);
	int b = big_open(&v);
	usleep(200 * 1000);
	int c = half_open(&v);
	const char *rest = "Host: x\r\nConnection: close\r\n\r\n";
	cr_assert_eq(write(c, rest, strlen(rest)), (ssize_t)strlen(rest));
	struct pollfd p = {.fd = c, .events = POLLIN};
	cr_assert_eq(poll(&p, 1, 300), 0, "a connection over the limit was served or dropped");
	cr_assert_not(hung_up(a, 10), "a connection within the limit was dropped");
	close(a);
	char buf[512] = {0};
	size_t got = 0;
	for (long long end = now_ms() + 5000; now_ms() < end && got < sizeof(buf) - 1;) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	cr_assert(strstr(buf, "HTTP/1.1 200"), "the queued connection was not served: '%s'", buf);
	cr_assert(strstr(buf, "hello"), "%s", buf);
	close(b);
	close(c);
	srv_stop(&v);
}

Test(http_server, stream_with_suspend_and_wake)
{
	struct srv v;
	srv_start(&v, NULL, NULL);
	struct eu_http_resp r = request(&v, true, "GET", "/stream", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "line 0\nline 1\nline 2\nline 3\nline 4\n");
	free(r.body);
	srv_stop(&v);
	cr_assert(v.ended);
}

Test(http_server, dispatch_without_sockets)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct eu_http_server *s;
	eu_error err = {0};
	struct eu_http_opts o = {.sz = sizeof(o), .max_body = 10};
	cr_assert_eq(eu_http_server_new(&loop, &o, &s, &err), 0);
	eu_http_server_route(s, "GET", "/hello", h_hello, NULL);
	eu_http_server_route(s, "POST", "/echo", h_echo, NULL);
	struct eu_http_result res;
	cr_assert_eq(eu_http_server_dispatch(s, "GET", "/hello?who=x+y&z", NULL, NULL, 0, &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_str_eq(res.body.data, "hello x y");
	eu_http_result_free(&res);
	eu_http_server_dispatch(s, "POST", "/echo", NULL, "0123456789ab", 12, &res);
	cr_assert_eq(res.status, 413);
	eu_http_result_free(&res);
	eu_http_server_dispatch(s, "PUT", "/echo", NULL, NULL, 0, &res);
	cr_assert_eq(res.status, 405);
	eu_http_result_free(&res);
	eu_http_server_close(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
}

/* A stream waiting for its producer is not an idle client: the timeout does not cut it. */
Test(http_server, quiet_stream_outlives_the_idle_timeout)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o), .timeout_s = 1};
	srv_start(&v, &o, NULL);
	struct eu_http_resp r = request(&v, true, "GET", "/slowstream", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "line 0\nline 1\nline 2\nline 3\nline 4\n");
	free(r.body);
	srv_stop(&v);
}

/* A quiet stream sends heartbeats, and a client that left is noticed and its stream ended. */
Test(http_server, heartbeat_notices_a_client_that_left)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o), .heartbeat_s = 1};
	srv_start(&v, &o, NULL);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, v.sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	const char *req = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char got[8192] = "";
	size_t len = 0;
	long long deadline = now_ms() + 30000;
	while (!strstr(got, "hb\n") && now_ms() < deadline && len < sizeof(got) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) > 0) {
			ssize_t n = read(fd, got + len, sizeof(got) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			got[len] = '\0';
		}
	}
	cr_assert(strstr(got, "200 OK"), "%s", got);
	cr_assert(strstr(got, "hb\n"), "no heartbeat: %s", got);
	close(fd);
	deadline = now_ms() + 30000;
	while (!__atomic_load_n(&v.ended, __ATOMIC_SEQ_CST) && now_ms() < deadline)
		usleep(50000);
	cr_assert(__atomic_load_n(&v.ended, __ATOMIC_SEQ_CST), "the stream outlived its client");
	srv_stop(&v);
}

/* A chunked body over the limit: 413 and the end of the connection as soon as the limit is
 * passed, not after the whole body (the client here would send 64 MiB). */
Test(http_server, chunked_body_over_the_limit_413_at_once)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o), .max_body = 4096};
	srv_start(&v, &o, NULL);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, v.sock);
	cr_assert_eq(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	const char *head = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
	cr_assert_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	char chunk[1024 + 16];
	int n = snprintf(chunk, sizeof(chunk), "400\r\n");
	memset(chunk + n, 'x', 1024);
	memcpy(chunk + n + 1024, "\r\n", 2);
	size_t clen = (size_t)n + 1026;
	char got[2048] = "";
	size_t len = 0, sent = 0;
	bool closed = false;
	long long t0 = now_ms();
	while (!closed && sent < (64u << 20) && now_ms() - t0 < 20000) {
		struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
		if (poll(&p, 1, 200) <= 0)
			continue;
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = read(fd, got + len, sizeof(got) - 1 - len);
			if (k <= 0)
				closed = true;
			else
				got[len += (size_t)k] = '\0';
		} else if (p.revents & POLLOUT) {
			ssize_t k = send(fd, chunk, clen, MSG_NOSIGNAL);
			if (k < 0)
				closed = true;
			else
				sent += (size_t)k;
		}
	}
	long long took = now_ms() - t0;
	close(fd);
	cr_assert(strstr(got, "HTTP/1.1 413"), "no 413 (sent %zu bytes): '%s'", sent, got);
	cr_assert(strstr(got, "body_too_large"), "%s", got);
	cr_assert(closed, "the connection stayed open");
	cr_assert_lt(sent, 4u << 20, "the server read %zu bytes past a 4 KiB limit", sent);
	cr_assert_lt(took, 5000, "took %lld ms", took);
	/* the server still answers */
	struct eu_http_resp r = request(&v, true, "GET", "/hello", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	free(r.body);
	srv_stop(&v);
}

/* A TCP connection to v that has sent part of a request head. */
static int tcp_half_open(struct srv *v)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in in = {.sin_family = AF_INET};
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in.sin_port = htons((uint16_t)atoi(strrchr(v->tcp, ':') + 1));
	cr_assert_eq(connect(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	const char *part = "GET /hello HTTP/1.1\r\n";
	cr_assert_eq(write(fd, part, strlen(part)), (ssize_t)strlen(part));
	return fd;
}

/* Slow clients (slowloris) cannot hold the slots: with every slot taken by connections that
 * never finish their request head, whole requests are still served at once (the oldest
 * waiting connections are shed), and the slow ones are closed at the head deadline. */
Test(http_server, slow_heads_are_shed_and_whole_requests_served)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o), .max_conns = 8, .head_timeout_s = 2,
				 .timeout_s = 60};
	srv_start(&v, &o, NULL);
	int slow[16];
	for (int i = 0; i < 16; i++)
		slow[i] = tcp_half_open(&v);
	usleep(300 * 1000);
	for (int i = 0; i < 3; i++) {
		long long t0 = now_ms();
		struct eu_http_resp r = request(&v, false, "GET", "/hello", NULL, 0, NULL);
		cr_assert_eq(r.status, 200, "request %d: %ld", i, r.status);
		cr_assert_lt(now_ms() - t0, 1500, "request %d waited %lld ms", i, now_ms() - t0);
		free(r.body);
	}
	/* every slow connection is closed by the head deadline (2 s), none lasts */
	int still = 0;
	for (int i = 0; i < 16; i++) {
		still += !hung_up(slow[i], 6000);
		close(slow[i]);
	}
	cr_assert_eq(still, 0, "%d slow connections outlived the head deadline", still);
	srv_stop(&v);
}

/* A raw TCP client that sends a request and reads nothing yet. */
static int tcp_send(struct srv *v, const char *req)
{
	int port = atoi(strrchr(v->tcp, ':') + 1);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return fd;
}

Test(http_server, deferred_answer_while_others_are_served)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o)};
	srv_start(&v, &o, NULL);
	long long t0 = now_ms();
	int fd = tcp_send(&v, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
	/* the loop is free meanwhile */
	usleep(50 * 1000);
	struct eu_http_resp r = request(&v, true, "GET", "/hello?who=you", NULL, 0, NULL);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "hello you");
	free(r.body);
	/* served while the deferred request still waits for its answer */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	cr_expect_eq(poll(&p, 1, 0), 0, "the deferred answer came before another request's");
	char buf[512] = "";
	cr_assert_eq(poll(&p, 1, 10000), 1, "no deferred answer within 10 s");
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_expect(strstr(buf, "HTTP/1.1 200") == buf, "%s", buf);
	cr_expect(strstr(buf, "\r\n\r\nlater"), "%s", buf);
	cr_expect_geq(now_ms() - t0, 1900, "answered before the timer");
	close(fd);
	srv_stop(&v);
	cr_expect_eq(v.late_answers, 1);
}

Test(http_server, deferred_answer_after_the_client_left_or_the_server_closed)
{
	struct srv v;
	struct eu_http_opts o = {.sz = sizeof(o)};
	srv_start(&v, &o, NULL);
	/* the client leaves before the answer (a suspended connection is not watched, so the
	 * answer goes to a closed socket): the server goes on */
	int fd = tcp_send(&v, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
	usleep(50 * 1000);
	close(fd);
	for (int i = 0; i < 100 && v.deferred; i++)
		usleep(100 * 1000);
	cr_expect_null(v.deferred, "the late answer was not given within 10 s");
	struct eu_http_resp r = request(&v, true, "GET", "/hello", NULL, 0, NULL);
	cr_expect_eq(r.status, 200);
	free(r.body);
	/* the server closes with an answer outstanding (on_stop answers it afterwards) */
	fd = tcp_send(&v, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
	usleep(50 * 1000);
	srv_stop(&v);
	close(fd);
}
