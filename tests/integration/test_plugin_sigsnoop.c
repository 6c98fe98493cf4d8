/* sigsnoop (signals on a perf event array): send known signals to a known child and check the
 * decoded events, with the sender, signal and failed-only filters. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG EU_PLUGIN_BUILD_DIR "/sigsnoop/package.json"

static void on_signal(int sig)
{
	(void)sig;
}

/* A child that takes SIGUSR1/SIGUSR2 and keeps waiting. */
static pid_t start_child(void)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGUSR1, on_signal);
		signal(SIGUSR2, on_signal);
		for (;;)
			pause();
	}
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

struct want {
	long long tpid;
	int sig;
	int ret;
	int other_senders;
	int unwanted;  /* records that a filter should have dropped */
	long long unwanted_tpid;
};

static bool match(const cJSON *rec, void *ctx)
{
	struct want *w = ctx;
	if (eu_json_int(rec, "pid", -1) != getpid())
		w->other_senders++;
	if (w->unwanted_tpid && eu_json_int(rec, "tpid", -1) == w->unwanted_tpid)
		w->unwanted++;
	return eu_json_int(rec, "pid", -1) == getpid() && eu_json_int(rec, "tpid", -1) == w->tpid &&
	       eu_json_int(rec, "sig", -1) == w->sig && eu_json_int(rec, "ret", 1) == w->ret;
}

/* the warm-up record: the sender child's SIGUSR2 to the target */
static long long sender_pid;

static bool count_sender_usr2(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	return eu_json_int(rec, "pid", -1) == sender_pid && eu_json_int(rec, "tpid", -1) == w->tpid &&
	       eu_json_int(rec, "sig", -1) == w->sig;
}

struct sender {
	pid_t target;
	int sig;
	bool tgkill;
	pid_t also_target;  /* a second send each round, to a filter that must drop it */
	int also_sig;
};

/* perf-buffer events sent before the agent's reader is up are lost: repeated until seen */
static void send(void *ctx)
{
	struct sender *s = ctx;
	if (s->tgkill)
		syscall(SYS_tgkill, s->target, s->target, s->sig);
	else
		kill(s->target, s->sig);
	if (s->also_target)
		kill(s->also_target, s->also_sig);
}

static struct eu_agent *start(const char *const *args)
{
	struct eu_agent *a = eu_agent_start(PKG, args);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	return a;
}

Test(plugin_sigsnoop, kill_of_a_known_child)
{
	pid_t child = start_child();
	char self[16];
	snprintf(self, sizeof(self), "%d", getpid());
	struct eu_agent *a = start((const char *const[]){"--filtered_pid", self, NULL});

	struct sender s = {.target = child, .sig = SIGUSR1};
	struct want w = {.tpid = child, .sig = SIGUSR1, .ret = 0};
	cJSON *rec = eu_agent_trigger_find(a, send, &s, match, &w, 500, 10000);
	cr_assert(rec, "no event for kill(%d, SIGUSR1); stderr:\n%s", child, eu_agent_stderr(a));
	char comm[32];
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	cr_expect_str_eq(eu_json_str(rec, "comm"), comm);
	cr_expect_eq(w.other_senders, 0, "--filtered_pid let other senders through");
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	stop_child(child);
}

Test(plugin_sigsnoop, tgkill_names_the_thread)
{
	pid_t child = start_child();
	struct eu_agent *a = start(NULL);
	struct sender s = {.target = child, .sig = SIGUSR2, .tgkill = true};
	struct want w = {.tpid = child, .sig = SIGUSR2, .ret = 0};
	cJSON *rec = eu_agent_trigger_find(a, send, &s, match, &w, 500, 10000);
	cr_assert(rec, "no event for tgkill(%d, %d, SIGUSR2); stderr:\n%s", child, child,
		  eu_agent_stderr(a));
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	stop_child(child);
}

Test(plugin_sigsnoop, failed_only_and_target_signal)
{
	pid_t child = start_child();
	/* a pid that was just reaped: kill() on it fails with ESRCH */
	pid_t gone = fork();
	cr_assert(gone >= 0);
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);

	struct eu_agent *a = start((const char *const[]){"--failed_only", "--target_signal", "12",
							  NULL});
	/* each round: a failing SIGUSR2 (wanted), a successful SIGUSR2 to the child (dropped by
	 * --failed_only) */
	struct sender s = {.target = gone, .sig = SIGUSR2, .also_target = child,
			   .also_sig = SIGUSR2};
	struct want w = {.tpid = gone, .sig = SIGUSR2, .ret = -ESRCH, .unwanted_tpid = child};
	cJSON *rec = eu_agent_trigger_find(a, send, &s, match, &w, 500, 10000);
	cr_assert(rec, "no event for the failed kill(%d, SIGUSR2); stderr:\n%s", gone,
		  eu_agent_stderr(a));
	cJSON_Delete(rec);
	/* and a failing SIGUSR1 is dropped by --target_signal 12 */
	kill(gone, SIGUSR1);
	struct want w1 = {.tpid = gone, .sig = SIGUSR1, .ret = -ESRCH};
	rec = eu_agent_find(a, match, &w1, 1000);
	cr_expect_null(rec, "a SIGUSR1 event despite --target_signal 12");
	cJSON_Delete(rec);
	cr_expect_eq(w.unwanted + w1.unwanted, 0, "successful sends reported with --failed_only");
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	stop_child(child);
}

/* A child that sends one kill(target, SIGUSR2) per byte read on fd, and one SIGUSR1 on 'X'. */
static pid_t start_sender(pid_t target, int *cmd_fd)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		char c;
		while (read(p[0], &c, 1) == 1)
			kill(target, c == 'X' ? SIGUSR1 : SIGUSR2);
		_exit(0);
	}
	close(p[0]);
	*cmd_fd = p[1];
	return pid;
}

static void send_warmup(void *ctx)
{
	cr_assert_eq(write(*(int *)ctx, "w", 1), 1);
}

struct one_kill {
	long long pid, tpid;
	int seen;     /* records of the SIGUSR1 kill */
	int bad_ret;  /* of them, with ret != 0 */
};

static bool count_usr1(const cJSON *rec, void *ctx)
{
	struct one_kill *k = ctx;
	if (eu_json_int(rec, "pid", -1) == k->pid && eu_json_int(rec, "tpid", -1) == k->tpid &&
	    eu_json_int(rec, "sig", -1) == SIGUSR1) {
		k->seen++;
		k->bad_ret += eu_json_int(rec, "ret", -1) != 0;
	}
	return false; /* read everything until the time is up */
}

/* One kill() is one record: the syscall's exit reports it, and the signal_generate
 * tracepoint, which fires inside that same kill(), does not report it again. */
Test(plugin_sigsnoop, one_kill_is_one_record)
{
	pid_t target = start_child();
	int cmd;
	pid_t sender = start_sender(target, &cmd);
	char spid[16];
	snprintf(spid, sizeof(spid), "%d", sender);
	sender_pid = sender;
	struct eu_agent *a = start((const char *const[]){"--filtered_pid", spid, NULL});
	/* the perf buffer loses what comes before its reader: SIGUSR2s until one is seen */
	struct want w = {.tpid = target, .sig = SIGUSR2, .ret = 0};
	struct one_kill k = {.pid = sender, .tpid = target};
	cJSON *rec = NULL;
	for (int i = 0; i < 40 && !rec; i++) {
		send_warmup(&cmd);
		rec = eu_agent_find(a, count_sender_usr2, &w, 250);
	}
	cr_assert(rec, "no event for the sender's SIGUSR2; stderr:\n%s", eu_agent_stderr(a));
	cJSON_Delete(rec);
	cr_assert_eq(write(cmd, "X", 1), 1);
	cr_assert_null(eu_agent_find(a, count_usr1, &k, 2000));
	cr_expect_eq(k.seen, 1, "one kill(%d, SIGUSR1) by pid %d gave %d records:\n%s", target,
		     sender, k.seen, eu_agent_stdout(a));
	cr_expect_eq(k.bad_ret, 0, "%s", eu_agent_stdout(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	close(cmd);
	stop_child(sender);
	stop_child(target);
}
