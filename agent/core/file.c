/* Whole-file reads with a size cap (file.h). */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads fd to its end into a malloc'd, NUL-terminated buffer; name is for messages. */
static int read_fd(int fd, const char *name, size_t cap, size_t max, void **out, size_t *out_len,
		   eu_error *err)
{
	size_t len = 0;
	char *buf = malloc(cap);
	int rc = 0;
	if (!buf)
		return eu_error_set(err, -ENOMEM, "%s: out of memory", name);
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				rc = eu_error_set(err, -EFBIG, "%s: over the size limit of %zu bytes",
						  name, max);
				goto out;
			}
			char *nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				rc = eu_error_set(err, -ENOMEM, "%s: out of memory", name);
				goto out;
			}
			buf = nbuf;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			/* a non-blocking pipe handed to us (stdin): wait for it, it is all we do */
			struct pollfd p = {.fd = fd, .events = POLLIN};
			poll(&p, 1, -1);
			continue;
		}
		if (r < 0) {
			rc = eu_error_set(err, -errno, "%s: cannot read: %s", name, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max)
		rc = eu_error_set(err, -EFBIG, "%s: over the size limit of %zu bytes", name, max);
	if (!rc && len == cap) {
		char *nbuf = realloc(buf, cap + 1);
		if (!nbuf)
			rc = eu_error_set(err, -ENOMEM, "%s: out of memory", name);
		else
			buf = nbuf;
	}
out:
	if (rc) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

int eu_fd_read(int fd, const char *name, size_t max, void **out, size_t *len, eu_error *err)
{
	*out = NULL;
	*len = 0;
	return read_fd(fd, name, 65536, max, out, len, err);
}

int eu_file_read(const char *path, size_t max, void **out, size_t *out_len, eu_error *err)
{
	*out = NULL;
	*out_len = 0;
	/* non-blocking: opening a FIFO planted where a file is expected must not hang the loop */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return eu_error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	return eu_file_read_fd(fd, path, max, out, out_len, err);
}

int eu_file_read_fd(int fd, const char *path, size_t max, void **out, size_t *out_len,
		    eu_error *err)
{
	*out = NULL;
	*out_len = 0;
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return eu_error_set(err, -e, "%s: cannot stat: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return eu_error_set(err, -EISDIR, "%s: is a directory", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return eu_error_set(err, -EINVAL, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return eu_error_set(err, -EFBIG, "%s: %lld bytes is over the size limit of %zu",
				    path, (long long)st.st_size, max);
	}
	/* a size from fstat is a hint only: the file may still grow */
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
	int rc = read_fd(fd, path, cap, max, out, out_len, err);
	close(fd);
	return rc;
}

int eu_write_all(int fd, const void *data, size_t n)
{
	const uint8_t *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
