/* Maps sized at run time (tests/bpf/sized): a stack-trace map without value size or
 * max_entries, hashes with max_entries 0 (one keyed by pid) and an array only the user can
 * size. The kernel's own view of the created maps (fdinfo of the agent) is checked, the
 * counts by value, and every refusal names the map and what to do. */
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"

#define SIZED EU_TESTBPF_BUILD_DIR "/sized/package.json"

static unsigned pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	unsigned v = 0;
	cr_assert(f);
	cr_assert_eq(fscanf(f, "%u", &v), 1);
	fclose(f);
	return v;
}

static bool calls_of_self(const cJSON *rec, void *ctx)
{
	const long long *want = ctx;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
	return eu_json_int(rec, "key", -1) == getpid() && eu_json_int(v, "calls", -1) == *want;
}

Test(run_mapsize, defaults_and_overrides_reach_the_kernel)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(SIZED, (const char *const[]){
		"--map-size", "per_slot=4", "--map-size", "stack_seen=77", "--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	const char *err = eu_agent_stderr(a);
	cr_expect(strstr(err, "map stackmap (stack_trace): 16384 entries (default for stack "
			      "traces"), "%s", err);
	cr_expect(strstr(err, "map calls (hash): "), "%s", err);

	struct bpf_map_info info;
	cr_assert(eu_map_info_of(eu_agent_pid(a), "stackmap", &info), "no stackmap");
	cr_expect_eq(info.max_entries, 16384);
	cr_expect_eq(info.value_size, 127 * 8, "127 frames of 8 bytes");
	cr_expect_eq(info.key_size, 4);
	cr_assert(eu_map_info_of(eu_agent_pid(a), "calls", &info), "no calls map");
	cr_expect_eq(info.max_entries, pid_max(), "a hash keyed by pid_t gets pid_max");
	cr_assert(eu_map_info_of(eu_agent_pid(a), "stack_seen", &info), "no stack_seen map");
	cr_expect_eq(info.max_entries, 77, "--map-size wins over the default");
	cr_assert(eu_map_info_of(eu_agent_pid(a), "per_slot", &info), "no per_slot map");
	cr_expect_eq(info.max_entries, 4);

	for (int i = 0; i < 25; i++)
		syscall(SYS_getpgid, 3);
	long long want = 25;
	cJSON *rec = eu_agent_find(a, calls_of_self, &want, 5000);
	cr_assert(rec, "no record of 25 calls; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_eq(eu_json_int(cJSON_GetObjectItemCaseSensitive(rec, "value"), "last_arg", -1), 3);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

static void expect_failure(const char *const *argv, const char *want)
{
	char *out = NULL;
	int rc = eu_run_capture(argv, 60000, &out);
	cr_expect_neq(rc, 0, "exit 0:\n%s", out);
	cr_expect(strstr(out, want), "no '%s' in:\n%s", want, out);
	free(out);
}

Test(run_mapsize, refusals_name_the_map_and_the_fix)
{
	/* the array has no default: the kernel refuses size 0 */
	expect_failure((const char *const[]){EU_AGENT_BIN, "run", SIZED, "--duration", "3", NULL},
		       "map per_slot (array, key 4 bytes, value 8 bytes, 0 entries): cannot create: "
		       "Invalid argument (EINVAL); its max_entries is 0: give it a size with "
		       "--map-size per_slot=N");
	expect_failure((const char *const[]){EU_AGENT_BIN, "run", SIZED, "--map-size", "nosuch=3",
					     "--duration", "3", NULL},
		       "--map-size nosuch: the package has no map nosuch (its maps: calls, stackmap");
	expect_failure((const char *const[]){EU_AGENT_BIN, "run", SIZED, "--map-size", "calls=0",
					     NULL},
		       "ENTRIES must be a number from 1 to 2147483648");
	expect_failure((const char *const[]){EU_AGENT_BIN, "run", SIZED, "--map-size", "calls",
					     NULL},
		       "expected NAME=ENTRIES");
}
