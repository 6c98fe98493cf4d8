/* Whole-buffer compression through libdeflate: the OTLP request bodies (gzip, one per
 * request) and the BPF objects ecc embeds in packages (zlib). libdeflate compresses a buffer
 * it sees whole, several times faster than zlib's streaming deflate at the same level and
 * ratio (bench/otlp_bench prints both on our records). zlib stays where data is a stream:
 * rotated files (sinks/file_sink.c) and inflating packages of unknown size (codec.c). */
#ifndef EUNOMIA_COMPRESS_H
#define EUNOMIA_COMPRESS_H

#include <stddef.h>

#include "eunomia/buf.h"

/* One compressor holds its level's match-finder tables (tens to hundreds of KiB): keep one
 * per thread that compresses repeatedly (an exporter) rather than one per call. Not for use
 * by two threads at once. */
struct eu_compressor;

/* level: 0 (store) .. 12 (smallest); 6 is zlib's default trade-off. NULL when out of memory
 * or the level is out of range. */
struct eu_compressor *eu_compressor_new(int level);
void eu_compressor_free(struct eu_compressor *c);

/* Appends data as a gzip member (RFC 1952, what Content-Encoding: gzip means) to out; as a
 * zlib stream (RFC 1950). 0, or -ENOMEM (out's memory: out->oom is set too). */
int eu_compress_gzip(struct eu_compressor *c, const void *data, size_t len, eu_buf *out);
int eu_compress_zlib(struct eu_compressor *c, const void *data, size_t len, eu_buf *out);

#endif
