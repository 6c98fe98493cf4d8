/* The test library's view of the BPF objects a process holds (tests/lib/eu_run_util.c): a
 * process that died must read as a failure, never as one that holds nothing, or a test
 * waiting for "0 programs" after a detach would pass on a daemon that crashed. A zombie is
 * the case that matters: its /proc/PID/fdinfo still opens, empty, until it is reaped. */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eu_run_util.h"

/* Waits (bounded) until child is a zombie: exited, not yet reaped. */
static void wait_zombie(pid_t child)
{
	siginfo_t si;
	for (int i = 0; i < 500; i++) {
		si.si_pid = 0;
		/* WNOWAIT: look, but leave it unreaped */
		cr_assert_eq(waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT), 0);
		if (si.si_pid == child)
			return;
		usleep(10 * 1000);
	}
	cr_assert_fail("child %d did not exit within 5 s", (int)child);
}

Test(run_util, a_live_process_without_bpf_holds_zero)
{
	uint32_t ids[8];
	cr_assert_eq(eu_prog_ids_of(getpid(), ids, 8), 0, "%s", strerror(errno));
	cr_assert_eq(eu_link_ids_of(getpid(), ids, 8), 0, "%s", strerror(errno));
}

Test(run_util, a_zombie_is_gone_not_empty)
{
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (!child)
		_exit(0);
	wait_zombie(child);
	uint32_t ids[8];
	errno = 0;
	cr_expect_eq(eu_prog_ids_of(child, ids, 8), -1, "a zombie read as holding programs");
	cr_expect_eq(errno, ESRCH, "%s", strerror(errno));
	errno = 0;
	cr_expect_eq(eu_link_ids_of(child, ids, 8), -1, "a zombie read as holding links");
	cr_expect_eq(errno, ESRCH, "%s", strerror(errno));
	cr_assert_eq(waitpid(child, NULL, 0), child);
}

Test(run_util, a_reaped_process_is_gone_not_empty)
{
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (!child)
		_exit(0);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	uint32_t ids[8];
	errno = 0;
	cr_expect_eq(eu_prog_ids_of(child, ids, 8), -1);
	cr_expect_eq(errno, ESRCH, "%s", strerror(errno));
}
