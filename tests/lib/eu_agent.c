#include "eu_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eunomia/buf.h"
#include "eu_children.h"

struct eu_agent {
	pid_t pid;
	int out_fd, err_fd;  /* -1 once at EOF */
	eu_buf out;          /* stdout bytes not yet returned as lines */
	size_t out_pos;      /* start of the unread part of out */
	eu_buf err;          /* all of stderr */
	eu_buf lines;        /* every stdout line returned so far */
	char *line;          /* the last line returned */
	bool reaped;
	int status;          /* decoded exit status once reaped */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Puts "NAME=VALUE" entries into the environment and takes "NAME" entries out. */
static void apply_env(const char *const *env)
{
	for (size_t i = 0; env && env[i]; i++) {
		if (strchr(env[i], '='))
			putenv((char *)env[i]);
		else
			unsetenv(env[i]);
	}
}

/* In the forked child: stdout to out_w (or the terminal when out_w < 0), stderr to err_w,
 * then exec. */
static void exec_child(const char *const *argv, const char *const *env, int out_w, int err_w)
{
	if (out_w >= 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(out_w, 1);
	}
	dup2(err_w, 2);
	for (int fd = 3; fd < 256; fd++)
		close(fd);
	apply_env(env);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

/* Forks argv with stdin from /dev/null, stdout to out_w and stderr to err_w (which may be
 * the same pipe). The child dies with the test process (eu_children.h). */
static pid_t spawn(const char *const *argv, int out_w, int err_w)
{
	pid_t pid = eu_child_fork();
	if (pid == 0)
		exec_child(argv, NULL, out_w, err_w);
	return pid;
}

struct eu_agent *eu_agent_start_opts(const char *const *argv, const struct eu_agent_opts *o)
{
	static const struct eu_agent_opts none;
	if (!o)
		o = &none;
	int out[2] = {-1, -1}, err[2];
	if (!o->pty && pipe2(out, O_CLOEXEC))
		return NULL;
	if (pipe2(err, O_CLOEXEC)) {
		if (!o->pty) {
			close(out[0]);
			close(out[1]);
		}
		return NULL;
	}
	struct eu_agent *a = calloc(1, sizeof(*a));
	if (!a)
		goto fail;
	eu_buf_init(&a->out);
	eu_buf_init(&a->err);
	eu_buf_init(&a->lines);
	if (o->pty) {
		struct winsize ws = {.ws_row = o->rows ? o->rows : 50,
				     .ws_col = o->cols ? o->cols : 200};
		a->pid = eu_child_forkpty(&out[0], &ws);
		if (a->pid == 0)
			exec_child(argv, o->env, -1, err[1]);
	} else {
		a->pid = eu_child_fork();
		if (a->pid == 0)
			exec_child(argv, o->env, out[1], err[1]);
	}
	if (a->pid < 0)
		goto fail;
	if (out[1] >= 0)
		close(out[1]);
	close(err[1]);
	a->out_fd = out[0];
	a->err_fd = err[0];
	fcntl(a->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(a->err_fd, F_SETFL, O_NONBLOCK);
	return a;
fail:
	free(a);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	close(err[0]);
	close(err[1]);
	return NULL;
}

struct eu_agent *eu_agent_start_argv(const char *const *argv)
{
	return eu_agent_start_opts(argv, NULL);
}

struct eu_agent *eu_agent_start(const char *pkg, const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = EU_AGENT_BIN;
	argv[n++] = "run";
	argv[n++] = pkg;
	argv[n++] = "--json";
	for (size_t i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return eu_agent_start_argv(argv);
}

pid_t eu_agent_pid(const struct eu_agent *a)
{
	return a->pid;
}

/* Reads whatever is available from fd into b; closes fd at EOF. */
static void drain_fd(int *fd, eu_buf *b)
{
	char tmp[8192];
	for (;;) {
		ssize_t n = read(*fd, tmp, sizeof(tmp));
		if (n > 0) {
			eu_buf_append(b, tmp, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(*fd);
			*fd = -1;
		}
		return;
	}
}

/* Waits up to timeout_ms for output on either pipe and collects it. False when both pipes
 * are closed (nothing more will come). */
static bool pump(struct eu_agent *a, int timeout_ms)
{
	struct pollfd p[2];
	int n = 0;
	if (a->out_fd >= 0)
		p[n++] = (struct pollfd){.fd = a->out_fd, .events = POLLIN};
	if (a->err_fd >= 0)
		p[n++] = (struct pollfd){.fd = a->err_fd, .events = POLLIN};
	if (n == 0)
		return false;
	int r = poll(p, (nfds_t)n, timeout_ms < 0 ? 0 : timeout_ms);
	if (r <= 0)
		return true;
	if (a->out_fd >= 0)
		drain_fd(&a->out_fd, &a->out);
	if (a->err_fd >= 0)
		drain_fd(&a->err_fd, &a->err);
	return true;
}

static bool try_reap(struct eu_agent *a, bool block)
{
	if (a->reaped)
		return true;
	int st;
	pid_t r = waitpid(a->pid, &st, block ? 0 : WNOHANG);
	if (r == a->pid) {
		eu_child_reaped(r);
		a->reaped = true;
		a->status = decode_status(st);
	}
	return a->reaped;
}

bool eu_agent_wait_attached(struct eu_agent *a, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		if (a->err.len && strstr(a->err.data, EU_AGENT_ATTACHED_MARK)) {
			/* the consumers (ring/perf buffer readers) start right after the attach
			 * message; events sent before a perf buffer is open are lost */
			int64_t settle = now_ms() + EU_AGENT_SETTLE_MS;
			while (now_ms() < settle && pump(a, (int)(settle - now_ms())))
				;
			return true;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		if (a->err_fd < 0 || try_reap(a, false)) {
			/* collect what is left, then one last look */
			while (pump(a, 0) && (a->out_fd >= 0 || a->err_fd >= 0) && now_ms() < deadline)
				pump(a, 10);
			return a->err.len && strstr(a->err.data, EU_AGENT_ATTACHED_MARK);
		}
		pump(a, left > 50 ? 50 : (int)left);
	}
}

const char *eu_agent_next_line(struct eu_agent *a, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		char *start = a->out.data ? a->out.data + a->out_pos : NULL;
		size_t avail = a->out.len - a->out_pos;
		char *nl = start ? memchr(start, '\n', avail) : NULL;
		size_t len = nl ? (size_t)(nl - start) : avail;
		if (nl || (a->out_fd < 0 && avail > 0)) {
			free(a->line);
			a->line = strndup(start, len);
			a->out_pos += nl ? len + 1 : len;
			if (a->out_pos == a->out.len) {
				eu_buf_reset(&a->out);
				a->out_pos = 0;
			}
			eu_buf_append(&a->lines, a->line, len);
			eu_buf_putc(&a->lines, '\n');
			return a->line;
		}
		int64_t left = deadline - now_ms();
		if (a->out_fd < 0 || left <= 0)
			return NULL;
		pump(a, left > 100 ? 100 : (int)left);
	}
}

cJSON *eu_agent_next_json(struct eu_agent *a, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		const char *line = eu_agent_next_line(a, left < 0 ? 0 : (int)left);
		if (!line)
			return NULL;
		cJSON *j = cJSON_Parse(line);
		if (j && cJSON_IsObject(j))
			return j;
		cJSON_Delete(j);
	}
}

cJSON *eu_agent_find(struct eu_agent *a, eu_agent_pred pred, void *ctx, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return NULL;
		cJSON *j = eu_agent_next_json(a, (int)left);
		if (!j)
			return NULL;
		if (pred(j, ctx))
			return j;
		cJSON_Delete(j);
	}
}

cJSON *eu_agent_trigger_find(struct eu_agent *a, eu_agent_trigger trigger, void *trigger_ctx,
			     eu_agent_pred pred, void *ctx, int retry_ms, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	while (now_ms() < deadline) {
		trigger(trigger_ctx);
		int64_t left = deadline - now_ms();
		cJSON *j = eu_agent_find(a, pred, ctx, left < retry_ms ? (int)left : retry_ms);
		if (j)
			return j;
	}
	return NULL;
}

void eu_agent_close_stdout(struct eu_agent *a)
{
	if (a->out_fd >= 0)
		close(a->out_fd);
	a->out_fd = -1;
}

int eu_agent_wait_exit(struct eu_agent *a, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	while (!try_reap(a, false)) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -2;
		if (!pump(a, left > 20 ? 20 : (int)left))
			usleep(5000);
	}
	/* the pipes may still hold the last words */
	while ((a->out_fd >= 0 || a->err_fd >= 0) && now_ms() < deadline + 1000)
		pump(a, 20);
	return a->status;
}

int eu_agent_stop(struct eu_agent *a, int timeout_ms)
{
	if (a->reaped)
		return a->status;
	kill(a->pid, SIGINT);
	int r = eu_agent_wait_exit(a, timeout_ms);
	if (r == -2) {
		kill(a->pid, SIGKILL);
		try_reap(a, true);
		return -1;
	}
	return r;
}

const char *eu_agent_stderr(struct eu_agent *a)
{
	pump(a, 0);
	return a->err.len ? a->err.data : "";
}

const char *eu_agent_stdout(struct eu_agent *a)
{
	return a->lines.len ? a->lines.data : "";
}

void eu_agent_free(struct eu_agent *a)
{
	if (!a)
		return;
	if (!a->reaped) {
		kill(a->pid, SIGKILL);
		try_reap(a, true);
	}
	if (a->out_fd >= 0)
		close(a->out_fd);
	if (a->err_fd >= 0)
		close(a->err_fd);
	eu_buf_free(&a->out);
	eu_buf_free(&a->err);
	eu_buf_free(&a->lines);
	free(a->line);
	free(a);
}

long long eu_json_int(const cJSON *obj, const char *key, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (cJSON_IsNumber(v))
		return (long long)v->valuedouble;
	if (cJSON_IsString(v) && v->valuestring[0]) {
		char *end;
		long long r = strtoll(v->valuestring, &end, 0);
		return *end ? dflt : r;
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	return dflt;
}

const char *eu_json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int eu_run_capture(const char *const *argv, int timeout_ms, char **output)
{
	int p[2];
	if (output)
		*output = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid_t pid = spawn(argv, p[1], p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	eu_buf b;
	eu_buf_init(&b);
	int fd = p[0];
	int64_t deadline = now_ms() + timeout_ms;
	while (fd >= 0 && now_ms() < deadline) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 50) > 0)
			drain_fd(&fd, &b);
	}
	if (fd >= 0) {
		close(fd);
		kill(pid, SIGKILL);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	eu_child_reaped(pid);
	eu_buf_putc(&b, '\0');
	if (output)
		*output = b.data;
	else
		eu_buf_free(&b);
	return fd >= 0 ? -1 : decode_status(st);
}

pid_t eu_spawn(const char *const *argv)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		return -1;
	pid_t pid = spawn(argv, devnull, devnull);
	close(devnull);
	return pid;
}

int eu_wait_pid(pid_t pid, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			eu_child_reaped(pid);
			return decode_status(st);
		}
		if (r < 0)
			return -1;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			eu_child_reaped(pid);
			return -1;
		}
		usleep(2000);
	}
}

int eu_self_comm(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/comm", "re");
	if (!f)
		return -errno;
	bool ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}
