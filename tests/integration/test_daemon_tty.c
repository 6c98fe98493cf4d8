/* The daemon's stdout as a person and as a program see it, with the real sigsnoop plugin:
 * on a pseudo-terminal (forkpty) one readable line per event, coloured, and not coloured
 * with NO_COLOR; on a pipe JSON lines; --format json on the terminal and --format text on
 * the pipe override what the terminal decides. The test sends SIGUSR1 to a child of its own
 * and finds that signal's line by value (sender, target, signal name, comm). Root. */
#include <criterion/criterion.h>

#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_children.h"

#define SIGSNOOP_PKG EU_PLUGIN_BUILD_DIR "/sigsnoop/package.json"

struct tty_run {
	char root[64];
	char watch[96];
	struct eu_agent *a;
	const char *text; /* every line read so far (eu_agent_stdout) */
	pid_t target;     /* the child the test signals */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void setup_dirs(struct tty_run *r)
{
	memset(r, 0, sizeof(*r));
	r->text = "";
	strcpy(r->root, "/tmp/eu-tty-XXXXXX");
	cr_assert(mkdtemp(r->root));
	snprintf(r->watch, sizeof(r->watch), "%s/watch", r->root);
	cr_assert_eq(mkdir(r->watch, 0755), 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cp %s %s/sigsnoop.json && bash %s/scripts/mount-fs.sh "
		 ">/dev/null 2>&1; true", SIGSNOOP_PKG, r->watch, EU_SOURCE_DIR);
	cr_assert_eq(system(cmd), 0);
	/* the child whose signals are looked for: it ignores SIGUSR1 and waits */
	r->target = eu_child_fork();
	cr_assert_geq(r->target, 0);
	if (r->target == 0) {
		signal(SIGUSR1, SIG_IGN);
		for (int i = 0; i < 600; i++)
			sleep(1);
		_exit(0);
	}
}

/* The daemon on the watch directory, stdout on a terminal or a pipe; its log stays on
 * stderr (a pipe): the terminal gets records only. */
static void start(struct tty_run *r, bool pty, const char *no_color, const char *format)
{
	char nc[32] = "NO_COLOR";
	if (no_color)
		snprintf(nc, sizeof(nc), "NO_COLOR=%s", no_color);
	const char *env[] = {"TERM=xterm-256color", nc, NULL};
	const char *argv[8] = {EU_AGENT_BIN, "--watch", r->watch, "--api", "none"};
	int n = 5;
	if (format) {
		argv[n++] = "--format";
		argv[n++] = format;
	}
	argv[n] = NULL;
	struct eu_agent_opts o = {.pty = pty, .cols = 200, .rows = 50, .env = env};
	r->a = eu_agent_start_opts(argv, &o);
	cr_assert(r->a, "cannot start the agent");
}

static void start_on_pty(struct tty_run *r, const char *no_color, const char *format)
{
	start(r, true, no_color, format);
}

static void start_on_pipe(struct tty_run *r, const char *format)
{
	start(r, false, NULL, format);
}

static void read_some(struct tty_run *r, int ms)
{
	if (eu_agent_next_line(r->a, ms))
		while (eu_agent_next_line(r->a, 0))
			;
	r->text = eu_agent_stdout(r->a);
}

/* The output without ANSI SGR sequences and without the terminal's carriage returns. */
static char *plain(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	cr_assert(out);
	while (*s) {
		if (s[0] == '\033' && s[1] == '[') {
			s += 2;
			while (*s && *s != 'm')
				s++;
			if (*s)
				s++;
			continue;
		}
		if (*s != '\r')
			*o++ = *s;
		s++;
	}
	*o = 0;
	return out;
}

static bool matches(const char *text, const char *pattern)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0, "%s", pattern);
	bool m = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

/* Signals the target every 200 ms until the output (colour and carriage returns taken out)
 * matches pattern, at most 60 s. */
static bool signal_until(struct tty_run *r, const char *pattern)
{
	int64_t deadline = now_ms() + 60000;
	while (now_ms() < deadline) {
		kill(r->target, SIGUSR1);
		read_some(r, 200);
		char *p = plain(r->text);
		bool m = matches(p, pattern);
		free(p);
		if (m)
			return true;
	}
	return false;
}

static void finish(struct tty_run *r)
{
	if (r->a) {
		int rc = eu_agent_stop(r->a, 15000);
		cr_expect_eq(rc, 0, "the agent did not exit 0 on SIGINT: %d", rc);
		eu_agent_free(r->a);
	}
	if (r->target > 0) {
		kill(r->target, SIGKILL);
		eu_wait_pid(r->target, 5000);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->root);
	cr_expect_eq(system(cmd), 0);
}

static char *agent_log(struct tty_run *r)
{
	return strdup(eu_agent_stderr(r->a));
}

/* The line of our SIGUSR1, by value: time, padded package, sender, target, name, comm. */
static void text_pattern(char *buf, size_t n, const struct tty_run *r)
{
	snprintf(buf, n,
		 "^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} sigsnoop +pid=%d +tpid=%d +sig=SIGUSR1 "
		 "+ret=0 +comm=[^ ]+$",
		 (int)getpid(), (int)r->target);
}

Test(daemon_tty, terminal_gets_coloured_readable_lines, .timeout = 180)
{
	struct tty_run r;
	setup_dirs(&r);
	start_on_pty(&r, NULL, NULL);
	char pat[256];
	text_pattern(pat, sizeof(pat), &r);
	bool seen = signal_until(&r, pat);
	char *log = agent_log(&r);
	cr_expect(seen, "no readable sigsnoop line for our SIGUSR1 on the terminal:\n%s\nlog:\n%s",
		  r.text, log);
	/* colour: the package bold, key names cyan, the time dim */
	cr_expect(strstr(r.text, "\033[1msigsnoop\033[0m"), "%s", r.text);
	cr_expect(strstr(r.text, "\033[36msig\033[0m=SIGUSR1"), "%s", r.text);
	cr_expect(matches(r.text, "\033\\[2m[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}\033\\[0m"),
		  "%s", r.text);
	cr_expect_null(strstr(r.text, "{\"time\""), "JSON on a terminal:\n%s", r.text);
	free(log);
	finish(&r);
}

Test(daemon_tty, no_color_turns_colour_off, .timeout = 180)
{
	struct tty_run r;
	setup_dirs(&r);
	start_on_pty(&r, "1", NULL);
	char pat[256];
	text_pattern(pat, sizeof(pat), &r);
	bool seen = signal_until(&r, pat);
	char *log = agent_log(&r);
	cr_expect(seen, "no plain sigsnoop line with NO_COLOR=1:\n%s\nlog:\n%s", r.text, log);
	cr_expect_null(strchr(r.text, '\033'), "colour despite NO_COLOR:\n%s", r.text);
	free(log);
	finish(&r);
}

static void expect_json(struct tty_run *r, const char *where)
{
	char pat[256];
	snprintf(pat, sizeof(pat),
		 "^\\{\"time\":\"[^\"]+\",\"time_unix_nano\":[0-9]+,\"package\":\"sigsnoop\",.*"
		 "\"fields\":\\{\"pid\":%d,\"tpid\":%d,\"sig\":10,\"sig_name\":\"SIGUSR1\",",
		 (int)getpid(), (int)r->target);
	bool seen = signal_until(r, pat);
	char *log = agent_log(r);
	cr_expect(seen, "no JSON record of our SIGUSR1 %s:\n%s\nlog:\n%s", where, r->text, log);
	cr_expect_null(strchr(r->text, '\033'), "colour in JSON:\n%s", r->text);
	free(log);
}

Test(daemon_tty, pipe_gets_json_lines, .timeout = 180)
{
	struct tty_run r;
	setup_dirs(&r);
	start_on_pipe(&r, NULL);
	expect_json(&r, "on a pipe");
	finish(&r);
}

Test(daemon_tty, format_json_on_a_terminal, .timeout = 180)
{
	struct tty_run r;
	setup_dirs(&r);
	start_on_pty(&r, NULL, "json");
	expect_json(&r, "with --format json on a terminal");
	finish(&r);
}

Test(daemon_tty, format_text_on_a_pipe_has_no_colour, .timeout = 180)
{
	struct tty_run r;
	setup_dirs(&r);
	start_on_pipe(&r, "text");
	char pat[256];
	text_pattern(pat, sizeof(pat), &r);
	bool seen = signal_until(&r, pat);
	char *log = agent_log(&r);
	cr_expect(seen, "no text line with --format text on a pipe:\n%s\nlog:\n%s", r.text, log);
	cr_expect_null(strchr(r.text, '\033'), "colour on a pipe:\n%s", r.text);
	free(log);
	finish(&r);
}
