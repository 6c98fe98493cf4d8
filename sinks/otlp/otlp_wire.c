/* Protobuf wire primitives and gzip for the OTLP request bodies. */
#include <errno.h>
#include <zlib.h>

#include "otlp_priv.h"

size_t eu_pb_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void eu_pb_put_varint(eu_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	eu_buf_append(b, tmp, n);
}

void eu_pb_put_utf8(eu_buf *b, const char *s, size_t n)
{
	while (n) {
		size_t ok = eu_utf8_valid_prefix(s, n);
		eu_buf_append(b, s, ok);
		s += ok;
		n -= ok;
		if (n) {
			eu_buf_append(b, "\xEF\xBF\xBD", 3);
			s++;
			n--;
		}
	}
}

void eu_pb_put_len_field(eu_buf *b, uint32_t field, size_t len)
{
	eu_pb_put_varint(b, (uint64_t)field << 3 | 2);
	eu_pb_put_varint(b, len);
}

int eu_otlp_gzip(const void *data, size_t len, eu_buf *out)
{
	z_stream zs = {0};
	/* 15 + 16: a gzip wrapper, which is what Content-Encoding: gzip means */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	size_t bound = deflateBound(&zs, len);
	if (!eu_buf_reserve(out, bound)) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->data + out->len;
	zs.avail_out = (uInt)bound;
	int ret = deflate(&zs, Z_FINISH);
	if (ret != Z_STREAM_END) {
		deflateEnd(&zs);
		return -EIO;
	}
	out->len += zs.total_out;
	out->data[out->len] = '\0';
	deflateEnd(&zs);
	return 0;
}
