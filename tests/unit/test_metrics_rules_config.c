/* Metric rules in the config file (packages.NAME.metrics), their errors, base units, and
 * upstream's exporter config read as it is. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "metrics/metrics_rules.h"

static const struct eu_metric_rules *parse_ok(const char *yaml, struct eu_config *cfg)
{
	eu_error err = {0};
	cr_assert_eq(eu_config_parse(yaml, strlen(yaml), "agent.yaml", cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg->n_packages, 1);
	cr_assert_not_null(cfg->packages[0].metrics);
	return cfg->packages[0].metrics;
}

static void parse_fails(const char *yaml, const char *want)
{
	struct eu_config cfg;
	eu_error err = {0};
	cr_assert_eq(eu_config_parse(yaml, strlen(yaml), "agent.yaml", &cfg, &err), -EINVAL,
		     "accepted: %s", yaml);
	cr_assert_not_null(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
}

Test(metrics_rules, all_kinds)
{
	struct eu_config cfg;
	const struct eu_metric_rules *r = parse_ok(
		"packages:\n"
		"  opensnoop:\n"
		"    params: {failed: true}\n"
		"    metrics:\n"
		"      max_series: 50\n"
		"      counters:\n"
		"        - name: opens\n"
		"          description: files opened\n"
		"          labels:\n"
		"            - name: comm\n"
		"            - {name: filename, from: fname}\n"
		"            - pid\n"
		"      histograms:\n"
		"        - {name: lat, field: delta_us, unit: us, buckets: [1, 10, 100]}\n"
		"        - {name: lat2, field: delta_us, log2: true, max_series: 7}\n"
		"      gauges:\n"
		"        - {name: last_ret, field: ret}\n",
		&cfg);
	cr_assert_eq(cfg.packages[0].n_params, 1);
	cr_assert_eq(r->n, 4);
	const struct eu_metric_rule *c = &r->rules[0];
	cr_assert_eq(c->type, EU_METRIC_COUNTER);
	cr_assert_str_eq(c->name, "opens");
	cr_assert_str_eq(c->help, "files opened");
	cr_assert_eq(c->n_labels, 3);
	cr_assert_str_eq(c->labels[0].name, "comm");
	cr_assert_null(c->labels[0].from);
	cr_assert_str_eq(c->labels[1].name, "filename");
	cr_assert_str_eq(c->labels[1].from, "fname");
	cr_assert_str_eq(c->labels[2].name, "pid");
	cr_assert_eq(c->max_series, 50);
	const struct eu_metric_rule *h = &r->rules[1];
	cr_assert_eq(h->type, EU_METRIC_HISTOGRAM);
	cr_assert_str_eq(h->field, "delta_us");
	cr_assert_str_eq(h->unit, "us");
	cr_assert_eq(h->n_bounds, 3);
	cr_assert_eq(h->bounds[2], 100);
	cr_assert(!h->log2);
	cr_assert(r->rules[2].log2);
	cr_assert_eq(r->rules[2].max_series, 7);
	cr_assert_eq(r->rules[3].type, EU_METRIC_GAUGE);
	cr_assert_str_eq(r->rules[3].field, "ret");
	eu_config_free(&cfg);
}

Test(metrics_rules, errors_name_the_line_and_key)
{
	parse_fails("packages:\n  x:\n    metrics:\n      counters:\n        - labels: [comm]\n",
		    "agent.yaml:5: packages.x.metrics.counters[0]: a metric needs a name");
	parse_fails("packages:\n  x:\n    metrics:\n      histograms:\n        - {name: h, field: f}\n",
		    "either buckets: [...] or log2: true");
	parse_fails("packages:\n  x:\n    metrics:\n      histograms:\n"
		    "        - {name: h, field: f, buckets: [3, 2]}\n",
		    "packages.x.metrics.histograms[0].buckets[1]: bucket bounds must increase");
	parse_fails("packages:\n  x:\n    metrics:\n      gauges:\n        - {name: g}\n",
		    "needs `field`");
	parse_fails("packages:\n  x:\n    metrics:\n      sums: []\n", "unknown key");
	parse_fails("packages:\n  x:\n    metrics:\n      counters:\n        - {name: c, labels: [{from: x}]}\n",
		    "a label needs a name");
	parse_fails("packages:\n  x:\n    metrics:\n      counters:\n        - {name: c, colour: red}\n",
		    "unknown key colour");
	parse_fails("packages:\n  x:\n    metrics:\n      max_series: 0\n", "expected an integer");
}

Test(metrics_rules, base_units)
{
	const char *u;
	double s;
	eu_metrics_unit_base("usecs", &u, &s);
	cr_assert_str_eq(u, "s");
	cr_assert_float_eq(s, 1e-6, 1e-18);
	eu_metrics_unit_base("ms", &u, &s);
	cr_assert_str_eq(u, "s");
	cr_assert_float_eq(s, 1e-3, 1e-15);
	eu_metrics_unit_base("By", &u, &s);
	cr_assert_str_eq(u, "By");
	cr_assert_eq(s, 1);
	eu_metrics_unit_base("(unit)", &u, &s);
	cr_assert_null(u);
	eu_metrics_unit_base(NULL, &u, &s);
	cr_assert_null(u);
}

/* an exporter config in upstream's format (tests/data/upstream) */
Test(metrics_rules, upstream_exporter_config)
{
	struct eu_config cfg = {0};
	struct eu_exporter_program *progs = NULL;
	size_t n = 0;
	eu_error err = {0};
	const char *file = EU_TEST_DATA_DIR "/upstream/exporter-opensnoop.yaml";
	cr_assert_eq(eu_exporter_config_load(file, &cfg, &progs, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(progs[0].path, EU_TEST_DATA_DIR "/upstream/../examples/bpftools/opensnoop/package.json");
	cr_assert_str_eq(progs[0].name, "opensnoop");
	cr_assert_null(progs[0].inline_pkg);
	cr_assert_eq(cfg.n_packages, 1);
	cr_assert_str_eq(cfg.packages[0].name, "opensnoop");
	const struct eu_metric_rules *r = cfg.packages[0].metrics;
	cr_assert_eq(r->n, 1);
	cr_assert_eq(r->rules[0].type, EU_METRIC_COUNTER);
	cr_assert_str_eq(r->rules[0].name, "eunomia_file_open_counter");
	cr_assert_str_eq(r->rules[0].help, "test");
	cr_assert_eq(r->rules[0].n_labels, 3);
	cr_assert_str_eq(r->rules[0].labels[2].name, "filename");
	cr_assert_str_eq(r->rules[0].labels[2].from, "fname");
	cr_assert_null(r->rules[0].labels[1].from);
	/* the package's own config rules win over the exporter config's */
	struct eu_exporter_program *p2 = NULL;
	size_t n2 = 0;
	struct eu_metric_rules *mine = r->rules ? cfg.packages[0].metrics : NULL;
	cr_assert_eq(eu_exporter_config_load(file, &cfg, &p2, &n2, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.n_packages, 1);
	cr_assert_eq(cfg.packages[0].metrics, mine);
	eu_exporter_programs_free(progs, n);
	eu_exporter_programs_free(p2, n2);
	eu_config_free(&cfg);
}

Test(metrics_rules, exporter_config_errors)
{
	char path[] = "/tmp/eu-exporter-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *bad = "programs:\n- name: x\n  metrics: {counters: [{name: c}]}\n";
	cr_assert_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	close(fd);
	struct eu_config cfg = {0};
	struct eu_exporter_program *progs = NULL;
	size_t n = 0;
	eu_error err = {0};
	cr_assert_eq(eu_exporter_config_load(path, &cfg, &progs, &n, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "programs[0]: a program needs compiled_ebpf_filename"),
			   "%s", err.msg);
	unlink(path);
	eu_config_free(&cfg);
	eu_exporter_programs_free(progs, n);
}

static int write_tmp(char *path, const char *text)
{
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return 0;
}

/* upstream's ebpf_data: the package.json's text itself, as a YAML string (a block scalar
 * here, as a person would paste it), kept byte for byte */
Test(metrics_rules, exporter_config_inline_package)
{
	char path[] = "/tmp/eu-exporter-XXXXXX";
	write_tmp(path, "programs:\n- name: opensnoop\n  metrics: {counters: [{name: c}]}\n"
			"  ebpf_data: |\n    {\"bpf_object\": \"eJw=\",\n     \"meta\": {}}\n");
	struct eu_config cfg = {0};
	struct eu_exporter_program *progs = NULL;
	size_t n = 0;
	eu_error err = {0};
	cr_assert_eq(eu_exporter_config_load(path, &cfg, &progs, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 1);
	cr_assert_null(progs[0].path);
	cr_assert_str_eq(progs[0].name, "opensnoop");
	const char *want = "{\"bpf_object\": \"eJw=\",\n \"meta\": {}}\n";
	cr_assert_eq(progs[0].inline_len, strlen(want));
	cr_assert_str_eq(progs[0].inline_pkg, want);
	char origin[128];
	snprintf(origin, sizeof(origin), "%s:programs[0].ebpf_data", path);
	cr_assert_str_eq(progs[0].origin, origin);
	cr_assert_eq(cfg.n_packages, 1);
	eu_exporter_programs_free(progs, n);
	eu_config_free(&cfg);
	unlink(path);

	/* both: refused rather than one silently ignored */
	char both[] = "/tmp/eu-exporter-XXXXXX";
	write_tmp(both, "programs:\n- name: x\n  metrics: {}\n  ebpf_data: '{}'\n"
			"  compiled_ebpf_filename: x.json\n");
	progs = NULL;
	n = 0;
	cr_assert_eq(eu_exporter_config_load(both, &cfg, &progs, &n, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "programs[0]: a program gives compiled_ebpf_filename or "
				  "ebpf_data, not both"), "%s", err.msg);
	eu_exporter_programs_free(progs, n);
	eu_config_free(&cfg);
	unlink(both);
	/* an empty or non-string ebpf_data */
	char empty[] = "/tmp/eu-exporter-XXXXXX";
	write_tmp(empty, "programs:\n- name: x\n  metrics: {}\n  ebpf_data: {a: 1}\n");
	progs = NULL;
	n = 0;
	cr_assert_eq(eu_exporter_config_load(empty, &cfg, &progs, &n, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "programs[0].ebpf_data: expected the package's JSON text"),
			   "%s", err.msg);
	eu_exporter_programs_free(progs, n);
	eu_config_free(&cfg);
	unlink(empty);
}

Test(metrics_rules, top_level_settings)
{
	struct eu_config cfg;
	eu_error err = {0};
	const char *y = "metrics: {max_series: 50, series_idle: 5m}\n";
	cr_assert_eq(eu_config_parse(y, strlen(y), "agent.yaml", &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.metrics_max_series, 50);
	cr_assert_eq(cfg.metrics_idle_s, 300);
	eu_config_free(&cfg);
	y = "metrics: {series_idle: 0}\n";
	cr_assert_eq(eu_config_parse(y, strlen(y), "agent.yaml", &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.metrics_idle_s, UINT64_MAX);
	eu_config_free(&cfg);
	parse_fails("metrics: {series_idle: soon}\n",
		    "agent.yaml:1: metrics.series_idle: expected a duration");
	parse_fails("metrics: {budget: 3}\n", "unknown key (expected max_series, series_idle): budget");
}
