/* The daemon's command line and config file: --check-config, otlp refused clearly, params from
 * the config, SIGHUP reloading them. */
#include "daemon_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

EU_DFIX_SUITE(F, daemon_config, 120);

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

/* Counts the bootstrap exec records of our binary in a JSON-lines file; every line must be
 * whole JSON (none split across the swap). */
static size_t execs_in_file(const char *path, const char *bin)
{
	size_t size = 0, bad = 0;
	char *text = eu_test_read_file(path, &size);
	if (!text)
		return 0;
	struct dfix_match m = {.package = "bootstrap", .filename = bin, .exit_event = 0};
	size_t n = dfix_count_records_in(text, &m, 0, NULL, &bad);
	free(text);
	cr_assert_eq(bad, 0, "%s has lines that are not JSON", path);
	return n;
}

/* A config with one otlp sink (to a closed port) spooling into spool, with a header token. */
static void write_otlp_config(const char *path, const char *spool, const char *token)
{
	char text[600];
	snprintf(text, sizeof(text),
		 "sinks:\n  - type: otlp\n    endpoint: http://127.0.0.1:9\n    spool_dir: %s\n"
		 "    headers: {x-token: %s}\n", spool, token);
	write_config(path, text);
}

/* SIGHUP with other sinks in the config: the new ones take the records from then on, the old
 * one writes what it held and closes; a sink that cannot open keeps the running ones. */
Test(daemon_config, sighup_replaces_changed_sinks)
{
	char cfg[200], a_path[200], b_path[200], text[800];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	snprintf(a_path, sizeof(a_path), "%s/a.jsonl", F.root);
	snprintf(b_path, sizeof(b_path), "%s/b.jsonl", F.root);
	snprintf(text, sizeof(text), "sinks:\n  - type: file\n    path: %s\n", a_path);
	write_config(cfg, text);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--config", cfg, NULL});
	int64_t deadline = dfix_now_ms() + 10000;
	while (!execs_in_file(a_path, F.bin) && dfix_now_ms() < deadline) {
		dfix_exec(&F);
		dfix_pump(&F, 200);
	}
	cr_assert_gt(execs_in_file(a_path, F.bin), 0, "%s", eu_agent_stderr(F.a));

	/* same sinks: nothing is reopened */
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "config reloaded", 1, 5000), "%s", eu_agent_stderr(F.a));
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), "replaced"), 0, "%s", eu_agent_stderr(F.a));

	/* a.jsonl -> b.jsonl plus stdout */
	snprintf(text, sizeof(text), "sinks:\n  - type: file\n    path: %s\n  - type: stdout\n",
		 b_path);
	write_config(cfg, text);
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "config reloaded", 2, 5000), "%s", eu_agent_stderr(F.a));
	char line[300];
	snprintf(line, sizeof(line), "sink file:%s replaced", a_path);
	cr_assert(strstr(eu_agent_stderr(F.a), line), "%s", eu_agent_stderr(F.a));
	snprintf(line, sizeof(line), "counters: sink file:%s: queued", a_path);
	/* the old sink closes on the thread pool: its final counters come a little later */
	cr_assert(dfix_wait_log(&F, line, 1, 5000), "no final counters: %s", eu_agent_stderr(F.a));
	size_t in_a = execs_in_file(a_path, F.bin);
	deadline = dfix_now_ms() + 10000;
	while (!execs_in_file(b_path, F.bin) && dfix_now_ms() < deadline) {
		dfix_exec(&F);
		dfix_pump(&F, 200);
	}
	cr_assert_gt(execs_in_file(b_path, F.bin), 0, "%s", eu_agent_stderr(F.a));
	cr_assert_eq(execs_in_file(a_path, F.bin), in_a, "the replaced sink still got records");
	struct dfix_match execs = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	cr_assert_gt(dfix_count_records_in(eu_agent_stdout(F.a), &execs, 0, NULL, NULL), 0,
		     "the new stdout sink got nothing");

	/* a sink that cannot open: reported, the running ones kept */
	write_config(cfg, "sinks:\n  - type: file\n    path: /nonexistent-eu-dir/x.jsonl\n");
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "keeping the running configuration", 1, 5000), "%s",
		  eu_agent_stderr(F.a));
	size_t in_b = execs_in_file(b_path, F.bin);
	deadline = dfix_now_ms() + 10000;
	while (execs_in_file(b_path, F.bin) == in_b && dfix_now_ms() < deadline) {
		dfix_exec(&F);
		dfix_pump(&F, 200);
	}
	cr_assert_gt(execs_in_file(b_path, F.bin), in_b, "the kept sink stopped");

	/* two otlp sinks never share a spool: one whose replacement reuses its spool directory
	 * is closed before the replacement opens */
	char spool[200];
	snprintf(spool, sizeof(spool), "%s/spool", F.root);
	write_otlp_config(cfg, spool, "one");
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "config reloaded", 3, 5000), "%s", eu_agent_stderr(F.a));
	cr_assert(strstr(eu_agent_stderr(F.a), "sink otlp:http://127.0.0.1:9 opened"), "%s",
		  eu_agent_stderr(F.a));
	write_otlp_config(cfg, spool, "two");
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "config reloaded", 4, 10000), "%s", eu_agent_stderr(F.a));
	char first[300];
	snprintf(first, sizeof(first), "(closed first: the new sinks use %s too)", spool);
	cr_assert(strstr(eu_agent_stderr(F.a), first), "%s", eu_agent_stderr(F.a));
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), "sink otlp:http://127.0.0.1:9 opened"), 2,
		     "%s", eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}

/* SIGHUP with a config start-up would refuse — an empty file (an in-place `cp` caught after
 * its truncation) and one cut half-way through its watch path — changes nothing: reported
 * with the reason, the package stays loaded (never detached) and its records keep coming.
 * The watch dir comes from the config alone (no --watch), as in a packaged deployment. */
Test(daemon_config, sighup_with_a_config_start_up_refuses_keeps_running)
{
	char cfg[200], text[600];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	snprintf(text, sizeof(text), "log_level: info\nsinks:\n  - type: stdout\nwatch:\n  - %s\n",
		 F.watch);
	write_config(cfg, text);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	F.a = eu_agent_start_argv(
		(const char *const[]){dfix_daemon_bin(), "--config", cfg, "--api", "none", NULL});
	cr_assert(F.a);
	cr_assert(dfix_wait_log(&F, "ready:", 1, 20000), "%s", eu_agent_stderr(F.a));
	cr_assert(dfix_wait_log(&F, "programs attached", 1, 10000), "%s", eu_agent_stderr(F.a));
	struct dfix_match execs = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	cr_assert(dfix_exec_until(&F, &execs, 0, 10000), "%s", eu_agent_stdout(F.a));

	/* start-up refuses both */
	char half[600];
	snprintf(half, sizeof(half), "%.*s", (int)(strlen(text) - 4), text);
	const char *bad[] = {"", half};
	const char *why[] = {"empty: no settings", "No such file or directory"};
	for (size_t i = 0; i < 2; i++) {
		write_config(cfg, bad[i]);
		char *out = NULL;
		int rc = eu_run_capture((const char *const[]){dfix_daemon_bin(), "--config", cfg,
							     "--api", "none", NULL},
					30000, &out);
		cr_assert_eq(rc, 2, "start-up accepted config %zu: %s", i, out);
		cr_assert(strstr(out, why[i]), "%s", out);
		free(out);
	}
	/* and so does a reload: nothing changes */
	for (size_t i = 0; i < 2; i++) {
		write_config(cfg, bad[i]);
		kill(eu_agent_pid(F.a), SIGHUP);
		cr_assert(dfix_wait_log(&F, "keeping the running configuration", i + 1, 5000), "%s",
			  eu_agent_stderr(F.a));
		const char *log = eu_agent_stderr(F.a);
		cr_assert(strstr(log, why[i]), "the reason is not given: %s", log);
		cr_assert_null(strstr(log, "no longer watching"), "%s", log);
		cr_assert_null(strstr(log, "removed"), "%s", log);
		cr_assert_null(strstr(log, "config reloaded"), "%s", log);
		dfix_pump(&F, 500);
		size_t from = dfix_lines(&F);
		cr_assert(dfix_exec_until(&F, &execs, from, 10000), "no records after reload %zu: %s",
			  i, eu_agent_stderr(F.a));
	}
	/* the whole file again: reloaded normally */
	write_config(cfg, text);
	kill(eu_agent_pid(F.a), SIGHUP);
	cr_assert(dfix_wait_log(&F, "config reloaded", 1, 5000), "%s", eu_agent_stderr(F.a));
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), "programs attached"), 1, "%s",
		     eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}

/* A port in use fails the start at once: the API and --prometheus listeners are bound before
 * any package loads, and the error names the address and the reason; nothing attached. */
static void expect_bind_failure(const char *const *listener, int port, int want_code)
{
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	const char *argv[16] = {dfix_daemon_bin(), "--watch", F.watch};
	size_t n = 3;
	for (size_t i = 0; listener[i] && n < 15; i++)
		argv[n++] = listener[i];
	argv[n] = NULL;
	int64_t t0 = dfix_now_ms();
	F.a = eu_agent_start_argv(argv);
	cr_assert(F.a);
	int code = eu_agent_wait_exit(F.a, 10000);
	const char *err = eu_agent_stderr(F.a);
	cr_assert_eq(code, want_code, "exit %d:\n%s", code, err);
	cr_expect_lt(dfix_now_ms() - t0, 5000, "took %lld ms", (long long)(dfix_now_ms() - t0));
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	cr_expect(strstr(err, addr) && strstr(err, "Address already in use"), "%s", err);
	cr_expect_null(strstr(err, "attached"), "a package was attached first:\n%s", err);
}

static int occupied_port(int *fd)
{
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	cr_assert_eq(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(*fd, 1), 0);
	cr_assert_eq(getsockname(*fd, (struct sockaddr *)&sa, &sl), 0);
	return ntohs(sa.sin_port);
}

Test(daemon_config, api_port_in_use_fails_before_any_package)
{
	int fd, port = occupied_port(&fd);
	char api[64], tok[192];
	snprintf(api, sizeof(api), "tcp:127.0.0.1:%d", port);
	snprintf(tok, sizeof(tok), "%s/token", F.root);
	dfix_sh("echo s3cr3t-token-0123456789abcdef > %s && chmod 600 %s", tok, tok);
	expect_bind_failure((const char *[]){"--api", api, "--api-token-file", tok, NULL}, port, 2);
	close(fd);
}

Test(daemon_config, prometheus_port_in_use_fails_before_any_package)
{
	int fd, port = occupied_port(&fd);
	char prom[64];
	snprintf(prom, sizeof(prom), "127.0.0.1:%d", port);
	expect_bind_failure((const char *[]){"--api", "none", "--prometheus", prom, NULL}, port, 1);
	close(fd);
}
