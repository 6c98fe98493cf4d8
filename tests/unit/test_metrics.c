/* The metrics registry: series by label values, the cardinality budget and its overflow
 * series, idle expiry, cumulative resets, and the Prometheus text it renders (names, escaping,
 * histogram buckets), checked by promtool too. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/metrics.h"

#define SEC 1000000000ull

static struct eu_metrics *new_reg(size_t max_series, uint64_t idle_ns)
{
	struct eu_metrics *m = NULL;
	eu_error err = {0};
	struct eu_metrics_opts o = {.sz = sizeof(o), .max_series = max_series,
				    .idle_expiry_ns = idle_ns};
	cr_assert_eq(eu_metrics_new(&o, &m, &err), 0, "%s", err.msg);
	return m;
}

static struct eu_metric_family *fam(struct eu_metrics *m, const char *name, const char *unit,
				    enum eu_metric_type t, const char *const *labels, size_t nl,
				    const double *bounds, size_t nb)
{
	struct eu_metric_family *f = NULL;
	eu_error err = {0};
	struct eu_metric_desc d = {.name = name, .help = "help text", .unit = unit, .type = t,
				   .labels = labels, .n_labels = nl, .bounds = bounds,
				   .n_bounds = nb};
	cr_assert_eq(eu_metrics_family(m, &d, &f, &err), 0, "%s", err.msg);
	return f;
}

static struct eu_label_value lv(const char *s)
{
	return (struct eu_label_value){.s = s, .len = strlen(s)};
}

static char *render(struct eu_metrics *m)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_metrics_render_prometheus(m, 0, &b);
	cr_assert(!b.oom);
	return b.data;
}

static void assert_has(const char *text, const char *line)
{
	cr_assert_not_null(strstr(text, line), "missing line:\n%s\nin:\n%s", line, text);
}

Test(metrics, series_by_label_values)
{
	struct eu_metrics *m = new_reg(0, 0);
	const char *labels[] = {"comm", "file"};
	struct eu_metric_family *f = fam(m, "opens", NULL, EU_METRIC_COUNTER, labels, 2, NULL, 0);
	struct eu_label_value a[] = {lv("bash"), lv("/etc/passwd")};
	struct eu_label_value b[] = {lv("bas"), lv("h/etc/passwd")}; /* same bytes, other split */
	struct eu_metric_series *sa = eu_metric_series_get(f, a, 1);
	struct eu_metric_series *sb = eu_metric_series_get(f, b, 1);
	cr_assert_neq(sa, sb);
	for (int i = 0; i < 5; i++)
		eu_metric_add(eu_metric_series_get(f, a, 2), 1);
	eu_metric_add(sb, 2);
	eu_metric_add(sb, -7); /* counters never go down */
	cr_assert_eq(eu_metric_value(sa), 5);
	cr_assert_eq(eu_metric_value(sb), 2);
	cr_assert_eq(eu_metric_family_series_count(f), 2);
	/* the same name again is the same family; another shape is refused */
	cr_assert_eq(fam(m, "opens", NULL, EU_METRIC_COUNTER, labels, 2, NULL, 0), f);
	struct eu_metric_family *g;
	eu_error err = {0};
	struct eu_metric_desc d = {.name = "opens", .type = EU_METRIC_GAUGE};
	cr_assert_eq(eu_metrics_family(m, &d, &g, &err), -EEXIST);
	cr_assert_not_null(strstr(err.msg, "opens"));
	eu_metrics_free(m);
}

Test(metrics, many_series_rehash)
{
	struct eu_metrics *m = new_reg(100000, 0);
	const char *labels[] = {"pid"};
	struct eu_metric_family *f = fam(m, "x", NULL, EU_METRIC_COUNTER, labels, 1, NULL, 0);
	char buf[32];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5000; i++) {
			snprintf(buf, sizeof(buf), "%d", i);
			struct eu_label_value v = lv(buf);
			eu_metric_add(eu_metric_series_get(f, &v, 1), i + 1);
		}
	}
	cr_assert_eq(eu_metric_family_series_count(f), 5000);
	struct eu_label_value v = lv("4321");
	cr_assert_eq(eu_metric_value(eu_metric_series_get(f, &v, 1)), 3 * 4322);
	eu_metrics_free(m);
}

Test(metrics, overflow_series_beyond_budget)
{
	struct eu_metrics *m = new_reg(3, 0);
	const char *labels[] = {"file"};
	struct eu_metric_family *f = fam(m, "opens", NULL, EU_METRIC_COUNTER, labels, 1, NULL, 0);
	const char *files[] = {"a", "b", "c", "d", "e", "a", "d"};
	for (size_t i = 0; i < 7; i++) {
		struct eu_label_value v = lv(files[i]);
		eu_metric_add(eu_metric_series_get(f, &v, 1), 1);
	}
	cr_assert_eq(eu_metric_family_series_count(f), 3);
	char *text = render(m);
	assert_has(text, "opens_total{file=\"a\"} 2\n");
	assert_has(text, "opens_total{file=\"c\"} 1\n");
	/* d, e and d again */
	assert_has(text, "opens_total{otel_metric_overflow=\"true\"} 3\n");
	assert_has(text, "eunomia_metric_overflow_measurements_total{metric=\"opens\"} 3\n");
	assert_has(text, "eunomia_metric_series{metric=\"opens\"} 4\n");
	free(text);
	eu_metrics_free(m);
}

Test(metrics, idle_series_expire)
{
	struct eu_metrics *m = new_reg(0, 10 * SEC);
	const char *labels[] = {"k"};
	struct eu_metric_family *f = fam(m, "g", NULL, EU_METRIC_GAUGE, labels, 1, NULL, 0);
	struct eu_label_value a = lv("old"), b = lv("fresh");
	eu_metric_set(eu_metric_series_get(f, &a, 100 * SEC), 1, 100 * SEC);
	eu_metric_set(eu_metric_series_get(f, &b, 100 * SEC), 2, 100 * SEC);
	cr_assert_eq(eu_metrics_expire(m, 105 * SEC), 0);
	eu_metric_set(eu_metric_series_get(f, &b, 108 * SEC), 3, 108 * SEC);
	cr_assert_eq(eu_metrics_expire(m, 111 * SEC), 1);
	cr_assert_eq(eu_metric_family_series_count(f), 1);
	char *text = render(m);
	cr_assert_null(strstr(text, "old"));
	assert_has(text, "g{k=\"fresh\"} 3\n");
	assert_has(text, "eunomia_metric_series_expired_total{metric=\"g\"} 1\n");
	free(text);
	/* an expired label set comes back as a new series with a new start time */
	struct eu_metric_series *s = eu_metric_series_get(f, &a, 120 * SEC);
	cr_assert_eq(eu_metric_value(s), 0);
	cr_assert_eq(eu_metric_start_ns(s), 120 * SEC);
	eu_metrics_free(m);
}

Test(metrics, cumulative_set_and_reset)
{
	struct eu_metrics *m = new_reg(0, 0);
	struct eu_metric_family *c = fam(m, "c", NULL, EU_METRIC_COUNTER, NULL, 0, NULL, 0);
	struct eu_metric_series *s = eu_metric_series_get(c, NULL, 5);
	eu_metric_set(s, 10, 6);
	eu_metric_set(s, 12, 7);
	cr_assert_eq(eu_metric_start_ns(s), 5);
	eu_metric_set(s, 3, 8); /* went down: a reset */
	cr_assert_eq(eu_metric_start_ns(s), 8);
	cr_assert_eq(eu_metric_value(s), 3);
	double bounds[] = {1, 3};
	struct eu_metric_family *h = fam(m, "h", NULL, EU_METRIC_HISTOGRAM, NULL, 0, bounds, 2);
	struct eu_metric_series *hs = eu_metric_series_get(h, NULL, 5);
	uint64_t c1[] = {1, 2, 3}, c2[] = {2, 2, 3}, c3[] = {0, 1, 0};
	eu_metric_hist_set(hs, c1, 3, 10, 6);
	eu_metric_hist_set(hs, c2, 3, 11, 7);
	cr_assert_eq(eu_metric_hist_count(hs), 7);
	cr_assert_eq(eu_metric_start_ns(hs), 5);
	eu_metric_hist_set(hs, c3, 3, 2, 9);
	cr_assert_eq(eu_metric_start_ns(hs), 9);
	eu_metric_hist_add(hs, c1, 3, 10);
	cr_assert_eq(eu_metric_hist_count(hs), 7);
	eu_metrics_free(m);
}

Test(metrics, histogram_exposition)
{
	struct eu_metrics *m = new_reg(0, 0);
	double bounds[] = {0.001, 0.01, 0.1};
	const char *labels[] = {"comm"};
	struct eu_metric_family *f = fam(m, "lat", "s", EU_METRIC_HISTOGRAM, labels, 1, bounds, 3);
	struct eu_label_value v = lv("x");
	struct eu_metric_series *s = eu_metric_series_get(f, &v, 1);
	double obs[] = {0.0005, 0.001, 0.005, 0.05, 0.5, 7};
	for (size_t i = 0; i < 6; i++)
		eu_metric_observe(s, obs[i]);
	char *text = render(m);
	assert_has(text, "# TYPE lat_seconds histogram\n");
	assert_has(text, "lat_seconds_bucket{comm=\"x\",le=\"0.001\"} 2\n");
	assert_has(text, "lat_seconds_bucket{comm=\"x\",le=\"0.01\"} 3\n");
	assert_has(text, "lat_seconds_bucket{comm=\"x\",le=\"0.1\"} 4\n");
	assert_has(text, "lat_seconds_bucket{comm=\"x\",le=\"+Inf\"} 6\n");
	assert_has(text, "lat_seconds_count{comm=\"x\"} 6\n");
	assert_has(text, "lat_seconds_sum{comm=\"x\"} 7.5565\n");
	free(text);
	eu_metrics_free(m);
}

static void name_is(const char *name, const char *unit, enum eu_metric_type t, const char *want)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_metrics_prom_name(name, unit, t, 0, &b);
	cr_assert_str_eq(b.data, want, "%s [%s]", name, unit ? unit : "");
	eu_buf_free(&b);
}

Test(metrics, prometheus_names)
{
	name_is("runqlat.hists", "s", EU_METRIC_HISTOGRAM, "runqlat_hists_seconds");
	name_is("eunomia_file_open_counter", NULL, EU_METRIC_COUNTER,
		"eunomia_file_open_counter_total");
	name_is("opens_total", NULL, EU_METRIC_COUNTER, "opens_total");
	name_is("wait_seconds", "s", EU_METRIC_GAUGE, "wait_seconds");
	name_is("wait_seconds_total", "s", EU_METRIC_COUNTER, "wait_seconds_total");
	name_is("wait", "s", EU_METRIC_COUNTER, "wait_seconds_total");
	name_is("rx", "By", EU_METRIC_COUNTER, "rx_bytes_total");
	name_is("9lives", NULL, EU_METRIC_GAUGE, "_9lives");
	name_is("a-b c/d", "1", EU_METRIC_GAUGE, "a_b_c_d");
	name_is("ns:metric", NULL, EU_METRIC_GAUGE, "ns:metric");
	name_is("pkts", "packets", EU_METRIC_GAUGE, "pkts_packets");
}

Test(metrics, label_escaping)
{
	struct eu_metrics *m = new_reg(0, 0);
	const char *labels[] = {"file.name", "9x"};
	struct eu_metric_family *f = fam(m, "e", NULL, EU_METRIC_GAUGE, labels, 2, NULL, 0);
	struct eu_label_value v[] = {lv("a\"b\\c\nd"), lv("ünï")};
	eu_metric_set(eu_metric_series_get(f, v, 1), -2.5, 1);
	char *text = render(m);
	assert_has(text, "e{file_name=\"a\\\"b\\\\c\\nd\",_9x=\"ünï\"} -2.5\n");
	free(text);
	eu_metrics_free(m);
}

/* promtool (Debian's prometheus package) lints the whole page. */
Test(metrics, promtool_accepts_the_page)
{
	if (access("/usr/bin/promtool", X_OK))
		cr_assert_fail("promtool is not installed (scripts/install-deps.sh installs prometheus)");
	struct eu_metrics *m = new_reg(2, 0);
	const char *labels[] = {"comm", "filename"};
	struct eu_metric_family *c = fam(m, "file_opens", NULL, EU_METRIC_COUNTER,
					 labels, 2, NULL, 0);
	const char *names[][2] = {{"cat", "/etc/x"}, {"sh", "a\"b\\c\nd"}, {"ls", "/"}};
	for (size_t i = 0; i < 3; i++) {
		struct eu_label_value v[] = {lv(names[i][0]), lv(names[i][1])};
		eu_metric_add(eu_metric_series_get(c, v, 1), 1);
	}
	double bounds[] = {1e-6, 3e-6, 7e-6};
	struct eu_metric_family *h = fam(m, "runqlat.hists", "s", EU_METRIC_HISTOGRAM, labels, 2,
					 bounds, 3);
	struct eu_label_value v[] = {lv("a"), lv("b")};
	uint64_t counts[] = {1, 2, 3, 4};
	eu_metric_hist_set(eu_metric_series_get(h, v, 1), counts, 4, 1e-5, 1);
	struct eu_metric_family *g = fam(m, "temp", NULL, EU_METRIC_GAUGE, NULL, 0, NULL, 0);
	eu_metric_set(eu_metric_series_get(g, NULL, 1), 1.5, 1);
	char *text = render(m);
	char path[] = "/tmp/eu-metrics-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	char out[4096] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	unlink(path);
	cr_assert_eq(status, 0, "promtool: %s\npage:\n%s", out, text);
	free(text);
	eu_metrics_free(m);
}

Test(metrics, overflow_series_identity_and_clear)
{
	struct eu_metrics *m = new_reg(1, 0);
	const char *labels[] = {"k"};
	double bounds[] = {1};
	struct eu_metric_family *f = fam(m, "h", NULL, EU_METRIC_HISTOGRAM, labels, 1, bounds, 1);
	struct eu_label_value a = lv("a"), b = lv("b");
	struct eu_metric_series *sa = eu_metric_series_get(f, &a, 1);
	struct eu_metric_series *sb = eu_metric_series_get(f, &b, 1);
	cr_assert(!eu_metric_series_is_overflow(sa));
	cr_assert(eu_metric_series_is_overflow(sb));
	uint64_t c[] = {2, 3};
	eu_metric_hist_add(sb, c, 2, 4);
	cr_assert_eq(eu_metric_hist_count(sb), 5);
	eu_metric_hist_clear(sb);
	cr_assert_eq(eu_metric_hist_count(sb), 0);
	cr_assert_eq(eu_metric_start_ns(sb), 1);
	eu_metrics_free(m);
}
