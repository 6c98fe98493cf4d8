/* Drives a loaded program's outputs on a libuv loop: ring buffers, perf event arrays and
 * sampled maps become "exports", each with a decoder plan built once from the object's BTF and
 * its own counters. Many consumers (programs) can share one loop.
 *
 * Which maps are exported (PACKAGE-FORMAT "Export"):
 *   - single-export packages: every map with `sample` (read on a timer, see sampler.h); else the
 *     first RINGBUF map; else the first PERF_EVENT_ARRAY map. Events are decoded with
 *     export_types[0] (legacy packages: their bit-offset layout). No export type: no events.
 *   - enable_multiple_export_types: each map's export_config decides: no_export, "default" (the
 *     map's BTF value type), {"btf_type_id"}, {"custom_members"}; maps without one are skipped.
 *
 * Ring buffers are paced: after a non-empty drain the fd is not watched for ring_pace_ms and
 * the ring is drained again then, until a drain comes back empty (busy consumers then cost
 * the traced processes one wakeup per batch, not per event). Perf buffers are opened with a
 * wakeup watermark and also drained on a timer (meta perf_buffer_time_ms, at least 10 ms).
 *
 * Without @sample maps and without events, maps the programs fill and never delete from
 * (hash, array, per-CPU and LRU kinds, seen by the instruction scan: updated or written
 * through a looked-up value) are sampled too: a value with an integer `slots` array as a
 * bcc log2 histogram, others as key/value tables; the unit comes from the map's or fields'
 * names (_us/usecs, _ns/nsecs, _ms/msecs); all-zero entries are skipped. So are the
 * variables of writable data sections (.bss, .data) the programs store into, each an export
 * named after the variable over its section's map: arrays per index (key: the index,
 * all-zero elements skipped), histograms as above (a struct with `slots`, or an integer
 * array named *hist* / *slots*), anything else as one entry with no key (NULL, size 0).
 *
 * Which export type decodes a ring/perf map's records: package/export_pick.h (the size the
 * programs send, a struct named `event`, the first record's size), logged at debug level with
 * the reason, at warning level when it is a guess. Records may stop inside the struct's
 * trailing array (decoder.h, eu_plan_min_size); shorter ones are counted as decode errors and
 * not delivered, and the first record of a size that fits no layout is reported once. */
#ifndef EUNOMIA_CONSUMER_H
#define EUNOMIA_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"

struct eu_program;
struct eu_plan;
/* libuv's loop (uv_loop_t), declared, not included: <uv.h> needs POSIX types (pthread_rwlock_t)
 * that a strict -std=c11 build without _GNU_SOURCE does not see, and this header must compile
 * there. */
struct uv_loop_s;
struct eu_map_meta;
struct eu_record_stacks;

enum eu_export_kind {
	EU_EXPORT_RINGBUF = 1,
	EU_EXPORT_PERF,
	EU_EXPORT_SAMPLE,
};

struct eu_export_stats {
	uint64_t received;         /* records read (samples: map entries read) */
	uint64_t decoded;          /* records delivered to the callback */
	uint64_t lost;             /* perf buffers: samples the kernel dropped (PERF_RECORD_LOST) */
	uint64_t decode_errors;    /* records shorter than the plan */
	uint64_t reserve_failures; /* ring buffers: failed bpf_ringbuf_reserve (map eu_rb_drops) */
	uint64_t drains;           /* non-empty drains (samples: intervals) */
	uint64_t wrong_size;       /* records whose size fits no layout of the struct (shorter
				    * ones are decode errors too; longer ones are decoded up to it) */
};

struct eu_export;

const char *eu_export_map_name(const struct eu_export *exp);
enum eu_export_kind eu_export_kind(const struct eu_export *exp);
/* Events: the record's plan. Samples: the value's plan. */
const struct eu_plan *eu_export_plan(const struct eu_export *exp);
/* Samples: the key's plan (NULL for events). */
const struct eu_plan *eu_export_key_plan(const struct eu_export *exp);
/* Whether the key / value is a scalar wrapped in a one-field plan named "key" / "value". */
bool eu_export_key_scalar(const struct eu_export *exp);
bool eu_export_value_scalar(const struct eu_export *exp);
/* The map's meta (sample type, unit, ...), or NULL. */
const struct eu_map_meta *eu_export_meta(const struct eu_export *exp);
/* Stacks (stacks.c). Records with a stack id into the object's stack-trace map (an integer
 * field named *stack_id / *stackid) or an inline __u64 array named *stack* (cut at its
 * <name>_sz / _size / _bytes field, in bytes, or <name>_len / _depth / _cnt, in frames) print
 * their frames as function names: kernel addresses from /proc/kallsyms, user addresses from
 * the process's (tgid/pid field) mappings and ELF symbols; "[unknown]" when not named,
 * "[missing]" for a stack the kernel could not take (a negative id other than -EFAULT) or
 * no longer holds. Upstream's `stack_trace` interpreter with with_symbols false prints
 * addresses instead. Whether the records have stacks: decided at the first call. */
bool eu_export_has_stacks(const struct eu_export *exp);
/* An event: JSON, one object (every field, inline stacks as arrays of names, each stack id
 * followed by its frames under the id's name without "_id") and a newline; text, the row
 * without inline stacks and each stack's frames below it, one per line. -EINVAL for a
 * record too short to decode or an export without stacks. */
int eu_export_format_stacks_event(const struct eu_export *exp, const void *data, size_t size,
				  bool json, const char *time_str, eu_buf *out);
/* Where the stacks are in the records (the events' fields, a sampled map's key's), for a
 * record source (record.h); NULL without stacks. Lives as long as the export. */
const struct eu_record_stacks *eu_export_stacks(const struct eu_export *exp);
/* The stacks of one record (an event, or a sampled map's key) looked up in the stack-trace
 * maps and named, as a frames blob (record.h) valid until the next call on the export.
 * Named when called: the process of user frames must still be alive (its mappings are
 * kept per pid, re-read after REREAD seconds, see agent/symbols). -EINVAL for a record too
 * short to decode or an export without stacks, -ENOMEM. */
int eu_export_stacks_name(const struct eu_export *exp, const void *data, size_t size,
			  const void **blob, size_t *blob_size);
/* The text header matching those rows, with its newline. */
void eu_export_stacks_text_header(const struct eu_export *exp, eu_buf *out);
/* A sampled map whose key carries stack ids (a stack-count map): text, a folded line
 * `comm;user frames;kernel frames COUNT` (outermost frames first); JSON, the key's fields as
 * for events plus "value" and "folded". */
int eu_export_format_stacks_sample(const struct eu_export *exp, const void *key, size_t ks,
				   const void *value, size_t vs, bool json, eu_buf *out);

/* One record as the JSON line `eunomia-agent run --json` prints, newline included: an event
 * (key NULL, data/size the record) or a sampled map's entry (data/size its value), stacks
 * named. Returns 0; 1 with nothing written for an all-zero histogram; -EINVAL for a record
 * too short to decode; -ENOMEM. */
int eu_export_format_json(const struct eu_export *exp, const void *key, size_t key_size,
			  const void *data, size_t size, eu_buf *out);
/* Current counters (reads eu_rb_drops from the kernel for ring buffers). */
void eu_export_get_stats(const struct eu_export *exp, struct eu_export_stats *out);

/* One record of an event export (data valid only during the call). */
typedef void (*eu_event_fn)(void *ctx, const struct eu_export *exp, const void *data,
			    size_t size);
/* One entry of a sampled map (per-CPU values already summed). */
typedef void (*eu_sample_fn)(void *ctx, const struct eu_export *exp, const void *key,
			     size_t key_size, const void *value, size_t value_size);
/* After each non-empty drain and after each sample interval: flush output here. */
typedef void (*eu_batch_fn)(void *ctx, const struct eu_export *exp);

struct eu_consumer_opts {
	size_t sz;
	eu_event_fn on_event;
	eu_sample_fn on_sample;
	eu_batch_fn on_batch;
	void *ctx;
	uint32_t ring_pace_ms;       /* 0: 1 ms */
	uint32_t perf_wakeup_events; /* 0: 32 */
	/* the exported struct to decode events with, by name (`run --export-type`); NULL: chosen
	 * as package/export_pick.h says, and logged */
	const char *export_type;
	/* maps printed because the programs fill them (no @sample): every this many ms
	 * (0: 1000), and once more at eu_consumer_drain */
	uint32_t sample_interval_ms;
	/* print every value as stored: no readings from field names (addresses, __be ports,
	 * signals, errno, TCP states; see eu_plan_read_for_people). `run --raw-values` */
	bool raw_values;
	/* the exports and their plans only, no buffers: for a program opened and not loaded
	 * (checking metric rules against a package without the kernel); such a consumer is
	 * never started, only read and closed */
	bool describe_only;
};

struct eu_consumer;

/* Sets up the exports of a loaded program (plans, buffers); nothing runs until start. With
 * describe_only, the program needs only to be opened. */
int eu_consumer_new(struct uv_loop_s *loop, struct eu_program *prog,
		    const struct eu_consumer_opts *opts, struct eu_consumer **out, eu_error *err);
int eu_consumer_start(struct eu_consumer *c, eu_error *err);
/* Stops watching (events stay in the buffers). */
void eu_consumer_stop(struct eu_consumer *c);
/* Reads whatever is in the ring/perf buffers now, delivering it. */
void eu_consumer_drain(struct eu_consumer *c);
/* Stops, closes every handle and frees; on_closed (may be NULL) runs once all handles are
 * closed, from the loop (before this returns when there is nothing to close). The program
 * is not touched. */
void eu_consumer_close(struct eu_consumer *c, void (*on_closed)(void *arg), void *arg);

size_t eu_consumer_export_count(const struct eu_consumer *c);
/* With no export: why nothing will be printed and how to fix it (the map to annotate, the
 * header to pass), one sentence for the user; NULL when something is exported. */
const char *eu_consumer_silence(const struct eu_consumer *c);
/* Whether the programs print with bpf_printk (their lines go to the kernel's trace pipe). */
bool eu_consumer_uses_printk(const struct eu_consumer *c);
const struct eu_export *eu_consumer_export(const struct eu_consumer *c, size_t i);

#endif
