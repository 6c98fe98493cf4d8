/* The otlp sink's metrics: on the sink's writer thread, every metric export interval, a copy
 * of the agent's metrics (the daemon's registry and its own counters, through the metrics
 * feed) and the sink's own counters are encoded as one ExportMetricsServiceRequest and
 * queued on the sink's exporter, beside its logs: one Resource, one connection, one spool. */
#ifndef EUNOMIA_OTLP_SINK_METRICS_H
#define EUNOMIA_OTLP_SINK_METRICS_H

#include <stdint.h>

#include "eunomia/buf.h"
#include "metrics/metrics.h"

struct eu_metrics_feed;
struct eu_otlp_exporter;

struct eu_otlp_sink_metrics_opts {
	struct eu_metrics_feed *feed; /* NULL: only the sink's own counters */
	uint32_t interval_ms;
	enum eu_metrics_temporality temporality;
	const void *resource;         /* packed; must outlive the object */
	size_t resource_len;
	struct eu_otlp_exporter *exp;
	/* Appends the sink's own counters as an ExportMetricsServiceRequest (start_ns: when the
	 * sink opened): 0 or a negative errno. */
	int (*own)(void *ctx, uint64_t start_ns, uint64_t now_ns, eu_buf *out);
	void *own_ctx;
};

struct eu_otlp_sink_metrics;

int eu_otlp_sink_metrics_new(const struct eu_otlp_sink_metrics_opts *o,
			     struct eu_otlp_sink_metrics **out, eu_error *err);
/* Writer thread: asks for, encodes and queues what is due. Returns the ms until it wants to
 * run again. */
uint32_t eu_otlp_sink_metrics_tick(struct eu_otlp_sink_metrics *m, uint64_t now_ms);
/* A last export at close: the copy the daemon handed over when it stopped or replaced the
 * sink, else the sink's own counters alone. */
void eu_otlp_sink_metrics_final(struct eu_otlp_sink_metrics *m);
/* Exports whose copy could not be made or encoded (they were logged). */
uint64_t eu_otlp_sink_metrics_failed(const struct eu_otlp_sink_metrics *m);
void eu_otlp_sink_metrics_free(struct eu_otlp_sink_metrics *m);

#endif
