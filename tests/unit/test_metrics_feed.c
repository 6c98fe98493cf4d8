/* The metrics feed and what it hands over: a clone of the registry keeps the values it was
 * made with while the registry goes on (series, overflow, start times, histograms); readers
 * on other threads ask without blocking, the owner serves on its thread (only those who
 * asked, or everyone); and each reader's delta export counts from the copy it last sent,
 * so two exporters' deltas never take from one another. */
#include <criterion/criterion.h>

#include <pthread.h>
#include <string.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "metrics/metrics_feed.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest Req;

static struct eu_metrics *registry(struct eu_metric_series **opens, struct eu_metric_series **lat)
{
	eu_error err = {0};
	struct eu_metrics_opts o = {.sz = sizeof(o), .max_series = 2};
	struct eu_metrics *m;
	cr_assert_eq(eu_metrics_new(&o, &m, &err), 0);
	const char *labels[] = {"comm"};
	struct eu_metric_family *f;
	struct eu_metric_desc c = {.name = "opens", .type = EU_METRIC_COUNTER, .labels = labels,
				   .n_labels = 1};
	cr_assert_eq(eu_metrics_family(m, &c, &f, &err), 0);
	struct eu_label_value bash = {"bash", 4};
	*opens = eu_metric_series_get(f, &bash, 100);
	double bounds[] = {1, 10};
	struct eu_metric_desc h = {.name = "lat", .type = EU_METRIC_HISTOGRAM, .labels = labels,
				   .n_labels = 1, .bounds = bounds, .n_bounds = 2};
	cr_assert_eq(eu_metrics_family(m, &h, &f, &err), 0);
	*lat = eu_metric_series_get(f, &bash, 100);
	return m;
}

/* opens{comm} in a clone, or -1 when the series is not there. */
static double opens_of(const struct eu_metrics *m, const char *comm)
{
	const struct eu_metric_family *f = eu_metrics_find_family(m, "opens");
	cr_assert_not_null(f);
	struct eu_label_value v = {comm, strlen(comm)};
	const struct eu_metric_series *s = eu_metric_series_find(f, &v);
	return s ? eu_metric_value(s) : -1;
}

Test(metrics_feed, a_clone_keeps_its_values_while_the_registry_goes_on)
{
	struct eu_metric_series *opens, *lat;
	struct eu_metrics *m = registry(&opens, &lat);
	eu_metric_add(opens, 5);
	eu_metric_observe(lat, 0.5);
	eu_metric_observe(lat, 20);
	const struct eu_metric_family *of = eu_metrics_find_family(m, "opens");
	struct eu_label_value zsh = {"zsh", 3}, sh = {"sh", 2};
	eu_metric_add(eu_metric_series_get((struct eu_metric_family *)of, &zsh, 200), 2);
	/* the budget is 2: a third comm goes to the overflow series */
	eu_metric_add(eu_metric_series_get((struct eu_metric_family *)of, &sh, 300), 7);
	struct eu_metrics *c;
	eu_error err = {0};
	cr_assert_eq(eu_metrics_clone(m, &c, &err), 0, "%s", err.msg);
	eu_metric_add(opens, 100);
	eu_metric_observe(lat, 5);
	cr_assert_eq(opens_of(c, "bash"), 5);
	cr_assert_eq(opens_of(c, "zsh"), 2);
	cr_assert_eq(opens_of(c, "sh"), -1);
	const struct eu_metric_family *cf = eu_metrics_find_family(c, "opens");
	const struct eu_metric_series *ov = eu_metric_series_find(cf, NULL);
	cr_assert_not_null(ov, "the overflow series is not copied");
	cr_assert_eq(eu_metric_value(ov), 7);
	struct eu_label_value bash = {"bash", 4};
	const struct eu_metric_series *cs = eu_metric_series_find(cf, &bash);
	cr_assert_eq(eu_metric_start_ns(cs), 100);
	const struct eu_metric_series *cl =
		eu_metric_series_find(eu_metrics_find_family(c, "lat"), &bash);
	cr_assert_eq(eu_metric_hist_count(cl), 2);
	cr_assert_eq(eu_metric_hist_count(lat), 3);
	eu_metrics_free(c);
	eu_metrics_free(m);
}

struct owner {
	struct eu_metrics *reg;
	int wakes;
	int collects;
};

static int collect(void *ctx, struct eu_metrics_snapshot *out, eu_error *err)
{
	struct owner *o = ctx;
	o->collects++;
	out->taken_ns = 1000u * (uint64_t)o->collects;
	return eu_metrics_clone(o->reg, &out->reg, err);
}

static void wake(void *ctx)
{
	((struct owner *)ctx)->wakes++;
}

Test(metrics_feed, readers_ask_and_the_owner_serves)
{
	struct eu_metric_series *opens, *lat;
	struct owner o = {.reg = registry(&opens, &lat)};
	struct eu_metrics_feed *f;
	eu_error err = {0};
	cr_assert_eq(eu_metrics_feed_new(collect, &o, &f, &err), 0);
	struct eu_metrics_sub *a, *b;
	cr_assert_eq(eu_metrics_sub_new(f, &a), 0);
	cr_assert_eq(eu_metrics_sub_new(f, &b), 0);
	struct eu_metrics_snapshot snap;
	/* an ask before the owner can be woken waits; setting the wake-up tells it at once */
	eu_metrics_sub_ask(a);
	cr_assert_eq(o.wakes, 0);
	eu_metrics_feed_set_wake(f, wake, &o);
	cr_assert_eq(o.wakes, 1);
	eu_metrics_sub_ask(a); /* the same ask */
	cr_assert_eq(o.wakes, 1);
	cr_assert(eu_metrics_sub_asked(a));
	cr_assert(!eu_metrics_sub_take(a, &snap, &err));
	eu_metric_add(opens, 3);
	eu_metrics_feed_serve(f, false);
	cr_assert_eq(o.collects, 1, "only the reader that asked is served");
	cr_assert(!eu_metrics_sub_take(b, &snap, &err));
	cr_assert(eu_metrics_sub_take(a, &snap, &err));
	cr_assert_eq(opens_of(snap.reg, "bash"), 3);
	eu_metrics_snapshot_free(&snap);
	cr_assert(!eu_metrics_sub_take(a, &snap, &err), "served once");
	/* the last copy before the owner stops: everyone gets one */
	eu_metric_add(opens, 1);
	eu_metrics_feed_serve(f, true);
	cr_assert_eq(o.collects, 3);
	cr_assert(eu_metrics_sub_take(b, &snap, &err));
	cr_assert_eq(opens_of(snap.reg, "bash"), 4);
	eu_metrics_snapshot_free(&snap);
	/* a reader that leaves with a copy waiting frees it */
	eu_metrics_sub_free(a);
	eu_metrics_sub_ask(b);
	eu_metrics_feed_set_wake(f, NULL, NULL);
	eu_metrics_sub_free(b);
	eu_metrics_feed_free(f);
	eu_metrics_free(o.reg);
}

/* The delta of opens{bash} in a reader's export of snap (prev: its last copy). */
static double delta_export(struct eu_metrics *snap, const struct eu_metrics *prev,
			   uint64_t prev_ns, uint64_t now, uint64_t *start)
{
	if (prev)
		eu_otlp_metrics_carry(snap, prev, prev_ns);
	eu_buf b;
	eu_buf_init(&b);
	eu_error err = {0};
	cr_assert_eq(eu_otlp_metrics_from_registry(snap, "", 0, EU_TEMPORALITY_DELTA, now, &b,
						   &err), 0);
	Req *r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, b.len, (const uint8_t *)b.data);
	cr_assert_not_null(r);
	eu_buf_free(&b);
	double v = -1;
	const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
		r->resource_metrics[0]->scope_metrics[0];
	for (size_t i = 0; i < sm->n_metrics; i++) {
		if (strcmp(sm->metrics[i]->name, "opens"))
			continue;
		cr_assert_eq(sm->metrics[i]->sum->aggregation_temporality,
			     OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA);
		v = sm->metrics[i]->sum->data_points[0]->as_double;
		*start = sm->metrics[i]->sum->data_points[0]->start_time_unix_nano;
	}
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
		r, NULL);
	return v;
}

Test(metrics_feed, each_reader_has_deltas_of_its_own)
{
	struct eu_metric_series *opens, *lat;
	struct eu_metrics *m = registry(&opens, &lat);
	eu_error err = {0};
	uint64_t start;
	eu_metric_add(opens, 5);
	struct eu_metrics *a1, *b1, *a2, *b2;
	cr_assert_eq(eu_metrics_clone(m, &a1, &err), 0);
	cr_assert_eq(delta_export(a1, NULL, 0, 1000, &start), 5);
	cr_assert_eq(start, 100, "the first delta runs from the series' start");
	eu_metric_add(opens, 3);
	cr_assert_eq(eu_metrics_clone(m, &b1, &err), 0);
	/* reader b's first export: everything so far, whatever a sent */
	cr_assert_eq(delta_export(b1, NULL, 0, 2000, &start), 8);
	eu_metric_add(opens, 4);
	cr_assert_eq(eu_metrics_clone(m, &a2, &err), 0);
	cr_assert_eq(delta_export(a2, a1, 1000, 3000, &start), 7, "a: 3 + 4 since its export");
	cr_assert_eq(start, 1000);
	cr_assert_eq(eu_metrics_clone(m, &b2, &err), 0);
	cr_assert_eq(delta_export(b2, b1, 2000, 4000, &start), 4, "b: 4 since its export");
	cr_assert_eq(start, 2000);
	eu_metrics_free(a1);
	eu_metrics_free(b1);
	eu_metrics_free(a2);
	eu_metrics_free(b2);
	eu_metrics_free(m);
}
