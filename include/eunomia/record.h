/* The daemon's record: one JSON object per line, the schema every sink writes. Stable:
 * fields are only ever added.
 *
 *   {"time":"2026-11-25T01:23:45.123456789Z",   event time, UTC, RFC 3339 with nanoseconds
 *    "time_unix_nano":1795569825123456789,      the same instant as a number
 *    "package":"bootstrap",                     the package's name
 *    "version":"3f2a9c0d41be",                  first 12 hex digits of the package's SHA-256
 *    "event":"event",                           the event type: the exported struct's name
 *                                               (sampled maps: the map's name)
 *    "host":"node-1",                           gethostname()
 *    "fields":{"pid":1234,"comm":"bash",...}}   the decoded fields (decoder.h formatting);
 *                                               sampled maps: {"key":K,"value":V}
 *
 * Event time: when the event struct has a top-level 8-byte integer field named `ts`,
 * `timestamp`, `time_ns`, `ts_ns`, `timestamp_ns` or ending in `_ts` / `_ts_ns` (the first in
 * that order of precedence), its value is taken as the kernel's CLOCK_MONOTONIC in ns (what
 * bpf_ktime_get_ns() returns) and converted to wall time with the offset between
 * CLOCK_REALTIME and CLOCK_MONOTONIC (re-read for every batch). A value of 0 or one more than
 * a minute in the future is not a timestamp: the record then carries the time observed (when
 * the daemon read it), as do events without such a field. */
#ifndef EUNOMIA_RECORD_H
#define EUNOMIA_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"

struct eu_plan;

struct eu_record_meta {
	const char *package;
	const char *version; /* 12 hex digits */
	const char *event;
	const char *host;
};

/* The wall-clock offset and the observation time, taken once per batch. */
struct eu_record_clock {
	int64_t mono_to_real_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t mono_now_ns;
	uint64_t real_now_ns;    /* the observed time */
};

void eu_record_clock_sync(struct eu_record_clock *c);

/* Index of the struct's timestamp field (see above), or -1. */
int eu_record_time_field(const struct eu_plan *plan);

/* The record's time in ns since the epoch (see above). ts_field from eu_record_time_field. */
uint64_t eu_record_event_time(const struct eu_plan *plan, int ts_field, const void *data,
			      size_t size, const struct eu_record_clock *c);

/* Formats the 12-hex-digit version of a SHA-256 into out[13]. */
void eu_record_version(const uint8_t sha256[32], char out[13]);

/* Appends `{"time":...,"fields":` (everything before the fields' value). */
void eu_record_begin(eu_buf *out, const struct eu_record_meta *m, uint64_t time_ns);
/* Appends "}\n". */
void eu_record_end(eu_buf *out);

/* A whole event record with its newline. On error (a record shorter than the plan, -EINVAL;
 * -ENOMEM) nothing is appended. */
int eu_record_format_event(eu_buf *out, const struct eu_record_meta *m,
			   const struct eu_plan *plan, int ts_field, const void *data, size_t size,
			   const struct eu_record_clock *c);

#endif
