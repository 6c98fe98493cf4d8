/* Packages that would print nothing: one that sends records the package has no struct for
 * fails at load with the fix (tests/bpf/silent); a bpf_printk-only one (tests/bpf/minimal)
 * says where its lines go, and `run --trace-pipe` prints them itself, then stops with the
 * run. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_agent.h"

#define SILENT EU_TESTBPF_BUILD_DIR "/silent/package.json"
#define MINIMAL EU_TESTBPF_BUILD_DIR "/minimal/package.json"

Test(run_silence, no_event_struct_fails_at_load_with_the_fix)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", SILENT, "--duration", "5",
						      NULL},
				30000, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "error: silent: nothing will be printed: the programs send records "
			      "through rb, but the package names no struct for them: give ecc the "
			      "header that declares the event struct (ecc x.bpf.c x.h)"),
		  "%s", out);
	cr_expect_null(strstr(out, EU_AGENT_ATTACHED_MARK " "), "claims to run:\n%s", out);
	free(out);
}

Test(run_silence, printk_only_says_where_its_output_goes)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", MINIMAL, "--duration",
						      "0.5", NULL},
				30000, &out);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "minimal: the programs print with bpf_printk: their lines go to the "
			      "kernel's trace pipe (/sys/kernel/tracing/trace_pipe), not here; run "
			      "with --trace-pipe to print them"),
		  "%s", out);
	free(out);
}

struct want_line {
	const char *text;
};

static bool trace_line(const cJSON *rec, void *ctx)
{
	const struct want_line *w = ctx;
	const char *line = eu_json_str(rec, "trace_pipe");
	return line && strstr(line, w->text);
}

static void write_devnull(void *ctx)
{
	(void)ctx;
	int fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		cr_expect_eq(write(fd, "x", 1), 1);
		close(fd);
	}
}

Test(run_silence, trace_pipe_printed_and_stopped_with_the_run)
{
	char pid[16], want[96];
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(want, sizeof(want), "BPF triggered sys_enter_write from PID %d.", getpid());
	struct eu_agent *a = eu_agent_start(MINIMAL, (const char *const[]){"--trace-pipe",
									   "--pid_filter", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	struct want_line w = {.text = want};
	/* the trace pipe is shared: another reader may take a line, so the write is repeated */
	cJSON *rec = eu_agent_trigger_find(a, write_devnull, NULL, trace_line, &w, 500, 10000);
	cr_assert(rec, "no '%s' from the trace pipe; stdout:\n%s\nstderr:\n%s", want,
		  eu_agent_stdout(a), eu_agent_stderr(a));
	cJSON_Delete(rec);
	cr_expect_null(strstr(eu_agent_stderr(a), "not here"),
		       "--trace-pipe given, yet told to use it:\n%s", eu_agent_stderr(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}
