#include "eunomia/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eu_buf_init(eu_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void eu_buf_free(eu_buf *b)
{
	free(b->data);
	eu_buf_init(b);
}

void eu_buf_reset(eu_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

bool eu_buf_reserve(eu_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return false;
	}
	size_t need = b->len + extra + 1; /* room for the terminating NUL */
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void eu_buf_append(eu_buf *b, const void *data, size_t n)
{
	if (!eu_buf_reserve(b, n))
		return;
	if (n) /* callers pass (NULL, 0) for empty text: memcpy(.., NULL, 0) is undefined */
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void eu_buf_puts(eu_buf *b, const char *s)
{
	eu_buf_append(b, s, strlen(s));
}

void eu_buf_putc(eu_buf *b, char c)
{
	if (!eu_buf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void eu_buf_printf(eu_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[128];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		eu_buf_append(b, small, (size_t)n);
		return;
	}
	if (!eu_buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void eu_buf_u64(eu_buf *b, uint64_t v)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	eu_buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void eu_buf_i64(eu_buf *b, int64_t v)
{
	if (v < 0) {
		eu_buf_putc(b, '-');
		eu_buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		eu_buf_u64(b, (uint64_t)v);
	}
}

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 when s starts an invalid one.
 * Rejects overlong forms, surrogates and code points above U+10FFFF (RFC 3629). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

size_t eu_utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t l = utf8_seq_len(u + i, n - i);
		if (!l)
			break;
		i += l;
	}
	return i;
}

static const char hex_digits[] = "0123456789abcdef";

void eu_buf_json_string(eu_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	eu_buf_putc(b, '"');
	size_t i = 0;
	while (i < n) {
		/* copy the longest run that needs no escaping in one append */
		size_t run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\')
			run++;
		if (run > i) {
			eu_buf_append(b, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = u[i];
		if (c >= 0x80) {
			size_t l = utf8_seq_len(u + i, n - i);
			if (l) {
				eu_buf_append(b, s + i, l);
				i += l;
			} else {
				char esc[6] = {'\\', '\\', 'x', hex_digits[c >> 4], hex_digits[c & 15]};
				eu_buf_append(b, esc, 5);
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': eu_buf_append(b, "\\\"", 2); break;
		case '\\': eu_buf_append(b, "\\\\", 2); break;
		case '\n': eu_buf_append(b, "\\n", 2); break;
		case '\r': eu_buf_append(b, "\\r", 2); break;
		case '\t': eu_buf_append(b, "\\t", 2); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
			eu_buf_append(b, esc, 6);
		}
		}
		i++;
	}
	eu_buf_putc(b, '"');
}

void eu_buf_text_escaped(eu_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned char c = u[i];
		size_t l = (c >= 0x20 && c != 0x7f) ? utf8_seq_len(u + i, n - i) : 0;
		if (l) {
			eu_buf_append(b, s + i, l);
			i += l;
		} else {
			char esc[4] = {'\\', 'x', hex_digits[c >> 4], hex_digits[c & 15]};
			eu_buf_append(b, esc, 4);
			i++;
		}
	}
}
