/* Packages checked against the config without the kernel (config_check.h). */
#include "config_check.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/buf.h"
#include "eunomia/consumer.h"
#include "eunomia/package.h"
#include "eunomia/params.h"
#include "metrics/metrics_rules.h"
#include "watcher.h"

void eu_config_program_opts(const struct eu_config_package *cp, struct eu_program_opts *po)
{
	if (!cp)
		return;
	po->perf_sample_freq = cp->sample_freq;
	po->map_sizes = cp->map_sizes;
	po->n_map_sizes = cp->n_map_sizes;
	po->attach_specs = (const char *const *)cp->attach;
	po->n_attach_specs = cp->n_attach;
	po->perf_event_specs = (const char *const *)cp->perf_events;
	po->n_perf_event_specs = cp->n_perf_events;
}

int eu_config_apply_params(struct eu_program *prog, const char *pkg_name,
			   char *const *names, char *const *values, size_t n, eu_error *err)
{
	struct eu_params *ep = eu_program_params(prog);
	eu_buf problems;
	eu_buf_init(&problems);
	for (size_t i = 0; i < n; i++) {
		int idx = ep ? eu_params_find(ep, names[i]) : -1;
		eu_error one = {0};
		if (idx < 0)
			eu_error_set(&one, -EINVAL, "unknown parameter '%s' (not a variable of %s)",
				     names[i], pkg_name ? pkg_name : "the package");
		else if (!eu_params_set(ep, (size_t)idx, values[i], &one))
			continue;
		eu_buf_printf(&problems, "%s%s", problems.len ? "; " : "", one.msg);
	}
	int ret = 0;
	if (problems.oom)
		ret = eu_error_set(err, -ENOMEM, "out of memory");
	else if (problems.len)
		ret = eu_error_set(err, -EINVAL, "%.*s", (int)problems.len, problems.data);
	eu_buf_free(&problems);
	return ret;
}

struct check {
	const struct eu_config *cfg;
	FILE *out;
	size_t problems;
	bool *section_used; /* per cfg->packages[i] */
	struct eu_metrics *reg; /* one for all, as in the daemon: shared names must agree */
};

static void problem(struct check *c, const char *where, const char *msg)
{
	fprintf(c->out, "eunomia-agent: %s: %s\n", where, msg);
	c->problems++;
}

static const struct eu_config_package *section_for(struct check *c, const char *stem,
						   const char *name)
{
	const struct eu_config_package *cp = eu_config_find_package(c->cfg, stem, name);
	if (cp)
		c->section_used[cp - c->cfg->packages] = true;
	return cp;
}

/* One package as the daemon would start it, up to (not including) the kernel load. */
static void check_package(struct check *c, const char *where, const char *stem,
			  const struct eu_package *pkg)
{
	const struct eu_config_package *cp = section_for(c, stem, pkg->name);
	if (pkg->format == EU_PKG_META_ONLY) {
		if (cp)
			problem(c, where, "no BPF object in the package: its settings cannot be "
				"checked");
		return;
	}
	struct eu_program_opts po = {.sz = sizeof(po)};
	eu_config_program_opts(cp, &po);
	struct eu_program *prog = NULL;
	eu_error err = {0};
	if (eu_program_open(pkg, &po, &prog, &err)) {
		problem(c, where, err.msg);
		return;
	}
	if (cp && cp->n_params) {
		char **names = calloc(cp->n_params, sizeof(char *));
		char **values = calloc(cp->n_params, sizeof(char *));
		for (size_t i = 0; names && values && i < cp->n_params; i++) {
			names[i] = cp->params[i].name;
			values[i] = cp->params[i].value;
		}
		if (!names || !values)
			problem(c, where, "out of memory");
		else if (eu_config_apply_params(prog, pkg->name, names, values, cp->n_params,
						&err))
			problem(c, where, err.msg);
		free(names);
		free(values);
	}
	struct eu_consumer_opts co = {.sz = sizeof(co), .describe_only = true};
	struct eu_consumer *cons = NULL;
	if (eu_consumer_new(NULL, prog, &co, &cons, &err)) {
		problem(c, where, err.msg);
	} else {
		struct eu_metrics_pkg *mp = NULL;
		if (eu_metrics_pkg_new(c->reg, pkg->name, cp ? cp->metrics : NULL, cons, &mp, &err))
			problem(c, where, err.msg);
		eu_metrics_pkg_free(mp);
		eu_consumer_close(cons, NULL, NULL);
	}
	eu_program_close(prog);
}

static void check_file(struct check *c, const char *path, const char *stem)
{
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	if (eu_package_read_file(path, &pkg, &err)) {
		problem(c, path, err.msg);
		return;
	}
	check_package(c, path, stem, pkg);
	eu_package_free(pkg);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_dir(struct check *c, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return; /* said by the caller's watch check */
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char stem[256];
		size_t len = strlen(de->d_name);
		if (!eu_watch_name_stem(de->d_name, stem, sizeof(stem)) ||
		    (len > 5 && !strcmp(de->d_name + len - 5, ".wasm")))
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n) /* qsort(NULL, 0) is undefined */
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char stem[256], *path = NULL;
		eu_watch_name_stem(names[i], stem, sizeof(stem));
		if (asprintf(&path, "%s/%s", dir, names[i]) >= 0)
			check_file(c, path, stem);
		free(path);
		free(names[i]);
	}
	free(names);
}

size_t eu_config_check_packages(const struct eu_config *cfg,
				const struct eu_exporter_program *progs, size_t n_progs,
				FILE *out)
{
	struct check c = {.cfg = cfg, .out = out};
	struct eu_metrics_opts mo = {.sz = sizeof(mo)};
	eu_error err = {0};
	c.section_used = calloc(cfg->n_packages + 1, sizeof(bool));
	if (!c.section_used || eu_metrics_new(&mo, &c.reg, &err)) {
		free(c.section_used);
		fprintf(out, "eunomia-agent: cannot check the packages: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < cfg->n_watch; i++)
		check_dir(&c, cfg->watch[i]);
	for (size_t i = 0; i < n_progs; i++) {
		const struct eu_exporter_program *p = &progs[i];
		if (p->path) {
			char stem[256];
			const char *base = strrchr(p->path, '/');
			base = base ? base + 1 : p->path;
			if (!eu_watch_name_stem(base, stem, sizeof(stem)))
				snprintf(stem, sizeof(stem), "%s", base);
			check_file(&c, p->path, stem);
			continue;
		}
		struct eu_package *pkg = NULL;
		if (eu_package_parse(p->inline_pkg, p->inline_len, p->origin, &pkg, &err)) {
			problem(&c, p->origin, err.msg);
			continue;
		}
		check_package(&c, p->origin, p->name, pkg);
		eu_package_free(pkg);
	}
	for (size_t i = 0; i < cfg->n_packages; i++)
		if (!c.section_used[i])
			fprintf(out, "eunomia-agent: warning: packages.%s: no package of that file "
				"stem or name in the watched directories or the exporter config: its "
				"settings were not checked\n", cfg->packages[i].name);
	free(c.section_used);
	eu_metrics_free(c.reg);
	return c.problems;
}
