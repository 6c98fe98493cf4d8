/* bashreadline (uretprobe on /bin/bash:readline): type a known line into an interactive bash
 * on a pty and check the decoded line, pid and comm. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG EU_PLUGIN_BUILD_DIR "/bashreadline/package.json"
#define BASH "/bin/bash"

/* Whether bash exports readline (the uretprobe's symbol): nm -D, read from the ELF by
 * libbpf at attach time; here a plain scan of the dynamic string table suffices. */
static bool bash_has_readline(void)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){"/usr/bin/nm", "-D", BASH, NULL}, 10000,
				&out);
	bool found = rc == 0 && out && strstr(out, " T readline\n");
	free(out);
	return found;
}

/* Reads what bash wrote to the pty until `want` appears or timeout. */
static bool pty_wait_for(int fd, const char *want, int timeout_ms)
{
	char buf[8192];
	size_t len = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= timeout_ms)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, want))
			return true;
		if (len > sizeof(buf) / 2) {
			memmove(buf, buf + len - 256, 256);
			len = 256;
		}
	}
}

struct want {
	pid_t pid;
	const char *line;
};

static bool match(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	const char *line = eu_json_str(rec, "line");
	return eu_json_int(rec, "pid", -1) == w->pid && line && strcmp(line, w->line) == 0;
}

Test(plugin_bashreadline, typed_line)
{
	if (!bash_has_readline())
		cr_assert_fail("%s does not export readline (nm -D): the plugin's uretprobe needs it "
			       "(Debian's bash exports it)", BASH);
	struct eu_agent *a = eu_agent_start(PKG, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));

	int master;
	pid_t bash = forkpty(&master, NULL, NULL, NULL);
	cr_assert(bash >= 0);
	if (bash == 0) {
		setenv("PS1", "eu-prompt$ ", 1);
		setenv("TERM", "dumb", 1);
		execl(BASH, "bash", "--norc", "--noprofile", "-i", (char *)NULL);
		_exit(127);
	}
	cr_assert(pty_wait_for(master, "eu-prompt$ ", 10000), "no prompt from bash");
	char line[64], typed[80];
	snprintf(line, sizeof(line), "echo eu-readline-%d", getpid());
	snprintf(typed, sizeof(typed), "%s\n", line);
	cr_assert_eq(write(master, typed, strlen(typed)), (ssize_t)strlen(typed));
	pty_wait_for(master, "eu-prompt$ ", 5000);

	struct want w = {bash, line};
	cJSON *rec = eu_agent_find(a, match, &w, 10000);
	cr_assert(rec, "no event with line \"%s\" from bash %d; stdout:\n%s\nstderr:\n%s", line,
		  bash, eu_agent_stdout(a), eu_agent_stderr(a));
	cr_expect_str_eq(eu_json_str(rec, "comm"), "bash");
	cJSON_Delete(rec);

	cr_assert_eq(write(master, "exit\n", 5), 5);
	int st;
	for (int i = 0; i < 200 && waitpid(bash, &st, WNOHANG) == 0; i++)
		usleep(10000);
	kill(bash, SIGKILL);
	waitpid(bash, &st, 0);
	close(master);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}
