/* The stdout sink: JSON lines to a file descriptor (1 by default). A blocked reader only
 * blocks this sink's writer thread; the queue in front of it then fills and drops. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "sink_priv.h"

struct eu_sink_backend {
	int fd;
};

static int stdout_write(struct eu_sink_backend *b, const char *data, size_t len,
			uint64_t *retries)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(b->fd, data + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			if (off < len)
				(*retries)++;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			(*retries)++;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			/* a non-blocking stdout: wait for room (this thread only) */
			struct pollfd p = {.fd = b->fd, .events = POLLOUT};
			poll(&p, 1, 1000);
			(*retries)++;
			continue;
		}
		/* a pipe cannot take back half a line: what was written stays */
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

static void stdout_close(struct eu_sink_backend *b)
{
	free(b);
}

static const struct eu_sink_ops stdout_ops = {
	.write = stdout_write,
	.close = stdout_close,
};

int eu_sink_stdout_open(const struct eu_sink_config *cfg, struct eu_sink_backend **out,
			const struct eu_sink_ops **ops, eu_error *err)
{
	struct eu_sink_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return eu_error_set(err, -ENOMEM, "out of memory");
	b->fd = cfg->fd > 0 ? cfg->fd : 1;
	*out = b;
	*ops = &stdout_ops;
	return 0;
}
