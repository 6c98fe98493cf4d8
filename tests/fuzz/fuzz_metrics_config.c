/* Metric rules on arbitrary bytes: upstream's exporter config reader and the config file's
 * `metrics:` blocks must fail cleanly or give well-formed rules, and whatever names and labels
 * they carry must go through the registry and the Prometheus renderer. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"
#include "metrics/metrics.h"
#include "metrics/metrics_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rules(const struct eu_metric_rules *r, struct eu_metrics *m)
{
	for (size_t i = 0; r && i < r->n; i++) {
		const struct eu_metric_rule *x = &r->rules[i];
		if (!x->name || (x->type != EU_METRIC_COUNTER && !x->field))
			__builtin_trap();
		for (size_t j = 1; j < x->n_bounds; j++)
			if (!(x->bounds[j] > x->bounds[j - 1]))
				__builtin_trap();
		const char *names[EU_METRICS_MAX_LABELS];
		struct eu_label_value vals[EU_METRICS_MAX_LABELS];
		for (size_t j = 0; j < x->n_labels; j++) {
			if (!x->labels[j].name)
				__builtin_trap();
			names[j] = x->labels[j].name;
			vals[j].s = x->labels[j].name;
			vals[j].len = strlen(x->labels[j].name);
		}
		struct eu_metric_desc d = {.name = x->name, .help = x->help, .unit = x->unit,
					   .type = x->type, .labels = names,
					   .n_labels = x->n_labels, .bounds = x->bounds,
					   .n_bounds = x->n_bounds, .max_series = x->max_series};
		struct eu_metric_family *f;
		eu_error err = {0};
		if (eu_metrics_family(m, &d, &f, &err) == 0) {
			struct eu_metric_series *s = eu_metric_series_get(f, vals, 1);
			eu_metric_add(s, 1);
			eu_metric_observe(s, 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eu_metrics *m = NULL;
	eu_error err = {0};
	if (eu_metrics_new(NULL, &m, &err))
		return 0;
	struct eu_config c;
	if (eu_config_parse((const char *)data, size, "fuzz.yaml", &c, &err) == 0) {
		for (size_t i = 0; i < c.n_packages; i++)
			check_rules(c.packages[i].metrics, m);
		eu_config_free(&c);
	} else if (!err.msg[0]) {
		__builtin_trap();
	}
	int fd = memfd_create("exporter", 0);
	if (fd >= 0 && write(fd, data, size) == (ssize_t)size) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct eu_config e = {0};
		struct eu_exporter_program *progs = NULL;
		size_t n = 0;
		eu_error err2 = {0};
		if (eu_exporter_config_load(path, &e, &progs, &n, &err2) == 0) {
			for (size_t i = 0; i < e.n_packages; i++)
				check_rules(e.packages[i].metrics, m);
		} else if (!err2.msg[0]) {
			__builtin_trap();
		}
		eu_exporter_programs_free(progs, n);
		eu_config_free(&e);
	}
	if (fd >= 0)
		close(fd);
	eu_buf b;
	eu_buf_init(&b);
	eu_metrics_render_prometheus(m, 0, &b);
	eu_buf_free(&b);
	eu_metrics_free(m);
	return 0;
}
