/* Programs written the way bcc's libbpf-tools are (tests/bpf/syscnt, commlat, argsnoop), run
 * without their user space, checked by value against the calls this process makes:
 * - syscnt: a per-CPU hash of struct values keyed by syscall id (syscount), summed;
 * - commlat: log2 histograms in a hash keyed by a struct, with a comm beside the slots;
 * - argsnoop: a perf event array carrying records cut after their path (execsnoop and
 *   filelife), a header of several structs, an enum, a bool and a `__u8 comm[16]` that
 *   must print as the process name, not as 16 numbers. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"

#define SYSCNT EU_TESTBPF_BUILD_DIR "/syscnt/package.json"
#define COMMLAT EU_TESTBPF_BUILD_DIR "/commlat/package.json"
#define ARGSNOOP EU_TESTBPF_BUILD_DIR "/argsnoop/package.json"

static bool getppid_count(const cJSON *rec, void *ctx)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
	return eu_json_int(rec, "key", -1) == SYS_getppid &&
	       eu_json_int(v, "count", -1) == *(long long *)ctx;
}

Test(run_realprogs, syscount_per_cpu_struct_values_summed)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(SYSCNT, (const char *const[]){"--interval", "0.2",
									  "--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	for (int i = 0; i < 7; i++)
		syscall(SYS_getppid);
	long long seven = 7;
	cJSON *rec = eu_agent_find(a, getppid_count, &seven, 5000);
	cr_assert(rec, "no count of 7 getppid calls; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
	cr_expect_gt(eu_json_int(v, "total_ns", 0), 0, "no time summed");
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

struct hist_want {
	int is_write;
	int slot[3], count[3];
};

static bool hist_is(const cJSON *rec, void *ctx)
{
	const struct hist_want *w = ctx;
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(rec, "key");
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(rec, "slots");
	if (eu_json_int(key, "tgid", -1) != getpid() ||
	    eu_json_int(key, "is_write", -1) != w->is_write || cJSON_GetArraySize(slots) != 26)
		return false;
	double total = 0, want = 0;
	for (int i = 0; i < 26; i++)
		total += cJSON_GetArrayItem(slots, i)->valuedouble;
	for (int i = 0; i < 3 && w->count[i]; i++) {
		want += w->count[i];
		if (cJSON_GetArrayItem(slots, w->slot[i])->valuedouble != w->count[i])
			return false;
	}
	return total == want;
}

Test(run_realprogs, histograms_per_struct_key_with_comm)
{
	char pid[16], comm[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	struct eu_agent *a = eu_agent_start(COMMLAT, (const char *const[]){"--interval", "0.2",
									   "--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	int fd = open("/dev/zero", O_RDWR);
	cr_assert_geq(fd, 0);
	static char buf[4096];
	for (int i = 0; i < 5; i++)
		cr_assert_eq(pread(fd, buf, 100, 0), 100);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pread(fd, buf, 2000, 0), 2000);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pwrite(fd, buf, 20, 0), 20);
	close(fd);

	/* 100 bytes: slot 6 (64..127); 2000: slot 10 (1024..2047); 20: slot 4 (16..31) */
	struct hist_want reads = {0, {6, 10}, {5, 3}}, writes = {1, {4}, {4}};
	cJSON *rec = eu_agent_find(a, hist_is, &reads, 5000);
	cr_assert(rec, "no read histogram 5 x slot 6 + 3 x slot 10; stdout:\n%s\nstderr:\n%s",
		  eu_agent_stdout(a), eu_agent_stderr(a));
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cJSON_Delete(rec);
	rec = eu_agent_find(a, hist_is, &writes, 5000);
	cr_assert(rec, "no write histogram 4 x slot 4; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

struct file_op {
	char path[64];
	const char *op;
	bool creat;
};

static void open_and_unlink(void *ctx)
{
	const struct file_op *f = ctx;
	int fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	if (fd >= 0)
		close(fd);
	unlinkat(AT_FDCWD, f->path, 0);
}

static bool file_event(const cJSON *rec, void *ctx)
{
	const struct file_op *f = ctx;
	const char *path = eu_json_str(rec, "path"), *op = eu_json_str(rec, "op");
	return path && op && !strcmp(path, f->path) && !strcmp(op, f->op) &&
	       eu_json_int(rec, "pid", -1) == getpid();
}

Test(run_realprogs, perf_records_cut_after_path_with_text_comm)
{
	char pid[16], comm[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	struct eu_agent *a = eu_agent_start(ARGSNOOP, (const char *const[]){"--targ_tgid", pid,
									    NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	struct file_op f = {.op = "ARGOP_OPEN", .creat = true};
	snprintf(f.path, sizeof(f.path), "/tmp/eu_argsnoop_%d", getpid());

	cJSON *rec = eu_agent_trigger_find(a, open_and_unlink, &f, file_event, &f, 500, 10000);
	cr_assert(rec, "no open of %s; stdout:\n%s\nstderr:\n%s", f.path, eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "creat")), "creat not true");
	cr_expect_eq(eu_json_int(rec, "path_len", -1), (long long)strlen(f.path) + 1);
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm, "__u8 comm[16] is not the process name");
	cJSON_Delete(rec);

	f.op = "ARGOP_UNLINK";
	rec = eu_agent_find(a, file_event, &f, 5000);
	cr_assert(rec, "no unlink of %s; stdout:\n%s", f.path, eu_agent_stdout(a));
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rec, "creat")));
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	cr_expect_eq(access(f.path, F_OK), -1, "file left behind");
	cr_expect_null(strstr(eu_agent_stderr(a), "does not fit struct"),
		       "short records taken for wrong sizes:\n%s", eu_agent_stderr(a));
	eu_agent_free(a);
}
