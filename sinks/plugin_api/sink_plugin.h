/* What a sink plugin declares: one static struct eu_sink_plugin with its name, its config keys
 * (a table like Fluent Bit's config_map: type, key, default, offset into the plugin's own
 * config struct, description) and its callbacks. The core (sink.c, sink_config.c) does the
 * queueing, the writer thread, the counters and every key's parsing, checking, copying and
 * comparing from the table; the plugin only sees its own filled config struct.
 *
 * Callbacks run on the sink's writer thread only (open, finish and close excepted: they run
 * on the closing thread once the writer has stopped), so a plugin needs no locking of its
 * own. */
#ifndef EUNOMIA_SINK_PLUGIN_H
#define EUNOMIA_SINK_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"
#include "sink_types.h"

enum eu_sink_key_type {
	EU_SINK_KEY_STRING = 1, /* char *, a non-empty string */
	EU_SINK_KEY_BOOL,       /* bool: true/false, yes/no, on/off, 1/0 */
	EU_SINK_KEY_UINT,       /* uint64_t: min..max */
	EU_SINK_KEY_SIZE,       /* uint64_t bytes: 1048576, 64K, 100M, 1G (powers of 1024) */
	EU_SINK_KEY_SECONDS,    /* uint64_t seconds: 3600, 30s, 30m, 1h, 1d */
	EU_SINK_KEY_MILLIS,     /* uint64_t ms, 1 ms .. 49 days: 250, 250ms, 5s, 1m */
	EU_SINK_KEY_ENUM,       /* int: the index of the value in choices */
	EU_SINK_KEY_LIST,       /* char *: key=value,... (values %-encoded); may be empty */
};

/* No field in the config struct: the key is only read through eu_sink_config_getenv. */
#define EU_SINK_KEY_NO_FIELD SIZE_MAX

struct eu_sink_key {
	const char *key;
	enum eu_sink_key_type type;
	const char *def;        /* the default as text (NULL: unset: 0, false or NULL) */
	size_t offset;          /* of the field in the plugin's config struct, or NO_FIELD */
	const char *desc;
	uint64_t min, max;      /* UINT: the range (max 0: UINT64_MAX) */
	const char *const *choices; /* ENUM: the values, NULL-terminated */
	const char *env;        /* the environment variable this key stands in for, or NULL */
	bool required;
	/* A daemon command-line option ("--format") that sets this key on every sink of the
	 * plugin's type, over the config file; or NULL. */
	const char *option;
	/* Further checks of a value (canonical text): 0, or -EINVAL with err saying why. */
	int (*check)(const char *value, eu_error *err);
};

/* A batch handed to a plugin: typed records (eunomia/record.h) shared by every sink, which
 * each plugin encodes in its own format on its own thread. A text plugin takes the batch's
 * JSON lines from eu_sink_batch_json: they are formatted once, by the first sink that asks,
 * for all of them. A batch may also carry lines that came as text (eu_sink_write_lines):
 * n_records counts both, eu_record_batch_count the typed ones. */
struct eu_record_batch;
struct eu_sink_batch {
	struct eu_record_batch *records;
	size_t n_records;
};

/* The batch as JSON lines (n_records whole lines): 0, or -ENOMEM. */
int eu_sink_batch_json(const struct eu_sink_batch *b, const char **text, size_t *len);

struct eu_sink_plugin {
	const char *name;         /* the type in the config and on the command line */
	const char *desc;         /* one line for --help-sinks */
	const char *arg_key;      /* the key TYPE:ARG sets, or NULL (the type takes no ARG) */
	const struct eu_sink_key *keys; /* terminated by an entry with key NULL */
	size_t conf_size;         /* of the plugin's config struct */

	/* Opens the destination with the config (conf is the plugin's struct; cfg for
	 * eu_sink_config_getenv). *state is passed to every other callback. */
	int (*open)(const struct eu_sink_config *cfg, const void *conf, void **state,
		    eu_error *err);
	/* Writes one whole batch, or nothing of it: 0, or a negative errno (the core then
	 * counts the batch as dropped). *retries counts retried writes, *bytes what went out. */
	int (*write)(void *state, const struct eu_sink_batch *b, uint64_t *retries,
		     uint64_t *bytes);
	/* Pushes out what the plugin buffers itself (optional): the core calls it once its
	 * queue is empty and a flush was asked for. */
	void (*flush)(void *state);
	/* Periodic work with no batch (fsync interval, time rotation, export timers); now_ms is
	 * CLOCK_MONOTONIC (optional). */
	void (*tick)(void *state, uint64_t now_ms);
	/* How long the writer may sleep before tick is due again, in ms (0: no timer needed). */
	uint32_t (*tick_period_ms)(void *state);
	int (*reopen)(void *state, eu_error *err); /* optional */
	/* Ends delivery once the writer has stopped (optional; on the closing thread, before
	 * close): what the plugin still holds is delivered within its own bound or counted, so
	 * that stats, read after it, are final. Then close only frees. */
	void (*finish)(void *state);
	void (*close)(void *state);
	/* Adds the plugin's own counters (rotations) to the core's (optional; any thread). */
	void (*stats)(void *state, struct eu_sink_stats *st);
	/* A resource two open sinks must not share, from the config (optional). */
	const char *(*exclusive)(const void *conf);
};

uint64_t eu_sink_now_ms(void);
/* The key named name in a plugin's table (terminated by a NULL key), or NULL. */
const struct eu_sink_key *eu_sink_key_find(const struct eu_sink_key *keys, const char *name);

/* Writes data[0..len) to fd whole (sink_io.c), counting short writes and EINTR in *retries.
 * With wait_eagain, EAGAIN (a non-blocking fd) waits for room and retries too. 0, or a
 * negative errno (-EIO for a write of nothing) with *done the bytes that did get written. */
int eu_sink_write_all(int fd, const char *data, size_t len, bool wait_eagain,
		      uint64_t *retries, size_t *done);

#endif
