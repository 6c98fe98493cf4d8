/* Sampled maps beyond runqlat: a hash map printed as key/value records and a per-CPU array
 * printed as a linear histogram (CPUs summed), both emptied after each interval (clear_map).
 * The BPF side is tests/data/sample_maps, built with our ecc here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"

static char *dir;
static char pkg[512];

static void build(void)
{
	dir = eu_tmpdir("samples");
	cr_assert(dir);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_ECC_BIN,
						      EU_TEST_DATA_DIR "/sample_maps/sample_maps.bpf.c",
						      "-o", dir, "--vmlinux-h",
						      EU_BINARY_DIR "/vmlinux/vmlinux.h", NULL},
				120000, &out);
	cr_assert_eq(rc, 0, "ecc failed:\n%s", out);
	free(out);
	snprintf(pkg, sizeof(pkg), "%s/package.json", dir);
}

static void cleanup(void)
{
	eu_tmpdir_remove(dir);
	free(dir);
}

TestSuite(run_samples, .init = build, .fini = cleanup);

static void call_getppid(int n)
{
	for (int i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static bool kv_record(const cJSON *rec, void *ctx)
{
	(void)ctx;
	return cJSON_GetObjectItemCaseSensitive(rec, "value") != NULL;
}

static bool hist_record(const cJSON *rec, void *ctx)
{
	(void)ctx;
	return cJSON_GetObjectItemCaseSensitive(rec, "slots") != NULL;
}

Test(run_samples, key_value_and_linear_hist_with_clear_map)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(pkg, (const char *const[]){"--target_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));

	call_getppid(5);
	cJSON *kv = eu_agent_find(a, kv_record, NULL, 3000);
	cr_assert(kv, "no key/value record; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(eu_json_int(kv, "key", -1), getpid());
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(kv, "value");
	cr_expect_eq(eu_json_int(v, "count", -1), 5);
	cr_expect_eq(eu_json_int(v, "last_tid", -1), getpid());
	cJSON_Delete(kv);

	/* all-zero histograms are not printed, so the first one carries our 5 calls, summed
	 * over the per-CPU copies */
	cJSON *h = eu_agent_find(a, hist_record, NULL, 3000);
	cr_assert(h, "no histogram record; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(eu_json_int(h, "key", -1), 0);
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(h, "slots");
	cr_assert_eq(cJSON_GetArraySize(slots), 8);
	cr_expect_eq(cJSON_GetArrayItem(slots, 2)->valuedouble, 5);
	cr_expect_eq(cJSON_GetArrayItem(slots, 0)->valuedouble, 0);
	cJSON_Delete(h);

	/* clear_map: the next intervals count only the new calls */
	call_getppid(3);
	kv = eu_agent_find(a, kv_record, NULL, 3000);
	cr_assert(kv, "no second key/value record; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(eu_json_int(cJSON_GetObjectItemCaseSensitive(kv, "value"), "count", -1), 3,
		     "the hash map was not cleared");
	cJSON_Delete(kv);
	h = eu_agent_find(a, hist_record, NULL, 3000);
	cr_assert(h, "no second histogram; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(h, "slots"), 2)->valuedouble,
		     3, "the array was not zeroed");
	cJSON_Delete(h);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(run_samples, text_output)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start_argv((const char *const[]){
		EU_AGENT_BIN, "run", pkg, "--target_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	call_getppid(4);
	char want_kv[128];
	snprintf(want_kv, sizeof(want_kv), "key = %d  value = {\"count\":4,\"last_tid\":%d}", getpid(),
		 getpid());
	bool kv = false, title = false, row = false;
	for (int i = 0; i < 40 && !(kv && title && row); i++) {
		const char *line = eu_agent_next_line(a, 100);
		if (!line)
			continue;
		kv |= !strcmp(line, want_kv);
		title |= strstr(line, "calls") && strstr(line, ": count") != NULL;
		/* bcc's linear rows: "          2          : 4        |****...|" */
		int bucket = -1, count = -1;
		char bar = 0;
		if (sscanf(line, " %d : %d %c", &bucket, &count, &bar) == 3)
			row |= bucket == 2 && count == 4 && bar == '|';
	}
	cr_expect(kv, "no '%s'; stdout:\n%s", want_kv, eu_agent_stdout(a));
	cr_expect(title, "no linear histogram title with the unit; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(row, "no bucket 2 with 4 calls; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
