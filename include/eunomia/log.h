/* Logging: the library reports through eu_log(); main() decides where it goes (a sink) and
 * how much (a level). libbpf's own output is routed here too (eu_log_route_libbpf).
 *
 * The sink and level are process-wide, unlike everything else in the library: libbpf's print
 * hook is process-wide and carries no context pointer, so the routing behind it cannot be per
 * object. main() sets them once at start-up, before any other thread exists.
 *
 * A capture (eu_log_capture_begin/end) additionally keeps the tail of libbpf's warnings on the
 * calling thread while it is active: program loading uses it to quote the verifier's log in
 * its error, whatever the log level. */
#ifndef EUNOMIA_LOG_H
#define EUNOMIA_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum eu_log_level {
	EU_LOG_ERROR = 0,
	EU_LOG_WARN,
	EU_LOG_INFO,
	EU_LOG_DEBUG,
	EU_LOG_TRACE, /* libbpf's debug chatter: what --verbose shows */
};

/* msg has no trailing newline; it may contain inner newlines (a verifier log). */
typedef void (*eu_log_sink_fn)(void *ctx, enum eu_log_level level, const char *msg);

/* NULL sink: messages are dropped (the default, so the library is silent until main says). */
void eu_log_set_sink(eu_log_sink_fn sink, void *ctx);
void eu_log_set_level(enum eu_log_level max_level);
enum eu_log_level eu_log_get_level(void);
bool eu_log_enabled(enum eu_log_level level);

void eu_log(enum eu_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "error", "warn"/"warning", "info", "debug", "trace"; or a digit 0..4. */
int eu_log_level_parse(const char *name, enum eu_log_level *out);
const char *eu_log_level_name(enum eu_log_level level);

/* Installs the libbpf print callback: libbpf warnings and info become EU_LOG_DEBUG (our own
 * errors already say what failed, quoting libbpf where it helps), libbpf debug EU_LOG_TRACE. */
void eu_log_route_libbpf(void);

/* Keeps the last `cap - 1` bytes of libbpf warnings printed on this thread while active.
 * Captures nest; end them in reverse order. */
struct eu_log_capture {
	char *buf;    /* NUL-terminated tail */
	size_t cap;
	size_t len;
	bool truncated; /* older text was dropped */
	struct eu_log_capture *prev;
};

void eu_log_capture_begin(struct eu_log_capture *c, char *buf, size_t cap);
void eu_log_capture_end(struct eu_log_capture *c);

#endif
