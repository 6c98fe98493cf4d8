/* wasm-bpf modules of ours (tests/wasm, built with clang --target=wasm32-wasi) run for real by
 * `eunomia-agent run`: events we cause are checked by value in what the module prints. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_net.h"
#include "eu_run_util.h"

#define MOD(name) EU_TESTWASM_BUILD_DIR "/" name ".wasm"
#define HEADER_LINE "TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Waits for a stdout line containing needle; NULL on timeout or end of output. */
static const char *wait_line(struct eu_agent *a, const char *needle, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	while (now_ms() < end) {
		const char *l = eu_agent_next_line(a, (int)(end - now_ms()) + 1);
		if (!l)
			return NULL;
		if (strstr(l, needle))
			return l;
	}
	return NULL;
}

struct bootstrap_row {
	char event[8], comm[20], rest[160];
	int pid, ppid;
};

static bool parse_row(const char *line, struct bootstrap_row *r)
{
	char time_s[16];
	memset(r, 0, sizeof(*r));
	return sscanf(line, "%15s %7s %19s %d %d %159[^\n]", time_s, r->event, r->comm, &r->pid,
		      &r->ppid, r->rest) == 6;
}

/* Runs bootstrap.wasm from `target` (a path or URL, with extra run options before it), makes
 * a shell that lives 300 ms and exits 7, and checks its EXEC and EXIT rows by value. */
static void expect_bootstrap_rows(const char *const *argv)
{
	struct eu_agent *a = eu_agent_start_argv(argv);
	cr_assert(a);
	cr_assert(wait_line(a, HEADER_LINE, 20000), "no header; stderr: %s", eu_agent_stderr(a));
	pid_t child = eu_spawn((const char *const[]){"/bin/sh", "-c", "sleep 0.3; exit 7", NULL});
	cr_assert_gt(child, 0);
	cr_assert_eq(eu_wait_pid(child, 10000), 7);

	bool exec_seen = false, exit_seen = false;
	double end = now_ms() + 10000;
	while ((!exec_seen || !exit_seen) && now_ms() < end) {
		const char *l = eu_agent_next_line(a, 1000);
		struct bootstrap_row r;
		if (!l || !parse_row(l, &r) || r.pid != child)
			continue;
		cr_expect_eq(r.ppid, getpid(), "%s", l);
		cr_expect_str_eq(r.comm, "sh", "%s", l);
		if (!strcmp(r.event, "EXEC")) {
			cr_expect_str_eq(r.rest, "/bin/sh", "%s", l);
			exec_seen = true;
		} else if (!strcmp(r.event, "EXIT")) {
			unsigned code = 99, ms = 0;
			cr_assert_eq(sscanf(r.rest, "[%u] (%ums)", &code, &ms), 2, "%s", l);
			cr_expect_eq(code, 7, "%s", l);
			cr_expect(ms >= 300 && ms < 10000, "lifetime %u ms: %s", ms, l);
			exit_seen = true;
		}
	}
	cr_expect(exec_seen && exit_seen, "exec %d exit %d; stdout:\n%s\nstderr: %s", exec_seen,
		  exit_seen, eu_agent_stdout(a), eu_agent_stderr(a));

	/* SIGINT: the poll in progress returns -EINTR, the module cleans up and returns 0 */
	pid_t agent = eu_agent_pid(a);
	uint32_t ids[16];
	ssize_t n = eu_prog_ids_of(agent, ids, 16);
	cr_assert_geq(n, 2, "the agent holds %zd programs (%s), want the module's two", n,
		      n < 0 ? strerror(errno) : "alive");
	double t0 = now_ms();
	cr_expect_eq(eu_agent_stop(a, 5000), 0, "stderr: %s", eu_agent_stderr(a));
	cr_expect_lt(now_ms() - t0, 2000, "SIGINT took %.0f ms", now_ms() - t0);
	cr_expect(!strstr(eu_agent_stderr(a), "did not exit"), "%s", eu_agent_stderr(a));
	for (ssize_t i = 0; i < n; i++)
		cr_expect(!eu_prog_id_exists(ids[i]), "program %u still loaded after exit", ids[i]);
	eu_agent_free(a);
}

Test(wasm_run, bootstrap_exec_and_exit_rows)
{
	expect_bootstrap_rows((const char *const[]){EU_AGENT_BIN, "run", MOD("bootstrap"), NULL});
}

/* upstream's `-p WasmModule` / our `-p wasm`: a module whose name does not say so */
Test(wasm_run, prog_type_option)
{
	char *dir = eu_tmpdir("wasm-ptype");
	char path[512], cmd[1200];
	snprintf(path, sizeof(path), "%s/bootstrap.module", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", MOD("bootstrap"), path);
	cr_assert_eq(system(cmd), 0);
	expect_bootstrap_rows((const char *const[]){EU_AGENT_BIN, "run", "-p", "WasmModule", path,
						    NULL});
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(wasm_run, from_http_url)
{
	uint16_t port;
	pid_t server = eu_http_serve_dir(EU_TESTWASM_BUILD_DIR, &port);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/bootstrap.wasm", port);
	expect_bootstrap_rows((const char *const[]){EU_AGENT_BIN, "run", url, NULL});
	kill(server, SIGTERM);
	eu_wait_pid(server, 5000);
}

/* runqlat: 3 histograms 400 ms apart, read with wasm_bpf_map_operate. We cause at least 150
 * wake-ups (sleeps); every histogram's rows must add up to its "total" line. */
Test(wasm_run, runqlat_histograms_by_map_operate)
{
	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "run", MOD("runqlat"), "400", "3", NULL});
	cr_assert(a);
	cr_assert(wait_line(a, "Tracing run queue latency", 20000), "stderr: %s",
		  eu_agent_stderr(a));
	for (int i = 0; i < 150; i++)
		usleep(1000);
	unsigned long long grand = 0, rows_sum = 0;
	int totals = 0;
	double end = now_ms() + 15000;
	while (totals < 3 && now_ms() < end) {
		const char *l = eu_agent_next_line(a, 1000);
		if (!l)
			continue;
		unsigned long long low, high, count, total;
		if (sscanf(l, " %llu -> %llu : %llu |", &low, &high, &count) == 3) {
			cr_expect(low <= high, "%s", l);
			rows_sum += count;
		} else if (sscanf(l, "total %llu", &total) == 1) {
			cr_expect_eq(rows_sum, total, "rows add up to %llu, total says %llu", rows_sum,
				     total);
			grand += total;
			rows_sum = 0;
			totals++;
		}
	}
	cr_expect_eq(totals, 3, "stdout:\n%s\nstderr: %s", eu_agent_stdout(a), eu_agent_stderr(a));
	cr_expect_geq(grand, 150, "our 150 sleeps are run-queue samples; got %llu", grand);
	cr_expect_eq(eu_agent_wait_exit(a, 10000), 0, "runs its 3 intervals and exits 0: %s",
		     eu_agent_stderr(a));
	eu_agent_free(a);
}

/* opensnoop -p PID: a shell opening a file of ours in a loop (the redirection opens it in the
 * shell itself) is shown; our own opens of another file are not. */
Test(wasm_run, opensnoop_perf_buffer_pid_filter)
{
	char *dir = eu_tmpdir("wasm-open");
	char mine[512], theirs[512], script[1200];
	snprintf(mine, sizeof(mine), "%s/opened-by-test", dir);
	snprintf(theirs, sizeof(theirs), "%s/opened-by-shell", dir);
	cr_assert_eq(eu_write_file(mine, "x", 1), 0);
	cr_assert_eq(eu_write_file(theirs, "x", 1), 0);
	snprintf(script, sizeof(script), "while :; do : < %s; sleep 0.05; done", theirs);
	pid_t shell = eu_spawn((const char *const[]){"/bin/sh", "-c", script, NULL});
	cr_assert_gt(shell, 0);
	char pid_s[16];
	snprintf(pid_s, sizeof(pid_s), "%d", shell);
	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "run", MOD("opensnoop"), "-p", pid_s, NULL});
	cr_assert(a);
	cr_assert(wait_line(a, "PID    COMM", 20000), "stderr: %s", eu_agent_stderr(a));
	/* the perf buffer opens at the first poll: the shell's loop repeats its open */
	const char *l = wait_line(a, theirs, 10000);
	cr_assert(l, "no open of %s by %d; stdout:\n%s\nstderr: %s", theirs, shell,
		  eu_agent_stdout(a), eu_agent_stderr(a));
	for (int i = 0; i < 20; i++) {
		FILE *f = fopen(mine, "r");
		if (f)
			fclose(f);
	}
	/* later rows: only the shell, its file, fd >= 0 and no error */
	int rows = 0;
	double end = now_ms() + 1500;
	while (now_ms() < end) {
		l = eu_agent_next_line(a, 200);
		if (!l)
			continue;
		int pid, fd, err;
		char comm[32], path[600];
		cr_assert_eq(sscanf(l, "%d %31s %d %d %599s", &pid, comm, &fd, &err, path), 5, "%s",
			     l);
		cr_expect_eq(pid, shell, "%s", l);
		cr_expect_str_eq(path, theirs, "%s", l);
		cr_expect(fd >= 0 && err == 0, "%s", l);
		rows++;
	}
	cr_expect_gt(rows, 3, "the shell opens its file every 50 ms");
	cr_expect_eq(eu_agent_stop(a, 5000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
	kill(shell, SIGKILL);
	eu_wait_pid(shell, 5000);
	eu_tmpdir_remove(dir);
	free(dir);
}

/* The module's exit code is ours; arguments reach it (an unknown mode is its usage error). */
Test(wasm_run, exit_code_and_arguments)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", MOD("hostile"),
						      "no-such-mode", NULL}, 20000, &out);
	cr_expect_eq(rc, 2, "%s", out);
	cr_expect(strstr(out, "usage: hostile.wasm pointers|trap|endless|badfn|spin"), "%s", out);
	free(out);
}

/* `ecc --wasm-header` output compiled into a module decodes every member by value: a struct
 * whose long, unsigned long and pointer members are 8 bytes on the BPF side (4 on wasm32),
 * with padding after small members, an array and a nested struct (tests/wasm/layout). */
Test(wasm_run, wasm_header_layout_decodes)
{
	char pid_s[16];
	snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "run", MOD("layout"), pid_s, NULL});
	cr_assert(a);
	cr_assert(wait_line(a, "ready", 20000), "no ready line: %s", eu_agent_stderr(a));
	const char *l = NULL;
	for (int i = 0; i < 100 && !l; i++) {
		cr_assert_eq(syscall(SYS_getppid), getppid());
		l = wait_line(a, "pid=", 100);
	}
	cr_assert(l, "no event of ours: %s", eu_agent_stderr(a));
	char want[256];
	snprintf(want, sizeof(want),
		 "pid=%d tag=T l=-1234567890123 ptr=1122334455667788 small=ab big=102030405060708 "
		 "s=-1,2,-3 in=i,-42 ul=fedcba9876543210 name=abcd size=80", (int)getpid());
	cr_assert_str_eq(l, want);
	cr_assert_eq(eu_agent_wait_exit(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}
