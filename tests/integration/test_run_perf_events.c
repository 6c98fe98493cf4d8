/* perf_event programs on the event they ask for (tests/bpf/perfcount counts its samples per
 * process): cpu-clock by default at --sample-freq, task-clock from --perf-event and
 * page-faults every fault from the package's eu_perf_event, each counted for a child that
 * spins or touches pages by a known amount; a hardware event on a machine without a PMU
 * fails at once naming program, event and reason (never a cpu-clock sampler instead). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eu_test.h"

#define PERFCOUNT EU_TESTBPF_BUILD_DIR "/perfcount/package.json"
#define PAGES 1000

enum work { SPIN, TOUCH_PAGES };

struct child {
	pid_t pid;
	int go; /* write end: one byte starts the work */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A child that waits for the go byte, then spins for `seconds` or touches PAGES fresh pages
 * (small pages only: a huge page would fault once for 512), and exits. */
static struct child child_start(enum work w, double seconds)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		alarm(30);
		close(fds[1]);
		char c;
		if (read(fds[0], &c, 1) != 1)
			_exit(2);
		if (w == SPIN) {
			double end = now_s() + seconds;
			volatile unsigned long spin = 0;
			while (now_s() < end)
				spin++;
			_exit(0);
		}
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		unsigned char *m = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(3);
		madvise(m, PAGES * page, MADV_NOHUGEPAGE);
		for (size_t i = 0; i < PAGES; i++)
			m[i * page] = 1;
		_exit(0);
	}
	close(fds[0]);
	return (struct child){.pid = pid, .go = fds[1]};
}

/* Starts the work and waits for the child; returns its CPU time in seconds. */
static double child_run(struct child *c)
{
	cr_assert_eq(write(c->go, "g", 1), 1);
	close(c->go);
	int status;
	struct rusage ru;
	cr_assert_eq(wait4(c->pid, &status, 0, &ru), c->pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct count_ctx {
	long long pid, max;
};

static bool note_count(const cJSON *rec, void *ctx)
{
	struct count_ctx *c = ctx;
	long long v = eu_json_int(rec, "value", -1);
	if (eu_json_int(rec, "key", -1) == c->pid && v > c->max)
		c->max = v;
	return false; /* read on: the table is printed every interval, the count only grows */
}

/* The child's sample count: the largest value printed for it within 1.5 s (interval 0.2). */
static long long samples_of(struct eu_agent *a, pid_t pid)
{
	struct count_ctx c = {.pid = pid, .max = -1};
	cJSON *none = eu_agent_find(a, note_count, &c, 1500);
	cJSON_Delete(none);
	return c.max;
}

static struct eu_agent *start(const char *pkg, pid_t child, const char *const *extra)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", child);
	const char *args[16] = {"--interval", "0.2", "--targ_pid", pid};
	size_t n = 4;
	for (; extra && *extra && n < 15; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	struct eu_agent *a = eu_agent_start(pkg, args);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	return a;
}

/* cpu-clock (or task-clock) at hz: the child's samples follow its CPU time. */
static void expect_clock_samples(const char *const *extra, unsigned hz, const char *says)
{
	struct child c = child_start(SPIN, 1.0);
	struct eu_agent *a = start(PERFCOUNT, c.pid, extra);
	cr_expect(strstr(eu_agent_stderr(a), says), "want \"%s\" in:\n%s", says,
		  eu_agent_stderr(a));
	double cpu = child_run(&c);
	long long n = samples_of(a, c.pid);
	double want = cpu * hz;
	cr_log_info("%lld samples for %.3f s of CPU at %u Hz", n, cpu, hz);
	cr_expect_gt(n, 0, "no sample of the spinning child; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(n >= want * 0.5 && n <= want * 1.5 + 3,
		  "%lld samples for %.3f s of CPU at %u Hz (want about %.0f)", n, cpu, hz, want);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(run_perf_events, cpu_clock_by_default_at_sample_freq)
{
	expect_clock_samples((const char *const[]){"--sample-freq", "200", NULL}, 200,
			     "program count_sample samples software event cpu-clock at 200 Hz on");
}

Test(run_perf_events, task_clock_from_the_option)
{
	expect_clock_samples(
		(const char *const[]){"--perf-event", "count_sample=sw:task-clock:freq=150", NULL},
		150, "program count_sample samples software event task-clock at 150 Hz on");
}

/* The built package with "eu_perf_event": spec on its program, written to dir. */
static char *package_with_event(const char *dir, const char *spec)
{
	char *text = eu_test_read_file(PERFCOUNT, NULL);
	cr_assert_not_null(text);
	cJSON *j = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(j);
	cJSON *skel = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "meta"), "bpf_skel");
	cJSON *prog = cJSON_GetArrayItem(cJSON_GetObjectItem(skel, "progs"), 0);
	cr_assert_not_null(prog);
	cr_assert_str_eq(cJSON_GetObjectItem(prog, "attach")->valuestring, "perf_event");
	cJSON_AddStringToObject(prog, "eu_perf_event", spec);
	char *out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	char path[512];
	snprintf(path, sizeof(path), "%s/perfcount.json", dir);
	cr_assert_eq(eu_write_file(path, out, strlen(out)), 0);
	free(out);
	return strdup(path);
}

Test(run_perf_events, page_faults_from_the_package_every_fault)
{
	char *dir = eu_tmpdir("perfev");
	cr_assert(dir);
	char *pkg = package_with_event(dir, "sw:page-faults:period=1");
	struct child c = child_start(TOUCH_PAGES, 0);
	struct eu_agent *a = start(pkg, c.pid, NULL);
	cr_expect(strstr(eu_agent_stderr(a), "program count_sample samples software event "
					      "page-faults every 1 events on"),
		  "%s", eu_agent_stderr(a));
	cr_expect(strstr(eu_agent_stderr(a), "(the package's eu_perf_event)"), "%s",
		  eu_agent_stderr(a));
	child_run(&c);
	long long n = samples_of(a, c.pid);
	cr_log_info("%lld page faults for %d pages touched", n, PAGES);
	/* every page touched faults once; the rest is the child's own exit and stack */
	cr_expect(n >= PAGES && n <= PAGES + 300, "%lld page faults for %d pages touched", n,
		  PAGES);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	free(pkg);
	eu_tmpdir_remove(dir);
	free(dir);
}

/* Whether this machine counts hardware events: what perf_event_open says for cpu-cycles. */
static bool machine_has_pmu(void)
{
	struct perf_event_attr attr = {.type = PERF_TYPE_HARDWARE, .size = sizeof(attr),
				       .config = PERF_COUNT_HW_CPU_CYCLES, .freq = 1,
				       .sample_freq = 10};
	int fd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	cr_log_info("no hardware PMU here: perf_event_open(cpu-cycles) failed: %s",
		    strerror(errno));
	return false;
}

#define NO_PMU_MSG                                                                             \
	"on CPU 0: this machine has no hardware PMU (/sys/bus/event_source/devices lists no cpu " \
	"PMU; a virtual machine without a virtual PMU?), so hardware events cannot be counted "  \
	"(No such file or directory (ENOENT)); use a software event such as cpu-clock, or run "  \
	"on a machine with performance counters"

Test(run_perf_events, hardware_event_without_a_pmu_fails_naming_it)
{
	bool pmu = machine_has_pmu();
	char *dir = eu_tmpdir("perfhw");
	cr_assert(dir);
	char *pkg = package_with_event(dir, "cycles");
	const char *const from_option[] = {EU_AGENT_BIN, "run", PERFCOUNT, "--perf-event",
					   "count_sample=hw:cache-misses:period=10000",
					   "--duration", "2", NULL};
	const char *const from_meta[] = {EU_AGENT_BIN, "run", pkg, "--duration", "2", NULL};
	char *out = NULL;
	int rc = eu_run_capture(from_option, 30000, &out);
	if (pmu) {
		cr_expect_eq(rc, 0, "a PMU exists but cache-misses did not attach:\n%s", out);
		cr_expect(strstr(out, "samples hardware event cache-misses every 10000 events"), "%s",
			  out);
	} else {
		cr_expect_eq(rc, 1, "exit %d:\n%s", rc, out);
		cr_expect(strstr(out, "perfcount: program count_sample (perf_event): cannot sample on "
				      "hardware event cache-misses (from --perf-event) " NO_PMU_MSG),
			  "%s", out);
		cr_expect_null(strstr(out, "attached"), "%s", out);
		cr_expect_null(strstr(out, "cpu-clock at"), "fell back to cpu-clock:\n%s", out);
	}
	free(out);
	out = NULL;
	rc = eu_run_capture(from_meta, 30000, &out);
	if (pmu) {
		cr_expect_eq(rc, 0, "%s", out);
	} else {
		cr_expect_eq(rc, 1, "exit %d:\n%s", rc, out);
		cr_expect(strstr(out, "program count_sample (perf_event): cannot sample on hardware "
				      "event cpu-cycles (from the package's eu_perf_event) " NO_PMU_MSG),
			  "%s", out);
	}
	free(out);
	free(pkg);
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(run_perf_events, option_naming_no_perf_event_program_is_refused)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", PERFCOUNT, "--perf-event",
						      "nope=cycles", "--duration", "2", NULL},
				30000, &out);
	cr_expect_eq(rc, 1, "exit %d:\n%s", rc, out);
	cr_expect(strstr(out, "perfcount: --perf-event nope=cycles: the package has no perf_event "
			      "program nope (its perf_event programs: count_sample)"),
		  "%s", out);
	free(out);
	out = NULL;
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", PERFCOUNT, "--perf-event",
						  "count_sample=cycels", NULL},
			    30000, &out);
	cr_expect_eq(rc, 2, "exit %d:\n%s", rc, out);
	cr_expect(strstr(out, "--perf-event: perf event \"cycels\": unknown event \"cycels\""),
		  "%s", out);
	free(out);
}

#define PERFNOTE EU_TESTBPF_BUILD_DIR "/perfnote/package.json"

static bool note_faults(const cJSON *rec, void *ctx)
{
	long long *max = ctx, v = eu_json_int(rec, "value", -1);
	const char *name = eu_json_str(rec, "name");
	if (name && !strcmp(name, "faults") && v > *max)
		*max = v;
	return false; /* read on: printed every interval, the total only grows */
}

/* tests/bpf/perfnote declares its event in its source (`/// @perf_event
 * sw:page-faults:period=1`): ecc wrote it into the package, and run samples every fault of
 * a child that touches PAGES pages. */
Test(run_perf_events, page_faults_from_the_ecc_annotation)
{
	char *text = eu_test_read_file(PERFNOTE, NULL);
	cr_assert_not_null(text);
	cJSON *j = cJSON_Parse(text);
	free(text);
	cJSON *skel = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "meta"), "bpf_skel");
	cJSON *prog = cJSON_GetArrayItem(cJSON_GetObjectItem(skel, "progs"), 0);
	cr_assert_not_null(prog);
	cr_expect_str_eq(eu_json_str(prog, "name"), "count_fault");
	cr_expect_str_eq(eu_json_str(prog, "eu_perf_event"), "sw:page-faults:period=1");
	cJSON_Delete(j);

	struct child c = child_start(TOUCH_PAGES, 0);
	struct eu_agent *a = start(PERFNOTE, c.pid, NULL);
	cr_expect(strstr(eu_agent_stderr(a), "program count_fault samples software event "
					      "page-faults every 1 events on"),
		  "%s", eu_agent_stderr(a));
	cr_expect(strstr(eu_agent_stderr(a), "(the package's eu_perf_event)"), "%s",
		  eu_agent_stderr(a));
	child_run(&c);
	long long n = -1;
	cJSON *none = eu_agent_find(a, note_faults, &n, 1500);
	cJSON_Delete(none);
	cr_log_info("%lld page faults for %d pages touched", n, PAGES);
	cr_expect(n >= PAGES && n <= PAGES + 300, "%lld page faults for %d pages touched; stdout:\n%s",
		  n, PAGES, eu_agent_stdout(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
