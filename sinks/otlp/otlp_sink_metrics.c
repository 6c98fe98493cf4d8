/* The otlp sink's metrics exports (otlp_sink_metrics.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eunomia/log.h"
#include "metrics/metrics_feed.h"
#include "otlp.h"
#include "otlp_sink_metrics.h"

/* while a copy is asked for, the writer looks for it this often */
#define ASK_POLL_MS 5u
/* an ask unanswered this long is said once (the daemon's loop is stuck) */
#define ASK_SLOW_MS 5000u

struct eu_otlp_sink_metrics {
	struct eu_otlp_sink_metrics_opts o;
	struct eu_metrics_sub *sub;
	uint64_t start_ns;
	uint64_t next_ms;    /* CLOCK_MONOTONIC; 0: the first tick starts the clock */
	bool waiting;
	uint64_t asked_ms;
	bool slow_told;
	struct eu_metrics *prev; /* delta temporality: the copy last sent */
	uint64_t prev_ns;
	eu_buf req;
	atomic_uint_fast64_t failed;
	bool fail_told;
};

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int eu_otlp_sink_metrics_new(const struct eu_otlp_sink_metrics_opts *o,
			     struct eu_otlp_sink_metrics **out, eu_error *err)
{
	struct eu_otlp_sink_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return eu_error_set(err, -ENOMEM, "out of memory");
	m->o = *o;
	if (!m->o.interval_ms)
		m->o.interval_ms = 60000;
	if (o->feed && eu_metrics_sub_new(o->feed, &m->sub)) {
		free(m);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	eu_buf_init(&m->req);
	static const char *const tnames[] = {"cumulative", "delta", "lowmemory"};
	eu_log(EU_LOG_INFO, "otlp metrics: every %u ms, %s temporality: %s", m->o.interval_ms,
	       tnames[m->o.temporality],
	       o->feed ? "the agent's metrics and this sink's counters"
		       : "this sink's counters (no metrics registry here)");
	m->start_ns = real_ns();
	m->next_ms = mono_ms() + m->o.interval_ms;
	*out = m;
	return 0;
}

static void failed(struct eu_otlp_sink_metrics *m, const char *why)
{
	atomic_fetch_add(&m->failed, 1);
	if (m->fail_told)
		return;
	m->fail_told = true;
	eu_log(EU_LOG_WARN, "otlp metrics: an export was skipped: %s (said once; counted in "
	       "eunomia.otlp.metric_requests.dropped{reason=not_collected})", why);
}

/* Encodes the copy (NULL: the sink's own counters alone) and queues it on the exporter. */
static void export_copy(struct eu_otlp_sink_metrics *m, struct eu_metrics_snapshot *snap)
{
	eu_error err = {0};
	uint64_t now = snap ? snap->taken_ns : real_ns();
	eu_buf_reset(&m->req);
	m->req.oom = false;
	int ret = 0;
	/* several ExportMetricsServiceRequests back to back are one request whose
	 * resource_metrics hold them all (a repeated field's occurrences merge) */
	if (snap && snap->reg) {
		if (m->o.temporality != EU_TEMPORALITY_CUMULATIVE)
			eu_otlp_metrics_carry(snap->reg, m->prev, m->prev_ns);
		ret = eu_otlp_metrics_from_registry(snap->reg, m->o.resource, m->o.resource_len,
						    m->o.temporality, now, &m->req, &err);
	}
	if (!ret && snap && snap->self)
		ret = eu_otlp_metrics_from_registry_scope(snap->self, "eunomia-agent/self",
							  m->o.resource, m->o.resource_len,
							  EU_TEMPORALITY_CUMULATIVE, now, &m->req,
							  &err);
	if (!ret && m->o.own && m->o.own(m->o.own_ctx, m->start_ns, now, &m->req))
		ret = eu_error_set(&err, -ENOMEM, "out of memory");
	if (ret || m->req.oom) {
		failed(m, err.msg[0] ? err.msg : "out of memory");
		return;
	}
	if (snap && snap->reg && m->o.temporality != EU_TEMPORALITY_CUMULATIVE) {
		/* the next delta counts from what this one carries */
		eu_metrics_free(m->prev);
		m->prev = snap->reg;
		m->prev_ns = now;
		snap->reg = NULL;
	}
	m->fail_told = false;
	/* a full queue drops the request and counts it in the exporter's stats */
	eu_otlp_exporter_metrics(m->o.exp, m->req.data, m->req.len);
}

/* Takes a copy the feed served: true when one was there (exported or counted failed). */
static bool take(struct eu_otlp_sink_metrics *m)
{
	struct eu_metrics_snapshot snap = {0};
	eu_error err = {0};
	if (!m->sub || !eu_metrics_sub_take(m->sub, &snap, &err))
		return false;
	if (!snap.reg)
		failed(m, err.msg[0] ? err.msg : "the agent's metrics could not be copied");
	else
		export_copy(m, &snap);
	eu_metrics_snapshot_free(&snap);
	return true;
}

uint32_t eu_otlp_sink_metrics_tick(struct eu_otlp_sink_metrics *m, uint64_t now_ms)
{
	(void)now_ms;
	uint64_t now = mono_ms();
	if (m->waiting) {
		if (take(m)) {
			m->waiting = false;
			m->slow_told = false;
		} else {
			if (now - m->asked_ms >= ASK_SLOW_MS && !m->slow_told) {
				m->slow_told = true;
				eu_log(EU_LOG_WARN, "otlp metrics: the daemon has not handed over its "
				       "metrics for %u ms; exporting them when it does", ASK_SLOW_MS);
			}
			return ASK_POLL_MS;
		}
	} else if (take(m)) {
		/* handed over unasked (the daemon replaced its sinks): sent, and the clock runs on */
	}
	if (now < m->next_ms)
		return (uint32_t)(m->next_ms - now);
	m->next_ms = now + m->o.interval_ms;
	if (!m->sub) {
		export_copy(m, NULL);
		return m->o.interval_ms;
	}
	eu_metrics_sub_ask(m->sub);
	m->waiting = true;
	m->asked_ms = now;
	return ASK_POLL_MS;
}

void eu_otlp_sink_metrics_final(struct eu_otlp_sink_metrics *m)
{
	if (!take(m))
		export_copy(m, NULL);
}

uint64_t eu_otlp_sink_metrics_failed(const struct eu_otlp_sink_metrics *m)
{
	return atomic_load(&((struct eu_otlp_sink_metrics *)m)->failed);
}

void eu_otlp_sink_metrics_free(struct eu_otlp_sink_metrics *m)
{
	if (!m)
		return;
	eu_metrics_sub_free(m->sub);
	eu_metrics_free(m->prev);
	eu_buf_free(&m->req);
	free(m);
}
