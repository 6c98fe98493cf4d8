#include "codec.h"
#include "compress.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* value + 1 of each base64 character; 0 for everything else; B64_SPACE for skipped
 * whitespace */
#define B64_SPACE 0x80
static const uint8_t b64_dec[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
	['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
	['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
	['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
	['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
	['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
	[' '] = B64_SPACE, ['\t'] = B64_SPACE, ['\n'] = B64_SPACE, ['\r'] = B64_SPACE,
	['\v'] = B64_SPACE, ['\f'] = B64_SPACE,
};

static int b64_bad_char(eu_error *err, unsigned char c, size_t off)
{
	if (c >= 0x21 && c < 0x7f)
		return eu_error_set(err, -EINVAL, "invalid base64 character '%c' at offset %zu", c,
				    off);
	return eu_error_set(err, -EINVAL, "invalid base64 byte 0x%02x at offset %zu", c, off);
}

int eu_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, eu_error *err)
{
	*out = NULL;
	*out_len = 0;
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return eu_error_set(err, -ENOMEM, "out of memory decoding %zu bytes of base64", len);

	const unsigned char *s = (const unsigned char *)text;
	size_t n = 0, pad = 0, pad_off = 0;
	uint32_t acc = 0;
	unsigned q = 0;
	for (size_t i = 0; i < len; i++) {
		/* the common case: four alphabet characters in a row, no padding seen yet */
		if (q == 0 && !pad && i + 4 <= len) {
			/* value + 1 - 1 wraps invalid (0) to 255; spaces are 127 */
			uint8_t a = (uint8_t)(b64_dec[s[i]] - 1), b = (uint8_t)(b64_dec[s[i + 1]] - 1),
				c2 = (uint8_t)(b64_dec[s[i + 2]] - 1),
				d = (uint8_t)(b64_dec[s[i + 3]] - 1);
			if ((a | b | c2 | d) < 64) {
				uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c2 << 6 | d;
				buf[n++] = (uint8_t)(v >> 16);
				buf[n++] = (uint8_t)(v >> 8);
				buf[n++] = (uint8_t)v;
				i += 3;
				continue;
			}
		}
		unsigned char c = s[i];
		uint8_t code = b64_dec[c];
		if (code == B64_SPACE)
			continue;
		if (code && !pad) {
			acc = acc << 6 | (uint32_t)(code - 1);
			if (++q == 4) {
				buf[n++] = (uint8_t)(acc >> 16);
				buf[n++] = (uint8_t)(acc >> 8);
				buf[n++] = (uint8_t)acc;
				acc = 0;
				q = 0;
			}
			continue;
		}
		if (c == '=') {
			if (!pad)
				pad_off = i;
			if (++pad > 2 || q < 2) {
				free(buf);
				return eu_error_set(err, -EINVAL,
						    "misplaced base64 padding '=' at offset %zu", i);
			}
			continue;
		}
		free(buf);
		if (code)
			return eu_error_set(err, -EINVAL,
					    "base64 data after the padding at offset %zu (padding "
					    "starts at offset %zu)",
					    i, pad_off);
		return b64_bad_char(err, c, i);
	}
	if (q == 1) {
		free(buf);
		return eu_error_set(err, -EINVAL,
				    "truncated base64: a single character is left over at the end");
	}
	if (pad && q + pad != 4) {
		free(buf);
		return eu_error_set(err, -EINVAL, "wrong base64 padding: %zu '=' after %u characters",
				    pad, q);
	}
	if (q == 2) {
		buf[n++] = (uint8_t)(acc >> 4);
	} else if (q == 3) {
		buf[n++] = (uint8_t)(acc >> 10);
		buf[n++] = (uint8_t)(acc >> 2);
	}
	*out = buf;
	*out_len = n;
	return 0;
}

/* Writes the base64 of p[0..len) to o (room for every character, no NUL): how many. */
static size_t b64_write(const uint8_t *p, size_t len, size_t wrap, char *o)
{
	char *start = o;
	size_t col = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t rest = len - i;
		if (rest > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (rest > 2)
			v |= p[i + 2];
		char quad[4] = {
			b64_alphabet[v >> 18 & 63],
			b64_alphabet[v >> 12 & 63],
			rest > 1 ? b64_alphabet[v >> 6 & 63] : '=',
			rest > 2 ? b64_alphabet[v & 63] : '=',
		};
		for (int k = 0; k < 4; k++) {
			if (wrap && col == wrap) {
				*o++ = '\n';
				col = 0;
			}
			*o++ = quad[k];
			col++;
		}
	}
	return (size_t)(o - start);
}

char *eu_base64_encode(const void *data, size_t len, size_t wrap, size_t *out_len)
{
	if (len > SIZE_MAX / 2)
		return NULL;  /* the output size would overflow */
	size_t chars = (len + 2) / 3 * 4;
	size_t total = chars + (wrap && chars ? (chars - 1) / wrap : 0);
	char *out = malloc(total + 1);
	if (!out)
		return NULL;
	size_t n = b64_write(data, len, wrap, out);
	out[n] = '\0';
	if (out_len)
		*out_len = n;
	return out;
}

void eu_base64_append(eu_buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX / 2) {
		b->oom = true;
		return;
	}
	if (!eu_buf_reserve(b, (len + 2) / 3 * 4 + 1))
		return;
	b->len += b64_write(data, len, 0, b->data + b->len);
	b->data[b->len] = '\0';
}

int eu_zlib_looks_like(const void *data, size_t len)
{
	const uint8_t *p = data;
	if (len < 2)
		return 0;
	if (p[0] == 0x1f && p[1] == 0x8b)
		return 1;  /* gzip */
	return (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

/* Inflates the rest of the stream into a scratch buffer, counting, until it ends, fails or
 * passes limit bytes, so a size mismatch can name the real size without keeping the output.
 * Returns the zlib status it stopped on (Z_OK when it stopped at the limit). */
static int inflate_count_rest(z_stream *zs, size_t limit, size_t *extra)
{
	uint8_t scratch[16384];
	*extra = 0;
	for (;;) {
		zs->next_out = scratch;
		zs->avail_out = sizeof(scratch);
		int ret = inflate(zs, Z_NO_FLUSH);
		*extra += sizeof(scratch) - zs->avail_out;
		if (ret == Z_STREAM_END)
			return ret;
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return ret;
		if (zs->avail_out != 0)
			return Z_BUF_ERROR;  /* input ended early */
		if (*extra > limit)
			return Z_OK;
	}
}

int eu_zlib_inflate(const void *in, size_t in_len, size_t max_out, size_t expected, void **out,
		    size_t *out_len, eu_error *err)
{
	*out = NULL;
	*out_len = 0;
	if (expected > max_out)
		return eu_error_set(err, -EFBIG,
				    "declared size %zu bytes exceeds the limit of %zu bytes", expected,
				    max_out);
	if (in_len > UINT_MAX)
		return eu_error_set(err, -EFBIG, "compressed data of %zu bytes is too large", in_len);

	size_t cap = expected;
	if (!cap) {
		cap = in_len > (SIZE_MAX / 4) ? max_out : in_len * 4;
		if (cap < 4096)
			cap = 4096;
		if (cap > max_out)
			cap = max_out;
	}
	uint8_t *buf = malloc(cap ? cap : 1);
	if (!buf)
		return eu_error_set(err, -ENOMEM, "out of memory inflating %zu bytes", cap);

	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	/* 15 + 32: a zlib or gzip header, detected automatically */
	if (inflateInit2(&zs, 15 + 32) != Z_OK) {
		free(buf);
		return eu_error_set(err, -ENOMEM, "cannot initialise zlib");
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)in_len;

	size_t total = 0;
	int rc = 0;
	for (;;) {
		zs.next_out = buf + total;
		zs.avail_out = (uInt)(cap - total);
		int ret = inflate(&zs, Z_NO_FLUSH);
		total = cap - zs.avail_out;
		if (ret == Z_STREAM_END)
			break;
		if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR) {
			rc = eu_error_set(err, -EINVAL, "corrupt zlib data after %zu input bytes: %s",
					  (size_t)zs.total_in, zs.msg ? zs.msg : "bad stream");
			goto out;
		}
		if (ret == Z_MEM_ERROR) {
			rc = eu_error_set(err, -ENOMEM, "out of memory in zlib");
			goto out;
		}
		if (ret != Z_OK && ret != Z_BUF_ERROR) {
			rc = eu_error_set(err, -EINVAL, "zlib failed (%d)", ret);
			goto out;
		}
		if (zs.avail_out != 0) {
			/* room left but no progress: the input ended early */
			rc = eu_error_set(err, -EINVAL,
					  "truncated zlib stream: it ends after %zu input bytes and %zu "
					  "output bytes",
					  in_len, total);
			goto out;
		}
		/* output buffer full */
		size_t limit = expected ? expected : max_out;
		if (total < limit) {
			size_t ncap = cap > limit / 2 ? limit : cap * 2;
			uint8_t *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				rc = eu_error_set(err, -ENOMEM, "out of memory inflating %zu bytes",
						  ncap);
				goto out;
			}
			buf = nbuf;
			cap = ncap;
			continue;
		}
		/* full at the limit: does the stream end here? */
		size_t extra;
		int status = inflate_count_rest(&zs, max_out - total, &extra);
		if (status == Z_STREAM_END && extra == 0)
			break;
		if (status == Z_BUF_ERROR) {
			rc = eu_error_set(err, -EINVAL,
					  "truncated zlib stream: it ends after %zu input bytes and %zu "
					  "output bytes",
					  in_len, total + extra);
		} else if (status != Z_STREAM_END && status != Z_OK) {
			rc = eu_error_set(err, -EINVAL, "corrupt zlib data after %zu input bytes: %s",
					  (size_t)zs.total_in, zs.msg ? zs.msg : "bad stream");
		} else if (total + extra > max_out) {
			rc = eu_error_set(err, -EFBIG,
					  "inflates to more than the limit of %zu bytes", max_out);
		} else {
			/* only reachable with expected set: the stream ended past it */
			rc = eu_error_set(err, -EINVAL,
					  "inflates to %zu bytes but the declared size is %zu bytes",
					  total + extra, expected);
		}
		goto out;
	}
	if (zs.avail_in != 0) {
		rc = eu_error_set(err, -EINVAL, "%u bytes of trailing data after the zlib stream",
				  zs.avail_in);
		goto out;
	}
	if (expected && total != expected) {
		rc = eu_error_set(err, -EINVAL,
				  "inflates to %zu bytes but the declared size is %zu bytes", total,
				  expected);
		goto out;
	}
out:
	inflateEnd(&zs);
	if (rc) {
		free(buf);
		return rc;
	}
	if (total < cap) {
		uint8_t *shrunk = realloc(buf, total ? total : 1);
		if (shrunk)
			buf = shrunk;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

int eu_zlib_deflate(const void *in, size_t in_len, int level, void **out, size_t *out_len,
		    eu_error *err)
{
	*out = NULL;
	*out_len = 0;
	/* whole buffers go through libdeflate (compress.h); -1 is zlib's default, level 6 */
	struct eu_compressor *c = eu_compressor_new(level < 0 ? 6 : level);
	if (!c)
		return eu_error_set(err, level > 12 ? -EINVAL : -ENOMEM,
				    "cannot set up compression at level %d", level);
	eu_buf b;
	eu_buf_init(&b);
	int ret = eu_compress_zlib(c, in, in_len, &b);
	eu_compressor_free(c);
	if (ret) {
		eu_buf_free(&b);
		return eu_error_set(err, ret, "out of memory compressing %zu bytes", in_len);
	}
	*out = b.data;
	*out_len = b.len;
	return 0;
}

int eu_sha256_2(const void *a, size_t a_len, const void *b, size_t b_len,
		uint8_t digest[EU_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	unsigned int n = 0;
	int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, a, a_len) &&
		 (!b_len || EVP_DigestUpdate(ctx, b, b_len)) &&
		 EVP_DigestFinal_ex(ctx, digest, &n) && n == EU_SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

int eu_sha256(const void *data, size_t len, uint8_t digest[EU_SHA256_LEN])
{
	return eu_sha256_2(data, len, NULL, 0, digest);
}

void eu_sha256_hex(const uint8_t digest[EU_SHA256_LEN], char out[2 * EU_SHA256_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < EU_SHA256_LEN; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * EU_SHA256_LEN] = '\0';
}

int eu_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
