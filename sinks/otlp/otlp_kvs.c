/* key=value,key=value lists with percent-decoded values (OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_HEADERS), and the small string helpers the OTLP code shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "otlp.h"
#include "otlp_priv.h"

const char *eu_otlp_env(eu_otlp_getenv_fn fn, void *ctx, const char *name)
{
	const char *v = fn ? fn(ctx, name) : getenv(name);
	return v && *v ? v : NULL;
}

char *eu_otlp_utf8_dup(const char *s, size_t n)
{
	/* worst case every byte becomes the 3-byte replacement character */
	char *out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	while (n) {
		size_t ok = eu_utf8_valid_prefix(s, n);
		memcpy(out + o, s, ok);
		o += ok;
		s += ok;
		n -= ok;
		if (n) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			s++;
			n--;
		}
	}
	out[o] = '\0';
	return out;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trimmed, optionally percent-decoded copy of s[0..n); NULL with *bad set on a bad escape. */
static char *dup_trimmed(const char *s, size_t n, bool decode, bool *bad)
{
	while (n && is_ows(*s)) {
		s++;
		n--;
	}
	while (n && is_ows(s[n - 1]))
		n--;
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (decode && s[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				*bad = true;
				return NULL;
			}
			int h = eu_hex_digit(s[i + 1]), l = eu_hex_digit(s[i + 2]);
			if (h < 0 || l < 0) {
				free(out);
				*bad = true;
				return NULL;
			}
			out[o++] = (char)(h << 4 | l);
			i += 2;
			continue;
		}
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

void eu_otlp_kvs_free(struct eu_otlp_kvs *kvs)
{
	if (!kvs)
		return;
	for (size_t i = 0; i < kvs->n; i++) {
		free(kvs->v[i].key);
		free(kvs->v[i].value);
	}
	free(kvs->v);
	kvs->v = NULL;
	kvs->n = 0;
}

int eu_otlp_kvs_parse(const char *text, struct eu_otlp_kvs *out, eu_error *err)
{
	out->v = NULL;
	out->n = 0;
	if (!text)
		return 0;
	size_t cap = 0;
	const char *p = text;
	for (unsigned member = 1;; member++) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t blank = 0;
		while (blank < len && is_ows(p[blank]))
			blank++;
		if (blank < len) {
			const char *eq = memchr(p, '=', len);
			if (!eq) {
				eu_otlp_kvs_free(out);
				return eu_error_set(err, -EINVAL, "member %u has no '='", member);
			}
			bool bad = false;
			char *key = dup_trimmed(p, (size_t)(eq - p), false, &bad);
			char *value = key ? dup_trimmed(eq + 1, len - (size_t)(eq - p) - 1, true, &bad)
					  : NULL;
			const char *why = NULL;
			if (bad)
				why = "a bad %XX escape in its value";
			else if (!key || !value)
				why = "out of memory";
			else if (!*key)
				why = "an empty key";
			else if (eu_utf8_valid_prefix(value, strlen(value)) != strlen(value))
				why = "a value that is not UTF-8";
			if (!why && out->n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct eu_otlp_kv *nv = realloc(out->v, ncap * sizeof(*nv));
				if (!nv)
					why = "out of memory";
				else {
					out->v = nv;
					cap = ncap;
				}
			}
			if (why) {
				free(key);
				free(value);
				eu_otlp_kvs_free(out);
				return eu_error_set(err, strcmp(why, "out of memory") ? -EINVAL : -ENOMEM,
						    "member %u has %s", member, why);
			}
			out->v[out->n].key = key;
			out->v[out->n].value = value;
			out->n++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}
