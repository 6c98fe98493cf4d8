/* Metric rules from the config file on real events (bootstrap's exec/exit events): a counter
 * labelled by a string and an integer field, log2 and explicit-bucket histograms of a duration
 * in ns exposed in seconds, a gauge of the last exit code; a rule naming a missing field fails
 * the package with a message naming it. Read back through `--prometheus`. */
#include "metrics_fixture.h"

static void write_config(struct dfix *f, char *path, size_t n, const char *text)
{
	snprintf(path, n, "%s/agent.yaml", f->root);
	FILE *c = fopen(path, "w");
	cr_assert_not_null(c);
	fputs(text, c);
	fclose(c);
}

#define RUNS 3

Test(metrics_rules_e2e, counters_histograms_gauges_from_events)
{
	struct dfix f;
	dfix_init(&f);
	char cfg[200];
	write_config(&f, cfg, sizeof(cfg),
		     "packages:\n  bootstrap:\n    metrics:\n"
		     "      counters:\n"
		     "        - name: execs\n"
		     "          description: exec and exit events\n"
		     "          labels: [comm, {name: exit, from: exit_event}]\n"
		     "      histograms:\n"
		     "        - {name: lifetime, field: duration_ns, unit: ns, log2: true, labels: [comm]}\n"
		     "        - {name: lifetime2, field: duration_ns, unit: ns, buckets: [1000000000],"
		     " labels: [comm]}\n"
		     "      gauges:\n"
		     "        - {name: last_exit_code, field: exit_code, labels: [comm]}\n");
	/* a binary of our own that exits 1, so the gauge has a value to show */
	char fbin[200], comm[16];
	snprintf(fbin, sizeof(fbin), "%s/bin/eu_mrf_%d", f.root, (int)getpid() % 100000);
	dfix_sh("cp /bin/false %s", fbin);
	snprintf(comm, sizeof(comm), "%.15s", strrchr(fbin, '/') + 1);
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, f.watch);
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--config", cfg, "--prometheus", "127.0.0.1:0", "--sink",
					out, NULL});
	for (int i = 0; i < RUNS; i++) {
		const char *argv[] = {fbin, NULL};
		pid_t pid = eu_spawn(argv);
		cr_assert_gt(pid, 0);
		cr_assert_eq(eu_wait_pid(pid, 5000), 1);
	}
	char execs[128], exits[128], count[128], count2[128], le1[160], inf2[160], gauge[128];
	snprintf(execs, sizeof(execs), "execs_total{comm=\"%s\",exit=\"0\"} ", comm);
	snprintf(exits, sizeof(exits), "execs_total{comm=\"%s\",exit=\"1\"} ", comm);
	snprintf(count, sizeof(count), "lifetime_seconds_count{comm=\"%s\"} ", comm);
	snprintf(count2, sizeof(count2), "lifetime2_seconds_count{comm=\"%s\"} ", comm);
	snprintf(le1, sizeof(le1), "lifetime2_seconds_bucket{comm=\"%s\",le=\"1\"} ", comm);
	snprintf(inf2, sizeof(inf2), "lifetime2_seconds_bucket{comm=\"%s\",le=\"+Inf\"} ", comm);
	snprintf(gauge, sizeof(gauge), "last_exit_code{comm=\"%s\"} ", comm);
	int port = mfix_port(&f);
	free(mfix_wait_value(port, execs, RUNS));
	char *page = mfix_wait_value(port, exits, RUNS);
	cr_assert_eq(mfix_value(page, execs), RUNS, "%s\n%s", execs, page);
	cr_assert_not_null(strstr(page, "# HELP execs_total exec and exit events\n"));
	cr_assert_not_null(strstr(page, "# TYPE lifetime_seconds histogram\n"));
	/* every event is observed: exec events with duration 0, exits with their lifetime */
	cr_assert_eq(mfix_value(page, count), 2 * RUNS, "%s", page);
	cr_assert_eq(mfix_value(page, count2), 2 * RUNS, "%s", page);
	/* log2 bounds in seconds: slot 0 holds 0 and 1 ns, le = 1e-09 */
	char le0[160];
	snprintf(le0, sizeof(le0), "lifetime_seconds_bucket{comm=\"%s\",le=\"1e-09\"} ", comm);
	cr_assert_geq(mfix_value(page, le0), RUNS, "%s", page);
	/* bounds in ns become seconds exactly: 2^2 - 1 ns is le="3e-09" */
	snprintf(le0, sizeof(le0), "lifetime_seconds_bucket{comm=\"%s\",le=\"3e-09\"} ", comm);
	cr_assert_geq(mfix_value(page, le0), RUNS, "%s", page);
	/* /bin/false lives less than a second */
	cr_assert_eq(mfix_value(page, le1), 2 * RUNS, "%s", page);
	cr_assert_eq(mfix_value(page, inf2), 2 * RUNS, "%s", page);
	cr_assert_eq(mfix_value(page, gauge), 1, "%s\n%s", gauge, page);
	free(page);
	dfix_fini(&f);
}

Test(metrics_rules_e2e, missing_field_fails_the_package_with_its_name)
{
	struct dfix f;
	dfix_init(&f);
	char cfg[200];
	write_config(&f, cfg, sizeof(cfg),
		     "packages:\n  bootstrap:\n    metrics:\n      counters:\n"
		     "        - {name: c, labels: [{name: x, from: no_such_field}]}\n");
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, f.watch);
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--config", cfg, "--sink", out, NULL});
	cr_assert(dfix_wait_log(&f, "metric c: no event type of package bootstrap has a field "
				    "'no_such_field'", 1, 20000),
		  "%s", eu_agent_stderr(f.a));
	cr_assert_not_null(strstr(eu_agent_stderr(f.a), "0 packages loaded, 1 failed"), "%s",
			   eu_agent_stderr(f.a));
	dfix_fini(&f);
}

Test(metrics_rules_e2e, changed_rules_apply_on_sighup)
{
	struct dfix f;
	dfix_init(&f);
	char cfg[200];
	write_config(&f, cfg, sizeof(cfg),
		     "packages:\n  bootstrap:\n    metrics:\n      counters:\n"
		     "        - {name: before_hup, labels: [comm]}\n");
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, f.watch);
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--config", cfg, "--prometheus", "127.0.0.1:0", "--sink",
					out, NULL});
	char comm[16], before[128], after[128];
	snprintf(comm, sizeof(comm), "%.15s", strrchr(f.bin, '/') + 1);
	snprintf(before, sizeof(before), "before_hup_total{comm=\"%s\"} ", comm);
	snprintf(after, sizeof(after), "after_hup_total{comm=\"%s\"} ", comm);
	dfix_exec(&f);
	int port = mfix_port(&f);
	free(mfix_wait_value(port, before, 2));
	write_config(&f, cfg, sizeof(cfg),
		     "packages:\n  bootstrap:\n    metrics:\n      counters:\n"
		     "        - {name: after_hup, labels: [comm]}\n");
	kill(eu_agent_pid(f.a), SIGHUP);
	/* the package is reloaded with the new rules (a new version line in the log) */
	cr_assert(dfix_wait_log(&f, "detaching version", 1, 20000), "%s", eu_agent_stderr(f.a));
	dfix_exec(&f);
	char *page = mfix_wait_value(port, after, 2);
	/* the old rule's series stays until it expires, with its value (plus whatever the old
	 * version still saw in the short overlap while it was being detached) */
	cr_assert_geq(mfix_value(page, before), 2, "%s = %g\n%s", before, mfix_value(page, before),
		      page);
	free(page);
	dfix_fini(&f);
}

Test(metrics_rules_e2e, idle_series_expire_and_are_counted)
{
	struct dfix f;
	dfix_init(&f);
	char cfg[200];
	write_config(&f, cfg, sizeof(cfg),
		     "metrics: {series_idle: 2s}\n"
		     "packages:\n  bootstrap:\n    metrics:\n      counters:\n"
		     "        - {name: idle_execs, labels: [comm]}\n");
	dfix_sh("cp %s %s/bootstrap.json", BOOTSTRAP_PKG, f.watch);
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--config", cfg, "--prometheus", "127.0.0.1:0", "--sink",
					out, NULL});
	char comm[16], line[128];
	snprintf(comm, sizeof(comm), "%.15s", strrchr(f.bin, '/') + 1);
	snprintf(line, sizeof(line), "idle_execs_total{comm=\"%s\"} ", comm);
	dfix_exec(&f);
	int port = mfix_port(&f);
	char *page = mfix_wait_value(port, line, 2);
	/* idle for 2 s: gone at the next expiry pass (every second here) */
	int64_t deadline = dfix_now_ms() + 30000;
	while (dfix_now_ms() < deadline) {
		free(page);
		page = mfix_page(port);
		if (mfix_value(page, line) < 0)
			break;
		usleep(200000);
	}
	cr_assert_lt(mfix_value(page, line), 0, "the series never expired:\n%s", page);
	cr_assert_geq(mfix_value(page, "eunomia_metric_series_expired_total{metric=\"idle_execs\"} "),
		      1, "%s", page);
	free(page);
	dfix_fini(&f);
}
