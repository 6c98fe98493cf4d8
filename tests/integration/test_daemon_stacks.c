/* Stacks in the daemon's records, named as `run` names them (tests/bpf/stacksnoop and
 * tests/bpf/stackcount): ring-buffer events for a getppid(2) this process makes from a
 * function with a distinctive name carry kernel frames (the syscall entry) and user frames
 * (this test's functions) in the JSON of a file sink and, one per line below the record, in
 * the text of the stdout sink, and in the control API's event stream; a stack-count map sampled while a thread of this process
 * spins prints folded lines naming the function it spins in. */
#include "daemon_fixture.h"

#include <pthread.h>

#include "eu_http_client.h"
#include "stacks_fixture.h"

#define STACKSNOOP EU_TESTBPF_BUILD_DIR "/stacksnoop/package.json"
#define STACKCOUNT EU_TESTBPF_BUILD_DIR "/stackcount/package.json"

EU_DFIX_SUITE(F, daemon_stacks, 120);

/* The first record of text (JSON lines) whose fields have member `member`; NULL if none. */
static cJSON *record_with(const char *text, const char *member)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		cJSON *j = cJSON_ParseWithLength(p, len);
		const cJSON *fields = cJSON_GetObjectItemCaseSensitive(j, "fields");
		if (cJSON_GetObjectItemCaseSensitive(fields, member))
			return j;
		cJSON_Delete(j);
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static char *print(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	return s ? s : strdup("?");
}

Test(daemon_stacks, events_carry_named_kernel_and_user_frames)
{
	char out[200], sink[220], sock[220], api[230];
	snprintf(out, sizeof(out), "%s/records.jsonl", F.root);
	snprintf(sink, sizeof(sink), "file:%s", out);
	snprintf(sock, sizeof(sock), "%s/api.sock", F.root);
	snprintf(api, sizeof(api), "unix:%s", sock);
	dfix_sh("cp %s %s/snoop.json", STACKSNOOP, F.watch);
	dfix_sh("echo '{\"targ_tgid\": %d}' > %s/snoop.params.json", (int)getpid(), F.watch);
	dfix_start(&F, (const char *[]){"--sink", sink, "--sink", "stdout", "--format", "text",
					"--api", api, NULL});
	cr_assert(dfix_wait_log(&F, "attached in", 1, 20000), "not attached:\n%s",
		  eu_agent_stderr(F.a));

	/* a getppid every 200 ms until a record is in the file (bounded: 10 s) */
	cJSON *rec = NULL;
	for (int i = 0; i < 50 && !rec; i++) {
		cr_assert_eq(eu_stacks_outer(), getppid() + 1);
		dfix_pump(&F, 200);
		char *text = eu_test_read_file(out, NULL);
		rec = text ? record_with(text, "kstack") : NULL;
		free(text);
	}
	cr_assert(rec, "no record with stacks; stderr:\n%s", eu_agent_stderr(F.a));
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rec, "fields");
	cr_expect_eq(eu_json_int(fields, "pid", -1), getpid());
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(fields, "kstack");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(fields, "ustack");
	const cJSON *byid = cJSON_GetObjectItemCaseSensitive(fields, "kern_stack");
	char *all = print(fields);
	/* the arrays cut at the byte counts bpf_get_stack returned, not at their 32 slots */
	cr_expect_gt(cJSON_GetArraySize(k), 0, "%s", all);
	cr_expect_eq(cJSON_GetArraySize(k) * 8, eu_json_int(fields, "kstack_sz", -1), "%s", all);
	cr_expect_eq(cJSON_GetArraySize(u) * 8, eu_json_int(fields, "ustack_sz", -1), "%s", all);
	/* the syscall entry in the kernel stacks, inline and looked up by id */
	cr_expect(eu_stacks_array_has(k, "do_syscall_64"), "%s", all);
	cr_expect(eu_stacks_array_has(byid, "do_syscall_64"), "%s", all);
	cr_expect_geq(eu_json_int(fields, "kern_stack_id", -1), 0, "%s", all);
	/* libc's wrapper and this test's functions in the user stack, innermost first */
	cr_expect(eu_stacks_array_has(u, "getppid"), "%s", all);
	cr_expect(eu_stacks_array_has(u, "eu_stacks_outer"), "%s", all);
	int at_inner = -1, at_outer = -1, i = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, u)
	{
		if (cJSON_IsString(f) && !strcmp(f->valuestring, "getppid"))
			at_inner = i;
		if (cJSON_IsString(f) && !strcmp(f->valuestring, "eu_stacks_outer"))
			at_outer = i;
		i++;
	}
	cr_expect(at_inner >= 0 && at_inner < at_outer, "not innermost first: %s", all);
	free(all);
	cJSON_Delete(rec);

	/* the API's event stream serves the same record with the same frames */
	struct eu_http_resp r = eu_http_request("http://localhost/v1/programs/snoop/events",
						&(struct eu_http_call){.unix_socket = sock});
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "\"ustack\":[") && strstr(r.body, "\"eu_stacks_outer\"") &&
		  strstr(r.body, "\"do_syscall_64\""),
		  "the API's records lack the named frames: %.2000s", r.body);
	eu_http_resp_free(&r);

	/* the stdout sink's text: the frames one per line below the record */
	bool title = false, outer = false, kentry = false;
	int64_t deadline = dfix_now_ms() + 5000;
	while (!(title && outer && kentry) && dfix_now_ms() < deadline) {
		const char *so = eu_agent_stdout(F.a);
		title = strstr(so, "\n    ustack:\n") != NULL;
		outer = strstr(so, "\n      eu_stacks_outer\n") != NULL;
		kentry = strstr(so, "\n      do_syscall_64\n") != NULL;
		dfix_pump(&F, 100);
	}
	cr_expect(title && outer && kentry, "frames not listed below the record:\n%s",
		  eu_agent_stdout(F.a));
	/* the row itself leaves the inline addresses out */
	cr_expect(strstr(eu_agent_stdout(F.a), "kstack_sz=") &&
		  !strstr(eu_agent_stdout(F.a), " kstack="),
		  "%s", eu_agent_stdout(F.a));
}

Test(daemon_stacks, stack_counts_print_folded)
{
	char comm[16];
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	dfix_sh("cp %s %s/count.json", STACKCOUNT, F.watch);
	dfix_sh("echo '{\"targ_pid\": %d}' > %s/count.params.json", (int)getpid(), F.watch);
	dfix_start(&F, NULL);
	cr_assert(dfix_wait_log(&F, "attached in", 1, 20000), "not attached:\n%s",
		  eu_agent_stderr(F.a));
	atomic_store(&eu_stacks_spinning, true);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, eu_stacks_spin_thread, NULL), 0);
	/* the map prints every second (cumulative): wait for a line with our function */
	char needle[64];
	snprintf(needle, sizeof(needle), ";eu_stacks_spin_in_user");
	int64_t deadline = dfix_now_ms() + 15000;
	while (!strstr(eu_agent_stdout(F.a), needle) && dfix_now_ms() < deadline)
		dfix_pump(&F, 200);
	atomic_store(&eu_stacks_spinning, false);
	pthread_join(t, NULL);

	/* the record of the stack with the most samples names the function, folded and in the
	 * key's user frames */
	cJSON *best = NULL;
	long long best_count = 0;
	for (const char *p = eu_agent_stdout(F.a); p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		cJSON *j = cJSON_ParseWithLength(p, len);
		const cJSON *fields = cJSON_GetObjectItemCaseSensitive(j, "fields");
		const char *folded = eu_json_str(fields, "folded");
		long long count = eu_json_int(fields, "value", 0);
		if (folded && strstr(folded, needle) && count > best_count) {
			cJSON_Delete(best);
			best = j;
			best_count = count;
		} else {
			cJSON_Delete(j);
		}
		p = nl ? nl + 1 : NULL;
	}
	cr_assert(best, "no folded line naming eu_stacks_spin_in_user; stdout:\n%s\nstderr:\n%s",
		  eu_agent_stdout(F.a), eu_agent_stderr(F.a));
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(best, "fields");
	const char *folded = eu_json_str(fields, "folded");
	cr_expect(!strncmp(folded, comm, strlen(comm)) && folded[strlen(comm)] == ';',
		  "folded line does not start with our comm %s: %s", comm, folded);
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(fields, "key");
	cr_expect_eq(eu_json_int(key, "pid", -1), getpid());
	cr_expect(eu_stacks_array_has(cJSON_GetObjectItemCaseSensitive(key, "user_stack"),
			    "eu_stacks_spin_in_user"),
		  "%s", folded);
	cr_expect_gt(best_count, 0);
	cJSON_Delete(best);
}
