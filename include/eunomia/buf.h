/* A growable byte buffer for formatting output. Appends never fail loudly: on allocation
 * failure the buffer sets `oom` and ignores further appends, so formatting code stays
 * linear; callers check `oom` once at the end. */
#ifndef EUNOMIA_BUF_H
#define EUNOMIA_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eu_buf {
	char *data;  /* always NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
	bool oom;
} eu_buf;

void eu_buf_init(eu_buf *b);
void eu_buf_free(eu_buf *b);
void eu_buf_reset(eu_buf *b);  /* len = 0, keeps the allocation */
bool eu_buf_reserve(eu_buf *b, size_t extra);
void eu_buf_append(eu_buf *b, const void *data, size_t n);
void eu_buf_puts(eu_buf *b, const char *s);
void eu_buf_putc(eu_buf *b, char c);
void eu_buf_printf(eu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void eu_buf_u64(eu_buf *b, uint64_t v);
void eu_buf_i64(eu_buf *b, int64_t v);

/* Appends s[0..n) as a JSON string with quotes. Control characters are \u-escaped; bytes
 * that are not valid UTF-8 become the six characters \\xNN (an escaped backslash, so the
 * output stays valid UTF-8 JSON and the original byte stays visible). */
void eu_buf_json_string(eu_buf *b, const char *s, size_t n);

/* Appends s[0..n) as text for a terminal: valid UTF-8 is copied, control characters and
 * invalid bytes become \xNN. No quotes. */
void eu_buf_text_escaped(eu_buf *b, const char *s, size_t n);

/* Length of the longest prefix of s[0..n) that is valid UTF-8 (used by the escapers). */
size_t eu_utf8_valid_prefix(const char *s, size_t n);

#endif
