/* Whole-buffer gzip and zlib through libdeflate (core/compress.h) and the OTLP bodies' gzip
 * (ISA-L's igzip at level 1, sinks/otlp/otlp_gzip.c), checked by inflating with zlib, an
 * independent decoder: what the OTLP exporter sends as Content-Encoding: gzip and what ecc
 * embeds as a zlib object. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/codec.h"
#include "core/compress.h"
#include "sinks/otlp/otlp.h"

/* Text-like records with some noise: compressible, not trivially. */
static char *sample(size_t n)
{
	char *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (i % 64 < 48) ? "{\"pid\":1234,\"comm\":\"bash\",\"filename\":\"/usr/bin/"[i % 48]
				     : (char)(x >> 24);
	}
	return p;
}

/* Inflates a gzip member with zlib: its bytes and size. */
static size_t gunzip(const void *in, size_t len, char *out, size_t cap)
{
	z_stream zs = {0};
	cr_assert_eq(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END, "not one whole gzip member");
	cr_assert_eq(zs.avail_in, 0, "bytes after the gzip member");
	size_t n = zs.total_out;
	inflateEnd(&zs);
	return n;
}

Test(compress, gzip_appends_a_member_zlib_inflates_to_the_input)
{
	struct eu_compressor *c = eu_compressor_new(6);
	cr_assert_not_null(c);
	size_t sizes[] = {0, 1, 4096, 1u << 20};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		char *in = sample(n);
		eu_buf b;
		eu_buf_init(&b);
		eu_buf_append(&b, "HDR", 3); /* appended after what is there (the gRPC prefix) */
		cr_assert_eq(eu_compress_gzip(c, in, n, &b), 0);
		cr_assert_eq(memcmp(b.data, "HDR", 3), 0);
		cr_assert_eq((uint8_t)b.data[3], 0x1f);
		cr_assert_eq((uint8_t)b.data[4], 0x8b);
		if (n >= 4096)
			cr_assert_lt(b.len, n / 2, "%zu bytes gzip to %zu", n, b.len);
		char *out = malloc(n + 16);
		cr_assert_eq(gunzip(b.data + 3, b.len - 3, out, n + 16), n);
		cr_assert_eq(memcmp(out, in, n), 0, "%zu bytes differ after the round trip", n);
		free(out);
		free(in);
		eu_buf_free(&b);
	}
	eu_compressor_free(c);
}

Test(compress, zlib_stream_inflates_through_the_package_reader)
{
	struct eu_compressor *c = eu_compressor_new(9);
	cr_assert_not_null(c);
	size_t n = 200000;
	char *in = sample(n);
	eu_buf b;
	eu_buf_init(&b);
	cr_assert_eq(eu_compress_zlib(c, in, n, &b), 0);
	cr_assert(eu_zlib_looks_like(b.data, b.len));
	void *out;
	size_t out_len;
	eu_error err = {0};
	cr_assert_eq(eu_zlib_inflate(b.data, b.len, n, n, &out, &out_len, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(memcmp(out, in, n), 0);
	free(out);
	free(in);
	eu_buf_free(&b);
	eu_compressor_free(c);
}

Test(compress, levels_out_of_range_are_refused_and_free_takes_null)
{
	cr_assert_null(eu_compressor_new(-1));
	cr_assert_null(eu_compressor_new(13));
	eu_compressor_free(NULL);
}

Test(compress, a_buffer_out_of_memory_is_reported)
{
	struct eu_compressor *c = eu_compressor_new(1);
	eu_buf b;
	eu_buf_init(&b);
	b.oom = true;
	cr_assert_eq(eu_compress_gzip(c, "x", 1, &b), -ENOMEM);
	eu_buf_free(&b);
	eu_compressor_free(c);
}

/* Random bytes: nothing to match, igzip's worst case (stored blocks). */
static char *noise(size_t n)
{
	char *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (char)(x >> 56);
	}
	return p;
}

Test(compress, otlp_gzip_levels_round_trip_through_zlib)
{
	int levels[] = {1, 6};
	size_t sizes[] = {0, 1, 4096, 1u << 20};
	for (size_t l = 0; l < 2; l++) {
		struct eu_otlp_gzip *z = eu_otlp_gzip_new(levels[l]);
		cr_assert_not_null(z);
		for (size_t k = 0; k < 2 * sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t n = sizes[k / 2];
			bool random = k % 2;
			char *in = random ? noise(n) : sample(n);
			eu_buf b;
			eu_buf_init(&b);
			eu_buf_append(&b, "HDR", 3);
			cr_assert_eq(eu_otlp_gzip(z, in, n, &b), 0);
			cr_assert_eq(memcmp(b.data, "HDR", 3), 0);
			cr_assert_eq(b.data[b.len], '\0');
			if (n >= 4096 && !random)
				cr_assert_lt(b.len, n / 2, "level %d: %zu bytes gzip to %zu",
					     levels[l], n, b.len);
			char *out = malloc(n + 16);
			cr_assert_eq(gunzip(b.data + 3, b.len - 3, out, n + 16), n,
				     "level %d, %zu %s bytes", levels[l], n,
				     random ? "random" : "text");
			cr_assert_eq(memcmp(out, in, n), 0, "level %d: %zu bytes differ", levels[l],
				     n);
			free(out);
			free(in);
			eu_buf_free(&b);
		}
		eu_otlp_gzip_free(z);
	}
	cr_assert_null(eu_otlp_gzip_new(0));
	cr_assert_null(eu_otlp_gzip_new(EU_OTLP_GZIP_LEVEL_MAX + 1));
	eu_otlp_gzip_free(NULL);
}
