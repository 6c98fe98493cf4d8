/* `eunomia-agent run` as a user drives it: JSON and text output, package options and their
 * errors, --help, --duration, signals (programs really gone afterwards), the ecli name, and
 * a reader that goes away (EPIPE). */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eu_test.h"

#define BOOTSTRAP EU_PLUGIN_BUILD_DIR "/bootstrap/package.json"
#define OPENSNOOP EU_PLUGIN_BUILD_DIR "/opensnoop/package.json"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct want {
	long long pid;
	int exit_event;
};

static bool match_pid(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	return eu_json_int(rec, "pid", -1) == w->pid &&
	       eu_json_int(rec, "exit_event", -1) == w->exit_event;
}

Test(run_cli, json_events_of_bin_true)
{
	struct eu_agent *a = eu_agent_start(BOOTSTRAP, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	cr_assert(strstr(eu_agent_stderr(a), "bootstrap: attached 2 programs in "), "%s",
		  eu_agent_stderr(a));
	pid_t child = eu_spawn((const char *const[]){"/bin/true", NULL});
	cr_assert_gt(child, 0);
	cr_assert_eq(eu_wait_pid(child, 10000), 0);

	struct want w = {child, 0};
	cJSON *exec = eu_agent_find(a, match_pid, &w, 10000);
	cr_assert(exec, "no exec event for /bin/true (pid %d); stderr:\n%s", child,
		  eu_agent_stderr(a));
	cr_expect_str_eq(eu_json_str(exec, "comm"), "true");
	cr_expect_str_eq(eu_json_str(exec, "filename"), "/bin/true");
	cr_expect_eq(eu_json_int(exec, "ppid", -1), getpid());
	/* exactly upstream's shape: the struct's members, in order, nothing else */
	const char *keys[] = {"pid", "ppid", "exit_code", "duration_ns", "comm", "filename",
			      "exit_event"};
	int k = 0;
	for (cJSON *it = exec->child; it; it = it->next, k++) {
		cr_assert_lt(k, 7);
		cr_expect_str_eq(it->string, keys[k]);
	}
	cr_expect_eq(k, 7);
	cJSON_Delete(exec);
	w.exit_event = 1;
	cJSON *ex = eu_agent_find(a, match_pid, &w, 10000);
	cr_assert(ex, "no exit event; stderr:\n%s", eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(ex, "exit_code", -1), 0);
	cr_expect_str_eq(eu_json_str(ex, "comm"), "true");
	cJSON_Delete(ex);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

struct seen {
	pid_t quick, slow;
	int quick_records;
};

static bool slow_exit(const cJSON *rec, void *ctx)
{
	struct seen *s = ctx;
	if (eu_json_int(rec, "pid", -1) == s->quick)
		s->quick_records++;
	return eu_json_int(rec, "pid", -1) == s->slow && eu_json_int(rec, "exit_event", -1) == 1;
}

Test(run_cli, min_duration_hex_value_filters)
{
	/* 0xBEBC200 = 200 ms, given in the --opt=value form */
	struct eu_agent *a = eu_agent_start(BOOTSTRAP, (const char *const[]){
							       "--min_duration_ns=0xBEBC200", NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	struct seen s = {0};
	s.quick = eu_spawn((const char *const[]){"/bin/true", NULL});
	cr_assert_eq(eu_wait_pid(s.quick, 10000), 0);
	s.slow = eu_spawn((const char *const[]){"/bin/sleep", "0.4", NULL});
	cr_assert_eq(eu_wait_pid(s.slow, 10000), 0);
	cJSON *rec = eu_agent_find(a, slow_exit, &s, 10000);
	cr_assert(rec, "the 400 ms sleep was not reported; stderr:\n%s", eu_agent_stderr(a));
	cr_expect_geq(eu_json_int(rec, "duration_ns", -1), 400000000LL);
	cJSON_Delete(rec);
	cJSON *late;
	while ((late = eu_agent_find(a, slow_exit, &s, 500)))
		cJSON_Delete(late);
	cr_expect_eq(s.quick_records, 0, "the short-lived /bin/true was reported");
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(run_cli, help_lists_package_options)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", BOOTSTRAP, "--help", NULL},
				20000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "Usage: eunomia-agent run PKG|URL"), "%s", out);
	cr_expect(strstr(out, "--min_duration_ns <unsigned long long>  (default: 0)"), "%s", out);
	cr_expect_null(strstr(out, "__eunomia_dummy"), "%s", out);
	free(out);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", OPENSNOOP, "-h", NULL}, 20000,
			    &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "Trace open family syscalls"), "doc description: %s", out);
	cr_expect(strstr(out, "-f, --failed, --enable-failed  (bool, default: false)"), "%s", out);
	cr_expect(strstr(out, "--pid_target <int>  (default: 0)"), "%s", out);
	cr_expect(strstr(out, "Process ID to trace"), "%s", out);
	free(out);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "--help", NULL}, 20000, &out);
	cr_expect_eq(rc, 0);
	cr_expect(strstr(out, "run PKG|URL"), "%s", out);
	free(out);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "--version", NULL}, 20000, &out);
	cr_expect_eq(rc, 0);
	cr_expect(!strncmp(out, "eunomia-agent ", 14), "%s", out);
	free(out);
}

Test(run_cli, bad_option_values_name_the_option)
{
	struct {
		const char *args[4];
		const char *msg;
	} cases[] = {
		{{"--min_duration_ns", "-5"},
		 "--min_duration_ns: '-5' is out of range for unsigned long long (0..18446744073709551615)"},
		{{"--min_duration_ns", "soon"}, "--min_duration_ns: 'soon' is not a valid unsigned long long"},
		{{"--min_duration_ns"}, "--min_duration_ns needs a value (unsigned long long)"},
		{{"--no_such_option", "1"}, "unknown option '--no_such_option'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[8] = {EU_AGENT_BIN, "run", BOOTSTRAP};
		int n = 3;
		for (int k = 0; cases[i].args[k]; k++)
			argv[n++] = cases[i].args[k];
		char *out = NULL;
		int rc = eu_run_capture(argv, 20000, &out);
		cr_expect_eq(rc, 2, "case %zu: exit %d: %s", i, rc, out);
		cr_expect(strstr(out, cases[i].msg), "case %zu: want '%s' in:\n%s", i, cases[i].msg,
			  out);
		cr_expect_null(strstr(out, "attached"), "nothing may be attached: %s", out);
		free(out);
	}
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", BOOTSTRAP, "--duration",
						      "-1", NULL},
				20000, &out);
	cr_expect_eq(rc, 2);
	cr_expect(strstr(out, "--duration needs a positive number of seconds"), "%s", out);
	free(out);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", "/nonexistent/pkg.json", NULL},
			    20000, &out);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(out, "/nonexistent/pkg.json"), "names the file: %s", out);
	free(out);
}

Test(run_cli, text_table)
{
	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "run", BOOTSTRAP, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	const char *header = eu_agent_next_line(a, 5000);
	cr_assert(header, "no header; stderr:\n%s", eu_agent_stderr(a));
	cr_expect(!strncmp(header, "TIME     PID ", 13), "header: '%s'", header);
	const char *cols[] = {" PPID ", " EXIT_CODE ", " DURATION_NS ", " COMM ", " FILENAME ",
			      " EXIT_EVENT"};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		cr_expect(strstr(header, cols[i]), "'%s' missing from '%s'", cols[i], header);
	char *hdr = strdup(header);

	pid_t child = eu_spawn((const char *const[]){"/bin/true", NULL});
	cr_assert_eq(eu_wait_pid(child, 10000), 0);
	char pat[128];
	snprintf(pat, sizeof(pat), "^[0-2][0-9]:[0-5][0-9]:[0-5][0-9] %d +[0-9]+ +0 +0 +true +/bin/true +0$",
		 child);
	regex_t re;
	cr_assert_eq(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
	bool found = false;
	const char *line;
	double deadline = now_s() + 10;
	while (!found && now_s() < deadline && (line = eu_agent_next_line(a, 1000))) {
		found = regexec(&re, line, 0, NULL, 0) == 0;
		if (found) /* the columns line up with the header */
			cr_expect_eq(strstr(line, "/bin/true") - line, strstr(hdr, "FILENAME") - hdr,
				     "FILENAME column:\n%s\n%s", hdr, line);
	}
	regfree(&re);
	cr_expect(found, "no row for /bin/true (pid %d); stdout:\n%s", child, eu_agent_stdout(a));
	free(hdr);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(run_cli, duration_exits_on_its_own)
{
	double t0 = now_s();
	struct eu_agent *a = eu_agent_start(BOOTSTRAP, (const char *const[]){"--duration", "1", NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	int rc = eu_agent_wait_exit(a, 10000);
	double took = now_s() - t0;
	cr_expect_eq(rc, 0, "exit %d; stderr:\n%s", rc, eu_agent_stderr(a));
	cr_expect_geq(took, 0.9, "stopped after %.2f s", took);
	cr_expect_lt(took, 8.0, "stopped after %.2f s", took);
	eu_agent_free(a);
}

static void wait_gone(const uint32_t *ids, size_t n)
{
	/* programs are freed after an RCU grace period once the last fd closes */
	for (int tries = 0; tries < 100; tries++) {
		bool any = false;
		for (size_t i = 0; i < n; i++)
			any |= eu_prog_id_exists(ids[i]);
		if (!any)
			return;
		usleep(50 * 1000);
	}
	for (size_t i = 0; i < n; i++)
		cr_expect_not(eu_prog_id_exists(ids[i]), "program id %u still loaded", ids[i]);
}

static void signal_detaches(int sig)
{
	struct eu_agent *a = eu_agent_start(BOOTSTRAP, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	uint32_t ids[16];
	ssize_t n = eu_prog_ids_of(eu_agent_pid(a), ids, 16);
	cr_assert_eq(n, 2, "the agent holds %zd programs (%s), want handle_exec and handle_exit", n,
		     n < 0 ? strerror(errno) : "alive");
	for (ssize_t i = 0; i < n; i++)
		cr_assert(eu_prog_id_exists(ids[i]));
	cr_assert_eq(kill(eu_agent_pid(a), sig), 0);
	int rc = eu_agent_wait_exit(a, 10000);
	cr_expect_eq(rc, 0, "exit %d after signal %d; stderr:\n%s", rc, sig, eu_agent_stderr(a));
	cr_expect_null(strstr(eu_agent_stderr(a), "error"), "%s", eu_agent_stderr(a));
	wait_gone(ids, (size_t)n);
	eu_agent_free(a);
}

Test(run_cli, sigterm_detaches_and_exits_0)
{
	signal_detaches(SIGTERM);
}

Test(run_cli, sigint_detaches_and_exits_0)
{
	signal_detaches(SIGINT);
}

Test(run_cli, invoked_as_ecli)
{
	char *dir = eu_tmpdir("ecli");
	cr_assert(dir);
	char link[512];
	snprintf(link, sizeof(link), "%s/ecli", dir);
	cr_assert_eq(symlink(EU_AGENT_BIN, link), 0);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){link, BOOTSTRAP, "--duration", "0.3", NULL},
				20000, &out);
	cr_expect_eq(rc, 0, "ecli PKG: %s", out);
	cr_expect(strstr(out, "attached 2 programs"), "ecli PKG: %s", out);
	free(out);
	rc = eu_run_capture((const char *const[]){link, "run", BOOTSTRAP, "--duration", "0.3", NULL},
			    20000, &out);
	cr_expect_eq(rc, 0, "ecli run PKG: %s", out);
	cr_expect(strstr(out, "attached 2 programs"), "ecli run PKG: %s", out);
	free(out);
	/* the long name has no such shortcut */
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, BOOTSTRAP, NULL}, 20000, &out);
	cr_expect_eq(rc, 2, "%s", out);
	cr_expect(strstr(out, "unknown command"), "%s", out);
	free(out);
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(run_cli, closed_stdout_exits_quietly)
{
	char *dir = eu_tmpdir("epipe");
	cr_assert(dir);
	char errfile[512];
	snprintf(errfile, sizeof(errfile), "%s/stderr", dir);
	/* exec a process every 100 ms so events keep coming after head has gone */
	const char *script =
		"(for i in $(seq 60); do sleep 0.1; /bin/true; done) & feeder=$!; "
		"\"$0\" run \"$1\" --json 2>\"$2\" | head -n 1 >/dev/null; "
		"echo \"agent=${PIPESTATUS[0]}\"; kill $feeder 2>/dev/null; wait";
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){"/bin/bash", "-c", script, EU_AGENT_BIN,
						      BOOTSTRAP, errfile, NULL},
				30000, &out);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "agent=0"), "the agent's exit status: %s", out);
	size_t n = 0;
	char *err = eu_test_read_file(errfile, &n);
	cr_assert(err);
	cr_expect(strstr(err, "attached"), "%s", err);
	cr_expect_null(strstr(err, "error"), "a closed stdout is not an error: %s", err);
	free(err);
	free(out);
	eu_tmpdir_remove(dir);
	free(dir);
}

/* The reader goes away while the ring buffer is idle, so the failing write happens in the
 * batch the kernel's wakeup delivers (not in a paced re-drain): stopping from inside that
 * callback must not touch the handles it just closed (libuv asserts on that). */
Test(run_cli, stdout_closed_between_events_exits_0)
{
	struct eu_agent *a = eu_agent_start(BOOTSTRAP, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	eu_agent_close_stdout(a);
	usleep(300 * 1000); /* let the ring go idle: the agent is back to waiting on its fd */
	int rc = -2;
	for (int i = 0; i < 50 && rc == -2; i++) {
		pid_t p = eu_spawn((const char *const[]){"/bin/true", NULL});
		cr_assert_eq(eu_wait_pid(p, 10000), 0);
		rc = eu_agent_wait_exit(a, 200);
	}
	cr_expect_eq(rc, 0, "exit status %d (134 = abort); stderr:\n%s", rc, eu_agent_stderr(a));
	cr_expect_null(strstr(eu_agent_stderr(a), "Assertion"), "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

Test(run_cli, mounts_tracefs_when_missing)
{
	/* in a private mount namespace, so the machine's tracefs stays as it is */
	const char *script = "umount /sys/kernel/tracing 2>/dev/null; "
			     "umount /sys/kernel/debug/tracing 2>/dev/null; "
			     "if [ -e /sys/kernel/tracing/events ] || [ -e /sys/kernel/debug/tracing/events ]; "
			     "then echo still-mounted; exit 3; fi; "
			     "exec \"$0\" run \"$1\" --duration 0.3";
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){"/usr/bin/unshare", "-m", "--propagation",
						      "private", "/bin/sh", "-c", script,
						      EU_AGENT_BIN, BOOTSTRAP, NULL},
				30000, &out);
	cr_assert_neq(rc, 3, "cannot unmount tracefs in a private mount namespace: %s", out);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "tracefs was not mounted: mounted it on /sys/kernel/tracing"), "%s", out);
	cr_expect(strstr(out, "bootstrap: attached 2 programs"), "%s", out);
	free(out);
}

static bool record_of(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(rec, "fields");
	return f && eu_json_int(f, "pid", -1) == w->pid && eu_json_int(f, "exit_event", -1) == 0;
}

/* --record prints the daemon's envelope: the same keys in the same order, the version from
 * the package's SHA-256, this host, and the time of the exec it saw. */
Test(run_cli, record_envelope_of_bin_true)
{
	char *sum = NULL;
	cr_assert_eq(eu_run_capture((const char *const[]){"/usr/bin/sha256sum", BOOTSTRAP, NULL},
				    10000, &sum), 0);
	char version[13];
	snprintf(version, sizeof(version), "%.12s", sum);
	free(sum);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);

	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "run", BOOTSTRAP, "--record", NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	struct timespec before, after;
	clock_gettime(CLOCK_REALTIME, &before);
	pid_t child = eu_spawn((const char *const[]){"/bin/true", NULL});
	cr_assert_eq(eu_wait_pid(child, 10000), 0);
	clock_gettime(CLOCK_REALTIME, &after);
	struct want w = {child, 0};
	cJSON *rec = eu_agent_find(a, record_of, &w, 10000);
	cr_assert(rec, "no record of pid %d; stdout:\n%s\nstderr: %s", child, eu_agent_stdout(a),
		  eu_agent_stderr(a));
	const char *keys[] = {"time", "time_unix_nano", "package", "version", "event", "host",
			      "fields"};
	int k = 0;
	for (cJSON *it = rec->child; it; it = it->next, k++) {
		cr_assert_lt(k, 7);
		cr_expect_str_eq(it->string, keys[k]);
	}
	cr_expect_eq(k, 7);
	cr_expect_str_eq(eu_json_str(rec, "package"), "bootstrap");
	cr_expect_str_eq(eu_json_str(rec, "version"), version);
	cr_expect_str_eq(eu_json_str(rec, "event"), "event");
	cr_expect_str_eq(eu_json_str(rec, "host"), host);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(rec, "fields");
	cr_expect_str_eq(eu_json_str(f, "comm"), "true");
	cr_expect_str_eq(eu_json_str(f, "filename"), "/bin/true");
	cr_expect_eq(eu_json_int(f, "ppid", -1), getpid());
	/* bootstrap has no ts field: the observed time, between the spawn and the record */
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "time_unix_nano");
	cr_assert(cJSON_IsNumber(t));
	double ns = t->valuedouble;
	double lo = (double)before.tv_sec * 1e9 + (double)before.tv_nsec;
	cr_expect(ns >= lo && ns < (double)after.tv_sec * 1e9 + 10e9, "time %.0f vs spawn %.0f",
		  ns, lo);
	/* the RFC 3339 time is the same instant */
	time_t sec = (time_t)(ns / 1e9);
	struct tm tm;
	gmtime_r(&sec, &tm);
	char prefix[32];
	strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S.", &tm);
	cr_expect(!strncmp(eu_json_str(rec, "time"), prefix, strlen(prefix)), "%s vs %s",
		  eu_json_str(rec, "time"), prefix);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}
