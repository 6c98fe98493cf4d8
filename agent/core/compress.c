/* Whole-buffer gzip and zlib through libdeflate (compress.h). */
#include <errno.h>
#include <libdeflate.h>
#include <stdlib.h>

#include "compress.h"

struct eu_compressor {
	struct libdeflate_compressor *d;
};

struct eu_compressor *eu_compressor_new(int level)
{
	if (level < 0 || level > 12)
		return NULL;
	struct eu_compressor *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = libdeflate_alloc_compressor(level);
	if (!c->d) {
		free(c);
		return NULL;
	}
	return c;
}

void eu_compressor_free(struct eu_compressor *c)
{
	if (!c)
		return;
	libdeflate_free_compressor(c->d);
	free(c);
}

typedef size_t (*bound_fn)(struct libdeflate_compressor *, size_t);
typedef size_t (*compress_fn)(struct libdeflate_compressor *, const void *, size_t, void *,
			      size_t);

/* Compresses straight into out's spare room, sized by the format's worst case, so the output
 * is never copied. */
static int append(struct eu_compressor *c, const void *data, size_t len, eu_buf *out,
		  bound_fn bound, compress_fn compress)
{
	size_t room = bound(c->d, len);
	if (out->oom || !eu_buf_reserve(out, room))
		return -ENOMEM;
	size_t n = compress(c->d, data, len, out->data + out->len, room);
	if (!n) /* cannot happen with the bound's room; not silently an empty body */
		return -EIO;
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

int eu_compress_gzip(struct eu_compressor *c, const void *data, size_t len, eu_buf *out)
{
	return append(c, data, len, out, libdeflate_gzip_compress_bound, libdeflate_gzip_compress);
}

int eu_compress_zlib(struct eu_compressor *c, const void *data, size_t len, eu_buf *out)
{
	return append(c, data, len, out, libdeflate_zlib_compress_bound, libdeflate_zlib_compress);
}
