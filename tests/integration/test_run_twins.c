/* Twin programs on one hook (tests/bpf/twins: tp_btf/sys_enter and raw_tp/sys_enter, as
 * libbpf-tools write them): one is loaded, the choice is reported, and the histogram they
 * count into holds each call once. Also: a program whose tracepoint or kernel function this
 * kernel lacks is left out while others remain, and named when it is the only one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eunomia/features.h"

#define TWINS EU_TESTBPF_BUILD_DIR "/twins/package.json"

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
