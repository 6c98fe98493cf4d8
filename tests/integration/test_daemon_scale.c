/* 20 packages at once: all attached, each one's events flowing, one loop. */
#include "daemon_fixture.h"

EU_DFIX_SUITE(F, daemon_scale, 180);

Test(daemon_scale, twenty_packages_at_start_and_hot)
{
	/* ten there at start-up, ten more copied in while running */
	for (int i = 0; i < 10; i++)
		dfix_sh("cp %s %s/boot%02d.json", BOOTSTRAP_PKG, F.watch, i);
	dfix_start(&F, NULL);
	cr_assert(strstr(eu_agent_stderr(F.a), "ready: watching 1 directory, 10 packages loaded, 0 failed"),
		  "%s", eu_agent_stderr(F.a));
	for (int i = 10; i < 20; i++)
		dfix_sh("cp %s %s/boot%02d.json", BOOTSTRAP_PKG, F.watch, i);
	cr_assert(dfix_wait_log(&F, "2 programs attached", 20, 20000), "%s", eu_agent_stderr(F.a));
	for (int i = 0; i < 20; i++) {
		char mark[64];
		snprintf(mark, sizeof(mark), "/boot%02d.json): version", i);
		cr_assert_eq(dfix_count(eu_agent_stderr(F.a), mark), 1, "%s", mark);
	}
	dfix_pump(&F, 300);
	/* one exec: one record from each of the 20 copies */
	size_t from = dfix_lines(&F);
	dfix_exec(&F);
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	int64_t deadline = dfix_now_ms() + 5000;
	size_t n = 0;
	while (n < 20 && dfix_now_ms() < deadline) {
		dfix_pump(&F, 100);
		n = dfix_count_records_in(eu_agent_stdout(F.a), &m, from, NULL, NULL);
	}
	cr_assert_eq(n, 20, "records from %zu of 20 packages", n);
	/* the state, as SIGUSR1 logs it */
	kill(eu_agent_pid(F.a), SIGUSR1);
	cr_assert(dfix_wait_log(&F, "counters: package bootstrap", 20, 5000), "%s",
		  eu_agent_stderr(F.a));
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), ": loaded, 2 attached"), 20);
	/* remove them all: each detached, the daemon stays up */
	dfix_sh("rm %s/boot*.json", F.watch);
	cr_assert(dfix_wait_log(&F, "removed: detaching", 20, 20000), "%s", eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
}
