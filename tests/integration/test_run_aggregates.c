/* Results kept in maps without @sample (tests/bpf/aggcount, bcc's syscount/bitesize style):
 * the per-CPU count map prints as a key/value table summed over CPUs, the `struct hist` map
 * as log2 histograms per key, on --interval and at exit, checked against calls we make. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"

#define AGGCOUNT EU_TESTBPF_BUILD_DIR "/aggcount/package.json"

static bool count_is(const cJSON *rec, void *ctx)
{
	return eu_json_int(rec, "key", -1) == getpid() &&
	       eu_json_int(rec, "value", -1) == *(long long *)ctx;
}

static bool hist_of(const cJSON *rec, void *ctx)
{
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(rec, "slots");
	return eu_json_int(rec, "key", -1) == getpid() && cJSON_GetArraySize(slots) == 27 &&
	       cJSON_GetArrayItem(slots, 6)->valuedouble == *(long long *)ctx;
}

Test(run_aggregates, counts_and_histograms_printed_without_sample)
{
	char pid[16], comm[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	struct eu_agent *a = eu_agent_start(AGGCOUNT, (const char *const[]){"--interval", "0.2",
									    "--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	/* the count map is per-CPU: calls made on two CPUs must print as one summed value */
	cpu_set_t was;
	cr_assert_eq(sched_getaffinity(0, sizeof(was), &was), 0);
	int cpus[2] = {-1, -1}, found = 0;
	for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
		if (CPU_ISSET(c, &was))
			cpus[found++] = c;
	for (int i = 0; i < 7; i++) {
		int c = cpus[i < 4 || found < 2 ? 0 : 1];
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
		cr_assert_eq(sched_getcpu(), c);
		syscall(SYS_getppid);
	}
	cr_assert_eq(sched_setaffinity(0, sizeof(was), &was), 0);
	if (found < 2)
		printf("run_aggregates: one CPU only: the per-CPU sum is not exercised\n");
	int fd = open("/dev/null", O_WRONLY);
	cr_assert_geq(fd, 0);
	char buf[100] = {0};
	for (int i = 0; i < 3; i++)
		cr_assert_eq(syscall(SYS_pwrite64, fd, buf, sizeof(buf), 0), 100);
	close(fd);

	long long seven = 7, three = 3;
	cJSON *rec = eu_agent_find(a, count_is, &seven, 5000);
	cr_assert(rec, "no count of 7; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cJSON_Delete(rec);
	/* 100 bytes: log2 slot 6 (64..127), three times */
	rec = eu_agent_find(a, hist_of, &three, 5000);
	cr_assert(rec, "no histogram with 3 in slot 6; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(rec, "slots");
	double total = 0;
	for (int i = 0; i < cJSON_GetArraySize(slots); i++)
		total += cJSON_GetArrayItem(slots, i)->valuedouble;
	cr_expect_eq(total, 3, "other slots counted too");
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(run_aggregates, text_histogram_at_exit)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start_argv((const char *const[]){
		EU_AGENT_BIN, "run", AGGCOUNT, "--interval", "3600", "--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	int fd = open("/dev/null", O_WRONLY);
	cr_assert_geq(fd, 0);
	char buf[20] = {0};
	for (int i = 0; i < 4; i++)
		cr_assert_eq(syscall(SYS_pwrite64, fd, buf, sizeof(buf), 0), 20);
	close(fd);
	/* the interval is an hour: what prints comes from the exit */
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	bool row = false;
	const char *line;
	while ((line = eu_agent_next_line(a, 1000))) {
		unsigned long lo = 0, hi = 0, count = 0;
		if (sscanf(line, " %lu -> %lu : %lu", &lo, &hi, &count) == 3)
			row |= lo == 16 && hi == 31 && count == 4;
	}
	cr_expect(row, "no '16 -> 31 : 4' row at exit; stdout:\n%s", eu_agent_stdout(a));
	eu_agent_free(a);
}
