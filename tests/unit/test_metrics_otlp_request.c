/* The registry as an OTLP ExportMetricsServiceRequest, decoded again with the generated
 * protobuf-c code: counters as monotonic Sums, gauges, explicit-bounds histograms, overflow
 * attribute; cumulative, delta (differences between exports, resets) and lowmemory
 * temporality. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "metrics/metrics.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest Req;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;

#define CUMULATIVE \
	OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define DELTA OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA

struct fixture {
	struct eu_metrics *m;
	struct eu_metric_series *opens, *lat, *temp, *mapc;
};

static void setup(struct fixture *fx, size_t max_series)
{
	eu_error err = {0};
	struct eu_metrics_opts o = {.sz = sizeof(o), .max_series = max_series};
	cr_assert_eq(eu_metrics_new(&o, &fx->m, &err), 0);
	const char *labels[] = {"comm"};
	struct eu_label_value v = {.s = "bash", .len = 4};
	struct eu_metric_family *f;
	struct eu_metric_desc c = {.name = "opens", .help = "files opened", .type = EU_METRIC_COUNTER,
				   .labels = labels, .n_labels = 1};
	cr_assert_eq(eu_metrics_family(fx->m, &c, &f, &err), 0);
	fx->opens = eu_metric_series_get(f, &v, 100);
	double bounds[] = {1, 10};
	struct eu_metric_desc h = {.name = "lat", .unit = "s", .type = EU_METRIC_HISTOGRAM,
				   .labels = labels, .n_labels = 1, .bounds = bounds, .n_bounds = 2};
	cr_assert_eq(eu_metrics_family(fx->m, &h, &f, &err), 0);
	fx->lat = eu_metric_series_get(f, &v, 100);
	struct eu_metric_desc g = {.name = "temp", .type = EU_METRIC_GAUGE};
	cr_assert_eq(eu_metrics_family(fx->m, &g, &f, &err), 0);
	fx->temp = eu_metric_series_get(f, NULL, 100);
	struct eu_metric_desc mc = {.name = "map.counter", .type = EU_METRIC_COUNTER,
				    .observed = true};
	cr_assert_eq(eu_metrics_family(fx->m, &mc, &f, &err), 0);
	fx->mapc = eu_metric_series_get(f, NULL, 100);
}

static Req *encode(struct fixture *fx, enum eu_metrics_temporality t, uint64_t now)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_error err = {0};
	cr_assert_eq(eu_otlp_metrics_from_registry(fx->m, "", 0, t, now, &b, &err), 0, "%s",
		     err.msg);
	Req *r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, b.len, (const uint8_t *)b.data);
	cr_assert_not_null(r, "the request does not decode");
	eu_buf_free(&b);
	cr_assert_eq(r->n_resource_metrics, 1);
	cr_assert_eq(r->resource_metrics[0]->n_scope_metrics, 1);
	cr_assert_str_eq(r->resource_metrics[0]->scope_metrics[0]->scope->name,
			 "eunomia-agent/metrics");
	return r;
}

static const Metric *find(const Req *r, const char *name)
{
	const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
		r->resource_metrics[0]->scope_metrics[0];
	for (size_t i = 0; i < sm->n_metrics; i++)
		if (!strcmp(sm->metrics[i]->name, name))
			return sm->metrics[i];
	cr_assert_fail("no metric %s", name);
	return NULL;
}

static void req_free(Req *r)
{
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
}

Test(metrics_otlp, cumulative_types_and_values)
{
	struct fixture fx;
	setup(&fx, 0);
	eu_metric_add(fx.opens, 3);
	eu_metric_observe(fx.lat, 0.5);
	eu_metric_observe(fx.lat, 5);
	eu_metric_observe(fx.lat, 50);
	eu_metric_set(fx.temp, 21.5, 100);
	Req *r = encode(&fx, EU_TEMPORALITY_CUMULATIVE, 1000);
	const Metric *c = find(r, "opens");
	cr_assert_eq(c->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
	cr_assert(c->sum->is_monotonic);
	cr_assert_eq(c->sum->aggregation_temporality, CUMULATIVE);
	cr_assert_str_eq(c->description, "files opened");
	cr_assert_eq(c->sum->n_data_points, 1);
	cr_assert_eq(c->sum->data_points[0]->as_double, 3);
	cr_assert_eq(c->sum->data_points[0]->start_time_unix_nano, 100);
	cr_assert_eq(c->sum->data_points[0]->time_unix_nano, 1000);
	cr_assert_eq(c->sum->data_points[0]->n_attributes, 1);
	cr_assert_str_eq(c->sum->data_points[0]->attributes[0]->key, "comm");
	cr_assert_str_eq(c->sum->data_points[0]->attributes[0]->value->string_value, "bash");
	const Metric *h = find(r, "lat");
	cr_assert_eq(h->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
	cr_assert_str_eq(h->unit, "s");
	cr_assert_eq(h->histogram->aggregation_temporality, CUMULATIVE);
	const Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *hp =
		h->histogram->data_points[0];
	cr_assert_eq(hp->count, 3);
	cr_assert_eq(hp->sum, 55.5);
	cr_assert_eq(hp->n_explicit_bounds, 2);
	cr_assert_eq(hp->explicit_bounds[1], 10);
	cr_assert_eq(hp->n_bucket_counts, 3);
	cr_assert_eq(hp->bucket_counts[0], 1);
	cr_assert_eq(hp->bucket_counts[1], 1);
	cr_assert_eq(hp->bucket_counts[2], 1);
	const Metric *g = find(r, "temp");
	cr_assert_eq(g->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
	cr_assert_eq(g->gauge->data_points[0]->as_double, 21.5);
	req_free(r);
	/* cumulative again: the same totals, the same start */
	eu_metric_add(fx.opens, 2);
	r = encode(&fx, EU_TEMPORALITY_CUMULATIVE, 2000);
	c = find(r, "opens");
	cr_assert_eq(c->sum->data_points[0]->as_double, 5);
	cr_assert_eq(c->sum->data_points[0]->start_time_unix_nano, 100);
	req_free(r);
	eu_metrics_free(fx.m);
}

Test(metrics_otlp, delta_between_exports)
{
	struct fixture fx;
	setup(&fx, 0);
	eu_metric_add(fx.opens, 3);
	eu_metric_observe(fx.lat, 5);
	Req *r = encode(&fx, EU_TEMPORALITY_DELTA, 1000);
	const Metric *c = find(r, "opens");
	cr_assert_eq(c->sum->aggregation_temporality, DELTA);
	cr_assert_eq(c->sum->data_points[0]->as_double, 3);
	cr_assert_eq(c->sum->data_points[0]->start_time_unix_nano, 100);
	cr_assert_eq(find(r, "lat")->histogram->aggregation_temporality, DELTA);
	req_free(r);
	eu_metric_add(fx.opens, 4);
	eu_metric_observe(fx.lat, 0.5);
	eu_metric_observe(fx.lat, 0.7);
	r = encode(&fx, EU_TEMPORALITY_DELTA, 2000);
	c = find(r, "opens");
	cr_assert_eq(c->sum->data_points[0]->as_double, 4);
	cr_assert_eq(c->sum->data_points[0]->start_time_unix_nano, 1000);
	cr_assert_eq(c->sum->data_points[0]->time_unix_nano, 2000);
	const Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *hp =
		find(r, "lat")->histogram->data_points[0];
	cr_assert_eq(hp->count, 2);
	cr_assert_eq(hp->bucket_counts[0], 2);
	cr_assert_eq(hp->bucket_counts[1], 0);
	cr_assert_float_eq(hp->sum, 1.2, 1e-12);
	cr_assert_eq(hp->start_time_unix_nano, 1000);
	req_free(r);
	/* a cumulative source that went down (map reset): the new total from the reset on */
	eu_metric_set(fx.mapc, 10, 2500);
	r = encode(&fx, EU_TEMPORALITY_DELTA, 3000);
	cr_assert_eq(find(r, "map.counter")->sum->data_points[0]->as_double, 10);
	req_free(r);
	eu_metric_set(fx.mapc, 4, 3500);
	r = encode(&fx, EU_TEMPORALITY_DELTA, 4000);
	cr_assert_eq(find(r, "map.counter")->sum->data_points[0]->as_double, 4);
	cr_assert_eq(find(r, "map.counter")->sum->data_points[0]->start_time_unix_nano, 3500);
	req_free(r);
	eu_metrics_free(fx.m);
}

Test(metrics_otlp, lowmemory_keeps_observed_cumulative)
{
	struct fixture fx;
	setup(&fx, 0);
	eu_metric_add(fx.opens, 3);
	eu_metric_set(fx.mapc, 7, 100);
	Req *r = encode(&fx, EU_TEMPORALITY_LOWMEMORY, 1000);
	cr_assert_eq(find(r, "opens")->sum->aggregation_temporality, DELTA);
	cr_assert_eq(find(r, "map.counter")->sum->aggregation_temporality, CUMULATIVE);
	req_free(r);
	eu_metrics_free(fx.m);
}

Test(metrics_otlp, overflow_attribute)
{
	struct fixture fx;
	setup(&fx, 1);
	struct eu_metric_family *f;
	eu_error err = {0};
	const char *labels[] = {"comm"};
	struct eu_metric_desc c = {.name = "opens", .help = "files opened", .type = EU_METRIC_COUNTER,
				   .labels = labels, .n_labels = 1};
	cr_assert_eq(eu_metrics_family(fx.m, &c, &f, &err), 0);
	struct eu_label_value v = {.s = "zsh", .len = 3};
	eu_metric_add(eu_metric_series_get(f, &v, 100), 1);
	Req *r = encode(&fx, EU_TEMPORALITY_CUMULATIVE, 1000);
	const Metric *m = find(r, "opens");
	cr_assert_eq(m->sum->n_data_points, 2);
	const Opentelemetry__Proto__Metrics__V1__NumberDataPoint *p = m->sum->data_points[1];
	cr_assert_eq(p->n_attributes, 1);
	cr_assert_str_eq(p->attributes[0]->key, "otel.metric.overflow");
	cr_assert(p->attributes[0]->value->bool_value);
	cr_assert_eq(p->as_double, 1);
	req_free(r);
	eu_metrics_free(fx.m);
}

Test(metrics_otlp, temporality_names)
{
	enum eu_metrics_temporality t;
	cr_assert_eq(eu_metrics_temporality_parse("Delta", &t), 0);
	cr_assert_eq(t, EU_TEMPORALITY_DELTA);
	cr_assert_eq(eu_metrics_temporality_parse("lowmemory", &t), 0);
	cr_assert_eq(t, EU_TEMPORALITY_LOWMEMORY);
	cr_assert_eq(eu_metrics_temporality_parse(NULL, &t), 0);
	cr_assert_eq(t, EU_TEMPORALITY_CUMULATIVE);
	cr_assert_eq(eu_metrics_temporality_parse("sometimes", &t), -EINVAL);
}
