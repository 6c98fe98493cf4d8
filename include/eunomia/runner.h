/* One package, run the short way: read, parameters, load, attach and consume in one call, then
 * polled by the caller the way libbpf's ring_buffer__poll is, on a libuv loop of the
 * runner's own. Each event, and each entry of a sampled map, reaches on_line as one JSON
 * object: the line `eunomia-agent run --json` prints, stacks named, all-zero histograms
 * skipped.
 *
 *	struct eu_runner *r;
 *	eu_runner_open("package.json", argc, argv, on_line, ctx, &r, &err);
 *	while (running)
 *		eu_runner_poll(r, 100);
 *	eu_runner_close(r);
 *
 * For more (several packages on a loop of yours, raw records, text rows, counters) use
 * program.h and consumer.h, which this is built from. */
#ifndef EUNOMIA_RUNNER_H
#define EUNOMIA_RUNNER_H

#include <stddef.h>

#include "eunomia/error.h"

struct eu_runner;

/* json: one object, NUL-terminated, no newline; valid only during the call. */
typedef void (*eu_runner_line_fn)(void *ctx, const char *json, size_t len);

/* Reads the package file at path (as eu_package_read_file does, see package.h), sets its parameters from argv (argc elements, each an option or its value: "--pid",
 * "42"; none: argc 0), loads and attaches every program and starts consuming. A package that
 * exports nothing (no ring buffer, perf event array or sampled map with a type) fails with
 * -ENODATA and the sentence that says how to make it export; nothing would ever be
 * delivered. */
int eu_runner_open(const char *path, int argc, char *const argv[], eu_runner_line_fn on_line,
		   void *ctx, struct eu_runner **out, eu_error *err);

/* Waits up to timeout_ms (negative: without limit) for records and delivers those that
 * arrived; returns as soon as at least one was delivered. Returns how many were, 0 on
 * timeout. */
int eu_runner_poll(struct eu_runner *r, int timeout_ms);

/* Detaches, closes and frees. NULL is allowed. */
void eu_runner_close(struct eu_runner *r);

#endif
