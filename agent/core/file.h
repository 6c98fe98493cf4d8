/* Reading a whole file into memory with a size cap, for everything the agent reads from disk
 * as data (packages, their objects, sidecars, signatures); and writing a buffer whole. */
#ifndef EUNOMIA_FILE_H
#define EUNOMIA_FILE_H

#include <stddef.h>

#include "eunomia/error.h"

/* Reads path (following symlinks: ConfigMap files are links) into *out, malloc'd and
 * NUL-terminated one byte past *len. Only regular files: a directory is -EISDIR, a FIFO or
 * device -EINVAL (opened without blocking, so a FIFO cannot hang the caller). A file over
 * max bytes is refused (-EFBIG) without being read. Every error names the path and the
 * reason; a missing file is -ENOENT. */
int eu_file_read(const char *path, size_t max, void **out, size_t *len, eu_error *err);
/* The same from an open descriptor (opened O_NONBLOCK), which it closes; path is for the
 * messages. For a caller that checked the inode it opened before reading it. */
int eu_file_read_fd(int fd, const char *path, size_t max, void **out, size_t *len,
		    eu_error *err);
/* Writes all n bytes (retrying short writes and EINTR): 0, or -errno (-EIO for a write of
 * nothing). */
int eu_write_all(int fd, const void *data, size_t n);

/* Reads an open descriptor (stdin, a pipe) to its end, the same way: name is for messages;
 * more than max bytes is -EFBIG. The descriptor stays open. */
int eu_fd_read(int fd, const char *name, size_t max, void **out, size_t *len, eu_error *err);

#endif
