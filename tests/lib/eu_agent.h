/* Test harness: runs `eunomia-agent run PKG --json ARGS...` as a child process and reads its
 * decoded events, so integration tests can assert real values end to end.
 *
 *	struct eu_agent *a = eu_agent_start(pkg, (const char *[]){"--pid_target", "42", NULL});
 *	cr_assert(eu_agent_wait_attached(a, 10000), "%s", eu_agent_stderr(a));
 *	... cause events ...
 *	cJSON *rec = eu_agent_find(a, my_pred, &ctx, 5000);
 *	cr_assert(rec, ...);
 *	cr_assert_eq(eu_agent_stop(a, 5000), 0);
 *	eu_agent_free(a);
 */
#ifndef EU_AGENT_H
#define EU_AGENT_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

/* The agent prints a stderr line containing this once every program is attached. */
#define EU_AGENT_ATTACHED_MARK "attached"
/* After the mark, eu_agent_wait_attached waits this long more: `run` logs the attach before
 * it opens its perf/ring buffer readers, and a perf event sent in between is lost. */
#define EU_AGENT_SETTLE_MS 250

struct eu_agent;

/* Starts EU_AGENT_BIN run pkg --json args... (args: NULL-terminated, may be NULL).
 * Returns NULL only if the process could not be started (errno set). */
struct eu_agent *eu_agent_start(const char *pkg, const char *const *args);

/* Starts EU_AGENT_BIN argv... exactly as given (no "run", no --json). */
struct eu_agent *eu_agent_start_argv(const char *const *argv);

struct eu_agent_opts {
	bool pty;                 /* stdin and stdout on a pseudo-terminal (a person's view) */
	unsigned short cols, rows; /* its size; 0: 200 x 50 */
	const char *const *env;   /* in the child only: "NAME=VALUE" sets, "NAME" unsets */
};

/* eu_agent_start_argv with options (o may be NULL). With a pty, stdout lines end in "\r". */
struct eu_agent *eu_agent_start_opts(const char *const *argv, const struct eu_agent_opts *o);

pid_t eu_agent_pid(const struct eu_agent *a);

/* Waits until stderr contains EU_AGENT_ATTACHED_MARK. False on timeout or when the agent
 * exits first (then eu_agent_stderr says why). */
bool eu_agent_wait_attached(struct eu_agent *a, int timeout_ms);

/* The next complete stdout line (without the newline), or NULL on timeout / end of output.
 * The string stays valid until the next call on a. */
const char *eu_agent_next_line(struct eu_agent *a, int timeout_ms);

/* The next stdout line that parses as a JSON object; non-JSON lines are skipped. The caller
 * frees it with cJSON_Delete. NULL on timeout / end of output. */
cJSON *eu_agent_next_json(struct eu_agent *a, int timeout_ms);

typedef bool (*eu_agent_pred)(const cJSON *rec, void *ctx);

/* The first JSON record (from now on) for which pred returns true, within timeout_ms overall.
 * Records that do not match are dropped. The caller frees the result. */
cJSON *eu_agent_find(struct eu_agent *a, eu_agent_pred pred, void *ctx, int timeout_ms);

typedef void (*eu_agent_trigger)(void *ctx);

/* Calls trigger, then looks for a matching record for up to retry_ms; repeats until one is
 * found or timeout_ms passed. For perf-buffer packages, whose events are lost (not queued)
 * until the reader is set up: the cause is repeated until its event arrives. */
cJSON *eu_agent_trigger_find(struct eu_agent *a, eu_agent_trigger trigger, void *trigger_ctx,
			     eu_agent_pred pred, void *ctx, int retry_ms, int timeout_ms);

/* Sends SIGINT and waits for the exit (SIGKILL after timeout_ms). Returns the exit code,
 * 128+signal when killed by a signal, or -1 when it had to be killed. Idempotent. */
int eu_agent_stop(struct eu_agent *a, int timeout_ms);

/* Closes the read end of the agent's stdout: its next write fails with EPIPE, as under
 * `| head`. Later stdout reads return NULL. */
void eu_agent_close_stdout(struct eu_agent *a);

/* Waits for the agent to exit by itself (no signal). Returns like eu_agent_stop, or -2 on
 * timeout (the process is left running). */
int eu_agent_wait_exit(struct eu_agent *a, int timeout_ms);

/* Everything the agent wrote to stderr so far (collected while reading). Never NULL. */
const char *eu_agent_stderr(struct eu_agent *a);
/* Every stdout line read so far, newline-separated (for assertion messages). Never NULL. */
const char *eu_agent_stdout(struct eu_agent *a);

/* Stops the agent if it still runs (SIGKILL) and frees everything. NULL is fine. */
void eu_agent_free(struct eu_agent *a);

/* Small JSON helpers for predicates and assertions. */
long long eu_json_int(const cJSON *obj, const char *key, long long dflt);
const char *eu_json_str(const cJSON *obj, const char *key); /* NULL when absent/not a string */

/* Runs argv (argv[0] is a path) to completion with a timeout, capturing stdout+stderr into a
 * malloc'd string (*output, may be NULL). Returns the exit code, 128+signal, or -1. */
int eu_run_capture(const char *const *argv, int timeout_ms, char **output);

/* Starts argv (argv[0] a path) with stdin, stdout and stderr on /dev/null; returns its pid
 * or -1. The child dies with the test process. */
pid_t eu_spawn(const char *const *argv);

/* Waits for a child: its exit code, 128+signal, or -1 on timeout (the child is killed). */
int eu_wait_pid(pid_t pid, int timeout_ms);

/* This process's comm (what BPF programs see as its task name): 0, or -errno. */
int eu_self_comm(char *out, size_t size);

#endif
