/* Byte codecs used by packages: base64, zlib and SHA-256.
 *
 * Decoders are strict about content and generous about layout: base64 may carry any ASCII
 * whitespace (older packages wrap at 76 columns), and inflating stops at a caller-given cap so
 * a small input can never make a large allocation. Messages name the offset of the problem;
 * callers prefix them with the file and field. */
#ifndef EUNOMIA_CODEC_H
#define EUNOMIA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"

#define EU_SHA256_LEN 32

/* The value of one hexadecimal digit (either case), or -1. */
int eu_hex_digit(char c);

/* Decodes standard base64 (RFC 4648 alphabet, '=' padding optional). Space, tab, CR, LF, VT
 * and FF are skipped anywhere. *out is malloc'd (never NULL on success, even for empty input)
 * and owned by the caller. Fails with -EINVAL on a character outside the alphabet, misplaced
 * padding or a dangling single character; -ENOMEM on allocation failure. */
int eu_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len, eu_error *err);

/* Encodes data as standard padded base64. wrap > 0 inserts '\n' after every wrap output
 * characters (76 gives the MIME layout); 0 writes one line. Returns a malloc'd NUL-terminated
 * string (length in *out_len when out_len is not NULL), or NULL when out of memory. */
char *eu_base64_encode(const void *data, size_t len, size_t wrap, size_t *out_len);
/* The same on one line, appended to b (sets b->oom when out of memory). */
void eu_base64_append(eu_buf *b, const void *data, size_t len);

/* Inflates a zlib (or gzip) stream. Output larger than max_out is refused with -EFBIG without
 * allocating more than max_out bytes. When expected is not 0 the output must be exactly that
 * long (-EINVAL otherwise; the message names both sizes). Truncated or corrupt streams and
 * trailing bytes after the stream fail with -EINVAL. *out is malloc'd. */
int eu_zlib_inflate(const void *in, size_t in_len, size_t max_out, size_t expected, void **out,
		    size_t *out_len, eu_error *err);

/* True when data starts with a plausible zlib header (CMF/FLG check bits). */
int eu_zlib_looks_like(const void *data, size_t len);

/* Deflates data into a zlib stream at the given level (-1 for the default, 6; up to 12 for
 * the smallest), whole, through libdeflate (compress.h). *out is malloc'd. */
int eu_zlib_deflate(const void *in, size_t in_len, int level, void **out, size_t *out_len,
		    eu_error *err);

/* SHA-256 of data into digest. Returns 0 or -EIO when the crypto library fails. */
int eu_sha256(const void *data, size_t len, uint8_t digest[EU_SHA256_LEN]);

/* SHA-256 of two consecutive byte ranges (as if concatenated); b may be NULL when b_len is 0. */
int eu_sha256_2(const void *a, size_t a_len, const void *b, size_t b_len,
		uint8_t digest[EU_SHA256_LEN]);

/* Lower-case hex of a digest into out (2 * EU_SHA256_LEN + 1 bytes, NUL-terminated). */
void eu_sha256_hex(const uint8_t digest[EU_SHA256_LEN], char out[2 * EU_SHA256_LEN + 1]);

#endif
