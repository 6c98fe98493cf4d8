/* User-space probes whose target the section leaves open (tests/bpf/uprobes): SEC("uprobe")
 * and SEC("usdt") get theirs from --attach, SEC("uprobe/getpgid") and
 * SEC("uretprobe/readline") are looked up (libc, bash) and the file used is named. Calls
 * this process makes are counted by value; wrong targets fail with the reason. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eunomia/features.h"

#define UPROBES EU_TESTBPF_BUILD_DIR "/uprobes/package.json"

__attribute__((noinline, used)) long eu_uprobe_target(long x);
__attribute__((noinline, used)) long eu_uprobe_target(long x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static void usdt_tick(long x)
{
	DTRACE_PROBE1(eu_test, tick, x);
}

static void self_exe(char *out, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", out, n - 1);
	cr_assert_gt(len, 0);
	out[len] = '\0';
}

static void need_uprobes(void)
{
	struct eu_features f;
	eu_features_init(&f);
	if (!eu_features_has(&f, EU_FEATURE_UPROBES))
		cr_skip_test("uprobes are not available on this kernel (no uprobe PMU nor "
			     "uprobe_events)");
}

struct hit {
	long long key, count;
};

static bool hit_of(const cJSON *rec, void *ctx)
{
	const struct hit *h = ctx;
	return eu_json_int(rec, "key", -1) == h->key && eu_json_int(rec, "value", -1) == h->count;
}

Test(run_uprobes, targets_from_attach_and_from_lookup)
{
	need_uprobes();
	char exe[PATH_MAX], any[PATH_MAX + 64], usdt[PATH_MAX + 64], pid[16];
	self_exe(exe, sizeof(exe));
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(any, sizeof(any), "any_function=%s:eu_uprobe_target@%d", exe, getpid());
	snprintf(usdt, sizeof(usdt), "usdt_tick=%s:eu_test:tick", exe);
	struct eu_agent *a = eu_agent_start(UPROBES, (const char *const[]){
		"--attach", any, "--attach", usdt, "--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	const char *err = eu_agent_stderr(a);
	cr_expect(strstr(err, "libc_getpgid (uprobe/getpgid): function getpgid found in ") &&
		  strstr(err, "libc.so.6 (--attach libc_getpgid=BINARY:getpgid to choose)"), "%s",
		  err);
	cr_expect(strstr(err, "bash_readline (uretprobe/readline): function readline found in "
			      "/usr/bin/bash"), "%s", err);
	cr_expect(strstr(err, "attached 4 programs"), "%s", err);

	for (int i = 0; i < 7; i++)
		eu_uprobe_target(5);
	for (int i = 0; i < 4; i++)
		getpgid(9);
	for (int i = 0; i < 3; i++)
		usdt_tick(11);
	struct hit want[] = {{1005, 7}, {2009, 4}, {4011, 3}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cJSON *rec = eu_agent_find(a, hit_of, &want[i], 5000);
		cr_expect(rec, "no %lld hits for key %lld; stdout:\n%s", want[i].count, want[i].key,
			  eu_agent_stdout(a));
		cJSON_Delete(rec);
	}
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

static void expect_failure(const char *const *extra, const char *want)
{
	const char *argv[16] = {EU_AGENT_BIN, "run", UPROBES, "--duration", "3"};
	size_t n = 5;
	for (size_t i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	char *out = NULL;
	int rc = eu_run_capture(argv, 60000, &out);
	cr_expect_neq(rc, 0, "exit 0:\n%s", out);
	cr_expect(strstr(out, want), "no '%s' in:\n%s", want, out);
	cr_expect_null(strstr(out, "attached 4"), "%s", out);
	free(out);
}

Test(run_uprobes, missing_or_wrong_targets_say_what_to_give)
{
	need_uprobes();
	char exe[PATH_MAX], any[PATH_MAX + 64], usdt[PATH_MAX + 64], nofunc[PATH_MAX + 64];
	self_exe(exe, sizeof(exe));
	snprintf(any, sizeof(any), "any_function=%s:eu_uprobe_target", exe);
	snprintf(usdt, sizeof(usdt), "usdt_tick=%s:eu_test:tick", exe);
	snprintf(nofunc, sizeof(nofunc), "any_function=%s:eu_no_such_function", exe);
	expect_failure((const char *const[]){"--attach", usdt, NULL},
		       "program any_function (uprobe): the section names no binary and function to "
		       "attach to: give it with --attach any_function=BINARY:FUNCTION[@PID]");
	expect_failure((const char *const[]){"--attach", any, NULL},
		       "program usdt_tick (usdt): the section names no binary and probe to attach "
		       "to: give it with --attach usdt_tick=BINARY:PROVIDER:PROBE[@PID]");
	expect_failure((const char *const[]){"--attach", "nosuch=/bin/true:main", NULL},
		       "--attach nosuch=/bin/true:main: the package has no uprobe, uretprobe or usdt "
		       "program nosuch (its user-space probes: any_function, libc_getpgid, "
		       "bash_readline, usdt_tick)");
	expect_failure((const char *const[]){"--attach", "any_function=/no/such/bin:f", "--attach",
					     usdt, NULL},
		       "program any_function (uprobe): binary /no/such/bin does not exist");
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want), "function eu_no_such_function is not in the symbol tables of %s",
		 exe);
	expect_failure((const char *const[]){"--attach", nofunc, "--attach", usdt, NULL}, want);
	expect_failure((const char *const[]){"--attach", "any_function=/bin/true", NULL},
		       "--attach any_function: expected BINARY:FUNCTION[@PID], got '/bin/true'");
}
