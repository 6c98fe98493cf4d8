/* libcurl's multi interface driven by a libuv loop: curl says which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> uv_poll) and when to call it back (CURLMOPT_TIMERFUNCTION ->
 * uv_timer); nothing blocks the loop. Transfers that finish are handed to the done callback,
 * already removed from the multi handle. Connections stay in curl's cache between requests. */
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

struct eu_otlp_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct sock *socks;
	eu_otlp_http_done_fn done;
	void *ctx;
	int open_handles;
	bool closing;
	void (*closed)(void *ctx);
};

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

bool eu_otlp_http_add(struct eu_otlp_http *h, CURL *easy)
{
	return !h->closing && curl_multi_add_handle(h->multi, easy) == CURLM_OK;
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
