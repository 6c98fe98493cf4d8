/* Results kept in global variables (tests/bpf/bsscount and bsshist, libbpf-tools style:
 * syscount's per-syscall .bss array, a .data total, readahead's `struct hist` and
 * funclatency's bare `__u32 hist[]`): printed without @sample, by value, from a child of
 * known pid that makes a known number of calls (the `const volatile pid_t targ_pid`
 * parameter filters on it); variables the programs only read and .rodata parameters are not
 * printed. The interval is an hour: everything checked prints at exit. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"

#define BSSCOUNT EU_TESTBPF_BUILD_DIR "/bsscount/package.json"
#define BSSHIST EU_TESTBPF_BUILD_DIR "/bsshist/package.json"

#define GETPPIDS 37
#define SLEEPS 4
#define PWRITE_FD 5

/* A child that waits for a byte on go[0], then runs its calls and exits. */
struct child {
	pid_t pid;
	int go;
};

static void child_calls(bool hist)
{
	if (!hist) {
		for (int i = 0; i < GETPPIDS; i++)
			syscall(SYS_getppid);
		return;
	}
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || dup2(fd, PWRITE_FD) != PWRITE_FD)
		_exit(3);
	char buf[100] = {0};
	for (int i = 0; i < 3; i++) /* log2 slot 6: 64..127 */
		if (syscall(SYS_pwrite64, PWRITE_FD, buf, 100, 0) != 100)
			_exit(4);
	for (int i = 0; i < 2; i++) /* slot 4: 16..31 */
		if (syscall(SYS_pwrite64, PWRITE_FD, buf, 20, 0) != 20)
			_exit(4);
	struct timespec ts = {.tv_nsec = 3 * 1000 * 1000}; /* at least 3000 us: slot >= 11 */
	for (int i = 0; i < SLEEPS; i++)
		syscall(SYS_nanosleep, &ts, NULL);
}

static struct child child_start(bool hist)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[1]);
		char c;
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		child_calls(hist);
		_exit(0);
	}
	close(p[0]);
	return (struct child){.pid = pid, .go = p[1]};
}

static void child_run(struct child *c)
{
	cr_assert_eq(write(c->go, "g", 1), 1);
	close(c->go);
	int st = 0;
	cr_assert_eq(waitpid(c->pid, &st, 0), c->pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: %d", st);
}

static struct eu_agent *start(const char *pkg, pid_t pid, bool json)
{
	char spid[16];
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	const char *const argv[] = {EU_AGENT_BIN, "run", pkg, "--interval", "3600", "--targ_pid",
				    spid, json ? "--json" : NULL, NULL};
	struct eu_agent *a = eu_agent_start_argv(argv);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	return a;
}

static const cJSON *slots_of(const cJSON *rec, int n)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "slots");
	cr_assert(cJSON_IsArray(s) && cJSON_GetArraySize(s) == n, "no %d slots in %s", n,
		  cJSON_PrintUnformatted(rec));
	return s;
}

static double slot(const cJSON *slots, int i)
{
	return cJSON_GetArrayItem(slots, i)->valuedouble;
}

Test(run_datasec, syscall_counts_and_total_in_json)
{
	struct child c = child_start(false);
	struct eu_agent *a = start(BSSCOUNT, c.pid, true);
	child_run(&c);
	cr_assert_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	long long getppids = -1, sum = 0, total = -1;
	int entries = 0, totals = 0;
	cJSON *rec;
	while ((rec = eu_agent_next_json(a, 1000))) {
		const char *name = eu_json_str(rec, "name");
		cr_assert(name, "a record without a name: %s", cJSON_PrintUnformatted(rec));
		cr_expect(strcmp(name, "limit") && strcmp(name, "targ_pid"),
			  "%s is not written by the programs but printed", name);
		if (!strcmp(name, "counts")) {
			long long key = eu_json_int(rec, "key", -1), v = eu_json_int(rec, "value", 0);
			cr_expect(key >= 0 && key < 512 && v > 0, "bad entry %lld = %lld", key, v);
			if (key == SYS_getppid)
				getppids = v;
			sum += v;
			entries++;
		} else if (!strcmp(name, "total")) {
			total = eu_json_int(rec, "value", -1);
			totals++;
		}
		cJSON_Delete(rec);
	}
	cr_expect_eq(getppids, GETPPIDS, "counts[getppid]; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(totals, 1, "total printed %d times at exit", totals);
	cr_expect_eq(total, sum, "total %lld is not the sum of the %d counts (%lld)", total, entries,
		     sum);
	eu_agent_free(a);
}

Test(run_datasec, syscall_counts_as_text)
{
	struct child c = child_start(false);
	struct eu_agent *a = start(BSSCOUNT, c.pid, false);
	child_run(&c);
	cr_assert_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	char want[64];
	snprintf(want, sizeof(want), "counts[%d] = %d", SYS_getppid, GETPPIDS);
	bool count = false, total = false;
	const char *line;
	while ((line = eu_agent_next_line(a, 1000))) {
		count |= !strcmp(line, want);
		unsigned long long t;
		total |= sscanf(line, "total = %llu", &t) == 1 && t >= GETPPIDS;
	}
	cr_expect(count, "no '%s' line; stdout:\n%s", want, eu_agent_stdout(a));
	cr_expect(total, "no 'total = N' line; stdout:\n%s", eu_agent_stdout(a));
}

Test(run_datasec, histograms_in_globals_in_json)
{
	struct child c = child_start(true);
	struct eu_agent *a = start(BSSHIST, c.pid, true);
	child_run(&c);
	cr_assert_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	bool sleep_seen = false, size_seen = false, fd_seen = false;
	cJSON *rec;
	while ((rec = eu_agent_next_json(a, 1000))) {
		const char *name = eu_json_str(rec, "name");
		cr_assert(name, "a record without a name: %s", cJSON_PrintUnformatted(rec));
		if (!strcmp(name, "sleep_us")) {
			const cJSON *s = slots_of(rec, 26);
			double n = 0;
			for (int i = 0; i < 26; i++) {
				cr_expect(i >= 11 || slot(s, i) == 0, "a 3 ms sleep in slot %d", i);
				n += slot(s, i);
			}
			cr_expect_eq(n, SLEEPS, "%g sleeps counted", n);
			sleep_seen = true;
		} else if (!strcmp(name, "size_hist") ||
			   (!strcmp(name, "fd_hists") && eu_json_int(rec, "key", -1) == PWRITE_FD)) {
			const cJSON *s = slots_of(rec, 26);
			double n = 0;
			for (int i = 0; i < 26; i++)
				n += slot(s, i);
			cr_expect(slot(s, 6) == 3 && slot(s, 4) == 2 && n == 5,
				  "%s: slots 6/4 %g/%g of %g", name, slot(s, 6), slot(s, 4), n);
			*(name[0] == 's' ? &size_seen : &fd_seen) = true;
		} else {
			cr_expect(0, "unexpected record %s", cJSON_PrintUnformatted(rec));
		}
		cJSON_Delete(rec);
	}
	cr_expect(sleep_seen && size_seen && fd_seen, "sleep_us %d size_hist %d fd_hists[5] %d; "
		  "stdout:\n%s", sleep_seen, size_seen, fd_seen, eu_agent_stdout(a));
	eu_agent_free(a);
}

Test(run_datasec, histogram_in_global_as_text)
{
	struct child c = child_start(true);
	struct eu_agent *a = start(BSSHIST, c.pid, false);
	child_run(&c);
	cr_assert_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	bool title = false, unit = false, row = false, in_size = false, size_bytes = false;
	const char *line;
	while ((line = eu_agent_next_line(a, 1000))) {
		title |= !strcmp(line, "fd_hists[5]:");
		unit |= strstr(line, "usecs") != NULL;
		/* size_hist's column is titled from its name, as bitesize's "bytes" */
		if (!strcmp(line, "size_hist:"))
			in_size = true;
		else if (in_size && strstr(line, ": count")) {
			size_bytes |= !strncmp(line, "     bytes ", 11);
			in_size = false;
		}
		unsigned long lo = 0, hi = 0, count = 0;
		if (sscanf(line, " %lu -> %lu : %lu", &lo, &hi, &count) == 3)
			row |= lo == 64 && hi == 127 && count == 3;
	}
	cr_expect(title, "no 'fd_hists[5]:' title; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(unit, "sleep_us's unit is not usecs; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(size_bytes, "size_hist's unit is not bytes; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(row, "no '64 -> 127 : 3' row; stdout:\n%s", eu_agent_stdout(a));
	eu_agent_free(a);
}
