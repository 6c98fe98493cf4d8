/* The router: records to one open batch, batches to every sink (router.h). */
#include "router.h"
#include "eunomia/log.h"
#include "sinks/sink.h"

/* Records are handed to the sinks in batches: once a batch holds this many bytes (even
 * mid-drain) or records, else at most BATCH_DELAY_MS after the drain that opened it. Waking
 * every sink's thread for each drain of a few records costs more than the records. */
#define BATCH_FLUSH_BYTES (1u << 20)
#define BATCH_FLUSH_RECORDS 4096u
#define BATCH_DELAY_MS 5u

void daemon_router_init(struct daemon_router *r, uv_loop_t *loop,
			void (*on_reader_gone)(void *ctx), void *ctx)
{
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	r->timer_init = true;
	r->on_reader_gone = on_reader_gone;
	r->ctx = ctx;
}

void daemon_router_flush(struct daemon_router *r)
{
	struct eu_record_batch *b = r->batch;
	if (!b)
		return;
	r->batch = NULL;
	if (r->timer_init)
		uv_timer_stop(&r->timer);
	eu_record_batch_seal(b, r->clock.real_now_ns);
	/* every sink takes its own reference to the same records: nothing is copied or
	 * formatted here, each sink encodes on its own thread */
	for (size_t i = 0; i < r->n_sinks; i++)
		eu_sink_write(r->sinks[i], b);
	eu_record_batch_unref(b);
	/* `--watch W | head -1`: with stdout the only output and nobody reading it, every
	 * record would be dropped from now on; stop, as `run` does (with other sinks, stdout's
	 * drops are counted and the others go on) */
	if (r->n_sinks == 1 && !r->reader_gone && !r->stopping && r->timer_init &&
	    eu_sink_reader_gone(r->sinks[0])) {
		r->reader_gone = true;
		eu_log(EU_LOG_INFO, "sink %s: its reader went away (EPIPE) and it is the only sink: "
		       "stopping", eu_sink_name(r->sinks[0]));
		if (r->on_reader_gone)
			r->on_reader_gone(r->ctx);
	}
}

struct eu_record_batch *daemon_router_open(struct daemon_router *r)
{
	if (!r->batch) {
		r->batch = eu_record_batch_new();
		eu_record_clock_sync(&r->clock);
	}
	return r->batch;
}

void daemon_router_grown(struct daemon_router *r)
{
	if (r->batch && eu_record_batch_bytes(r->batch) >= BATCH_FLUSH_BYTES)
		daemon_router_flush(r);
}

static void on_timer(uv_timer_t *t)
{
	daemon_router_flush(t->data);
}

void daemon_router_drained(struct daemon_router *r)
{
	if (!r->batch)
		return;
	if (!r->timer_init || r->stopping || eu_record_batch_count(r->batch) >= BATCH_FLUSH_RECORDS) {
		daemon_router_flush(r);
		return;
	}
	if (!uv_is_active((uv_handle_t *)&r->timer))
		uv_timer_start(&r->timer, on_timer, BATCH_DELAY_MS, 0);
}

void daemon_router_stopping(struct daemon_router *r)
{
	r->stopping = true;
}

void daemon_router_close(struct daemon_router *r)
{
	if (!r->timer_init)
		return;
	uv_close((uv_handle_t *)&r->timer, NULL);
	r->timer_init = false;
}

void daemon_router_free(struct daemon_router *r)
{
	eu_record_batch_unref(r->batch);
	r->batch = NULL;
}
