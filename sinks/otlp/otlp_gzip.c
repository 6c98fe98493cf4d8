/* The request bodies' gzip (otlp.h, eu_otlp_gzip): level 1, the default, is ISA-L's igzip
 * level 1; levels 2..9 are libdeflate's (core/compress.h).
 *
 * Compressing a request cost as much as encoding its records: bench/otlp_bench measured
 * libdeflate's level 1, its fastest, at ~220-290 ns per record, and igzip's level 1 at
 * ~90-160 ns for 10-15 % more bytes on the wire (both gzip, RFC 1952; every receiver reads
 * either). igzip keeps its hash tables in level_buf, allocated once per compressor. */
#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdlib.h>

#include "core/compress.h"
#include "otlp.h"

struct eu_otlp_gzip {
	int level;
	struct eu_compressor *deflate; /* levels 2..9; level 1 when igzip's output overflows */
	uint8_t *level_buf;            /* igzip's, level 1 */
};

struct eu_otlp_gzip *eu_otlp_gzip_new(int level)
{
	if (level < 1 || level > EU_OTLP_GZIP_LEVEL_MAX)
		return NULL;
	struct eu_otlp_gzip *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->level = level;
	z->deflate = eu_compressor_new(level);
	if (level == 1)
		z->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
	if (!z->deflate || (level == 1 && !z->level_buf)) {
		eu_otlp_gzip_free(z);
		return NULL;
	}
	return z;
}

void eu_otlp_gzip_free(struct eu_otlp_gzip *z)
{
	if (!z)
		return;
	eu_compressor_free(z->deflate);
	free(z->level_buf);
	free(z);
}

int eu_otlp_gzip(struct eu_otlp_gzip *z, const void *data, size_t len, eu_buf *out)
{
	if (z->level != 1 || len > UINT32_MAX / 2)
		return eu_compress_gzip(z->deflate, data, len, out);
	/* stored blocks, igzip's worst case, add 5 bytes per 64 KiB; the gzip frame 18 */
	size_t room = len + len / 16 + 1024;
	if (out->oom || !eu_buf_reserve(out, room))
		return -ENOMEM;
	struct isal_zstream s;
	isal_deflate_stateless_init(&s);
	s.level = 1;
	s.level_buf = z->level_buf;
	s.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	s.gzip_flag = IGZIP_GZIP;
	s.end_of_stream = 1;
	s.flush = NO_FLUSH;
	s.next_in = (uint8_t *)(uintptr_t)data;
	s.avail_in = (uint32_t)len;
	s.next_out = (uint8_t *)out->data + out->len;
	s.avail_out = (uint32_t)room;
	if (isal_deflate_stateless(&s) != COMP_OK)
		/* cannot happen with the room above; libdeflate's bound is exact */
		return eu_compress_gzip(z->deflate, data, len, out);
	/* XFL: igzip leaves 0; level 1 is the fastest method, which zlib and libdeflate mark 4 */
	if (s.total_out > 8)
		out->data[out->len + 8] = 4;
	out->len += s.total_out;
	out->data[out->len] = '\0';
	return 0;
}
