/* Stacks printed as function names (tests/bpf/stackcount and tests/bpf/stacksnoop): a
 * profile-style stack-count map prints folded lines whose frames name the function this test
 * spins in; ring-buffer events with inline stacks (cut at their byte counts) and a stack id
 * name the kernel's syscall entry and this test's functions around a getppid(2) call. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eu_test.h"
#include "stacks_fixture.h"

#define STACKCOUNT EU_TESTBPF_BUILD_DIR "/stackcount/package.json"
#define STACKSNOOP EU_TESTBPF_BUILD_DIR "/stacksnoop/package.json"

Test(run_stacks, profile_counts_print_as_folded_stacks)
{
	char pid[16], comm[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	struct eu_agent *a = eu_agent_start_argv((const char *const[]){
		EU_AGENT_BIN, "run", STACKCOUNT, "--interval", "3600", "--sample-freq", "199",
		"--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	atomic_store(&eu_stacks_spinning, true);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, eu_stacks_spin_thread, NULL), 0);
	sleep(2);
	/* the map prints at exit, while this process (whose frames it names) is alive */
	cr_expect_eq(eu_agent_stop(a, 20000), 0, "stderr:\n%s", eu_agent_stderr(a));
	atomic_store(&eu_stacks_spinning, false);
	pthread_join(t, NULL);

	long long spin_samples = 0;
	size_t lines = 0;
	const char *line;
	while ((line = eu_agent_next_line(a, 1000))) {
		const char *space = strrchr(line, ' ');
		cr_assert(space, "not a folded line: '%s'", line);
		char *end;
		long long count = strtoll(space + 1, &end, 10);
		cr_expect(*end == '\0' && count > 0, "no count at the end of '%s'", line);
		cr_expect(!strncmp(line, comm, strlen(comm)) && line[strlen(comm)] == ';',
			  "line does not start with our comm %s: '%s'", comm, line);
		lines++;
		/* the function as a frame anywhere: mid-line or the innermost, before the count */
		static const char frame[] = ";eu_stacks_spin_in_user";
		size_t fl = sizeof(frame) - 1;
		if (strstr(line, ";eu_stacks_spin_in_user;") ||
		    ((size_t)(space - line) >= fl && !strncmp(space - fl, frame, fl)))
			spin_samples += count;
	}
	cr_assert_gt(lines, 0, "no folded line at exit; stderr:\n%s", eu_agent_stderr(a));
	/* 2 s at 199 Hz of a thread spinning in that function: well over 50 samples */
	cr_expect_gt(spin_samples, 50, "eu_stacks_spin_in_user sampled %lld times; stdout:\n%s",
		     spin_samples, eu_agent_stdout(a));
	eu_agent_free(a);
}

static void call_getppid(void *ctx)
{
	(void)ctx;
	cr_assert_eq(eu_stacks_outer(), getppid() + 1);
}

static bool has_stacks(const cJSON *rec, void *ctx)
{
	return cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(rec, "kstack"));
}

static char *frames_text(const cJSON *arr)
{
	char *s = cJSON_PrintUnformatted(arr);
	return s ? s : strdup("?");
}

Test(run_stacks, events_carry_named_stacks)
{
	char pid[16], comm[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	struct eu_agent *a = eu_agent_start(STACKSNOOP, (const char *const[]){"--targ_tgid", pid,
									      NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	cJSON *rec = eu_agent_trigger_find(a, call_getppid, NULL, has_stacks, NULL, 500, 10000);
	cr_assert(rec, "no event; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a), eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(rec, "pid", -1), getpid());
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);

	const cJSON *k = cJSON_GetObjectItemCaseSensitive(rec, "kstack");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(rec, "ustack");
	const cJSON *byid = cJSON_GetObjectItemCaseSensitive(rec, "kern_stack");
	char *kt = frames_text(k), *ut = frames_text(u), *it = frames_text(byid);
	/* cut at the byte counts bpf_get_stack returned, not at the arrays' 32 slots */
	cr_expect_gt(cJSON_GetArraySize(k), 0);
	cr_expect_eq(cJSON_GetArraySize(k) * 8, eu_json_int(rec, "kstack_sz", -1), "kstack %s", kt);
	cr_expect_eq(cJSON_GetArraySize(u) * 8, eu_json_int(rec, "ustack_sz", -1), "ustack %s", ut);
	cr_expect(eu_stacks_array_has(k, "do_syscall_64"), "kernel frames: %s", kt);
	cr_expect(eu_stacks_array_has(byid, "do_syscall_64"), "frames by stack id: %s", it);
	cr_expect_geq(eu_json_int(rec, "kern_stack_id", -1), 0);
	cr_expect(eu_stacks_array_has(u, "getppid"), "user frames: %s", ut);
	cr_expect(eu_stacks_array_has(u, "eu_stacks_outer"), "user frames: %s", ut);
	free(kt);
	free(ut);
	free(it);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

Test(run_stacks, text_rows_list_frames_below)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start_argv((const char *const[]){
		EU_AGENT_BIN, "run", STACKSNOOP, "--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	call_getppid(NULL);
	bool header = false, ustack = false, outer = false, kentry = false;
	const char *line;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(outer && kentry) && (line = eu_agent_next_line(a, 1000))) {
		header |= !strncmp(line, "TIME ", 5) && strstr(line, "KSTACK_SZ") &&
			  !strstr(line, " KSTACK ");
		ustack |= !strcmp(line, "    ustack:");
		outer |= ustack && !strcmp(line, "      eu_stacks_outer");
		kentry |= !strcmp(line, "      do_syscall_64");
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 10)
			break;
	}
	cr_expect(header, "no header without the stack columns; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(outer && kentry, "frames not listed; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

/* Upstream's `stack_trace` interpreter with with_symbols false: addresses, not names. */
Test(run_stacks, stack_trace_without_symbols_prints_addresses)
{
	char *text = eu_test_read_file(STACKSNOOP, NULL);
	cr_assert(text);
	cJSON *pkg = cJSON_Parse(text);
	free(text);
	cr_assert(pkg);
	cJSON *maps = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pkg, "meta"),
						 "bpf_skel"),
		"maps");
	cJSON *m, *events = NULL;
	cJSON_ArrayForEach(m, maps)
	{
		if (!strcmp(eu_json_str(m, "name") ? eu_json_str(m, "name") : "", "events"))
			events = m;
	}
	cr_assert(events, "no events map in the package meta");
	cJSON_AddItemToObject(events, "intepreter",
			      cJSON_Parse("{\"stack_trace\": {\"with_symbols\": false}}"));
	char *dir = eu_tmpdir("stacks");
	char path[512];
	snprintf(path, sizeof(path), "%s/package.json", dir);
	char *out = cJSON_PrintUnformatted(pkg);
	cr_assert_eq(eu_write_file(path, out, strlen(out)), 0);
	free(out);
	cJSON_Delete(pkg);

	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(path, (const char *const[]){"--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	cJSON *rec = eu_agent_trigger_find(a, call_getppid, NULL, has_stacks, NULL, 500, 10000);
	cr_assert(rec, "no event; stderr:\n%s", eu_agent_stderr(a));
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(rec, "kstack");
	cr_expect_gt(cJSON_GetArraySize(k), 0);
	const cJSON *f;
	cJSON_ArrayForEach(f, k)
	{
		cr_expect(cJSON_IsString(f) && !strncmp(f->valuestring, "0xffff", 6),
			  "not a kernel address: %s", cJSON_IsString(f) ? f->valuestring : "?");
	}
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	eu_tmpdir_remove(dir);
	free(dir);
}
