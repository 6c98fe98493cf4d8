/* Sinks: where the daemon's records go. A sink type is a plugin (sink_plugin.h) listed in the
 * registry (sink_registry.c); this header is what the daemon, the config parser and the CLI
 * use, and it names no sink type.
 *
 * Configuration: a sink's settings are the keys its plugin declares (type, default,
 * description) plus the keys every sink has (queue_size). The config file's `sinks:` entries,
 * the CLI's `--sink TYPE[:ARG]` (ARG sets the plugin's argument key: file:PATH,
 * otlp:URL) and `--help-sinks` all go through the same key tables.
 *
 * Every sink owns a bounded queue and one writer thread. eu_sink_write() only queues the batch
 * (or drops it when the queue is full) and never blocks on I/O, so a slow or failing sink
 * neither stalls the loop nor the other sinks. Every record is counted once as queued
 * (accepted) and then once as written or dropped; a write that had to be retried
 * (EINTR/EAGAIN, short write) counts in `retried`. A write error (ENOSPC, EPIPE, ...) drops the
 * batch it hit, logs one error per episode (not per batch) and one line when writes work
 * again. Batches are whole lines: a batch is written completely or not at all (a file sink
 * truncates a partial write back off), so no line is ever split. */
#ifndef EUNOMIA_SINK_H
#define EUNOMIA_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"
#include "sinks/plugin_api/sink_types.h"

/* The plugin named type, or NULL. */
const struct eu_sink_plugin *eu_sink_plugin_find(const char *type);
/* The i-th registered plugin, or NULL past the last. */
const struct eu_sink_plugin *eu_sink_plugin_at(size_t i);
/* The registered plugins' names, comma-separated ("stdout, file, otlp"). */
const char *eu_sink_plugin_names(void);
/* The type the daemon opens when its config names no sink: the registry's first. */
const char *eu_sink_default_type(void);

/* The daemon's command-line options that plugins' keys declare (stdout's --format): each sets
 * its key on every sink of that type, over the config file. */
#define EU_SINK_MAX_OPTIONS 8
struct eu_sink_option {
	const char *option; /* "--format" */
	const char *value;
};
/* The i-th option a key declares ("--format"), each named once, or NULL past the last. */
const char *eu_sink_option_at(size_t i);
/* Whether value suits every key declaring option: 0, or -EINVAL with err saying what the
 * option takes ("--format takes auto, json or text"). */
int eu_sink_option_check(const char *option, const char *value, eu_error *err);
/* Sets the key cfg's plugin declares for option (nothing when it declares none): 0, or what
 * eu_sink_config_set says. */
int eu_sink_config_apply_option(struct eu_sink_config *cfg, const struct eu_sink_option *o,
				eu_error *err);
/* The daemon usage's lines for --sink and for every option above, from the registry and the
 * key tables (what `eunomia-agent --help` prints). */
void eu_sink_usage(eu_buf *out);

/* A config of the given type with every default: 0, -ENOENT (unknown type, err names the known
 * ones) or -ENOMEM. */
int eu_sink_config_init(struct eu_sink_config *cfg, const char *type, eu_error *err);
/* Sets one key (the plugin's or a common one) from text. -ENOENT: no such key for this type
 * (err says so); -EINVAL: err says what the key expects and what it got ("expected a size
 * such as 64M or 1G, got x"), without naming the key (the caller adds where it came from). */
int eu_sink_config_set(struct eu_sink_config *cfg, const char *key, const char *value,
		       eu_error *err);
/* Whether key takes a key=value list (the config file also accepts a mapping for it). */
bool eu_sink_config_key_is_list(const struct eu_sink_config *cfg, const char *key);
/* After the keys are set: the keys a type requires are there. -EINVAL, err says which
 * ("a file sink needs a path"). */
int eu_sink_config_check(const struct eu_sink_config *cfg, eu_error *err);
/* Parses a command-line spec "TYPE" or "TYPE:ARG" (ARG sets the type's argument key) and
 * checks it. */
int eu_sink_config_from_spec(const char *spec, struct eu_sink_config *out, eu_error *err);
int eu_sink_config_copy(struct eu_sink_config *dst, const struct eu_sink_config *src);
/* Whether two configs open the same sink with the same settings. */
bool eu_sink_config_equal(const struct eu_sink_config *a, const struct eu_sink_config *b);
/* The type's name ("file"). */
const char *eu_sink_config_type(const struct eu_sink_config *cfg);
/* A resource two open sinks must not share (an OTLP spool directory), or NULL. */
const char *eu_sink_config_exclusive(const struct eu_sink_config *cfg);
void eu_sink_config_free(struct eu_sink_config *cfg);

/* Prints every sink type and its keys (type, default, description) as Markdown tables: what
 * `eunomia-agent --help-sinks` shows and the README's sink tables are. */
void eu_sink_help(FILE *out);

struct eu_sink;

/* Opens the destination (a file is created/appended at once, so a bad path fails here) and
 * starts the writer thread. */
int eu_sink_open(const struct eu_sink_config *cfg, struct eu_sink **out, eu_error *err);

/* Queues a sealed batch of records (eunomia/record.h): the sink takes a reference, nothing is
 * copied, and its plugin encodes the records on the sink's thread. Never blocks on I/O.
 * Returns true when queued, false when dropped (queue full, sink closed). The queue's byte
 * bound counts the records' raw bytes. */
struct eu_record_batch;
bool eu_sink_write(struct eu_sink *s, struct eu_record_batch *batch);
/* Queues n_records lines that are already JSON text (data[0..len), each ending in '\n'):
 * text sinks write them as they are, the otlp sink counts them dropped (bad_record). */
bool eu_sink_write_lines(struct eu_sink *s, const char *data, size_t len, size_t n_records);

/* Waits until everything queued so far is written or dropped: 0, or -ETIMEDOUT. */
int eu_sink_flush(struct eu_sink *s, int timeout_ms);

/* Reopens the destination before the next write (SIGHUP: logrotate moved the file away).
 * Returns at once. */
void eu_sink_reopen(struct eu_sink *s);

/* Stops the sink taking or writing records: what is queued, and a batch the writer is still
 * stuck on (a blocked reader), is counted dropped at once, so counters read afterwards are
 * final (count first, log last). Returns at once. */
void eu_sink_abandon(struct eu_sink *s);

/* Flushes for up to timeout_ms, then abandons the rest (counted dropped), stops the writer
 * and lets the plugin end its delivery (an exporter's last bounded wait for its receiver and
 * its shutdown, which count what it still held): counters read afterwards are final and say
 * what became of every record. Once only (later calls return at once); NULL is fine. */
void eu_sink_stop(struct eu_sink *s, int timeout_ms);

/* eu_sink_stop, then frees the sink. NULL is fine. */
void eu_sink_close(struct eu_sink *s, int timeout_ms);

void eu_sink_get_stats(struct eu_sink *s, struct eu_sink_stats *out);
/* Whether a write failed with EPIPE: the reading end of a pipe (`| head`) is closed. */
bool eu_sink_reader_gone(struct eu_sink *s);
/* "stdout", "file:/var/log/x.jsonl": the type, and the argument key's value when set. */
const char *eu_sink_name(const struct eu_sink *s);

#endif
