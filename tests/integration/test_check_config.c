/* --check-config against the packages it knows, as a user meets it: a config whose parameter
 * names and metric rules the package does not have fails the check with exactly the messages
 * the daemon's load then gives; an upstream exporter config with the package inline is
 * checked too; the README's metrics example passes against our shipped plugins. */
#include "daemon_fixture.h"

#include "core/file.h"
#include "eunomia/buf.h"

EU_DFIX_SUITE(F, check_config, 180);

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* --check-config with the config: its exit code, its output in *out. */
static int check(const char *cfg, const char *extra, const char *extra_arg, char **out)
{
	const char *argv[] = {dfix_daemon_bin(), "--config", cfg, "--check-config", extra,
			      extra_arg, NULL};
	return eu_run_capture(argv, 30000, out);
}

#define BAD_PARAMS "unknown parameter 'no_such' (not a variable of opensnoop); unknown " \
		   "parameter 'also_not' (not a variable of opensnoop)"
#define BAD_RULES "metric lat: field comm of event is not a number; metric opens: no event " \
		  "type of package opensnoop has a field 'nofield'; metric lat2: no event type " \
		  "of package opensnoop has a field 'delta_us'"

Test(check_config, names_every_problem_with_the_load_message)
{
	dfix_sh("cp %s/opensnoop/package.json %s/opensnoop.json", EU_PLUGIN_BUILD_DIR, F.watch);
	char cfg[200], text[1024], *out = NULL;
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	static const char rules[] =
		"    metrics:\n"
		"      counters: [{name: opens, labels: [comm, {name: f, from: nofield}]}]\n"
		"      histograms: [{name: lat, field: comm, buckets: [1]},\n"
		"                   {name: lat2, field: delta_us, buckets: [1, 2]}]\n";
	snprintf(text, sizeof(text), "watch: %s\npackages:\n  opensnoop:\n"
		 "    params: {no_such: 1, also_not: x}\n%s", F.watch, rules);
	write_file(cfg, text);
	int rc = check(cfg, NULL, NULL, &out);
	cr_assert_eq(rc, 1, "%s", out);
	char want[600];
	snprintf(want, sizeof(want), "%s/opensnoop.json: " BAD_PARAMS "\n", F.watch);
	cr_assert_not_null(strstr(out, want), "want %s in:\n%s", want, out);
	snprintf(want, sizeof(want), "%s/opensnoop.json: " BAD_RULES "\n", F.watch);
	cr_assert_not_null(strstr(out, want), "want %s in:\n%s", want, out);
	cr_assert_not_null(strstr(out, "2 problems with the packages"), "%s", out);
	cr_assert_null(strstr(out, "OK"), "%s", out);
	free(out);

	/* the load says the same: parameters first (they are set before the rules apply) */
	dfix_start(&F, (const char *[]){"--config", cfg, "--sink", "file:/dev/null", NULL});
	cr_assert(dfix_wait_log(&F, ": " BAD_PARAMS, 1, 20000), "%s", eu_agent_stderr(F.a));
	eu_agent_stop(F.a, 10000);
	eu_agent_free(F.a);
	F.a = NULL;

	/* without the parameters, the rules: the same message from check and load */
	snprintf(text, sizeof(text), "watch: %s\npackages:\n  opensnoop:\n%s", F.watch, rules);
	write_file(cfg, text);
	rc = check(cfg, NULL, NULL, &out);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert_not_null(strstr(out, "opensnoop.json: " BAD_RULES "\n"), "%s", out);
	cr_assert_null(strstr(out, "unknown parameter"), "%s", out);
	free(out);
	dfix_start(&F, (const char *[]){"--config", cfg, "--sink", "file:/dev/null", NULL});
	cr_assert(dfix_wait_log(&F, ": " BAD_RULES, 1, 20000), "%s", eu_agent_stderr(F.a));

	/* a good config passes; a section for a package nobody has is a warning, not a failure */
	snprintf(text, sizeof(text), "watch: %s\npackages:\n  opensnoop:\n    metrics:\n"
		 "      counters: [{name: opens, labels: [comm, {name: f, from: fname}]}]\n"
		 "      gauges: [{name: last_ret, field: ret}]\n"
		 "  ghost:\n    params: {x: 1}\n", F.watch);
	write_file(cfg, text);
	rc = check(cfg, NULL, NULL, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_not_null(strstr(out, "OK: 1 watch directory"), "%s", out);
	cr_assert_not_null(strstr(out, "warning: packages.ghost: no package of that file stem or "
				  "name"), "%s", out);
	free(out);
}

/* An exporter config in upstream's form with the package inline (ebpf_data, a JSON string):
 * its rules are checked against the inline package. */
Test(check_config, upstream_inline_exporter_config)
{
	char *pkg = NULL;
	size_t len = 0;
	eu_error err = {0};
	cr_assert_eq(eu_file_read(EU_PLUGIN_BUILD_DIR "/opensnoop/package.json", 64 << 20,
				  (void **)&pkg, &len, &err), 0, "%s", err.msg);
	char exp[200], cfg[200], *out = NULL;
	snprintf(exp, sizeof(exp), "%s/exporter.yaml", F.root);
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	write_file(cfg, "log_level: info\n");
	for (int bad = 0; bad < 2; bad++) {
		FILE *f = fopen(exp, "w");
		cr_assert(f);
		fprintf(f, "programs:\n- name: opensnoop\n  metrics:\n    counters:\n"
			"    - name: file_opens\n      labels:\n      - name: comm\n"
			"      - name: filename\n        from: %s\n  ebpf_data: '",
			bad ? "nofield" : "fname");
		/* a single-quoted YAML string: quotes doubled, the rest as is */
		for (size_t i = 0; i < len; i++)
			fputs(pkg[i] == '\'' ? "''" : (char[]){pkg[i], 0}, f);
		fputs("'\n", f);
		cr_assert_eq(fclose(f), 0);
		int rc = check(cfg, "--exporter-config", exp, &out);
		if (!bad) {
			cr_assert_eq(rc, 0, "%s", out);
			cr_assert_not_null(strstr(out, "OK: 1 program with metric rules"), "%s", out);
		} else {
			char want[400];
			snprintf(want, sizeof(want), "%s:programs[0].ebpf_data: metric file_opens: no "
				 "event type of package opensnoop has a field 'nofield'\n", exp);
			cr_assert_eq(rc, 1, "%s", out);
			cr_assert_not_null(strstr(out, want), "want %s in:\n%s", want, out);
		}
		free(out);
	}
	free(pkg);
}

/* The README's metrics rules example ("Rules per package in the config") against the
 * plugins we ship: every field it names exists, with the right type. */
Test(check_config, readme_metrics_example_passes)
{
	char *readme = NULL;
	size_t len = 0;
	eu_error err = {0};
	cr_assert_eq(eu_file_read(EU_SOURCE_DIR "/README.md", 4 << 20, (void **)&readme, &len,
				  &err), 0, "%s", err.msg);
	const char *start = strstr(readme, "Rules per package in the config");
	cr_assert_not_null(start, "the README's metrics example is gone");
	start = strstr(start, "\n\n");
	cr_assert_not_null(start);
	start += 2;
	/* past the readme_blocks test's directive comment */
	if (!strncmp(start, "<!--", 4) && (start = strstr(start, "\n\n")))
		start += 2;
	cr_assert_not_null(start);
	/* the indented block up to the first line that is not indented */
	eu_buf yaml;
	eu_buf_init(&yaml);
	eu_buf_printf(&yaml, "watch: %s\n", F.watch);
	for (const char *l = start; *l == ' ' || *l == '\n';) {
		const char *eol = strchr(l, '\n');
		size_t n = eol ? (size_t)(eol - l) : strlen(l);
		if (n >= 4)
			eu_buf_append(&yaml, l + 4, n - 4);
		eu_buf_putc(&yaml, '\n');
		if (!eol)
			break;
		l = eol + 1;
		if (*l == '\n' && l[1] != ' ')
			break;
	}
	eu_buf_putc(&yaml, '\0');
	cr_assert_not_null(strstr(yaml.data, "packages:"), "not the example: %s", yaml.data);
	char cfg[200], *out = NULL;
	snprintf(cfg, sizeof(cfg), "%s/readme.yaml", F.root);
	write_file(cfg, yaml.data);
	dfix_sh("cp %s/opensnoop/package.json %s/opensnoop.json", EU_PLUGIN_BUILD_DIR, F.watch);
	dfix_sh("cp %s/bootstrap/package.json %s/bootstrap.json", EU_PLUGIN_BUILD_DIR, F.watch);
	int rc = check(cfg, NULL, NULL, &out);
	cr_assert_eq(rc, 0, "README example:\n%s\n--check-config:\n%s", yaml.data, out);
	cr_assert_null(strstr(out, "warning: packages."), "every section meets its package:\n%s",
		       out);
	free(out);
	eu_buf_free(&yaml);
	free(readme);
}
