/* Helpers for the package reader's tests: the committed fixture object
 * (tests/data/packages/event.bpf.o, source beside it) and envelopes built around it. */
#ifndef EU_PKG_FIXTURE_H
#define EU_PKG_FIXTURE_H

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eu_test.h"
#include "core/codec.h"
#include "eunomia/package.h"

#define PKG_DATA EU_TEST_DATA_DIR "/packages/"
#define FIXTURE_OBJ PKG_DATA "event.bpf.o"
#define FIXTURE_SKEL PKG_DATA "event.skel.json"
/* BTF ids in event.bpf.o (bpftool btf dump file event.bpf.o) */
#define FIXTURE_EVENT_ID 28
#define FIXTURE_PAIR_ID 35
#define FIXTURE_INT_ID 2

enum pkg_enc { PKG_ZLIB, PKG_RAW };

static inline void *fixture_object(size_t *n)
{
	void *obj = eu_test_read_file(FIXTURE_OBJ, n);
	cr_assert_not_null(obj, "cannot read %s", FIXTURE_OBJ);
	cr_assert_gt(*n, 1000);
	return obj;
}

static inline char *fixture_skel(void)
{
	char *s = eu_test_read_file(FIXTURE_SKEL, NULL);
	cr_assert_not_null(s, "cannot read %s", FIXTURE_SKEL);
	return s;
}

/* base64 of obj (zlib-compressed or raw), wrapped at wrap columns with JSON "\n" escapes */
static inline char *pkg_base64(const void *obj, size_t n, enum pkg_enc enc, size_t wrap)
{
	void *z = NULL;
	size_t zlen = n;
	const void *src = obj;
	if (enc == PKG_ZLIB) {
		eu_error err = {0};
		cr_assert_eq(eu_zlib_deflate(obj, n, -1, &z, &zlen, &err), 0, "%s", err.msg);
		src = z;
	}
	char *b64 = eu_base64_encode(src, zlen, wrap, NULL);
	free(z);
	cr_assert_not_null(b64);
	size_t lines = 0;
	for (const char *p = b64; *p; p++)
		lines += *p == '\n';
	char *out = malloc(strlen(b64) + lines + 1), *o = out;
	for (const char *p = b64; *p; p++) {
		if (*p == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	free(b64);
	return out;
}

/* {"bpf_object": ..., "bpf_object_size": declared (omitted when < 0), "meta": meta} */
static inline char *pkg_envelope(const char *meta, const void *obj, size_t n, enum pkg_enc enc,
				 size_t wrap, long long declared)
{
	char *b64 = pkg_base64(obj, n, enc, wrap);
	size_t size = strlen(b64) + strlen(meta) + 128;
	char *out = malloc(size);
	if (declared >= 0)
		snprintf(out, size, "{\"bpf_object\": \"%s\", \"bpf_object_size\": %lld, \"meta\": %s}",
			 b64, declared, meta);
	else
		snprintf(out, size, "{\"bpf_object\": \"%s\", \"meta\": %s}", b64, meta);
	free(b64);
	return out;
}

/* The fixture's meta with the first occurrence of from replaced by to. */
static inline char *skel_with(const char *from, const char *to)
{
	char *skel = fixture_skel();
	char *at = strstr(skel, from);
	cr_assert_not_null(at, "fixture meta has no \"%s\"", from);
	size_t size = strlen(skel) - strlen(from) + strlen(to) + 1;
	char *out = malloc(size);
	snprintf(out, size, "%.*s%s%s", (int)(at - skel), skel, to, at + strlen(from));
	free(skel);
	return out;
}

/* Parses text and expects failure with a message containing want. */
static inline void expect_fail(const char *text, size_t len, const char *origin, const char *want)
{
	struct eu_package *pkg = (struct eu_package *)1;
	eu_error err = {0};
	int rc = eu_package_parse(text, len, origin, &pkg, &err);
	cr_assert_lt(rc, 0, "%s: parsed, expected \"%s\"", origin, want);
	cr_assert_eq(rc, err.code);
	cr_assert_null(pkg);
	cr_assert_not_null(strstr(err.msg, want), "%s: expected \"%s\" in \"%s\"", origin, want,
			   err.msg);
}

static inline void expect_fail_str(const char *text, const char *origin, const char *want)
{
	expect_fail(text, strlen(text), origin, want);
}

static inline struct eu_package *expect_parse(const char *text, size_t len, const char *origin)
{
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	int rc = eu_package_parse(text, len, origin, &pkg, &err);
	cr_assert_eq(rc, 0, "%s: %s", origin, err.msg);
	cr_assert_not_null(pkg);
	return pkg;
}

#endif
