/* Load and attach failures say which program, which attach point and why: kprobes missing,
 * a verifier rejection (quoting the verifier), a tracepoint that does not exist, a uprobe on
 * a missing binary. Each exits 1 and leaves nothing attached. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eunomia/features.h"

#define KPROBE_LINK EU_TESTBPF_BUILD_DIR "/kprobe_link/package.json"

static int run_capture(const char *pkg, char **out)
{
	return eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", pkg, NULL}, 60000, out);
}

Test(run_errors, kprobes_unavailable)
{
	struct eu_features f;
	eu_features_init(&f);
	if (eu_features_has(&f, EU_FEATURE_KPROBES))
		cr_skip_test("this kernel has kprobes: the missing-kprobes message cannot be seen");
	char *out = NULL;
	int rc = run_capture(KPROBE_LINK, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "program do_unlinkat (kprobe/do_unlinkat): kprobes are not available "
			      "on this kernel"),
		  "%s", out);
	cr_expect_null(strstr(out, "attached"), "%s", out);
	free(out);
}

/* Compiles src (a file in tests/data, or text written to dir/name.bpf.c) to dir/name.bpf.o. */
static char *compile(const char *dir, const char *name, const char *src_path, const char *text)
{
	char src[512], obj[512];
	if (text) {
		snprintf(src, sizeof(src), "%s/%s.bpf.c", dir, name);
		cr_assert_eq(eu_write_file(src, text, strlen(text)), 0);
		src_path = src;
	}
	snprintf(obj, sizeof(obj), "%s/%s.bpf.o", dir, name);
	char *log = NULL;
	int rc = eu_compile_bpf(src_path, obj, &log);
	cr_assert_eq(rc, 0, "clang failed on %s:\n%s", src_path, log);
	free(log);
	return strdup(obj);
}

Test(run_errors, verifier_rejection_is_quoted)
{
	char *dir = eu_tmpdir("verifier");
	cr_assert(dir);
	char *obj = compile(dir, "bad", EU_TEST_DATA_DIR "/bad_verifier/bad.bpf.c", NULL);
	char *out = NULL;
	int rc = run_capture(obj, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "error: bad: program bad_read (tp/syscalls/sys_enter_getpid): rejected "
			      "by the verifier (Permission denied (EACCES)): "),
		  "%s", out);
	cr_expect(strstr(out, "invalid mem access 'scalar'"), "the verifier's reason: %s", out);
	cr_expect(strstr(out, "verifier log (last lines):"), "%s", out);
	free(out);
	free(obj);
	eu_tmpdir_remove(dir);
	free(dir);
}

static const char missing_tp_src[] =
	"#include <linux/types.h>\n"
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"
	"SEC(\"tp/sched/sched_process_exec\") int fine(void *ctx) { return 0; }\n"
	"SEC(\"tp/no_such_category/no_such_event\") int missing(void *ctx) { return 0; }\n";

Test(run_errors, missing_tracepoint_is_named)
{
	char *dir = eu_tmpdir("tp");
	cr_assert(dir);
	char *obj = compile(dir, "missing_tp", NULL, missing_tp_src);
	char *out = NULL;
	int rc = run_capture(obj, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "program missing (tp/no_such_category/no_such_event): tracepoint "
			      "no_such_category/no_such_event does not exist on this kernel"),
		  "%s", out);
	free(out);
	free(obj);
	eu_tmpdir_remove(dir);
	free(dir);
}

static const char missing_uprobe_src[] =
	"#include <linux/types.h>\n"
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"
	"SEC(\"uprobe//no/such/binary:main\") int probe(void *ctx) { return 0; }\n";

Test(run_errors, uprobe_on_missing_binary_names_the_path)
{
	char *dir = eu_tmpdir("uprobe");
	cr_assert(dir);
	char *obj = compile(dir, "missing_bin", NULL, missing_uprobe_src);
	char *out = NULL;
	int rc = run_capture(obj, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "program probe (uprobe//no/such/binary:main): binary /no/such/binary "
			      "does not exist"),
		  "%s", out);
	free(out);
	free(obj);
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(run_errors, metadata_only_package)
{
	char *out = NULL;
	int rc = run_capture(EU_SHARED_DIR "/compat/bootstrap.meta.json", &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "carries no BPF object"), "%s", out);
	free(out);
}

static const char no_alternative_src[] =
	"#include <linux/types.h>\n"
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"
	"SEC(\"tp/no_such_category/first\") int handler__alt1(void *ctx) { return 0; }\n"
	"SEC(\"tp/no_such_category/second\") int handler__alt2(void *ctx) { return 0; }\n"
	"SEC(\"tp/sched/sched_process_exec\") int other(void *ctx) { return 0; }\n";

Test(run_errors, alternatives_group_with_no_runnable_member)
{
	char *dir = eu_tmpdir("noalt");
	cr_assert(dir);
	char *obj = compile(dir, "noalt", NULL, no_alternative_src);
	char *out = NULL;
	int rc = run_capture(obj, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "no alternative of handler can run on this kernel: "
			      "handler__alt1 (tp/no_such_category/first): tracepoint "
			      "no_such_category/first does not exist on this kernel; "
			      "handler__alt2 (tp/no_such_category/second): tracepoint "
			      "no_such_category/second does not exist on this kernel"),
		  "%s", out);
	free(out);
	free(obj);
	eu_tmpdir_remove(dir);
	free(dir);
}
