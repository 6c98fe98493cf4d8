/* Children of a test die with the test. A failed Criterion assertion ends the test at once,
 * skipping the code that would have stopped its receivers, agents and helper shells; a child
 * left running keeps ctest's output pipe open, and ctest then waits for its timeout. Every
 * child forked here gets SIGKILL when the test process dies (PR_SET_PDEATHSIG), leads its
 * own process group (so a shell's background jobs go with it), and is killed and reaped by
 * an atexit handler if the test did not reap it itself. */
#ifndef EU_CHILDREN_H
#define EU_CHILDREN_H

#include <sys/types.h>

struct winsize;

/* fork(): 0 in the child, its pid (or -1) in the test. */
pid_t eu_child_fork(void);
/* forkpty() with the same guarantees; *master is the terminal's master side. */
pid_t eu_child_forkpty(int *master, const struct winsize *ws);
/* Runs `/bin/sh -c cmd` in the background, stdin on /dev/null, output inherited; its whole
 * process group is killed when the test ends. Returns the shell's pid or -1. */
pid_t eu_child_sh(const char *cmd);
/* The test reaped pid itself: forget it. */
void eu_child_reaped(pid_t pid);
/* Kills every child's process group still known and reaps it (also run at exit). */
void eu_child_kill_all(void);

#endif
