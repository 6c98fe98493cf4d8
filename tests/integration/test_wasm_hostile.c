/* Hostile and broken Wasm modules: each fails cleanly with a message that says why, never
 * crashes or hangs the agent, and leaves no BPF program behind. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eu_test.h"

#define MOD(name) EU_TESTWASM_BUILD_DIR "/" name ".wasm"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Every host function given out-of-bounds pointers, foreign fds and handles: each result by
 * value (Linux errno values as libbpf gives them; WASI's EFAULT is 21). */
Test(wasm_hostile, bad_pointers_get_errors)
{
	static const struct {
		const char *name;
		long long value;
	} want[] = {
		{"load_bad_ptr", 0},          {"load_zero_size", 0},
		{"load_garbage", 0},          {"attach_bad_name", -14},
		{"attach_bad_target", -14},   {"attach_unknown_handle", -22},
		{"attach_missing_prog", -2},  {"map_fd_bad_name", -14},
		{"map_fd_missing", -2},       {"map_lookup_bad_key", -14},
		{"map_lookup_key_at_end", -14}, {"map_lookup_value_at_end", -14},
		{"map_update_bad_value", -14}, {"map_next_bad_next", -14},
		{"map_foreign_fd", -9},       {"map_bad_cmd", -22},
		{"map_percpu_short_value", -14}, {"poll_bad_buf", -14},
		{"poll_foreign_fd", -22},     {"poll_not_a_buffer", -22},
		{"fd_write_bad_iov", 21},     {"fd_write_bad_iovs", 21},
		{"close_unknown", 0},
	};
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", MOD("hostile"),
						      "pointers", NULL}, 30000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char line[96];
		snprintf(line, sizeof(line), "\n%s %lld\n", want[i].name, want[i].value);
		cr_expect(strstr(out, line), "expected '%s %lld' in:\n%s", want[i].name,
			  want[i].value, out);
	}
	cr_expect(strstr(out, "\nsurvived\n"), "%s", out);
	/* the host said what was wrong, naming the module */
	cr_expect(strstr(out, "hostile.wasm: wasm_load_bpf_object: the object at 4294967280 "
			      "(100 bytes) is outside the module's memory"), "%s", out);
	free(out);
}

/* Starts hostile.wasm MODE, waits until it polls, causes an exec (an event for its callback)
 * and expects exit code 1 with `message` on stderr within limit_ms, its programs gone. */
static void expect_callback_failure(const char *mode, const char *limit, const char *message,
				    int limit_ms)
{
	struct eu_agent *a = eu_agent_start_argv((const char *const[]){
		EU_AGENT_BIN, "run", "--callback-limit", limit, MOD("hostile"), mode, NULL});
	cr_assert(a);
	const char *l = eu_agent_next_line(a, 20000);
	cr_assert(l && !strcmp(l, "polling"), "stderr: %s", eu_agent_stderr(a));
	uint32_t ids[16];
	ssize_t n = eu_prog_ids_of(eu_agent_pid(a), ids, 16);
	cr_assert_geq(n, 2, "the agent holds %zd programs (%s); stderr: %s", n,
		      n < 0 ? strerror(errno) : "want the module's two", eu_agent_stderr(a));
	double t0 = now_ms();
	pid_t child = eu_spawn((const char *const[]){"/bin/true", NULL});
	eu_wait_pid(child, 5000);
	int rc = eu_agent_wait_exit(a, limit_ms + 10000);
	cr_expect_eq(rc, 1, "exit %d; stderr: %s", rc, eu_agent_stderr(a));
	cr_expect_lt(now_ms() - t0, limit_ms + 5000, "took %.0f ms", now_ms() - t0);
	cr_expect(strstr(eu_agent_stderr(a), message), "expected '%s' in: %s", message,
		  eu_agent_stderr(a));
	for (ssize_t i = 0; i < n; i++)
		cr_expect(!eu_prog_id_exists(ids[i]), "program %u still loaded", ids[i]);
	eu_agent_free(a);
}

Test(wasm_hostile, trap_in_callback)
{
	expect_callback_failure("trap", "5000", "hostile.wasm: trap: unreachable executed", 0);
}

Test(wasm_hostile, endless_callback_is_stopped)
{
	expect_callback_failure("endless", "300",
				"hostile.wasm: a callback did not return within 300 ms: stopped",
				300);
}

Test(wasm_hostile, callback_not_in_table)
{
	expect_callback_failure("badfn", "5000",
				"callback 99999 is not an index of the module's function table", 0);
}

/* _start loops without calling the host: SIGINT still ends it, after the 1 s grace. */
Test(wasm_hostile, endless_start_stopped_by_sigint)
{
	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "run", MOD("hostile"), "spin", NULL});
	cr_assert(a);
	const char *l = eu_agent_next_line(a, 20000);
	cr_assert(l && !strcmp(l, "spinning"), "stderr: %s", eu_agent_stderr(a));
	double t0 = now_ms();
	cr_expect_eq(eu_agent_stop(a, 5000), 0, "%s", eu_agent_stderr(a));
	double took = now_ms() - t0;
	cr_expect(took >= 900 && took < 3000, "stopped after %.0f ms (grace 1000)", took);
	cr_expect(strstr(eu_agent_stderr(a),
			 "hostile.wasm did not exit within 1000 ms of the stop request: stopped"),
		  "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

Test(wasm_hostile, missing_import_refused_by_name)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", MOD("missing_import"),
						      NULL}, 20000, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "missing_import.wasm imports function "
			      "'wasm_bpf.wasm_bpf_no_such_function' (i32) -> (i32), which this "
			      "runtime does not provide"), "%s", out);
	cr_expect(!strstr(out, "ran"), "nothing of the module ran: %s", out);
	free(out);
}

/* A truncated module and garbage after the magic: refused as invalid, with the offset. */
Test(wasm_hostile, truncated_and_invalid_modules)
{
	size_t size = 0;
	char *mod = eu_test_read_file(MOD("bootstrap"), &size);
	cr_assert(mod && size > 4096);
	char *dir = eu_tmpdir("wasm-bad");
	char trunc[512], garbage[512];
	snprintf(trunc, sizeof(trunc), "%s/truncated.wasm", dir);
	snprintf(garbage, sizeof(garbage), "%s/garbage.wasm", dir);
	cr_assert_eq(eu_write_file(trunc, mod, size / 2), 0);
	char bad[64] = "\0asm\1\0\0\0this is not a section";
	cr_assert_eq(eu_write_file(garbage, bad, 40), 0);
	const char *paths[] = {trunc, garbage};
	for (int i = 0; i < 2; i++) {
		char *out = NULL;
		int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", paths[i], NULL},
					20000, &out);
		cr_expect_eq(rc, 1, "%s", out);
		cr_expect(strstr(out, "is not a valid WebAssembly module: ") &&
			  strstr(out, " at offset 0x"), "%s", out);
		free(out);
	}
	eu_tmpdir_remove(dir);
	free(dir);
	free(mod);
}
