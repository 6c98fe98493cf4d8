/* minimal (no export, a pid_t parameter, a .rodata.str1.1 map): attaches, runs its program
 * for this process only (its bpf_printk line shows in the trace buffer), stays attached until
 * SIGINT and then exits 0. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_test.h"

#define PKG EU_TESTBPF_BUILD_DIR "/minimal/package.json"

static bool trace_has(const char *needle)
{
	static const char *const files[] = {"/sys/kernel/tracing/trace",
					    "/sys/kernel/debug/tracing/trace"};
	for (size_t i = 0; i < 2; i++) {
		char *text = eu_test_read_file(files[i], NULL);
		if (!text)
			continue;
		bool found = strstr(text, needle) != NULL;
		free(text);
		return found;
	}
	cr_assert_fail("cannot read the trace buffer (is tracefs mounted?)");
	return false;
}

Test(plugin_minimal, stays_attached_until_sigint)
{
	char self[16];
	snprintf(self, sizeof(self), "%d", getpid());
	struct eu_agent *a = eu_agent_start(PKG, (const char *const[]){"--pid_filter", self, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));

	char needle[96];
	snprintf(needle, sizeof(needle), "BPF triggered sys_enter_write from PID %d.", getpid());
	int fd = open("/dev/null", O_WRONLY);
	cr_assert(fd >= 0);
	bool seen = false;
	for (int i = 0; i < 50 && !seen; i++) {
		cr_assert_eq(write(fd, "x", 1), 1);
		usleep(20000);
		seen = trace_has(needle);
	}
	close(fd);
	cr_expect(seen, "no \"%s\" in the trace buffer", needle);

	/* nothing to export: it just stays */
	cr_expect_eq(eu_agent_wait_exit(a, 1500), -2, "exited by itself; stderr:\n%s",
		     eu_agent_stderr(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	const char *line = eu_agent_next_line(a, 0);
	cr_expect_null(line, "no exported events expected, got: %s", line);
	eu_agent_free(a);
}
