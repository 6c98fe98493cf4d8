/* The stdout sink: JSON lines to a file descriptor (1 by default). A blocked reader only
 * blocks this sink's writer thread; the queue in front of it then fills and drops. */
#include <errno.h>
#include <stdlib.h>

#include "sink_plugin.h"

struct stdout_conf {
	uint64_t fd;
};

struct stdout_state {
	int fd;
};

static int stdout_write(void *state, const struct eu_sink_batch *b, uint64_t *retries,
			uint64_t *bytes)
{
	struct stdout_state *st = state;
	const char *text;
	size_t len, done = 0;
	int ret = eu_sink_batch_json(b, &text, &len);
	/* a non-blocking stdout waits for room; a pipe cannot take back half a line, so what
	 * was written stays */
	if (!ret)
		ret = eu_sink_write_all(st->fd, text, len, true, retries, &done);
	*bytes = done;
	return ret;
}

static void stdout_close(void *state)
{
	free(state);
}

static int stdout_open(const struct eu_sink_config *cfg, const void *conf, void **state,
		       eu_error *err)
{
	const struct stdout_conf *c = conf;
	struct stdout_state *st = calloc(1, sizeof(*st));
	if (!st)
		return eu_error_set(err, -ENOMEM, "out of memory");
	st->fd = (int)c->fd;
	*state = st;
	return 0;
}

static const struct eu_sink_key stdout_keys[] = {
	{.key = "fd", .type = EU_SINK_KEY_UINT, .def = "1", .min = 1, .max = 65535,
	 .offset = offsetof(struct stdout_conf, fd),
	 .desc = "the file descriptor written (an inherited pipe or socket)"},
	{0},
};

const struct eu_sink_plugin eu_sink_plugin_stdout = {
	.name = "stdout",
	.desc = "JSON lines (one record per line) to standard output.",
	.keys = stdout_keys,
	.conf_size = sizeof(struct stdout_conf),
	.open = stdout_open,
	.write = stdout_write,
	.close = stdout_close,
};
