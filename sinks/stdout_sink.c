/* The stdout sink: JSON lines to a file descriptor (1 by default). A blocked reader only
 * blocks this sink's writer thread; the queue in front of it then fills and drops. */
#include <errno.h>
#include <stdlib.h>

#include "sink_priv.h"

struct eu_sink_backend {
	int fd;
};

static int stdout_write(struct eu_sink_backend *b, const char *data, size_t len,
			uint64_t *retries)
{
	size_t done;
	/* a non-blocking stdout waits for room; a pipe cannot take back half a line, so what
	 * was written stays */
	return eu_sink_write_all(b->fd, data, len, true, retries, &done);
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
