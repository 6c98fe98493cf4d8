/* The stdout sink: records to a file descriptor (1 by default), as JSON lines, or on a
 * terminal as one readable line per event (record_text.h; `format: auto|json|text`). A
 * blocked reader only blocks this sink's writer thread; the queue in front of it then fills
 * and drops. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "eunomia/record.h"
#include "record_text.h"
#include "sinks/plugin_api/sink_plugin.h"

enum stdout_format { FORMAT_AUTO, FORMAT_JSON, FORMAT_TEXT };
static const char *const format_choices[] = {"auto", "json", "text", NULL};

struct stdout_conf {
	uint64_t fd;
	int format;
};

struct stdout_state {
	int fd;
	bool text;
	struct eu_text_style style;
	eu_buf buf; /* the batch's text, reused */
	uint64_t unprintable;
};

/* The batch as readable text, formatted once here from the typed records (a batch of JSON
 * lines from a producer without a plan: each line's fields). */
static int format_text(struct stdout_state *st, const struct eu_sink_batch *b)
{
	eu_buf_reset(&st->buf);
	size_t n = eu_record_batch_count(b->records);
	for (size_t i = 0; i < n; i++) {
		int ret = eu_record_text(&st->buf, eu_record_batch_at(b->records, i), &st->style);
		if (ret == -ENOMEM)
			return ret;
		if (ret && st->unprintable++ == 0)
			eu_log(EU_LOG_WARN, "stdout: a record of %s could not be printed as text (%s); "
			       "such records are left out", eu_record_batch_at(b->records, i)->src->package,
			       strerror(-ret));
	}
	if (!n && b->n_records) {
		const char *text;
		size_t len;
		int ret = eu_sink_batch_json(b, &text, &len);
		if (ret)
			return ret;
		for (const char *p = text, *end = text + len; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
			eu_record_text_from_json(&st->buf, p, l, &st->style);
			p += l + 1;
		}
	}
	return st->buf.oom ? -ENOMEM : 0;
}

static int stdout_write(void *state, const struct eu_sink_batch *b, uint64_t *retries,
			uint64_t *bytes)
{
	struct stdout_state *st = state;
	const char *text;
	size_t len, done = 0;
	int ret;
	if (st->text) {
		ret = format_text(st, b);
		text = st->buf.data;
		len = st->buf.len;
	} else {
		ret = eu_sink_batch_json(b, &text, &len);
	}
	/* a non-blocking stdout waits for room; a pipe cannot take back half a line, so what
	 * was written stays */
	if (!ret && len)
		ret = eu_sink_write_all(st->fd, text, len, true, retries, &done);
	*bytes = done;
	return ret;
}

static void stdout_close(void *state)
{
	struct stdout_state *st = state;
	eu_buf_free(&st->buf);
	free(st);
}

static int stdout_open(const struct eu_sink_config *cfg, const void *conf, void **state,
		       eu_error *err)
{
	const struct stdout_conf *c = conf;
	struct stdout_state *st = calloc(1, sizeof(*st));
	if (!st)
		return eu_error_set(err, -ENOMEM, "out of memory");
	st->fd = (int)c->fd;
	/* a person reads a terminal; anything else is a program reading JSON */
	st->text = c->format == FORMAT_TEXT || (c->format == FORMAT_AUTO && isatty(st->fd));
	st->style.color = st->text && eu_text_color_wanted(st->fd);
	eu_buf_init(&st->buf);
	*state = st;
	return 0;
}

static const struct eu_sink_key stdout_keys[] = {
	{.key = "fd", .type = EU_SINK_KEY_UINT, .def = "1", .min = 1, .max = 65535,
	 .offset = offsetof(struct stdout_conf, fd),
	 .desc = "the file descriptor written (an inherited pipe or socket)"},
	{.key = "format", .type = EU_SINK_KEY_ENUM, .def = "auto", .choices = format_choices,
	 .offset = offsetof(struct stdout_conf, format), .option = "--format",
	 .desc = "json: JSON lines; text: one readable line per event (time, package, "
		 "key=value; coloured on a terminal unless NO_COLOR is set or TERM=dumb); auto: "
		 "text on a terminal, else json (--format sets it)"},
	{0},
};

const struct eu_sink_plugin eu_sink_plugin_stdout = {
	.name = "stdout",
	.desc = "Records to standard output: JSON lines, or on a terminal one readable line per "
		"event (format).",
	.keys = stdout_keys,
	.conf_size = sizeof(struct stdout_conf),
	.open = stdout_open,
	.write = stdout_write,
	.close = stdout_close,
};
