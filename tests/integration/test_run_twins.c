/* Twin programs on one hook (tests/bpf/twins: tp_btf/sys_enter and raw_tp/sys_enter, as
 * libbpf-tools write them): one is loaded, the choice is reported, and the histogram they
 * count into holds each call once. Also: a program whose tracepoint or kernel function this
 * kernel lacks is left out while others remain, and named when it is the only one. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eunomia/features.h"

#define TWINS EU_TESTBPF_BUILD_DIR "/twins/package.json"
#define FALLBACK EU_TESTBPF_BUILD_DIR "/fallback/package.json"

static bool hist_with_slot6(const cJSON *rec, void *ctx)
{
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(rec, "slots");
	const long long *want = ctx;
	return cJSON_IsArray(slots) && cJSON_GetArraySize(slots) > 6 &&
	       (long long)cJSON_GetArrayItem(slots, 6)->valuedouble == *want;
}

Test(run_twins, one_of_twin_programs_counts_each_call_once)
{
	struct eu_features f;
	eu_features_init(&f);
	bool tp_btf = eu_features_has(&f, EU_FEATURE_TP_BTF);
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(TWINS, (const char *const[]){"--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	const char *err = eu_agent_stderr(a);
	if (tp_btf)
		cr_expect(strstr(err, "using sys_enter_btf (tp_btf/sys_enter) for the tracepoint "
				      "sys_enter"), "%s", err);
	else
		cr_expect(strstr(err, "using sys_enter_raw (raw_tp/sys_enter) for the tracepoint "
				      "sys_enter; not usable: sys_enter_btf (tp_btf/sys_enter)"),
			  "%s", err);
	cr_expect(strstr(err, "twins: attached 1 program"), "one of the twins: %s", err);

	/* 40 calls with 7 (slot 2: 4..7) and 3 with 100 (slot 6: 64..127) */
	for (int i = 0; i < 40; i++)
		syscall(SYS_getpgid, 7);
	for (int i = 0; i < 3; i++)
		syscall(SYS_getpgid, 100);
	long long three = 3;
	cJSON *h = eu_agent_find(a, hist_with_slot6, &three, 5000);
	cr_assert(h, "no histogram with 3 calls in slot 6; stdout:\n%s", eu_agent_stdout(a));
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(h, "slots");
	cr_expect_eq((long long)cJSON_GetArrayItem(slots, 2)->valuedouble, 40,
		     "slot 2 counted %g calls, not 40", cJSON_GetArrayItem(slots, 2)->valuedouble);
	for (int i = 0; i < cJSON_GetArraySize(slots); i++)
		if (i != 2 && i != 6)
			cr_expect_eq(cJSON_GetArrayItem(slots, i)->valuedouble, 0, "slot %d", i);
	cJSON_Delete(h);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

static char *build_object(const char *dir, const char *name, const char *src)
{
	char path[512], obj[512];
	snprintf(path, sizeof(path), "%s/%s.bpf.c", dir, name);
	snprintf(obj, sizeof(obj), "%s/%s.bpf.o", dir, name);
	cr_assert_eq(eu_write_file(path, src, strlen(src)), 0);
	char *log = NULL;
	cr_assert_eq(eu_compile_bpf(path, obj, &log), 0, "%s", log);
	free(log);
	return strdup(obj);
}

static const char missing_src[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"
	"struct event { int pid; };\n"
	"struct event *unused_event __attribute__((unused));\n"
	"struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb "
	"SEC(\".maps\");\n"
	"int seen;\n"
	"SEC(\"tp/syscalls/sys_enter_getppid\") int present(void *ctx) { seen++; return 0; }\n"
	"SEC(\"tp/no_such_category/no_such_event\") int absent_tp(void *ctx) { return 0; }\n"
	"SEC(\"fentry/eu_no_such_kernel_function\") int absent_fn(void *ctx) { return 0; }\n";

static const char only_missing_src[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"
	"SEC(\"fentry/md_flush_request_eu_absent\") int flush(void *ctx) { return 0; }\n";

Test(run_twins, programs_without_their_target_are_left_out_or_named)
{
	char *dir = eu_tmpdir("missing");
	cr_assert(dir);
	char *obj = build_object(dir, "missing", missing_src);
	struct eu_agent *a = eu_agent_start(obj, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	const char *err = eu_agent_stderr(a);
	cr_expect(strstr(err, "absent_tp (tp/no_such_category/no_such_event) left out: tracepoint "
			      "no_such_category/no_such_event does not exist on this kernel"),
		  "%s", err);
	cr_expect(strstr(err, "absent_fn (fentry/eu_no_such_kernel_function) left out: function "
			      "eu_no_such_kernel_function is not in this kernel's BTF"),
		  "%s", err);
	cr_expect(strstr(err, "attached 1 program"), "%s", err);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	free(obj);

	obj = build_object(dir, "only", only_missing_src);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", obj, "--duration", "5",
						      NULL},
				30000, &out);
	cr_expect_eq(rc, 1, "exit %d:\n%s", rc, out);
	cr_expect(strstr(out, "program flush (fentry/md_flush_request_eu_absent): function "
			      "md_flush_request_eu_absent is not in this kernel's BTF"),
		  "%s", out);
	cr_expect(!strstr(out, "ESRCH"), "%s", out);
	free(out);
	free(obj);
	eu_tmpdir_remove(dir);
	free(dir);
}

/* tests/bpf/fallback: `__altN` groups whose first members cannot run here. getppid__alt0 is
 * an fentry on a function no kernel has; openat__alt0/alt1 are an fentry and a kprobe on
 * do_sys_openat2, which exists but may be refused (fentry: EPERM where trampolines are not
 * permitted; kprobe: absent without CONFIG_KPROBES). Each passed-over program is named at the
 * default log level with its reason and its replacement, and the replacement's events come
 * through: exactly the getppid calls and the openat this test makes, from the handler the
 * agent said it used (each event carries which kind of handler sent it). */
enum { VIA_FENTRY = 1, VIA_KPROBE = 2, VIA_TRACEPOINT = 3 };

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}
#define GETPPIDS 7

Test(run_twins, alternatives_fall_back_when_a_function_is_missing_or_refused)
{
	struct eu_features f;
	eu_features_init(&f);
	bool fentry = eu_features_has(&f, EU_FEATURE_FENTRY);
	bool kprobes = eu_features_has(&f, EU_FEATURE_KPROBES);
	int open_via = fentry ? VIA_FENTRY : kprobes ? VIA_KPROBE : VIA_TRACEPOINT;
	const char *open_prog = fentry ? "openat__alt0 (fentry/do_sys_openat2)"
				: kprobes ? "openat__alt1 (kprobe/do_sys_openat2)"
					  : "openat__alt2 (tracepoint/syscalls/sys_enter_openat)";

	char *dir = eu_tmpdir("fallback");
	cr_assert(dir);
	char path[512];
	snprintf(path, sizeof(path), "%s/opened_by_test", dir);
	cr_assert_eq(eu_write_file(path, "x", 1), 0); /* before the agent: its openat is not ours */
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(FALLBACK, (const char *const[]){"--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	const char *err = eu_agent_stderr(a);
	cr_expect(strstr(err, "fallback: program getppid__alt0 (fentry/eu_no_such_function): "
			      "function eu_no_such_function is not in this kernel's BTF; using "
			      "getppid__alt1 (tracepoint/syscalls/sys_enter_getppid) instead"),
		  "%s", err);
	cr_expect(!strstr(err, "ESRCH"), "%s", err);
	char want[512];
	if (!fentry && eu_features_reason(&f, EU_FEATURE_FENTRY) == -EPERM) {
		snprintf(want, sizeof(want), "fallback: program openat__alt0 (fentry/do_sys_openat2): "
			 "fentry programs are not permitted on this kernel (EPERM); using %s instead",
			 open_prog);
		cr_expect(strstr(err, want), "\"%s\" missing from:\n%s", want, err);
	} else if (!fentry) {
		cr_expect(strstr(err, "fallback: program openat__alt0 (fentry/do_sys_openat2): fentry "
				      "programs "), "%s", err);
	}
	if (!fentry && !kprobes) {
		snprintf(want, sizeof(want), "fallback: program openat__alt1 (kprobe/do_sys_openat2): "
			 "kprobes are not available on this kernel (no kprobe PMU or kprobe_events); "
			 "using %s instead", open_prog);
		cr_expect(strstr(err, want), "\"%s\" missing from:\n%s", want, err);
	}
	/* one line per choice: the program used is named once per member passed over (its
	 * "instead" line), or in one "using X for openat" line when the first member runs */
	snprintf(want, sizeof(want), "using %s", open_prog);
	cr_expect_eq(count_of(err, want), open_via == VIA_TRACEPOINT ? 2 : 1,
		     "\"%s\" lines in:\n%s", want, err);
	if (open_via == VIA_FENTRY) {
		snprintf(want, sizeof(want), "using %s for openat", open_prog);
		cr_expect(strstr(err, want), "\"%s\" missing from:\n%s", want, err);
	}
	cr_expect_eq(count_of(err, "using getppid__alt1 (tracepoint/syscalls/sys_enter_getppid)"),
		     1, "%s", err);
	cr_expect(!strstr(err, "for getppid"), "the choice said twice:\n%s", err);
	cr_expect(strstr(err, "fallback: attached 2 programs"), "%s", err);

	for (int i = 0; i < GETPPIDS; i++)
		syscall(SYS_getppid);
	int fd = openat(AT_FDCWD, path, O_RDONLY);
	cr_assert(fd >= 0);
	close(fd);

	/* the ring buffer keeps this thread's order: every getppid event comes before the open */
	int getppids = 0, opens = 0;
	for (int i = 0; i < 1000 && !opens; i++) {
		cJSON *rec = eu_agent_next_json(a, 10000);
		cr_assert(rec, "no openat event for %s after %d getppid events; stdout:\n%s", path,
			  getppids, eu_agent_stdout(a));
		cr_expect_eq(eu_json_int(rec, "pid", -1), getpid());
		long long call = eu_json_int(rec, "call", -1), via = eu_json_int(rec, "via", -1);
		if (call == 1) {
			cr_expect_eq(via, VIA_TRACEPOINT, "getppid sent by handler kind %lld", via);
			getppids++;
		} else if (call == 2 && eu_json_str(rec, "path") &&
			   !strcmp(eu_json_str(rec, "path"), path)) {
			cr_expect_eq(via, open_via, "openat sent by handler kind %lld, not %d", via,
				     open_via);
			opens++;
		}
		cJSON_Delete(rec);
	}
	cr_expect_eq(getppids, GETPPIDS, "%d getppid events for %d calls", getppids, GETPPIDS);
	cr_expect_eq(opens, 1);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	eu_tmpdir_remove(dir);
	free(dir);
}

/* A kprobe-only package on a kernel without kprobes: the missing kind is the reason given,
 * not the function (which is missing too, so a kernel with kprobes names it instead). */
static const char kprobe_only_src[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"
	"SEC(\"kprobe/eu_no_such_function\") int probe(void *ctx) { return 0; }\n";

Test(run_twins, kprobe_without_kprobes_names_the_missing_kind)
{
	struct eu_features f;
	eu_features_init(&f);
	bool kprobes = eu_features_has(&f, EU_FEATURE_KPROBES);
	char *dir = eu_tmpdir("kponly");
	cr_assert(dir);
	char *obj = build_object(dir, "kponly", kprobe_only_src);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", obj, "--duration", "5",
						      NULL},
				30000, &out);
	cr_expect_eq(rc, 1, "exit %d:\n%s", rc, out);
	if (kprobes)
		cr_expect(strstr(out, "program probe (kprobe/eu_no_such_function): function "
				      "eu_no_such_function is not in this kernel (/proc/kallsyms)"),
			  "%s", out);
	else
		cr_expect(strstr(out, "program probe (kprobe/eu_no_such_function): kprobes are not "
				      "available on this kernel (no kprobe PMU or kprobe_events)"),
			  "%s", out);
	if (!kprobes)
		cr_expect(!strstr(out, "kallsyms"), "%s", out);
	cr_expect_null(strstr(out, EU_AGENT_ATTACHED_MARK " "), "claims to be attached:\n%s", out);
	free(out);
	free(obj);
	eu_tmpdir_remove(dir);
	free(dir);
}
