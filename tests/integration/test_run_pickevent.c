/* Choosing the exported struct and decoding variable-length records (tests/bpf/pickevent):
 * the package's export_types are put in header order (key_t, args_t, event), as upstream's
 * ecc writes them, and the agent must still decode with struct event because that is what the
 * programs send; records cut after their filled buffer decode exactly; a record of a wrong
 * size is reported once. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eu_test.h"

#define PICKEVENT EU_TESTBPF_BUILD_DIR "/pickevent/package.json"

static char *dir;
static char pkg[512];

/* The package with export_types[0] moved to the end: key_t first, as in the header. */
static void header_order(void)
{
	dir = eu_tmpdir("pickevent");
	cr_assert(dir);
	char *text = eu_test_read_file(PICKEVENT, NULL);
	cr_assert(text, "cannot read %s", PICKEVENT);
	cJSON *root = cJSON_Parse(text);
	free(text);
	cr_assert(root);
	cJSON *types = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(root, "meta"), "export_types");
	cr_assert_eq(cJSON_GetArraySize(types), 3, "key_t, args_t and event are exported");
	while (strcmp(eu_json_str(cJSON_GetArrayItem(types, 0), "name"), "key_t") != 0)
		cJSON_AddItemToArray(types, cJSON_DetachItemFromArray(types, 0));
	char *out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	snprintf(pkg, sizeof(pkg), "%s/package.json", dir);
	cr_assert_eq(eu_write_file(pkg, out, strlen(out)), 0);
	free(out);
}

static void cleanup(void)
{
	eu_tmpdir_remove(dir);
	free(dir);
}

TestSuite(run_pickevent, .init = header_order, .fini = cleanup);

static bool has_len(const cJSON *rec, void *ctx)
{
	return eu_json_int(rec, "len", -1) == *(long long *)ctx;
}

static void pwrite_bytes(const char *data, size_t n)
{
	int fd = open("/dev/null", O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(syscall(SYS_pwrite64, fd, data, n, 0), (long)n);
	close(fd);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(run_pickevent, event_chosen_and_variable_tails_decoded)
{
	char pid[16], comm[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	struct eu_agent *a = eu_agent_start(pkg, (const char *const[]){"-v", "--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	cr_expect(strstr(eu_agent_stderr(a), "exported struct event: its size (88 bytes) is what "
					     "bpf_ringbuf_reserve in handle_getppid sends"),
		  "the choice and its reason are not logged:\n%s", eu_agent_stderr(a));

	/* a whole event */
	syscall(SYS_getppid);
	long long zero = 0;
	cJSON *rec = eu_agent_find(a, has_len, &zero, 5000);
	cr_assert(rec, "no getppid event; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(rec, "pid", -1), getpid());
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cr_expect_str_eq(eu_json_str(rec, "buf"), "");
	cr_expect_null(cJSON_GetObjectItemCaseSensitive(rec, "fname"), "decoded as another struct");
	cJSON_Delete(rec);

	/* offsetof(struct event, buf) + 13 bytes: no NUL sent, nothing after the 13 bytes */
	pwrite_bytes("hello-eunomia", 13);
	long long thirteen = 13;
	rec = eu_agent_find(a, has_len, &thirteen, 5000);
	cr_assert(rec, "no 13-byte write event; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cr_expect_str_eq(eu_json_str(rec, "buf"), "hello-eunomia");
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cJSON_Delete(rec);

	/* a write longer than the buffer: the program caps it at 64 */
	char big[100];
	memset(big, 'A', sizeof(big));
	pwrite_bytes(big, sizeof(big));
	long long cap = 64;
	rec = eu_agent_find(a, has_len, &cap, 5000);
	cr_assert(rec, "no capped write event; stdout:\n%s", eu_agent_stdout(a));
	const char *buf = eu_json_str(rec, "buf");
	cr_assert(buf);
	cr_expect_eq(strlen(buf), 64);
	cr_expect_eq(strspn(buf, "A"), 64);
	cJSON_Delete(rec);

	/* two 3-byte records: shorter than where buf starts, counted, reported once */
	pwrite_bytes("abc", 3);
	pwrite_bytes("xyz", 3);
	pwrite_bytes("after", 5);
	long long five = 5;
	rec = eu_agent_find(a, has_len, &five, 5000);
	cr_assert(rec, "no event after the short ones; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_str_eq(eu_json_str(rec, "buf"), "after");
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	const char *err = eu_agent_stderr(a);
	cr_expect_eq(count_of(err, "a record of 3 bytes does not fit struct event (88 bytes, or "
				   "24..88 with its trailing array cut): not decoded"),
		     1, "the wrong size is not reported exactly once:\n%s", err);
	cr_expect(strstr(err, "decode errors 2"), "the two short records are not counted:\n%s", err);
	eu_agent_free(a);
}

Test(run_pickevent, export_type_option)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", pkg, "--export-type",
						      "nosuch", "--duration", "1", NULL},
				30000, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "--export-type nosuch: the package exports no struct of that name "
			      "(it has: key_t, args_t, event)"),
		  "%s", out);
	free(out);

	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(pkg, (const char *const[]){"--export-type", "struct event",
								       "--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	pwrite_bytes("forced", 6);
	long long six = 6;
	cJSON *rec = eu_agent_find(a, has_len, &six, 5000);
	cr_assert(rec, "no event; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_str_eq(eu_json_str(rec, "buf"), "forced");
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
