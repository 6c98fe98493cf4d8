/* base64, zlib and SHA-256 as packages use them. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

static char *decode_str(const char *text, int *rc, size_t *len, eu_error *err)
{
	uint8_t *out = NULL;
	*rc = eu_base64_decode(text, strlen(text), &out, len, err);
	if (*rc)
		return NULL;
	char *s = malloc(*len + 1);
	memcpy(s, out, *len);
	s[*len] = '\0';
	free(out);
	return s;
}

Test(codec, base64_rfc4648_vectors)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",	    "Zg==",	"Zm8=",	    "Zm9v",
					    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t n;
		char *enc = eu_base64_encode(plain[i], strlen(plain[i]), 0, &n);
		cr_assert_str_eq(enc, coded[i]);
		cr_assert_eq(n, strlen(coded[i]));
		free(enc);

		eu_error err = {0};
		int rc;
		size_t len;
		char *dec = decode_str(coded[i], &rc, &len, &err);
		cr_assert_eq(rc, 0, "%s: %s", coded[i], err.msg);
		cr_assert_eq(len, strlen(plain[i]));
		cr_assert_str_eq(dec, plain[i]);
		free(dec);
	}
}

Test(codec, base64_unpadded_is_accepted)
{
	eu_error err = {0};
	int rc;
	size_t len;
	char *dec = decode_str("Zm9vYg", &rc, &len, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_str_eq(dec, "foob");
	free(dec);
	dec = decode_str("Zm9vYmE", &rc, &len, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_str_eq(dec, "fooba");
	free(dec);
}

Test(codec, base64_whitespace_anywhere)
{
	eu_error err = {0};
	int rc;
	size_t len;
	char *dec = decode_str(" Zm9v\r\nYm\tFy \n", &rc, &len, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_str_eq(dec, "foobar");
	free(dec);
	dec = decode_str("Zm9vYg=\n=\n", &rc, &len, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_str_eq(dec, "foob");
	free(dec);
}

Test(codec, base64_wrapped_76_round_trip)
{
	uint8_t data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 7);
	size_t n;
	char *enc = eu_base64_encode(data, sizeof(data), 76, &n);
	cr_assert_not_null(enc);
	/* every line but the last is exactly 76 characters */
	const char *line = enc;
	size_t lines = 0;
	for (const char *nl; (nl = strchr(line, '\n')); line = nl + 1, lines++)
		cr_assert_eq(nl - line, 76);
	cr_assert_leq(strlen(line), 76);
	cr_assert_eq(lines, (sizeof(data) + 2) / 3 * 4 / 76);
	cr_assert_eq(n, strlen(enc));

	uint8_t *out;
	size_t out_len;
	eu_error err = {0};
	cr_assert_eq(eu_base64_decode(enc, n, &out, &out_len, &err), 0, "%s", err.msg);
	cr_assert_eq(out_len, sizeof(data));
	cr_assert_arr_eq(out, data, sizeof(data));
	free(out);
	free(enc);
}

Test(codec, base64_rejects_bad_input)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{"Zm9v!mFy", "invalid base64 character '!' at offset 4"},
		{"Zm9v-_Fy", "invalid base64 character '-' at offset 4"},
		{"Zm9v\x01", "invalid base64 byte 0x01 at offset 4"},
		{"Zm9vY", "a single character is left over"},
		{"Zg==Zg==", "after the padding at offset 4"},
		{"Zg===", "misplaced base64 padding"},
		{"=Zg=", "misplaced base64 padding '=' at offset 0"},
		{"Zm8==", "wrong base64 padding"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		eu_error err = {0};
		uint8_t *out = (uint8_t *)1;
		size_t len = 99;
		int rc = eu_base64_decode(cases[i].text, strlen(cases[i].text), &out, &len, &err);
		cr_assert_eq(rc, -EINVAL, "%s accepted", cases[i].text);
		cr_assert_null(out);
		cr_assert_eq(len, 0);
		cr_assert_not_null(strstr(err.msg, cases[i].msg), "%s: got \"%s\"", cases[i].text,
				   err.msg);
	}
}

static void make_data(uint8_t *buf, size_t n)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)((x >> 16) & 0x0f);  /* compressible but not trivially */
	}
}

Test(codec, zlib_round_trip_with_exact_size)
{
	size_t n = 50000;
	uint8_t *data = malloc(n);
	make_data(data, n);
	void *z, *out;
	size_t zlen, out_len;
	eu_error err = {0};
	cr_assert_eq(eu_zlib_deflate(data, n, 9, &z, &zlen, &err), 0, "%s", err.msg);
	cr_assert(eu_zlib_looks_like(z, zlen));
	cr_assert_lt(zlen, n);
	/* known size */
	cr_assert_eq(eu_zlib_inflate(z, zlen, n, n, &out, &out_len, &err), 0, "%s", err.msg);
	cr_assert_eq(out_len, n);
	cr_assert_arr_eq(out, data, n);
	free(out);
	/* unknown size: grows its buffer */
	cr_assert_eq(eu_zlib_inflate(z, zlen, 1u << 20, 0, &out, &out_len, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(out_len, n);
	cr_assert_arr_eq(out, data, n);
	free(out);
	/* exactly at the cap is fine */
	cr_assert_eq(eu_zlib_inflate(z, zlen, n, 0, &out, &out_len, &err), 0, "%s", err.msg);
	cr_assert_eq(out_len, n);
	free(out);
	free(z);
	free(data);
}

Test(codec, zlib_size_mismatch_names_both_sizes)
{
	uint8_t data[3000];
	make_data(data, sizeof(data));
	void *z, *out = NULL;
	size_t zlen, out_len;
	eu_error err = {0};
	cr_assert_eq(eu_zlib_deflate(data, sizeof(data), -1, &z, &zlen, &err), 0);
	cr_assert_eq(eu_zlib_inflate(z, zlen, 1u << 20, 2000, &out, &out_len, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "inflates to 3000 bytes but the declared size is 2000 bytes");
	cr_assert_null(out);
	cr_assert_eq(eu_zlib_inflate(z, zlen, 1u << 20, 4000, &out, &out_len, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "inflates to 3000 bytes but the declared size is 4000 bytes");
	cr_assert_null(out);
	free(z);
}

Test(codec, zlib_cap_refuses_bombs)
{
	size_t n = 8u << 20;
	uint8_t *zeros = calloc(1, n);
	void *z, *out = NULL;
	size_t zlen, out_len;
	eu_error err = {0};
	cr_assert_eq(eu_zlib_deflate(zeros, n, 9, &z, &zlen, &err), 0);
	free(zeros);
	cr_assert_lt(zlen, 16384);
	cr_assert_eq(eu_zlib_inflate(z, zlen, 1u << 20, 0, &out, &out_len, &err), -EFBIG);
	cr_assert_str_eq(err.msg, "inflates to more than the limit of 1048576 bytes");
	cr_assert_null(out);
	/* a declared size under the cap does not lift the cap */
	cr_assert_eq(eu_zlib_inflate(z, zlen, 1u << 20, 1000, &out, &out_len, &err), -EFBIG);
	cr_assert_null(out);
	/* a declared size over the cap is refused before inflating */
	cr_assert_eq(eu_zlib_inflate(z, zlen, 1u << 20, 2u << 20, &out, &out_len, &err), -EFBIG);
	cr_assert_str_eq(err.msg, "declared size 2097152 bytes exceeds the limit of 1048576 bytes");
	free(z);
}

Test(codec, zlib_rejects_corrupt_and_truncated)
{
	uint8_t data[4000];
	make_data(data, sizeof(data));
	void *z, *out = NULL;
	size_t zlen, out_len;
	eu_error err = {0};
	cr_assert_eq(eu_zlib_deflate(data, sizeof(data), -1, &z, &zlen, &err), 0);

	cr_assert_eq(eu_zlib_inflate(z, zlen / 2, 1u << 20, 0, &out, &out_len, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "truncated zlib stream"), "%s", err.msg);
	cr_assert_null(out);

	/* the checksum at the end catches any change */
	uint8_t *bad = malloc(zlen + 3);
	memcpy(bad, z, zlen);
	bad[zlen - 2] ^= 0x55;
	cr_assert_eq(eu_zlib_inflate(bad, zlen, 1u << 20, 0, &out, &out_len, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "corrupt zlib data"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "incorrect data check"), "%s", err.msg);

	/* a broken header */
	memcpy(bad, z, zlen);
	bad[0] = 0x78;
	bad[1] = 0x00;
	cr_assert_eq(eu_zlib_inflate(bad, zlen, 1u << 20, 0, &out, &out_len, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "corrupt zlib data"), "%s", err.msg);

	/* trailing bytes after a complete stream */
	memcpy(bad, z, zlen);
	memcpy(bad + zlen, "xyz", 3);
	cr_assert_eq(eu_zlib_inflate(bad, zlen + 3, 1u << 20, 0, &out, &out_len, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "3 bytes of trailing data after the zlib stream");
	cr_assert_null(out);
	free(bad);
	free(z);
}

Test(codec, zlib_looks_like)
{
	cr_assert(eu_zlib_looks_like("\x78\x9c", 2));
	cr_assert(eu_zlib_looks_like("\x78\xda", 2));
	cr_assert(eu_zlib_looks_like("\x78\x01", 2));
	cr_assert_not(eu_zlib_looks_like("\x7f" "ELF", 4));
	cr_assert_not(eu_zlib_looks_like("\x78", 1));
}

Test(codec, sha256_known_vectors)
{
	uint8_t d[EU_SHA256_LEN];
	char hex[2 * EU_SHA256_LEN + 1];
	cr_assert_eq(eu_sha256("abc", 3, d), 0);
	eu_sha256_hex(d, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cr_assert_eq(eu_sha256("", 0, d), 0);
	eu_sha256_hex(d, hex);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* two parts hash like their concatenation */
	uint8_t d2[EU_SHA256_LEN];
	cr_assert_eq(eu_sha256_2("a", 1, "bc", 2, d2), 0);
	cr_assert_eq(eu_sha256("abc", 3, d), 0);
	cr_assert_arr_eq(d, d2, EU_SHA256_LEN);
}
