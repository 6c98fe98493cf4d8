/* Programs written against a newer libbpf than Debian's (tests/bpf/compat): ecc compiles
 * BPF_URETPROBE, bpf_ksym_exists, bpf_for and the bpf_task_from_pid/bpf_task_release kfuncs
 * (declared by the vmlinux.h ecc generates), and what they record is checked by value against
 * the calls this test makes. A -D given to ecc changes what the program records. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"

#define COMPAT EU_TESTBPF_BUILD_DIR "/compat/package.json"
#define COMPAT_SRC EU_SOURCE_DIR "/tests/bpf/compat/compat.bpf.c"

struct want {
	int kind;
	int variant;
};

static bool kind_is(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	return eu_json_int(rec, "kind", -1) == w->kind;
}

static void call_getpid(void *ctx)
{
	(void)ctx;
	/* through libc, where the uretprobe is */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(getpid(), getpid());
}

static void call_getppid(void *ctx)
{
	(void)ctx;
	for (int i = 0; i < 3; i++)
		cr_assert_gt(getppid(), 0);
}

static void check_common(const cJSON *rec, int variant)
{
	cr_expect_eq(eu_json_int(rec, "iter_sum", -1), 10, "bpf_for(i, 0, 5) summed wrong");
	cr_expect_eq(eu_json_int(rec, "kfunc_exists", -1), 1, "bpf_task_from_pid not found");
	cr_expect_eq(eu_json_int(rec, "sym_exists", -1), 1, "schedule not found in kallsyms");
	cr_expect_eq(eu_json_int(rec, "missing_exists", -1), 0, "a missing ksym said to exist");
	cr_expect_eq(eu_json_int(rec, "variant", -1), variant);
}

static void run_and_check(const char *pkg, int variant)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(pkg, (const char *const[]){"--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));

	struct want w = {.kind = 1, .variant = variant};
	cJSON *rec = eu_agent_trigger_find(a, call_getpid, NULL, kind_is, &w, 500, 10000);
	cr_assert(rec, "no uretprobe record; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(rec, "ret", -1), getpid(), "getpid's return value");
	check_common(rec, variant);
	cJSON_Delete(rec);

	w.kind = 2;
	rec = eu_agent_trigger_find(a, call_getppid, NULL, kind_is, &w, 500, 10000);
	cr_assert(rec, "no kfunc record; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(rec, "pid", -1), getpid(), "tgid read through the kfunc");
	cr_expect_eq(eu_json_int(rec, "ppid", -1), getppid(), "parent read through the kfunc");
	check_common(rec, variant);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

Test(run_compat, newer_libbpf_program_runs)
{
	run_and_check(COMPAT, 0);
}

Test(run_compat, define_changes_the_program)
{
	char *dir = eu_tmpdir("compat-d");
	cr_assert(dir);
	char *out = NULL;
	/* -D and upstream's -a spelling both reach clang; the later definition wins */
	int rc = eu_run_capture((const char *const[]){EU_ECC_BIN, COMPAT_SRC, "-o", dir, "-a",
						      "-DCOMPAT_VARIANT=5 -Wno-macro-redefined",
						      "-D", "COMPAT_VARIANT=7", NULL},
				120000, &out);
	cr_assert_eq(rc, 0, "ecc failed:\n%s", out);
	free(out);
	char pkg[512];
	snprintf(pkg, sizeof(pkg), "%s/package.json", dir);
	run_and_check(pkg, 7);
	eu_tmpdir_remove(dir);
	free(dir);
}
