/* The router: the records of every package go into one open batch, which is handed to all the
 * sinks at once (each takes its own reference and encodes on its own thread). The lowest layer
 * of the daemon: the packages (daemon_pkg.c) and the daemon's loop (daemon.c) call it; it calls
 * back only through the callback it was given. */
#ifndef EUNOMIA_ROUTER_H
#define EUNOMIA_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "eunomia/record.h"

struct eu_sink;

struct daemon_router {
	struct eu_sink **sinks;        /* the daemon's (daemon.c opens, swaps and closes them) */
	size_t n_sinks;
	struct eu_record_batch *batch; /* records not yet handed to the sinks, or NULL */
	struct eu_record_clock clock;  /* read when a batch is opened */
	uv_timer_t timer;              /* hands a small batch over BATCH_DELAY_MS after it opened */
	bool timer_init;
	bool stopping;                 /* every batch goes out at once */
	bool reader_gone;              /* the only sink is stdout and its reader went away */
	/* called once when the only sink's reader went away (`--watch W | head -1`) */
	void (*on_reader_gone)(void *ctx);
	void *ctx;
};

void daemon_router_init(struct daemon_router *r, uv_loop_t *loop,
			void (*on_reader_gone)(void *ctx), void *ctx);
/* The batch records go to, opened (and the clock read) with its first record; NULL when out
 * of memory. */
struct eu_record_batch *daemon_router_open(struct daemon_router *r);
/* Hands the open batch to every sink now. */
void daemon_router_flush(struct daemon_router *r);
/* A batch grown past its byte bound goes now. */
void daemon_router_grown(struct daemon_router *r);
/* A producer drained what it had: the batch goes to the sinks now (full, or stopping) or
 * after a short delay that lets more records join it. */
void daemon_router_drained(struct daemon_router *r);
/* The daemon stops: from now on every batch goes at once. */
void daemon_router_stopping(struct daemon_router *r);
/* Closes the timer (on the loop's way out); what is open is flushed by the caller. */
void daemon_router_close(struct daemon_router *r);
/* Drops an unflushed batch (after the loop ended). */
void daemon_router_free(struct daemon_router *r);

#endif
