/* The daemon's command line and config file: --check-config, otlp refused clearly, params from
 * the config, SIGHUP reloading them. */
#include "daemon_fixture.h"

static struct dfix F;

static void setup(void)
{
	dfix_init(&F);
}

static void teardown(void)
{
	dfix_fini(&F);
}

TestSuite(daemon_config, .init = setup, .fini = teardown, .timeout = 120);

static void write_config(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

Test(daemon_config, check_config_explains_with_line_numbers)
{
	char cfg[200], *out = NULL;
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	write_config(cfg, "watch: /tmp\nsinks:\n  - type: file\n    keep: many\n");
	const char *bin = dfix_daemon_bin();
	const char *argv[] = {bin, "--config", cfg, "--check-config", NULL};
	int rc = eu_run_capture(argv, 10000, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "agent.yaml:4: sinks[0].keep: expected a non-negative integer"), "%s",
		  out);
	free(out);

	write_config(cfg, "watch: /tmp\nsinks:\n  - type: file\n    path: /tmp/x.jsonl\n    keep: 2\n"
			  "packages:\n  boot:\n    params: {min_duration_ns: 5}\n");
	rc = eu_run_capture(argv, 10000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "OK: 1 watch directory, 1 sink, 1 package setting"), "%s", out);
	free(out);

	const char *otlp[] = {bin, "--watch", F.watch, "--sink", "otlp:http://127.0.0.1:4318",
			      "--check-config", NULL};
	rc = eu_run_capture(otlp, 10000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "OK: 1 watch directory, 1 sink"), "%s", out);
	free(out);

	const char *bad[] = {bin, "--watch", F.watch, "--sink", "kafka:x", NULL};
	rc = eu_run_capture(bad, 10000, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "unknown sink 'kafka:x'"), "%s", out);
	free(out);

	const char *missing[] = {bin, "--watch", "/nonexistent-eu-dir", NULL};
	rc = eu_run_capture(missing, 10000, &out);
	cr_assert_neq(rc, 0, "%s", out);
	cr_assert(strstr(out, "/nonexistent-eu-dir"), "%s", out);
	free(out);
}

Test(daemon_config, params_from_config_and_sighup_reload)
{
	char cfg[200], arg[220];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	/* the watch dir comes from the config; the file sink too */
	char text[600];
	snprintf(text, sizeof(text),
		 "watch: [%s]\nlog_level: info\npackages:\n  boot:\n    params: {min_duration_ns: 1}\n",
		 F.watch);
	write_config(cfg, text);
	snprintf(arg, sizeof(arg), "%s", cfg);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	/* dfix_start adds --watch F.watch too: the same dir twice is watched once */
	dfix_start(&F, (const char *[]){"--config", arg, NULL});
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), "programs attached"), 1, "%s",
		     eu_agent_stderr(F.a));
	const char *comm = strrchr(F.bin, '/') + 1;
	struct dfix_match exits = {.package = "bootstrap", .comm = comm, .exit_event = 1};
	struct dfix_match execs = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	cr_assert(dfix_exec_until(&F, &exits, 0, 10000), "%s", eu_agent_stdout(F.a));
	cr_assert_eq(dfix_count_records_in(eu_agent_stdout(F.a), &execs, 0, NULL, NULL), 0);

	/* drop the param and reload: the package is reloaded with its defaults */
	snprintf(text, sizeof(text), "watch: [%s]\n", F.watch);
	write_config(cfg, text);
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "config reloaded", 1, 5000), "%s", eu_agent_stderr(F.a));
	cr_assert(dfix_wait_log(&F, "programs attached", 2, 5000), "%s", eu_agent_stderr(F.a));
	dfix_pump(&F, 300);
	size_t from = dfix_lines(&F);
	cr_assert(dfix_exec_until(&F, &execs, from, 10000), "%s", eu_agent_stdout(F.a));

	/* a broken config on reload: reported, the running one kept */
	write_config(cfg, "watch: [\n");
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "keeping the running config", 1, 5000), "%s",
		  eu_agent_stderr(F.a));
	from = dfix_lines(&F);
	cr_assert(dfix_exec_until(&F, &execs, from, 10000), "%s", eu_agent_stdout(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}
