/* opensnoop (file opens on a perf event array): open known paths from this process and check
 * the decoded events, with the pid filter and the failed-only option. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG EU_PLUGIN_BUILD_DIR "/opensnoop/package.json"

struct want {
	const char *fname;
	int other_pids;      /* records from other processes (the filter must drop them) */
	int other_fname;     /* records naming `unwanted` */
	const char *unwanted;
};

static bool match(const cJSON *rec, void *ctx)
{
	struct want *w = ctx;
	const char *f = eu_json_str(rec, "fname");
	if (eu_json_int(rec, "pid", -1) != getpid())
		w->other_pids++;
	if (w->unwanted && f && strcmp(f, w->unwanted) == 0)
		w->other_fname++;
	return f && strcmp(f, w->fname) == 0;
}

/* Opens (and closes) each path; perf-buffer events sent before the agent's reader is up are
 * lost, so the tests repeat this until their event shows. */
struct opener {
	const char *paths[2];
	int flags;
	int last_fd[2];  /* the descriptor, or -errno */
};

static void open_paths(void *ctx)
{
	struct opener *op = ctx;
	for (int i = 0; i < 2 && op->paths[i]; i++) {
		int fd = open(op->paths[i], op->flags);
		op->last_fd[i] = fd >= 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
	}
}

static char pid_arg[16];

static struct eu_agent *start(const char *extra)
{
	snprintf(pid_arg, sizeof(pid_arg), "%d", getpid());
	const char *args[] = {"--pid_target", pid_arg, extra, NULL};
	struct eu_agent *a = eu_agent_start(PKG, args);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	return a;
}

Test(plugin_opensnoop, open_of_a_known_path)
{
	char path[128];
	snprintf(path, sizeof(path), "/tmp/eu-opensnoop-%d-ok", getpid());
	int fd0 = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	cr_assert(fd0 >= 0);
	close(fd0);

	struct eu_agent *a = start(NULL);
	struct opener op = {.paths = {path}, .flags = O_RDONLY | O_CLOEXEC};
	struct want w = {.fname = path};
	cJSON *rec = eu_agent_trigger_find(a, open_paths, &op, match, &w, 500, 10000);
	cr_assert(rec, "no event for %s; stderr:\n%s", path, eu_agent_stderr(a));
	char comm[32];
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	cr_expect_eq(eu_json_int(rec, "pid", -1), getpid());
	cr_expect_eq(eu_json_int(rec, "uid", -1), (long long)getuid());
	cr_expect_eq(eu_json_int(rec, "ret", -100), op.last_fd[0],
		     "ret is the descriptor open returned");
	cr_expect_eq(eu_json_int(rec, "flags", -1), O_RDONLY | O_CLOEXEC);
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cr_expect(eu_json_int(rec, "ts", 0) > 0);
	cr_expect_eq(w.other_pids, 0, "--pid_target let %d other processes' opens through",
		     w.other_pids);
	cJSON_Delete(rec);
	unlink(path);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(plugin_opensnoop, failed_only_option)
{
	char ok[128], missing[128];
	snprintf(ok, sizeof(ok), "/tmp/eu-opensnoop-%d-exists", getpid());
	snprintf(missing, sizeof(missing), "/tmp/eu-opensnoop-%d-missing", getpid());
	int fd0 = open(ok, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	cr_assert(fd0 >= 0);
	close(fd0);
	unlink(missing);

	/* upstream's cmdarg for targ_failed: short "f", long "failed" */
	struct eu_agent *a = start("-f");
	struct opener op = {.paths = {ok, missing}, .flags = O_RDWR};
	struct want w = {.fname = missing, .unwanted = ok};
	cJSON *rec = eu_agent_trigger_find(a, open_paths, &op, match, &w, 500, 10000);
	cr_assert_geq(op.last_fd[0], 0);
	cr_assert_eq(op.last_fd[1], -ENOENT);
	cr_assert(rec, "no event for the failed open of %s; stderr:\n%s", missing,
		  eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(rec, "ret", 0), -ENOENT);
	cr_expect_eq(eu_json_int(rec, "flags", -1), O_RDWR);
	cr_expect_eq(eu_json_int(rec, "pid", -1), getpid());
	cr_expect_eq(w.other_fname, 0, "the successful open of %s was reported with -f", ok);
	cJSON_Delete(rec);
	unlink(ok);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(plugin_opensnoop, failed_long_option_name)
{
	char missing[128];
	snprintf(missing, sizeof(missing), "/tmp/eu-opensnoop-%d-missing2", getpid());
	unlink(missing);
	struct eu_agent *a = start("--failed");
	struct opener op = {.paths = {missing}, .flags = O_RDONLY};
	struct want w = {.fname = missing};
	cJSON *rec = eu_agent_trigger_find(a, open_paths, &op, match, &w, 500, 10000);
	cr_assert(rec, "no event with --failed; stderr:\n%s", eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(rec, "ret", 0), -ENOENT);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
