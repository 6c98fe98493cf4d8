/* `run --trace-pipe`: the kernel's trace pipe (bpf_printk output) printed on stdout with the
 * events, for as long as the run lasts. Reads are bounded per wakeup and per line, so a
 * flood of printk lines cannot stall the loop or grow memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_priv.h"
#include "eunomia/log.h"

#define TRACE_PIPE "/sys/kernel/tracing/trace_pipe"
#define TRACE_READ_MAX (64u << 10)  /* bytes read per wakeup */
#define TRACE_LINE_MAX 4096         /* longer lines are cut */

static void emit_line(struct cli_trace *t, const char *s, size_t n)
{
	struct cli_output *o = t->out;
	if (o->json) {
		eu_buf_puts(&o->buf, "{\"trace_pipe\":");
		eu_buf_json_string(&o->buf, s, n);
		eu_buf_puts(&o->buf, "}\n");
	} else {
		eu_buf_text_escaped(&o->buf, s, n);
		eu_buf_putc(&o->buf, '\n');
	}
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct cli_trace *t = h->data;
	if (status < 0)
		return;
	size_t total = 0;
	char chunk[4096];
	while (total < TRACE_READ_MAX) {
		ssize_t n = read(t->fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		total += (size_t)n;
		for (ssize_t i = 0; i < n; i++) {
			char ch = chunk[i];
			if (ch == '\n') {
				emit_line(t, t->line, t->len);
				t->len = 0;
				t->cut = false;
			} else if (t->len < TRACE_LINE_MAX) {
				t->line[t->len++] = ch;
			} else if (!t->cut) {
				t->cut = true;
				t->lines_cut++;
			}
		}
	}
	cli_output_flush(t->out);
}

int cli_trace_start(struct cli_trace *t, uv_loop_t *loop, struct cli_output *out)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->out = out;
	t->line = malloc(TRACE_LINE_MAX);
	if (!t->line)
		return -ENOMEM;
	t->fd = open(TRACE_PIPE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		int e = -errno;
		eu_log(EU_LOG_ERROR, "--trace-pipe: cannot open " TRACE_PIPE ": %s (tracefs must be "
		       "mounted and readable: run as root)", strerror(-e));
		return e;
	}
	int ret = uv_poll_init(loop, &t->poll, t->fd);
	if (ret) {
		eu_log(EU_LOG_ERROR, "--trace-pipe: cannot watch " TRACE_PIPE ": %s", uv_strerror(ret));
		close(t->fd);
		t->fd = -1;
		return ret;
	}
	t->poll.data = t;
	t->active = true;
	uv_poll_start(&t->poll, UV_READABLE, on_readable);
	eu_log(EU_LOG_INFO, "printing the kernel's trace pipe (bpf_printk lines of every program, "
	       "not only this package's)");
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct cli_trace *t = h->data;
	close(t->fd);
	t->fd = -1;
}

void cli_trace_stop(struct cli_trace *t)
{
	if (!t->active) {
		free(t->line);
		t->line = NULL;
		return;
	}
	t->active = false;
	on_readable(&t->poll, 0, UV_READABLE); /* what arrived before the stop */
	if (t->len)
		emit_line(t, t->line, t->len);
	cli_output_flush(t->out);
	if (t->lines_cut)
		eu_log(EU_LOG_WARN, "--trace-pipe: %llu line(s) longer than %u bytes were cut",
		       (unsigned long long)t->lines_cut, TRACE_LINE_MAX);
	uv_poll_stop(&t->poll);
	uv_close((uv_handle_t *)&t->poll, on_closed);
	free(t->line);
	t->line = NULL;
	t->len = 0;
}
