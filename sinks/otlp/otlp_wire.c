/* Protobuf wire primitives for the OTLP request bodies. */
#include <errno.h>

#include "otlp_priv.h"

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
