/* What the sink core and the plugins both speak: one sink's settings (struct eu_sink_config),
 * its counters (struct eu_sink_stats) and reading a set key back. The plugins see this through
 * sink_plugin.h, the daemon and the CLI through sinks/sink.h; neither sees the other's header. */
#ifndef EUNOMIA_SINK_TYPES_H
#define EUNOMIA_SINK_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EU_SINK_DEFAULT_QUEUE_RECORDS 65536u
#define EU_SINK_DEFAULT_QUEUE_BYTES (64u << 20)

struct eu_sink_plugin;
struct eu_metrics_feed;

/* One sink's settings: its plugin, the plugin's own config struct (filled from the key
 * table's defaults, then from what was set) and the keys every sink has. */
struct eu_sink_config {
	const struct eu_sink_plugin *plugin;
	void *conf;            /* the plugin's struct; read it through the plugin's header */
	char **set;            /* per key of the plugin's table: the value set, as canonical
				* text (what equality, copies and eu_sink_config_getenv use), or
				* NULL when the default holds */
	size_t queue_records;  /* 0: the daemon's queue_size, else EU_SINK_DEFAULT_QUEUE_RECORDS */
	size_t queue_bytes;    /* 0: EU_SINK_DEFAULT_QUEUE_BYTES */
	/* The agent's metrics (agent/metrics/metrics_feed.h), for a plugin that exports them
	 * (otlp); set by the daemon before it opens the sink, NULL elsewhere. Not a key: copies
	 * take it along and equality ignores it. */
	struct eu_metrics_feed *metrics;
};

/* The value a key was set to, as canonical text, or NULL (default). */
const char *eu_sink_config_get(const struct eu_sink_config *cfg, const char *key);
/* An eu_otlp_getenv_fn-style lookup over a config (ctx): the value of the key that stands for
 * environment variable `name` (OTEL_* settings in the config file) when set, else getenv(). */
const char *eu_sink_config_getenv(void *ctx, const char *name);

struct eu_sink_stats {
	uint64_t queued;   /* records accepted into the queue */
	uint64_t written;  /* records written out */
	uint64_t dropped;  /* records lost: queue full or write error */
	uint64_t retried;  /* writes retried (EINTR, EAGAIN, short writes) */
	uint64_t bytes;    /* bytes written */
	uint64_t rotations; /* file: rotations done */
	size_t queue_len;  /* records waiting now */
	/* A sink that delivers on its own after the core hands records over (otlp): `written`
	 * then only counts what was handed to it, and these say what became of it so far. */
	bool delivers;
	uint64_t exported;       /* acknowledged by the receiver */
	uint64_t export_retries; /* requests that were retries */
	uint64_t spooled;        /* written to the on-disk spool */
	uint64_t replayed;       /* delivered from the spool */
	uint64_t export_dropped; /* lost after the hand-over (every reason; the sink logs them
				  * by reason at close) */
	uint64_t spool_full;     /* of those: neither the receiver nor the spool took them */
};

#endif
