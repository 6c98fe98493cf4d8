/* Streamed answers (http_server.h): a chunked body filled on demand, parked while there is
 * nothing to send, and a heartbeat that finds clients who went away. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_server_priv.h"

#define STREAM_BLOCK 16384

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
	eu_http_listener_kick(st->l);
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
		eu_http_result_type(r->res, content_type);
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
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, st, stream_free);
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
	return eu_http_queue(r, status, resp, content_type);
}

static void on_heartbeat(uv_timer_t *t)
{
	struct eu_http_server *s = t->data;
	for (struct eu_http_stream *st = s->streams; st; st = st->next) {
		if (st->suspended) {
			st->beat = true;
			eu_http_stream_wake(st);
		}
	}
}

void eu_http_heartbeat_start(struct eu_http_server *s)
{
	if (s->beat_init)
		return;
	uv_timer_init(s->loop, &s->beat);
	s->beat.data = s;
	s->beat_init = true;
	uint64_t ms = (uint64_t)s->heartbeat_s * 1000;
	uv_timer_start(&s->beat, on_heartbeat, ms, ms);
}
