/* unlinksnoop (an fentry program with a tracepoint alternative): the runtime picks the first
 * alternative this kernel supports. Here fentry is refused, so the tracepoint version runs;
 * where fentry works, the fentry version must be chosen and see unlink(2) too. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eunomia/features.h"

#define PKG EU_PLUGIN_BUILD_DIR "/unlinksnoop/package.json"

static void make_file(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	cr_assert(fd >= 0, "cannot create %s", path);
	close(fd);
}

static bool match(const cJSON *rec, void *ctx)
{
	const char *f = eu_json_str(rec, "filename");
	return eu_json_int(rec, "pid", -1) == getpid() && f && strcmp(f, ctx) == 0;
}

static struct eu_agent *start(void)
{
	static char self[16];
	snprintf(self, sizeof(self), "%d", getpid());
	struct eu_agent *a = eu_agent_start(PKG, (const char *const[]){"--target_pid", self, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	return a;
}

Test(plugin_unlinksnoop, unlinkat_is_reported)
{
	char path[128];
	snprintf(path, sizeof(path), "/tmp/eu-unlinksnoop-%d", getpid());
	make_file(path);
	struct eu_agent *a = start();
	cr_assert_eq(unlinkat(AT_FDCWD, path, 0), 0);

	cJSON *rec = eu_agent_find(a, match, path, 10000);
	cr_assert(rec, "no event for unlinkat(%s); stderr:\n%s", path, eu_agent_stderr(a));
	char comm[32];
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	cr_expect_eq(eu_json_int(rec, "dfd", 0), AT_FDCWD);
	cr_expect_eq(eu_json_int(rec, "uid", -1), (long long)getuid());
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cJSON_Delete(rec);

	struct eu_features f;
	eu_features_init(&f);
	const char *err = eu_agent_stderr(a);
	if (!eu_features_has(&f, EU_FEATURE_FENTRY))
		cr_expect(strstr(err, "unlink__alt2"),
			  "without fentry the tracepoint alternative must be chosen:\n%s", err);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(plugin_unlinksnoop, fentry_version_sees_unlink)
{
	struct eu_features f;
	eu_features_init(&f);
	if (!eu_features_has(&f, EU_FEATURE_FENTRY))
		cr_skip_test("fentry programs are not available on this kernel (%s): the fentry "
			     "alternative cannot run here", strerror(-eu_features_reason(&f, EU_FEATURE_FENTRY)));
	char path[128];
	snprintf(path, sizeof(path), "/tmp/eu-unlinksnoop-fentry-%d", getpid());
	make_file(path);
	struct eu_agent *a = start();
	/* unlink(2), not unlinkat(2): only do_unlinkat's fentry sees both */
	cr_assert_eq(syscall(SYS_unlink, path), 0);
	cJSON *rec = eu_agent_find(a, match, path, 10000);
	cr_assert(rec, "no event for unlink(%s); stderr:\n%s", path, eu_agent_stderr(a));
	cJSON_Delete(rec);
	cr_expect(!strstr(eu_agent_stderr(a), "using unlink__alt2"),
		  "the tracepoint version was chosen although fentry works:\n%s",
		  eu_agent_stderr(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
