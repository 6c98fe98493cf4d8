/* runqlat (a sampled HASH map printed as a log2 histogram every 1000 ms): after load, the
 * whole-system histogram fills; per-process keys name a known busy child by pid and comm. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG EU_PLUGIN_BUILD_DIR "/runqlat/package.json"
#define SLOTS 26

static long long slot_sum(const cJSON *rec)
{
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(rec, "slots");
	if (!cJSON_IsArray(slots) || cJSON_GetArraySize(slots) != SLOTS)
		return -1;
	long long sum = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, slots) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0)
			return -1;
		sum += (long long)it->valuedouble;
	}
	return sum;
}

struct want {
	long long key;
	long long min_sum;
	const char *comm;
};

static bool match(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	if (eu_json_int(rec, "key", -2) != w->key || slot_sum(rec) < w->min_sum)
		return false;
	return !w->comm || (eu_json_str(rec, "comm") && !strcmp(eu_json_str(rec, "comm"), w->comm));
}

Test(plugin_runqlat, whole_system_histogram)
{
	struct eu_agent *a = eu_agent_start(PKG, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	/* the default key is -1 as a u32; the map is not cleared, so counts only grow */
	struct want w = {.key = 4294967295LL, .min_sum = 1};
	cJSON *first = eu_agent_find(a, match, &w, 5000);
	cr_assert(first, "no histogram within 5 s; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	long long s1 = slot_sum(first);
	cJSON_Delete(first);
	usleep(100000);
	cJSON *second = eu_agent_find(a, match, &w, 3000);
	cr_assert(second, "no second sample one interval later");
	cr_expect(slot_sum(second) >= s1, "counts went down without clear_map: %lld -> %lld", s1,
		  slot_sum(second));
	cJSON_Delete(second);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(plugin_runqlat, per_process_key_names_a_known_child)
{
	pid_t child = fork();
	cr_assert(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "eu-rq-child");
		/* sleep-wake cycles: every wakeup is a run-queue latency sample */
		for (int i = 0; i < 20000; i++)
			usleep(500);
		_exit(0);
	}
	char tgid[16];
	snprintf(tgid, sizeof(tgid), "%d", child);
	struct eu_agent *a = eu_agent_start(PKG, (const char *const[]){"--targ_per_process",
								       "--targ_tgid", tgid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	struct want w = {.key = child, .min_sum = 10, .comm = "eu-rq-child"};
	cJSON *rec = eu_agent_find(a, match, &w, 6000);
	cr_assert(rec, "no histogram for pid %d (eu-rq-child); stdout:\n%s", child,
		  eu_agent_stdout(a));
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}
