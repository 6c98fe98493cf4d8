#include "eu_children.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 256

static pid_t children[MAX_CHILDREN];
static bool at_exit_set;

static void remember(pid_t pid)
{
	if (!at_exit_set) {
		atexit(eu_child_kill_all);
		at_exit_set = true;
	}
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		if (!children[i]) {
			children[i] = pid;
			return;
		}
	}
}

/* In the child: die with the parent, even when the parent died before the prctl. */
static void bind_to_parent(pid_t parent, bool own_group)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	if (own_group)
		setpgid(0, 0);
}

pid_t eu_child_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		bind_to_parent(parent, true);
		return 0;
	}
	if (pid > 0) {
		/* both sides set the group, so a kill right after the fork already reaches it */
		setpgid(pid, pid);
		remember(pid);
	}
	return pid;
}

pid_t eu_child_forkpty(int *master, const struct winsize *ws)
{
	pid_t parent = getpid();
	pid_t pid = forkpty(master, NULL, NULL, ws);
	if (pid == 0) {
		bind_to_parent(parent, false); /* forkpty made it a session (and group) leader */
		return 0;
	}
	if (pid > 0)
		remember(pid);
	return pid;
}

pid_t eu_child_sh(const char *cmd)
{
	pid_t pid = eu_child_fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

void eu_child_reaped(pid_t pid)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

void eu_child_kill_all(void)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		pid_t pid = children[i];
		if (!pid)
			continue;
		children[i] = 0;
		if (kill(-pid, SIGKILL) && errno == ESRCH)
			kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}
