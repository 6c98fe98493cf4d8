/* Load and attach failures say which program, which attach point and why: kprobes missing,
 * a verifier rejection (quoting the verifier), a tracepoint that does not exist, a uprobe on
 * a missing binary. Each exits 1 and leaves nothing attached.
 *
 * ctest-resource-lock: lo_tc_xdp (the tc and xdp hooks of lo are one per machine: tests
 * that attach there never run at the same time) */
#include <criterion/criterion.h>
#include <bpf/libbpf.h>
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

/* Builds the object (from src_path, or from text), runs it and expects exit 1 with every
 * NULL-terminated needle in the output and no claim of being attached. */
static void expect_run_failure(const char *name, const char *src_path, const char *text,
			       const char *const *needles)
{
	char *dir = eu_tmpdir(name);
	cr_assert(dir);
	char *obj = compile(dir, name, src_path, text);
	char *out = NULL;
	int rc = run_capture(obj, &out);
	cr_expect_eq(rc, 1, "%s", out);
	for (size_t i = 0; needles[i]; i++)
		cr_expect(strstr(out, needles[i]), "\"%s\" missing from:\n%s", needles[i], out);
	cr_expect_null(strstr(out, EU_AGENT_ATTACHED_MARK " "), "claims to be attached:\n%s", out);
	free(out);
	free(obj);
	eu_tmpdir_remove(dir);
	free(dir);
}

#define PROG_PREAMBLE                                                                        \
	"#include <linux/types.h>\n"                                                         \
	"#include <linux/bpf.h>\n"                                                           \
	"#include <linux/pkt_cls.h>\n"                                                       \
	"#include <bpf/bpf_helpers.h>\n"                                                     \
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"

Test(run_errors, verifier_rejection_is_quoted)
{
	expect_run_failure("bad", EU_TEST_DATA_DIR "/bad_verifier/bad.bpf.c", NULL,
			   (const char *const[]){
				   "error: bad: program bad_read (tp/syscalls/sys_enter_getpid): "
				   "rejected by the verifier (Permission denied (EACCES)): ",
				   "invalid mem access 'scalar'", "verifier log (last lines):", NULL});
}

/* (beside other programs it is left out instead: test_run_twins) */
Test(run_errors, missing_tracepoint_is_named)
{
	expect_run_failure(
		"missing_tp", NULL,
		PROG_PREAMBLE
		"SEC(\"tp/no_such_category/no_such_event\") int missing(void *ctx) { return 0; }\n",
		(const char *const[]){"program missing (tp/no_such_category/no_such_event): tracepoint "
				      "no_such_category/no_such_event does not exist on this kernel",
				      NULL});
}

/* (an fentry target missing from the kernel is named by test_run_twins) */
Test(run_errors, kprobe_on_missing_function_is_named)
{
	struct eu_features f;
	eu_features_init(&f);
	if (!eu_features_has(&f, EU_FEATURE_KPROBES))
		cr_skip_test("this kernel has no kprobes: the missing-function message cannot be "
			     "seen (kprobes_unavailable checks that message instead)");
	expect_run_failure(
		"missing_fn", NULL,
		PROG_PREAMBLE
		"SEC(\"kprobe/eu_no_such_kernel_function\") int probe(void *ctx) { return 0; }\n",
		(const char *const[]){"program probe (kprobe/eu_no_such_kernel_function): function "
				      "eu_no_such_kernel_function is not in this kernel",
				      NULL});
}

Test(run_errors, uprobe_on_missing_binary_names_the_path)
{
	expect_run_failure(
		"missing_bin", NULL,
		PROG_PREAMBLE
		"SEC(\"uprobe//no/such/binary:main\") int probe(void *ctx) { return 0; }\n",
		(const char *const[]){"program probe (uprobe//no/such/binary:main): binary "
				      "/no/such/binary does not exist",
				      NULL});
}

Test(run_errors, metadata_only_package)
{
	char *out = NULL;
	int rc = run_capture(EU_TEST_DATA_DIR "/upstream/meta-only-tc.json", &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "carries no BPF object"), "%s", out);
	free(out);
}

Test(run_errors, alternatives_group_with_no_runnable_member)
{
	expect_run_failure(
		"noalt", NULL,
		PROG_PREAMBLE
		"SEC(\"tp/no_such_category/first\") int handler__alt1(void *ctx) { return 0; }\n"
		"SEC(\"tp/no_such_category/second\") int handler__alt2(void *ctx) { return 0; }\n"
		"SEC(\"tp/sched/sched_process_exec\") int other(void *ctx) { return 0; }\n",
		(const char *const[]){"no alternative of handler can run on this kernel: "
				      "handler__alt1 (tp/no_such_category/first): tracepoint "
				      "no_such_category/first does not exist on this kernel; "
				      "handler__alt2 (tp/no_such_category/second): tracepoint "
				      "no_such_category/second does not exist on this kernel",
				      NULL});
}

/* tc and xdp hooks outlive the process (they are netlink state, not fds): a failure on a
 * later program must take down the ones attached before it. Programs attach in ELF order. */
Test(run_errors, failed_attach_detaches_tc_and_xdp)
{
	libbpf_set_print(NULL); /* querying a missing qdisc makes libbpf complain */
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = 1, .priority = 1);
	cr_assert_neq(bpf_tc_query(&hook, &q), 0, "a tc filter 1/1 is already on lo ingress");
	__u32 xdp_id = 0;
	cr_assert_eq(bpf_xdp_query_id(1, 0, &xdp_id), 0);
	cr_assert_eq(xdp_id, 0, "an xdp program is already on lo");

	expect_run_failure(
		"tc_then_fail", NULL,
		PROG_PREAMBLE
		"SEC(\"tc\") int tc_first(struct __sk_buff *skb) { return TC_ACT_OK; }\n"
		"SEC(\"xdp\") int xdp_second(struct xdp_md *ctx) { return XDP_PASS; }\n"
		"SEC(\"uprobe//no/such/binary:main\") int probe_last(void *ctx) { return 0; }\n",
		(const char *const[]){"program probe_last (uprobe//no/such/binary:main): binary "
				      "/no/such/binary does not exist",
				      NULL});

	LIBBPF_OPTS(bpf_tc_opts, q2, .handle = 1, .priority = 1);
	cr_expect_neq(bpf_tc_query(&hook, &q2), 0, "tc_first is still attached on lo ingress");
	cr_expect_eq(bpf_xdp_query_id(1, 0, &xdp_id), 0);
	cr_expect_eq(xdp_id, 0, "xdp_second (id %u) is still attached on lo", xdp_id);
}
