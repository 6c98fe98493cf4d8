/* The kinds test program sends a struct with a member of every kind the decoder handles;
 * each decoded value is checked end to end (BTF from the package, JSON from the agent). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG EU_TESTBPF_BUILD_DIR "/kinds/package.json"

static bool mine(const cJSON *rec, void *ctx)
{
	return eu_json_int(rec, "pid", -1) == getpid();
}

static void expect_json(const cJSON *rec, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	cr_assert(v, "member %s missing", key);
	char *got = cJSON_PrintUnformatted(v);
	cr_expect_str_eq(got, want, "member %s: got %s, want %s", key, got, want);
	cJSON_free(got);
}

Test(plugin_kinds, every_member_kind_decodes)
{
	char self[16];
	snprintf(self, sizeof(self), "%d", getpid());
	struct eu_agent *a = eu_agent_start(PKG, (const char *const[]){"--target_pid", self, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	syscall(SYS_getppid);
	cJSON *rec = eu_agent_find(a, mine, NULL, 10000);
	cr_assert(rec, "no event; stderr:\n%s", eu_agent_stderr(a));

	expect_json(rec, "i8", "-8");
	expect_json(rec, "u8v", "200");
	expect_json(rec, "i16", "-16000");
	expect_json(rec, "u16v", "60000");
	expect_json(rec, "i32", "-2000000000");
	expect_json(rec, "u32v", "4000000000");
	expect_json(rec, "i128", "\"-1267650600228229401496703205376\"");
	expect_json(rec, "u128", "\"170141183460469231731687303715884105733\"");
	expect_json(rec, "flag", "true");
	expect_json(rec, "name", "\"kinds\"");
	expect_json(rec, "bytes", "[1,2,3,4]");
	expect_json(rec, "grid", "[[1,2,3],[4,5,6]]");
	expect_json(rec, "color", "\"KINDS_GREEN\"");
	expect_json(rec, "inner", "{\"a\":-7,\"tag\":\"abc\"}");
	expect_json(rec, "as_u32", "67305985");
	expect_json(rec, "as_bytes", "[1,2,3,4]");
	expect_json(rec, "ptr", "\"0xdeadbeef\"");
	expect_json(rec, "bf_a", "5");
	expect_json(rec, "bf_b", "17");
	expect_json(rec, "bf_c", "-9");
	expect_json(rec, "f32", "1.5");
	expect_json(rec, "f64", "-2.25");
	expect_json(rec, "ip4", "\"127.0.0.1\"");
	expect_json(rec, "ip6", "\"::1\"");
	expect_json(rec, "v4", "\"192.0.2.1\"");
	/* 64-bit values beyond 2^53 are exact in the text (cJSON's double would round them) */
	const char *out = eu_agent_stdout(a);
	cr_expect(strstr(out, "\"i64\":-9000000000000000000"), "i64 in %s", out);
	cr_expect(strstr(out, "\"u64v\":18000000000000000000"), "u64v in %s", out);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
