/* A package's records over HTTP: NDJSON lines {"seq":N,"record":{...}} (or server-sent events
 * with `id: N`), from a cursor, resumable; {"missed":M} says how many left the ring before
 * they could be sent. Without follow=1 the body ends once it has caught up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_priv.h"

struct api_stream {
	struct eu_daemon_sub *sub;
	struct eu_http_stream *st;
	bool sse, follow;
	eu_buf pend;
	size_t off;
	uint64_t missed;
	bool from_oldest;      /* no cursor given: what the ring holds is not "missed" */
};

static size_t trim_len(const char *rec, size_t len)
{
	while (len && (rec[len - 1] == '\n' || rec[len - 1] == '\r'))
		len--;
	return len;
}

static void format_missed(struct api_stream *s, eu_buf *b, uint64_t missed)
{
	if (s->sse)
		eu_buf_printf(b, "event: missed\ndata: {\"missed\":%llu}\n\n",
			      (unsigned long long)missed);
	else
		eu_buf_printf(b, "{\"missed\":%llu}\n", (unsigned long long)missed);
}

static void format_rec(struct api_stream *s, eu_buf *b, const char *rec, size_t len,
		       uint64_t seq)
{
	len = trim_len(rec, len);
	if (s->sse) {
		eu_buf_printf(b, "id: %llu\ndata: ", (unsigned long long)seq);
		eu_buf_append(b, rec, len);
		eu_buf_puts(b, "\n\n");
	} else {
		eu_buf_printf(b, "{\"seq\":%llu,\"record\":", (unsigned long long)seq);
		eu_buf_append(b, rec, len);
		eu_buf_puts(b, "}\n");
	}
}

static ssize_t ev_fill(void *ctx, char *buf, size_t max)
{
	struct api_stream *s = ctx;
	for (;;) {
		if (s->off < s->pend.len) {
			size_t n = s->pend.len - s->off;
			if (n > max)
				n = max;
			memcpy(buf, s->pend.data + s->off, n);
			s->off += n;
			return (ssize_t)n;
		}
		eu_buf_reset(&s->pend);
		s->off = 0;
		if (s->pend.oom)
			return -1;
		const char *rec;
		size_t len;
		uint64_t seq;
		int r = eu_daemon_sub_next(s->sub, &rec, &len, &seq, &s->missed);
		if (s->from_oldest) {
			s->missed = 0;
			s->from_oldest = false;
		}
		if (s->missed) {
			format_missed(s, &s->pend, s->missed);
			s->missed = 0;
		}
		if (r == 1)
			format_rec(s, &s->pend, rec, len, seq);
		if (s->pend.len)
			continue;
		if (r < 0 || !s->follow)
			return -1;
		return 0;
	}
}

static void ev_done(void *ctx)
{
	struct api_stream *s = ctx;
	eu_daemon_unsubscribe(s->sub);
	eu_buf_free(&s->pend);
	free(s);
}

static void ev_wake(void *ctx)
{
	struct api_stream *s = ctx;
	eu_http_stream_wake(s->st);
}

static void no_wake(void *ctx)
{
}

static int parse_u64(const char *v, uint64_t *out)
{
	if (!v || !*v)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end || errno || v[0] == '-')
		return -EINVAL;
	*out = n;
	return 0;
}

static bool truthy(const char *v)
{
	return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !*v);
}

void api_events(struct eu_api *a, struct eu_http_req *r, const char *name)
{
	uint64_t cursor = 0;
	const char *cv = eu_http_req_query(r, "cursor");
	if (cv && parse_u64(cv, &cursor)) {
		eu_http_reply_error(r, 400, "bad_request", "cursor '%s': expected a sequence number",
				    cv);
		return;
	}
	if (!api_need_daemon(a, r))
		return;
	struct api_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		eu_http_reply_error(r, 500, "out_of_memory", "out of memory");
		return;
	}
	eu_buf_init(&s->pend);
	const char *accept = eu_http_req_header(r, "Accept");
	s->sse = accept && strstr(accept, "text/event-stream");
	s->follow = truthy(eu_http_req_query(r, "follow"));
	s->from_oldest = !cv;
	eu_error err = {0};
	/* the first record available is 1: from the start of what the ring holds */
	if (eu_daemon_subscribe(a->d, name, cv ? (cursor ? cursor : 1) : 1, ev_wake, s, &s->sub,
				&err)) {
		free(s);
		api_reply_daemon_error(r, &err);
		return;
	}
	/* an SSE comment; NDJSON readers skip blank lines (ctl does) */
	eu_http_reply_stream(r, 200, s->sse ? "text/event-stream" : "application/x-ndjson",
			     ev_fill, ev_done, s, s->sse ? ":\n\n" : "\n", &s->st);
}

void api_log_page(struct eu_api *a, struct eu_http_req *r, const char *name, uint64_t cursor,
		  size_t max)
{
	struct eu_daemon_sub *sub;
	eu_error err = {0};
	if (eu_daemon_subscribe(a->d, name, cursor ? cursor : 1, no_wake, NULL, &sub, &err)) {
		api_reply_daemon_error(r, &err);
		return;
	}
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "{\"status\":\"Ok\",\"logs\":[");
	if (!cursor)
		cursor = 1;
	uint64_t missed = 0, seq = 0, next = cursor;
	const char *rec;
	size_t len, n = 0;
	while (n < max && eu_daemon_sub_next(sub, &rec, &len, &seq, &missed) == 1) {
		eu_buf_printf(&b, "%s{\"cursor\":%llu,\"log\":", n ? "," : "",
			      (unsigned long long)seq);
		eu_buf_append(&b, rec, trim_len(rec, len));
		eu_buf_putc(&b, '}');
		next = seq + 1;
		n++;
	}
	if (!n)
		next = cursor + missed;
	eu_buf_printf(&b, "],\"next_cursor\":%llu,\"missed\":%llu}\n", (unsigned long long)next,
		      (unsigned long long)missed);
	eu_daemon_unsubscribe(sub);
	eu_http_reply_json(r, 200, &b);
	eu_buf_free(&b);
}
