/* Hands copies of the agent's metrics from the thread that owns the registry (the daemon's
 * loop) to exporters that run on threads of their own (the otlp sink's writer).
 *
 * The registry is not thread-safe and is updated on every event, so readers never touch it:
 * a reader asks (eu_metrics_sub_ask, any thread, never blocks), the owner is woken and, on
 * its own thread, takes a snapshot for each reader that asked (eu_metrics_feed_serve) through
 * the collect callback; the reader picks it up later (eu_metrics_sub_take) and owns it (an
 * exporter's delta bookkeeping writes into its copy). Every value in
 * a snapshot is read in one turn of the owner's loop, so the registry and the agent's own
 * counters agree with each other. */
#ifndef EUNOMIA_METRICS_FEED_H
#define EUNOMIA_METRICS_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "eunomia/error.h"
#include "metrics.h"

struct eu_metrics_snapshot {
	struct eu_metrics *reg;  /* the registry's families and series (eu_metrics_clone) */
	struct eu_metrics *self; /* the agent's own counters and gauges, or NULL */
	uint64_t taken_ns;       /* CLOCK_REALTIME */
};

void eu_metrics_snapshot_free(struct eu_metrics_snapshot *s);

/* Fills out (on the owner's thread): 0, or a negative errno with err saying why. */
typedef int (*eu_metrics_collect_fn)(void *ctx, struct eu_metrics_snapshot *out, eu_error *err);
/* Makes the owner call eu_metrics_feed_serve soon (uv_async_send); called with the feed's
 * lock held, so it must not call back into the feed. */
typedef void (*eu_metrics_wake_fn)(void *ctx);

struct eu_metrics_feed;
struct eu_metrics_sub;

int eu_metrics_feed_new(eu_metrics_collect_fn collect, void *ctx, struct eu_metrics_feed **out,
			eu_error *err);
/* Sets (or, with NULL, clears) how the owner is woken. Asks made while there is none wait
 * for the next eu_metrics_feed_serve. */
void eu_metrics_feed_set_wake(struct eu_metrics_feed *f, eu_metrics_wake_fn wake, void *ctx);
/* Owner thread: one snapshot for every reader that asked, or with all for every reader (a
 * last one before the owner stops or replaces them). */
void eu_metrics_feed_serve(struct eu_metrics_feed *f, bool all);
/* The readers must be gone (eu_metrics_sub_free) first. NULL is fine. */
void eu_metrics_feed_free(struct eu_metrics_feed *f);

/* A reader of the feed: 0 or -ENOMEM. */
int eu_metrics_sub_new(struct eu_metrics_feed *f, struct eu_metrics_sub **out);
/* Asks for a snapshot (any thread; never blocks). Asking again before it came is one ask. */
void eu_metrics_sub_ask(struct eu_metrics_sub *s);
/* Whether an ask is waiting for its answer. */
bool eu_metrics_sub_asked(struct eu_metrics_sub *s);
/* The snapshot served to s, moved to *out: true, or false when none is waiting. A snapshot
 * the owner could not take comes as true with out->reg NULL and err saying why. */
bool eu_metrics_sub_take(struct eu_metrics_sub *s, struct eu_metrics_snapshot *out,
			 eu_error *err);
void eu_metrics_sub_free(struct eu_metrics_sub *s);

#endif
