/* libcurl's multi interface driven by a libuv loop: curl says which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> uv_poll) and when to call it back (CURLMOPT_TIMERFUNCTION ->
 * uv_timer); nothing blocks the loop. Transfers that finish are handed to the done callback,
 * already removed from the multi handle. Connections stay in curl's cache between requests.
 *
 * h2c (HTTP/2 on cleartext with prior knowledge: gRPC's http://) keeps its connection too,
 * around a bug of libcurl before 8.0 (curl#10634): a prior-knowledge request that reuses a
 * connection fails ("Error in the HTTP2 framing layer", nothing sent), and a request that
 * is not prior-knowledge opens new connections with an HTTP/1.1 Upgrade gRPC servers
 * refuse. So a transfer first asks for plain HTTP/2 and may only reuse: its socket opener
 * refuses to open one, which fails the transfer at once without a byte on the network; that
 * transfer is then started again as prior knowledge on a fresh connection, which the next
 * transfers reuse. The restart is the same request, not a retry: the caller sees one
 * transfer, done once. */
#include <curl/curl.h>
#include <stdlib.h>
#include <uv.h>

#include "otlp_priv.h"

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct eu_otlp_http *h;
	struct sock *next, *prev;
};

/* a transfer that speaks h2c (eu_otlp_http_h2c) */
struct h2c {
	CURL *easy;
	bool reuse_only; /* this attempt may not open a connection */
	bool refused;    /* ... and curl asked for one */
	struct h2c *next;
};

struct eu_otlp_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct sock *socks;
	struct h2c *h2c;
	eu_otlp_http_done_fn done;
	void *ctx;
	int open_handles;
	bool closing;
	void (*closed)(void *ctx);
};

static struct h2c *h2c_of(struct eu_otlp_http *h, CURL *easy)
{
	struct h2c *t = h->h2c;
	while (t && t->easy != easy)
		t = t->next;
	return t;
}

static curl_socket_t refuse_socket(void *clientp, curlsocktype purpose,
				   struct curl_sockaddr *addr)
{
	(void)purpose;
	(void)addr;
	((struct h2c *)clientp)->refused = true;
	return CURL_SOCKET_BAD;
}

/* How the next attempt of an h2c transfer connects: reusing a connection in curl's cache
 * (plain HTTP/2, no socket may be opened), or prior knowledge on a new connection. */
static void h2c_prepare(struct h2c *t, bool reuse_only)
{
	t->reuse_only = reuse_only;
	t->refused = false;
	curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION,
			 reuse_only ? (long)CURL_HTTP_VERSION_2_0
				    : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	/* a prior-knowledge request must not reuse (nor share) a connection: the bug */
	curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, reuse_only ? 0L : 1L);
	curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETFUNCTION, reuse_only ? refuse_socket : NULL);
	curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETDATA, t);
}

/* An attempt that failed only because there was no connection to reuse goes again on a
 * fresh one: true when it is on its way (its caller hears of it when that one is done). */
static bool h2c_restart(struct eu_otlp_http *h, CURL *easy, CURLcode code)
{
	struct h2c *t = h2c_of(h, easy);
	if (!t || !t->reuse_only || !t->refused || code != CURLE_COULDNT_CONNECT)
		return false;
	h2c_prepare(t, false);
	return curl_multi_add_handle(h->multi, easy) == CURLM_OK;
}

static void check_done(struct eu_otlp_http *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode code = m->data.result;
		curl_multi_remove_handle(h->multi, easy);
		if (!h->closing && h2c_restart(h, easy, code))
			continue;
		h->done(h->ctx, easy, code);
		if (h->closing)
			return;
	}
}

static void on_closed(uv_handle_t *handle)
{
	struct eu_otlp_http *h;
	if (handle->type == UV_POLL) {
		struct sock *s = handle->data;
		h = s->h;
		free(s);
	} else {
		h = handle->data;
	}
	if (--h->open_handles == 0 && h->closing) {
		void (*closed)(void *) = h->closed;
		void *ctx = h->ctx;
		curl_multi_cleanup(h->multi);
		while (h->h2c) {
			struct h2c *t = h->h2c;
			h->h2c = t->next;
			free(t);
		}
		free(h);
		if (closed)
			closed(ctx);
	}
}

static void close_handle(struct eu_otlp_http *h, uv_handle_t *handle)
{
	if (uv_is_closing(handle))
		return;
	h->open_handles++;
	uv_close(handle, on_closed);
}

static void sock_unlink(struct eu_otlp_http *h, struct sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	struct eu_otlp_http *h = s->h;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	int running;
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_done(h);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct eu_otlp_http *h = userp;
	struct sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			uv_poll_stop(&s->poll);
			sock_unlink(h, s);
			close_handle(h, (uv_handle_t *)&s->poll);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		if (uv_poll_init_socket(h->loop, &s->poll, fd)) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->h = h;
		s->poll.data = s;
		s->next = h->socks;
		if (h->socks)
			h->socks->prev = s;
		h->socks = s;
		curl_multi_assign(h->multi, fd, s);
	}
	int events = 0;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	struct eu_otlp_http *h = t->data;
	int running;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
	struct eu_otlp_http *h = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		/* 0 means "now": run it from the loop, not from inside curl */
		uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

int eu_otlp_http_new(uv_loop_t *loop, eu_otlp_http_done_fn done, void *ctx,
		     struct eu_otlp_http **out)
{
	struct eu_otlp_http *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return -ENOMEM;
	}
	h->loop = loop;
	h->done = done;
	h->ctx = ctx;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	*out = h;
	return 0;
}

int eu_otlp_http_h2c(struct eu_otlp_http *h, CURL *easy)
{
	struct h2c *t = h2c_of(h, easy);
	if (t)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->easy = easy;
	t->next = h->h2c;
	h->h2c = t;
	return 0;
}

bool eu_otlp_http_add(struct eu_otlp_http *h, CURL *easy)
{
	if (h->closing)
		return false;
	struct h2c *t = h2c_of(h, easy);
	if (t)
		h2c_prepare(t, true);
	return curl_multi_add_handle(h->multi, easy) == CURLM_OK;
}

void eu_otlp_http_remove(struct eu_otlp_http *h, CURL *easy)
{
	curl_multi_remove_handle(h->multi, easy);
}

void eu_otlp_http_close(struct eu_otlp_http *h, void (*closed)(void *ctx))
{
	if (!h || h->closing)
		return;
	h->closing = true;
	h->closed = closed;
	/* from here curl must not call back into handles that are going away */
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, NULL);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, NULL);
	while (h->socks) {
		struct sock *s = h->socks;
		sock_unlink(h, s);
		uv_poll_stop(&s->poll);
		close_handle(h, (uv_handle_t *)&s->poll);
	}
	uv_timer_stop(&h->timer);
	close_handle(h, (uv_handle_t *)&h->timer);
}
