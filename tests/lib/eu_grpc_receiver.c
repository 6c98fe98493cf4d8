#include "eu_grpc_receiver.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_children.h"
#include "eu_run_util.h"
#include "eu_test.h"

#define PYTHON "/usr/bin/python3" /* Debian's, where python3-grpcio is installed */
#define SCRIPT EU_SOURCE_DIR "/tests/lib/otlp_grpc_receiver.py"
#define START_MS 20000

struct eu_grpc_receiver {
	pid_t pid;
	uint16_t port;
	char *dir;
	char calls_path[512];
	cJSON **calls;
	size_t n_calls;
	size_t read_off; /* bytes of calls.jsonl already parsed */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct eu_grpc_receiver *eu_grpc_receiver_start(const struct eu_grpc_receiver_opts *o,
						const char **why)
{
	struct eu_grpc_receiver *r = calloc(1, sizeof(*r));
	int out[2];
	if (!r || pipe(out)) {
		free(r);
		*why = "out of memory or pipes";
		return NULL;
	}
	r->dir = eu_tmpdir("grpc-rx");
	snprintf(r->calls_path, sizeof(r->calls_path), "%s/calls.jsonl", r->dir);
	char port[16];
	snprintf(port, sizeof(port), "%u", o->port);
	const char *argv[16] = {PYTHON, SCRIPT, EU_SOURCE_DIR "/proto", r->dir, "--port", port};
	size_t n = 6;
	if (o->script) {
		argv[n++] = "--script";
		argv[n++] = o->script;
	}
	if (o->no_record)
		argv[n++] = "--no-record";
	if (o->cert) {
		argv[n++] = "--tls";
		argv[n++] = o->cert;
		argv[n++] = o->key;
	}
	r->pid = eu_child_fork(); /* dies with the test, even after a failed assertion */
	if (r->pid == 0) {
		dup2(out[1], 1);
		for (int fd = 3; fd < 256; fd++)
			close(fd);
		execv(PYTHON, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	char line[128] = {0};
	size_t len = 0;
	uint64_t until = now_ms() + START_MS;
	while (len < sizeof(line) - 1 && !strchr(line, '\n') && now_ms() < until) {
		struct pollfd p = {out[0], POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t got = read(out[0], line + len, sizeof(line) - 1 - len);
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(out[0]);
	unsigned p = 0;
	if (sscanf(line, "PORT %u", &p) != 1 || !p) {
		*why = "the gRPC receiver did not start (needs /usr/bin/python3 with python3-grpcio "
		       "and python3-protobuf, and protoc: scripts/install-deps.sh)";
		eu_grpc_receiver_stop(r);
		return NULL;
	}
	r->port = (uint16_t)p;
	return r;
}

uint16_t eu_grpc_receiver_port(const struct eu_grpc_receiver *r)
{
	return r->port;
}

/* Parses the complete lines written since the last look. */
static void refresh(struct eu_grpc_receiver *r)
{
	size_t size = 0;
	char *text = eu_test_read_file(r->calls_path, &size);
	if (!text)
		return;
	while (r->read_off < size) {
		char *nl = memchr(text + r->read_off, '\n', size - r->read_off);
		if (!nl)
			break;
		cJSON *j = cJSON_ParseWithLength(text + r->read_off, (size_t)(nl - text) - r->read_off);
		r->read_off = (size_t)(nl - text) + 1;
		if (!j)
			continue;
		cJSON **nc = realloc(r->calls, (r->n_calls + 1) * sizeof(*nc));
		if (!nc) {
			cJSON_Delete(j);
			break;
		}
		r->calls = nc;
		r->calls[r->n_calls++] = j;
	}
	free(text);
}

size_t eu_grpc_receiver_count(struct eu_grpc_receiver *r)
{
	refresh(r);
	return r->n_calls;
}

bool eu_grpc_receiver_wait(struct eu_grpc_receiver *r, size_t n, int timeout_ms)
{
	uint64_t until = now_ms() + (uint64_t)timeout_ms;
	while (eu_grpc_receiver_count(r) < n) {
		if (now_ms() >= until)
			return false;
		usleep(10000);
	}
	return true;
}

const struct cJSON *eu_grpc_receiver_call(struct eu_grpc_receiver *r, size_t i)
{
	refresh(r);
	return i < r->n_calls ? r->calls[i] : NULL;
}

void eu_grpc_receiver_stop(struct eu_grpc_receiver *r)
{
	if (!r)
		return;
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		eu_child_reaped(r->pid);
	}
	for (size_t i = 0; i < r->n_calls; i++)
		cJSON_Delete(r->calls[i]);
	free(r->calls);
	if (r->dir) {
		eu_tmpdir_remove(r->dir);
		free(r->dir);
	}
	free(r);
}
