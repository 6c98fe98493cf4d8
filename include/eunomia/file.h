/* Reading a whole file into memory with a size cap, for everything the agent reads from disk
 * as data (packages, their objects, sidecars, signatures). */
#ifndef EUNOMIA_FILE_H
#define EUNOMIA_FILE_H

#include <stddef.h>

#include "eunomia/error.h"

/* Reads path (following symlinks: ConfigMap files are links) into *out, malloc'd and
 * NUL-terminated one byte past *len. A file over max bytes is refused (-EFBIG) without being
 * read when its size is known; a directory is -EISDIR. Every error names the path and the
 * reason; a missing file is -ENOENT. */
int eu_file_read(const char *path, size_t max, void **out, size_t *len, eu_error *err);

#endif
