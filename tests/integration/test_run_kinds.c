/* Program and output kinds the runtime drives itself: alternatives (`__alt<N>`), perf_event
 * programs on every CPU, sampled log2 histograms (text and JSON), and tc/xdp attachments that
 * are removed again on exit.
 *
 * ctest-resource-lock: lo_tc_xdp (the tc and xdp hooks of lo are one per machine: tests
 * that attach there never run at the same time) */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eunomia/features.h"

#define UNLINKSNOOP EU_PLUGIN_BUILD_DIR "/unlinksnoop/package.json"
#define RUNQLAT EU_PLUGIN_BUILD_DIR "/runqlat/package.json"
#define TC_PKG EU_TESTBPF_BUILD_DIR "/tc/package.json"
#define XDP_PKG EU_TESTBPF_BUILD_DIR "/xdp/package.json"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct unlink_want {
	long long pid;
	const char *path;
};

static bool unlink_of(const cJSON *rec, void *ctx)
{
	const struct unlink_want *w = ctx;
	const char *f = eu_json_str(rec, "filename");
	return eu_json_int(rec, "pid", -1) == w->pid && f && strstr(f, w->path);
}

Test(run_kinds, alternatives_pick_what_the_kernel_runs)
{
	struct eu_features f;
	eu_features_init(&f);
	bool fentry = eu_features_has(&f, EU_FEATURE_FENTRY);
	struct eu_agent *a = eu_agent_start(UNLINKSNOOP, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	const char *err = eu_agent_stderr(a);
	if (fentry) {
		cr_expect(strstr(err, "using unlink__alt1 (fentry/do_unlinkat)"), "%s", err);
	} else {
		cr_expect(strstr(err, "program unlink__alt1 (fentry/do_unlinkat): fentry programs are "
				      "not permitted on this kernel (EPERM); using unlink__alt2 "
				      "(tracepoint/syscalls/sys_enter_unlinkat) instead"),
			  "%s", err);
		cr_expect(strstr(err, "using unlink__alt2 (tracepoint/syscalls/sys_enter_unlinkat)"),
			  "%s", err);
	}
	cr_expect(strstr(err, "unlinksnoop: attached 1 program"), "one of the group: %s", err);

	char *dir = eu_tmpdir("unlink");
	cr_assert(dir);
	char path[512];
	snprintf(path, sizeof(path), "%s/victim", dir);
	cr_assert_eq(eu_write_file(path, "x", 1), 0);
	cr_assert_eq(unlinkat(AT_FDCWD, path, 0), 0);
	struct unlink_want w = {getpid(), "victim"};
	cJSON *rec = eu_agent_find(a, unlink_of, &w, 10000);
	cr_assert(rec, "no unlink event for %s; stdout:\n%s", path, eu_agent_stdout(a));
	cr_expect_str_eq(eu_json_str(rec, "filename"), path);
	cr_expect_str_eq(eu_json_str(rec, "comm"), "integration_tes");
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	eu_tmpdir_remove(dir);
	free(dir);
}

/* A cpu-clock sample fires only while the CPU runs something: an idle vCPU of a tickless
 * guest may go seconds without one. Keep every CPU busy while the test samples. */
static void spin_on_each_cpu(pid_t *pids, long ncpu)
{
	for (long i = 0; i < ncpu; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET((int)i, &set);
			sched_setaffinity(0, sizeof(set), &set);
			double end = now_s() + 10;
			while (now_s() < end)
				;
			_exit(0);
		}
	}
}

static void stop_spinners(pid_t *pids, long ncpu)
{
	for (long i = 0; i < ncpu; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
}

Test(run_kinds, perf_event_program_samples_every_cpu)
{
	char *dir = eu_tmpdir("perf");
	cr_assert(dir);
	char obj[512];
	snprintf(obj, sizeof(obj), "%s/perf_sample.bpf.o", dir);
	char *log = NULL;
	cr_assert_eq(eu_compile_bpf(EU_TEST_DATA_DIR "/perf_event/perf_sample.bpf.c", obj, &log), 0,
		     "%s", log);
	free(log);
	struct eu_agent *a = eu_agent_start(obj, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	cr_expect(strstr(eu_agent_stderr(a), "perf_sample: attached 1 program"), "%s",
		  eu_agent_stderr(a));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cr_assert(ncpu > 0 && ncpu <= 1024);
	pid_t spinners[1024] = {0};
	spin_on_each_cpu(spinners, ncpu);
	bool seen[1024] = {0};
	int distinct = 0, records = 0;
	double deadline = now_s() + 3;
	cJSON *rec;
	while (now_s() < deadline && (rec = eu_agent_next_json(a, 1000))) {
		long long cpu = eu_json_int(rec, "cpu", -1);
		cr_assert(cpu >= 0 && cpu < ncpu, "cpu %lld out of range", cpu);
		cr_assert(eu_json_str(rec, "comm"), "comm is decoded");
		if (!seen[cpu]) {
			seen[cpu] = true;
			distinct++;
		}
		records++;
		cJSON_Delete(rec);
		if (distinct == ncpu && records >= 20)
			break;
	}
	stop_spinners(spinners, ncpu);
	cr_expect_geq(records, 20, "only %d samples in 3 s at 49 Hz per CPU", records);
	cr_expect_eq(distinct, ncpu, "samples came from %d of %ld CPUs", distinct, ncpu);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	eu_tmpdir_remove(dir);
	free(dir);
}

/* --sample-freq sets the perf_event sampling frequency: at 1000 Hz on busy CPUs, 2 s bring
 * far more samples than the default 49 Hz could (at most 98 per CPU). */
Test(run_kinds, sample_freq_option)
{
	char *dir = eu_tmpdir("perf");
	cr_assert(dir);
	char obj[512];
	snprintf(obj, sizeof(obj), "%s/perf_sample.bpf.o", dir);
	char *log = NULL;
	cr_assert_eq(eu_compile_bpf(EU_TEST_DATA_DIR "/perf_event/perf_sample.bpf.c", obj, &log), 0,
		     "%s", log);
	free(log);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", "--sample-freq", "0",
						      obj, NULL},
				10000, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "--sample-freq takes 1..100000"), "%s", out);
	free(out);

	struct eu_agent *a = eu_agent_start_argv((const char *const[]){
		EU_AGENT_BIN, "run", "--json", "--sample-freq", "1000", obj, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cr_assert(ncpu > 0 && ncpu <= 1024);
	pid_t spinners[1024] = {0};
	spin_on_each_cpu(spinners, ncpu);
	long at_49hz = 2 * 49 * ncpu, records = 0;
	double deadline = now_s() + 2;
	cJSON *rec;
	while (now_s() < deadline && records <= 2 * at_49hz &&
	       (rec = eu_agent_next_json(a, 1000))) {
		records++;
		cJSON_Delete(rec);
	}
	stop_spinners(spinners, ncpu);
	cr_expect_gt(records, 2 * at_49hz, "%ld samples in 2 s; 49 Hz gives at most %ld", records,
		     at_49hz);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(run_kinds, runqlat_prints_a_log2_histogram)
{
	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "run", RUNQLAT, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	regex_t row;
	cr_assert_eq(regcomp(&row, "^ +[0-9]+ -> [0-9]+ +: [0-9]+ +\\|\\**( *)\\|$",
			     REG_EXTENDED | REG_NOSUB), 0);
	bool key = false, title = false;
	int rows = 0;
	double t0 = now_s();
	const char *line;
	/* the first interval ends 1 s after attach; the scheduler is never idle that long.
	 * What is checked is that histograms print while running, not only at exit: the
	 * window is wide so a loaded machine does not fail it. */
	while (now_s() - t0 < 8.0 && rows < 3) {
		if (!(line = eu_agent_next_line(a, 200)))
			continue;
		if (!strncmp(line, "key = ", 6))
			key = true;
		/* runqlat's hists map names no unit: a blank title, no "(unit)" */
		if (!strcmp(line, "                         : count    distribution"))
			title = true;
		if (title && regexec(&row, line, 0, NULL, 0) == 0)
			rows++;
	}
	double took = now_s() - t0;
	regfree(&row);
	cr_expect(key, "no 'key = ' line; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(title, "no histogram title; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_geq(rows, 3, "histogram rows; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_lt(took, 7.0, "the first histogram took %.2f s", took);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(run_kinds, runqlat_json_per_process)
{
	struct eu_agent *a = eu_agent_start(RUNQLAT, (const char *const[]){"--targ_per_process", NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	cJSON *rec = eu_agent_next_json(a, 5000);
	cr_assert(rec, "no histogram record; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(rec, "key");
	cr_expect(cJSON_IsNumber(k), "key is the pid");
	cr_expect(eu_json_str(rec, "comm"), "comm of the process");
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(rec, "slots");
	cr_assert(cJSON_IsArray(slots));
	cr_expect_eq(cJSON_GetArraySize(slots), 26);
	double total = 0;
	for (const cJSON *s = slots->child; s; s = s->next)
		total += s->valuedouble;
	cr_expect_gt(total, 0, "an entry with no samples");
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

static char *capture(const char *const *argv)
{
	char *out = NULL;
	eu_run_capture(argv, 10000, &out);
	return out ? out : strdup("");
}

Test(run_kinds, tc_filter_added_and_removed)
{
	char *before = capture((const char *const[]){"/sbin/tc", "qdisc", "show", "dev", "lo", NULL});
	bool had_clsact = strstr(before, "clsact") != NULL;
	free(before);
	struct eu_agent *a = eu_agent_start(TC_PKG, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	char *f = capture((const char *const[]){"/sbin/tc", "filter", "show", "dev", "lo", "ingress",
						NULL});
	cr_expect(strstr(f, "tc_ingress") && strstr(f, "handle 0x1") && strstr(f, "pref 1"), "%s", f);
	free(f);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
	f = capture((const char *const[]){"/sbin/tc", "filter", "show", "dev", "lo", "ingress", NULL});
	cr_expect_null(strstr(f, "tc_ingress"), "filter left behind: %s", f);
	free(f);
	char *after = capture((const char *const[]){"/sbin/tc", "qdisc", "show", "dev", "lo", NULL});
	cr_expect_eq(strstr(after, "clsact") != NULL, had_clsact,
		     "the clsact qdisc is removed only when we created it: %s", after);
	free(after);
}

Test(run_kinds, xdp_attached_and_removed)
{
	struct eu_agent *a = eu_agent_start(XDP_PKG, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	char *l = capture((const char *const[]){"/sbin/ip", "link", "show", "dev", "lo", NULL});
	cr_expect(strstr(l, "prog/xdp") && strstr(l, "xdp_pass"), "%s", l);
	free(l);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
	l = capture((const char *const[]){"/sbin/ip", "link", "show", "dev", "lo", NULL});
	cr_expect_null(strstr(l, "prog/xdp"), "xdp program left on lo: %s", l);
	free(l);
}
