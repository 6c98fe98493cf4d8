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
 *                                               stacks (when the source has them): as
 *                                               eu_record_stacks_json prints them, and
 *                                               samples add "folded"
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

#include <stdbool.h>
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

/* ---- typed records ----
 * A record is not text: it is its source (shared by every record of one export of one
 * running package version), its time and its raw bytes, copied out of the ring buffer once
 * into a batch. Each consumer encodes it in its own format: JSON lines (eu_record_format,
 * or once per batch for every text sink with eu_record_batch_json), OTLP protobuf, ... */
enum eu_record_kind {
	EU_RECORD_EVENT = 1,  /* an exported struct: data is the event */
	EU_RECORD_SAMPLE,     /* a sampled map entry: key and value */
	EU_RECORD_LINE,       /* a line of text from a producer with no plan (a Wasm module's
			       * output): data is the text (UTF-8 expected, not required); its
			       * fields are {"line":TEXT} */
	EU_RECORD_OBJECT,     /* the same, when the line is one JSON object: data is that
			       * object's compact text, checked by the producer, and the fields */
};

/* The stacks a record carries (found by agent/program/stacks.c from field names and types)
 * and, beside its raw bytes, their frames already named: symbolised when the record was
 * taken, while the process and the stack-trace map still hold them. The frames are a blob
 * (eu_record_stack_frames reads it): per stack in f[] order, a 4-byte frame count, a byte
 * "missing" (the kernel did not take or no longer holds the stack), then that many
 * NUL-terminated names, innermost first. */
#define EU_RECORD_STACKS_MAX 4
struct eu_record_stacks {
	uint8_t n;                /* 0: no stacks */
	int16_t pid_field;        /* whose user frames (folded lines without comm), or -1 */
	int16_t comm_field;       /* the folded line's first element, or -1 */
	struct {
		int16_t field;    /* top-level field of the plan (samples: of the key's) */
		bool is_inline;   /* the field holds the addresses (bpf_get_stack); else an id */
		bool user;        /* a user stack (folded lines put them before the kernel's) */
		char name[64];    /* id: the member its frames go under ("kern_stack") */
	} f[EU_RECORD_STACKS_MAX];
};

/* The name stack k prints under: an inline stack's field name, an id's name without _id. */
const char *eu_record_stack_title(const struct eu_record_stacks *s, const struct eu_plan *plan,
				  size_t k);
/* Appends stack k to a frames blob under construction: begin, a name per frame, end. */
size_t eu_record_stack_begin(eu_buf *blob);
void eu_record_stack_frame(eu_buf *blob, const char *name);
void eu_record_stack_end(eu_buf *blob, size_t at, bool missing);
/* Stack k of a blob: its frame count, *missing and the first name (the next follows each
 * name's NUL). false when the blob is shorter than it says (nothing is read past it). */
bool eu_record_stack_frames(const void *blob, size_t size, size_t k, uint32_t *n,
			    bool *missing, const char **first);
/* Every field of data as JSON members without braces, as `run --json` prints them: inline
 * stacks as arrays of names, each id followed by "NAME":[names]; "[missing]" is a frame of
 * its own. -EINVAL for data shorter than the plan. */
int eu_record_stacks_json(const struct eu_record_stacks *s, const struct eu_plan *plan,
			  const void *data, size_t size, const void *blob, size_t blob_size,
			  eu_buf *out);
/* Each stack as "    TITLE:" and a line "      NAME" per frame, innermost first. */
void eu_record_stacks_text(const struct eu_record_stacks *s, const struct eu_plan *plan,
			   const void *blob, size_t blob_size, eu_buf *out);
/* A folded line without its count, for flame graphs: `comm;user frames;kernel frames`,
 * outermost first (';' and ' ' in names become '_'); the pid when there is no comm field. */
void eu_record_stacks_folded(const struct eu_record_stacks *s, const struct eu_plan *plan,
			     const void *key, size_t key_size, const void *blob,
			     size_t blob_size, eu_buf *out);

/* What the records of one export of one package version share. Reference-counted and
 * immutable once made: a package version that is replaced (hot swap) stays described, its
 * plans alive, while records of it wait in a sink's queue. */
struct eu_record_source {
	uint64_t id;              /* unique in the process: caches key on it, not on addresses */
	enum eu_record_kind kind;
	const char *package;
	const char *version;      /* 12 hex digits */
	const char *event;        /* the struct's name; samples: the map's name */
	const char *host;
	struct eu_plan *plan;     /* the event's plan; samples: the value's; lines: NULL */
	struct eu_plan *key_plan; /* samples: the key's, or NULL (printed as null) */
	bool key_scalar;          /* samples: key/value print as their only field's value */
	bool value_scalar;
	int ts_field;             /* events: eu_record_time_field, or -1 */
	enum {
		EU_RECORD_HIST_NONE = 0,
		EU_RECORD_HIST_LOG2,   /* samples of a log2_hist map: text prints the slots */
		EU_RECORD_HIST_LINEAR, /* of a linear_hist map */
	} hist;
	char unit[16];            /* samples: the histogram's unit ("usecs"), or "" */
	struct eu_record_stacks stacks; /* events: in the event; samples: in the key */
	unsigned refs_;           /* private */
	const char *json_head_;   /* private: `,"package":...,"fields":` rendered once */
	size_t json_head_len_;
};

/* A source from a template: strings are copied, plans referenced (eu_plan_ref). */
int eu_record_source_new(const struct eu_record_source *tmpl, struct eu_record_source **out);
struct eu_record_source *eu_record_source_ref(struct eu_record_source *src);
/* Drops a reference; the last frees the source and drops its plan references. NULL is fine. */
void eu_record_source_unref(struct eu_record_source *src);

struct eu_record {
	struct eu_record_source *src;
	uint64_t time_ns;    /* when it happened, ns since the epoch */
	const void *data;    /* the event; samples: the value */
	uint32_t size;
	uint32_t key_size;   /* samples: the key */
	const void *key;
	const void *stacks;  /* the named frames (eu_record_stacks), or NULL */
	uint32_t stacks_size;
};

/* The JSON line of a record (the schema above) with its newline. -EINVAL (a record shorter
 * than its plan, or a source not made by eu_record_source_new) or -ENOMEM, with nothing
 * appended. */
int eu_record_format(eu_buf *out, const struct eu_record *r);

/* A batch of records: filled by one thread, then sealed and shared read-only by any number
 * of consumers (each holds a reference). It holds a reference to each record's source. */
struct eu_record_batch;

struct eu_record_batch *eu_record_batch_new(void);
/* Appends a record, copying key and data. -EINVAL when data is shorter than the plan needs
 * (the record is not added; the caller counts it), -ENOMEM, -EBUSY once sealed. */
int eu_record_batch_add(struct eu_record_batch *b, struct eu_record_source *src,
			uint64_t time_ns, const void *key, size_t key_size, const void *data,
			size_t size);
/* The same with the record's named stacks (a frames blob, copied; NULL: none). */
int eu_record_batch_add_stacks(struct eu_record_batch *b, struct eu_record_source *src,
			       uint64_t time_ns, const void *key, size_t key_size,
			       const void *data, size_t size, const void *stacks,
			       size_t stacks_size);
/* A sealed batch of n_records lines that are already JSON text (text[0..len), each ending in
 * '\n'): for producers that have no plan. It has no typed records (eu_record_batch_count is
 * 0): encoders other than text count its lines as records they cannot encode. */
struct eu_record_batch *eu_record_batch_text(const char *text, size_t len, size_t n_records);
/* Records in the batch, typed or text lines. */
size_t eu_record_batch_lines(const struct eu_record_batch *b);
/* Ends filling: observed_ns is when the records were read. Records are readable from now on. */
void eu_record_batch_seal(struct eu_record_batch *b, uint64_t observed_ns);
size_t eu_record_batch_count(const struct eu_record_batch *b);
/* Record i of a sealed batch. */
const struct eu_record *eu_record_batch_at(const struct eu_record_batch *b, size_t i);
/* Record i of a batch, sealed or still being filled, copied to *out (false: no such record).
 * While the batch is filled the pointers hold until its next add: only the filling thread
 * may read it then. */
bool eu_record_batch_get(const struct eu_record_batch *b, size_t i, struct eu_record *out);
uint64_t eu_record_batch_observed(const struct eu_record_batch *b);
/* Bytes the batch holds (records and their data): what a queue bound counts. */
size_t eu_record_batch_bytes(const struct eu_record_batch *b);
/* The batch as JSON lines, formatted by the first caller and shared by every later one (any
 * thread): 0, or -ENOMEM. The text lives as long as the batch. */
int eu_record_batch_json(struct eu_record_batch *b, const char **text, size_t *len);
struct eu_record_batch *eu_record_batch_ref(struct eu_record_batch *b);
void eu_record_batch_unref(struct eu_record_batch *b);

#endif
