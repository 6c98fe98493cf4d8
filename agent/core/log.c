#include "eunomia/log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Process-wide by necessity (see log.h): set by main before any thread starts. */
static eu_log_sink_fn log_sink;
static void *log_sink_ctx;
static enum eu_log_level log_level = EU_LOG_INFO;
/* The active capture of this thread, if any. */
static _Thread_local struct eu_log_capture *log_capture;

void eu_log_set_sink(eu_log_sink_fn sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

void eu_log_set_level(enum eu_log_level max_level)
{
	log_level = max_level;
}

enum eu_log_level eu_log_get_level(void)
{
	return log_level;
}

bool eu_log_enabled(enum eu_log_level level)
{
	return log_sink && level <= log_level;
}

static void log_emit(enum eu_log_level level, char *msg)
{
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_sink(log_sink_ctx, level, msg);
}

/* Formats into a stack buffer, or the heap when the message (a verifier log) is larger. */
static void log_vemit(enum eu_log_level level, const char *fmt, va_list ap)
{
	char small[1024];
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		log_emit(level, small);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		log_emit(level, small); /* truncated beats nothing */
		return;
	}
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	log_emit(level, big);
	free(big);
}

void eu_log(enum eu_log_level level, const char *fmt, ...)
{
	if (!eu_log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vemit(level, fmt, ap);
	va_end(ap);
}

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

int eu_log_level_parse(const char *name, enum eu_log_level *out)
{
	if (!name || !*name)
		return -EINVAL;
	if (name[0] >= '0' && name[0] <= '4' && name[1] == '\0') {
		*out = (enum eu_log_level)(name[0] - '0');
		return 0;
	}
	if (!strcasecmp(name, "warning")) {
		*out = EU_LOG_WARN;
		return 0;
	}
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*out = (enum eu_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *eu_log_level_name(enum eu_log_level level)
{
	if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "?";
}

static void capture_append(struct eu_log_capture *c, const char *s, size_t n)
{
	if (c->cap < 2)
		return;
	size_t room = c->cap - 1;
	if (n >= room) {
		/* the new text alone fills the buffer: keep its tail */
		memcpy(c->buf, s + (n - room), room);
		c->len = room;
		c->truncated = true;
	} else {
		if (c->len + n > room) {
			size_t drop = c->len + n - room;
			memmove(c->buf, c->buf + drop, c->len - drop);
			c->len -= drop;
			c->truncated = true;
		}
		memcpy(c->buf + c->len, s, n);
		c->len += n;
	}
	c->buf[c->len] = '\0';
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum eu_log_level ours = level == LIBBPF_DEBUG ? EU_LOG_TRACE : EU_LOG_DEBUG;
	struct eu_log_capture *c = log_capture;
	bool want_capture = c && level == LIBBPF_WARN;
	bool want_log = eu_log_enabled(ours);
	if (!want_capture && !want_log)
		return 0;
	if (!want_capture) {
		log_vemit(ours, fmt, ap);
		return 0;
	}
	char small[1024];
	char *msg = small;
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(small)) {
		char *big = malloc((size_t)n + 1);
		if (big) {
			vsnprintf(big, (size_t)n + 1, fmt, ap);
			msg = big;
		} else {
			n = (int)sizeof(small) - 1;
		}
	}
	capture_append(c, msg, (size_t)n);
	if (want_log)
		log_emit(ours, msg);
	if (msg != small)
		free(msg);
	return 0;
}

void eu_log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

void eu_log_capture_begin(struct eu_log_capture *c, char *buf, size_t cap)
{
	c->buf = buf;
	c->cap = cap;
	c->len = 0;
	c->truncated = false;
	if (cap)
		buf[0] = '\0';
	c->prev = log_capture;
	log_capture = c;
}

void eu_log_capture_end(struct eu_log_capture *c)
{
	if (log_capture == c)
		log_capture = c->prev;
}
