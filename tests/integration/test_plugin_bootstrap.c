/* bootstrap (process exec/exit on a ring buffer): run the shipped package, exec a known
 * program, and check the decoded exec and exit events by value. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG EU_PLUGIN_BUILD_DIR "/bootstrap/package.json"

struct want {
	long long pid;
	int exit_event;
};

static bool match(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	return eu_json_int(rec, "pid", -1) == w->pid &&
	       eu_json_int(rec, "exit_event", -1) == w->exit_event;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(plugin_bootstrap, exec_and_exit_with_duration)
{
	struct eu_agent *a = eu_agent_start(PKG, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));

	/* the shell lives at least 300 ms (its sleep), then exits with 7 */
	double t0 = now_s();
	pid_t child = eu_spawn((const char *const[]){"/bin/sh", "-c", "sleep 0.3; exit 7", NULL});
	cr_assert(child > 0);
	cr_assert_eq(eu_wait_pid(child, 10000), 7);
	double lived = now_s() - t0;

	struct want w = {child, 0};
	cJSON *exec = eu_agent_find(a, match, &w, 10000);
	cr_assert(exec, "no exec event for pid %d; stdout:\n%s\nstderr:\n%s", child,
		  eu_agent_stdout(a), eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(exec, "ppid", -1), getpid());
	cr_expect_str_eq(eu_json_str(exec, "comm"), "sh");
	cr_expect_str_eq(eu_json_str(exec, "filename"), "/bin/sh");
	cr_expect_eq(eu_json_int(exec, "exit_code", -1), 0);
	cr_expect_eq(eu_json_int(exec, "duration_ns", -1), 0);
	cJSON_Delete(exec);

	w.exit_event = 1;
	cJSON *ex = eu_agent_find(a, match, &w, 10000);
	cr_assert(ex, "no exit event for pid %d; stderr:\n%s", child, eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(ex, "ppid", -1), getpid());
	cr_expect_str_eq(eu_json_str(ex, "comm"), "sh");
	cr_expect_str_eq(eu_json_str(ex, "filename"), "");
	cr_expect_eq(eu_json_int(ex, "exit_code", -1), 7);
	long long d = eu_json_int(ex, "duration_ns", -1);
	cr_expect(d >= 300000000LL, "duration_ns %lld < the 300 ms the shell slept", d);
	cr_expect(d <= (long long)(lived * 1e9) + 1000000, "duration_ns %lld > %.3f s it lived", d,
		  lived);
	cJSON_Delete(ex);

	cr_expect_eq(eu_agent_stop(a, 10000), 0, "exit status; stderr:\n%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

struct seen {
	pid_t quick, slow;
	int quick_records, exec_records;
};

static bool slow_exit(const cJSON *rec, void *ctx)
{
	struct seen *s = ctx;
	long long pid = eu_json_int(rec, "pid", -1);
	if (pid == s->quick)
		s->quick_records++;
	if (eu_json_int(rec, "exit_event", -1) == 0 && eu_json_int(rec, "ppid", -1) == getpid())
		s->exec_records++;
	return pid == s->slow && eu_json_int(rec, "exit_event", -1) == 1;
}

Test(plugin_bootstrap, min_duration_filters_short_lived_processes)
{
	struct eu_agent *a = eu_agent_start(PKG, (const char *const[]){"--min_duration_ns",
									 "150000000", NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));

	struct seen s = {0};
	s.quick = eu_spawn((const char *const[]){"/bin/true", NULL});
	cr_assert_eq(eu_wait_pid(s.quick, 10000), 0);
	s.slow = eu_spawn((const char *const[]){"/bin/sleep", "0.4", NULL});
	cr_assert_eq(eu_wait_pid(s.slow, 10000), 0);

	cJSON *rec = eu_agent_find(a, slow_exit, &s, 10000);
	cr_assert(rec, "no exit event for the 400 ms sleep; stderr:\n%s", eu_agent_stderr(a));
	cr_expect_str_eq(eu_json_str(rec, "comm"), "sleep");
	cr_expect(eu_json_int(rec, "duration_ns", -1) >= 400000000LL);
	cr_expect_eq(eu_json_int(rec, "exit_code", -1), 0);
	cJSON_Delete(rec);
	/* events are delivered in order per CPU; give the other CPU's a moment */
	cJSON *late;
	while ((late = eu_agent_find(a, slow_exit, &s, 500)))
		cJSON_Delete(late);
	cr_expect_eq(s.quick_records, 0, "the short-lived /bin/true was reported");
	cr_expect_eq(s.exec_records, 0, "exec events were reported despite min_duration_ns");

	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
