/* The sink core (sink.c: queue, writer thread, counters) and the backends it drives. A backend
 * runs only on its sink's writer thread, so it needs no locking of its own. */
#ifndef EUNOMIA_SINK_PRIV_H
#define EUNOMIA_SINK_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sink.h"

struct eu_sink_backend;

struct eu_sink_ops {
	/* Writes one whole batch, or nothing of it: 0, or a negative errno (the batch is then
	 * dropped by the core). *retries counts retried writes. */
	int (*write)(struct eu_sink_backend *b, const char *data, size_t len, uint64_t *retries);
	/* Periodic work with no batch (fsync interval, time rotation); now_ms is CLOCK_MONOTONIC. */
	void (*tick)(struct eu_sink_backend *b, uint64_t now_ms);
	/* How long the writer may sleep before tick is due again, in ms (0: no timer needed). */
	uint32_t (*tick_period_ms)(struct eu_sink_backend *b);
	int (*reopen)(struct eu_sink_backend *b, eu_error *err);
	void (*close)(struct eu_sink_backend *b);
	uint64_t (*rotations)(struct eu_sink_backend *b);
	/* Fills the delivery counters of a sink that delivers after the hand-over (any thread;
	 * optional). */
	void (*stats)(struct eu_sink_backend *b, struct eu_sink_stats *st);
};

int eu_sink_stdout_open(const struct eu_sink_config *cfg, struct eu_sink_backend **out,
			const struct eu_sink_ops **ops, eu_error *err);
int eu_sink_file_open(const struct eu_sink_config *cfg, struct eu_sink_backend **out,
		      const struct eu_sink_ops **ops, eu_error *err);

/* sinks/otlp/otlp_sink.c: cfg->path is the base endpoint ("otlp:URL") or NULL for the environment's. */
int eu_sink_otlp_open(const struct eu_sink_config *cfg, struct eu_sink_backend **out,
		      const struct eu_sink_ops **ops, eu_error *err);

uint64_t eu_sink_now_ms(void);

/* Writes data[0..len) to fd whole (sink_io.c), counting short writes and EINTR in *retries.
 * With wait_eagain, EAGAIN (a non-blocking fd) waits for room and retries too. 0, or a
 * negative errno (-EIO for a write of nothing) with *done the bytes that did get written. */
int eu_sink_write_all(int fd, const char *data, size_t len, bool wait_eagain,
		      uint64_t *retries, size_t *done);

#endif
