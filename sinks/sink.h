/* Sinks: where the daemon's records go (stdout, files; OTLP later). One small interface:
 * open from a config, hand over a batch of records, flush, reopen, close, stats.
 *
 * Every sink owns a bounded queue and one writer thread. eu_sink_write() only copies the batch
 * into the queue (or drops it when the queue is full) and never blocks on I/O, so a slow or
 * failing sink neither stalls the loop nor the other sinks. Every record is counted once as
 * queued (accepted) and then once as written or dropped; a write that had to be retried
 * (EINTR/EAGAIN, short write) counts in `retried`. A write error (ENOSPC, EPIPE, ...) drops the
 * batch it hit, logs one error per episode (not per batch) and one line when writes work
 * again. Batches are whole lines: a batch is written completely or not at all (a file sink
 * truncates a partial write back off), so no line is ever split. */
#ifndef EUNOMIA_SINK_H
#define EUNOMIA_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"

enum eu_sink_type {
	EU_SINK_STDOUT = 1,
	EU_SINK_FILE,
	EU_SINK_OTLP, /* sinks/otlp/otlp_sink.c */
};

enum eu_fsync_policy {
	EU_FSYNC_NONE = 0, /* leave it to the kernel */
	EU_FSYNC_INTERVAL, /* fdatasync at most every fsync_interval_ms when there are new bytes */
	EU_FSYNC_ALWAYS,   /* fdatasync after every batch */
};

#define EU_SINK_DEFAULT_QUEUE_RECORDS 65536u
#define EU_SINK_DEFAULT_QUEUE_BYTES (64u << 20)
#define EU_SINK_DEFAULT_KEEP 5u

struct eu_sink_config {
	enum eu_sink_type type;
	char *path;               /* file: the live file; otlp: the URL or NULL */
	int fd;                   /* stdout: the fd written (0 means 1) */
	/* file rotation: the live file is renamed PATH.1 (PATH.1.gz when compressed), older ones
	 * shift to PATH.2 ... PATH.<keep>; the one beyond keep is deleted */
	uint64_t max_bytes;       /* rotate before a batch would make the file bigger; 0: never */
	uint32_t rotate_interval_s; /* rotate a non-empty file this long after it was opened; 0: never */
	uint32_t keep;            /* rotated files kept (0: rotated data is deleted) */
	bool compress;            /* gzip rotated files (in the sink's writer thread) */
	enum eu_fsync_policy fsync;
	uint32_t fsync_interval_ms; /* default 1000 */
	size_t queue_records;     /* 0: EU_SINK_DEFAULT_QUEUE_RECORDS */
	size_t queue_bytes;       /* 0: EU_SINK_DEFAULT_QUEUE_BYTES */
	/* otlp, from the config file; each set one wins over its EUNOMIA_OTLP_* variable.
	 * severity and attributes are key=value lists in OTEL_RESOURCE_ATTRIBUTES syntax
	 * (values %-encoded). */
	char *spool_dir;          /* the spool directory; NULL: EUNOMIA_OTLP_SPOOL_DIR */
	uint64_t spool_max_bytes; /* 0: EUNOMIA_OTLP_SPOOL_MAX_BYTES, else 256 MiB */
	char *severity;           /* package=LEVEL; NULL: EUNOMIA_OTLP_SEVERITY */
	char *attributes;         /* field=attribute name (empty: dropped); NULL: the variable */
	/* otlp: OTEL_* variables the config file sets for this sink (headers, TLS, batching,
	 * resource ...), read through eu_sink_config_getenv: they win over the same variables
	 * in the environment (a signal-specific one there, _LOGS_/_METRICS_, is looked up
	 * first by the exporter and still wins) */
	struct eu_sink_setting *otel;
	size_t n_otel;
};

struct eu_sink_setting {
	char *name;
	char *value;
};

/* Fills defaults for a type (keep 5, fsync none, interval 1000 ms, fd 1). */
void eu_sink_config_init(struct eu_sink_config *cfg, enum eu_sink_type type);
/* Parses a command-line spec: "stdout", "file:PATH", "otlp", "otlp:URL". */
int eu_sink_config_from_spec(const char *spec, struct eu_sink_config *out, eu_error *err);
int eu_sink_config_copy(struct eu_sink_config *dst, const struct eu_sink_config *src);
/* Sets an OTEL_* variable for this sink (replacing an earlier value): 0 or -ENOMEM. */
int eu_sink_config_set_otel(struct eu_sink_config *cfg, const char *name, const char *value);
/* An eu_otlp_getenv_fn over a sink config (ctx): its own OTEL_* settings, else getenv(). */
const char *eu_sink_config_getenv(void *ctx, const char *name);
/* Whether two configs open the same sink with the same settings. */
bool eu_sink_config_equal(const struct eu_sink_config *a, const struct eu_sink_config *b);
void eu_sink_config_free(struct eu_sink_config *cfg);

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

struct eu_sink;

/* Opens the destination (a file is created/appended at once, so a bad path fails here) and
 * starts the writer thread. */
int eu_sink_open(const struct eu_sink_config *cfg, struct eu_sink **out, eu_error *err);

/* Queues n_records complete lines (data[0..len), each ending in '\n'). Never blocks on I/O.
 * Returns true when queued, false when dropped (queue full, sink closed). */
bool eu_sink_write(struct eu_sink *s, const char *data, size_t len, size_t n_records);

/* Waits until everything queued so far is written or dropped: 0, or -ETIMEDOUT. */
int eu_sink_flush(struct eu_sink *s, int timeout_ms);

/* Reopens the destination before the next write (SIGHUP: logrotate moved the file away).
 * Returns at once. */
void eu_sink_reopen(struct eu_sink *s);

/* Stops the sink taking or writing records: what is queued, and a batch the writer is still
 * stuck on (a blocked reader), is counted dropped at once, so counters read afterwards are
 * final (count first, log last). Returns at once. */
void eu_sink_abandon(struct eu_sink *s);

/* Flushes for up to timeout_ms, then abandons the rest (counted dropped) and stops the
 * writer. NULL is fine. */
void eu_sink_close(struct eu_sink *s, int timeout_ms);

void eu_sink_get_stats(struct eu_sink *s, struct eu_sink_stats *out);
/* Whether a write failed with EPIPE: the reading end of a pipe (`| head`) is closed. */
bool eu_sink_reader_gone(struct eu_sink *s);
/* "stdout", "file:/var/log/x.jsonl". */
const char *eu_sink_name(const struct eu_sink *s);

#endif
