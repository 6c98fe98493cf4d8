/* opensnoop as a wasm-bpf module: open(2)/openat(2) events from the perf event array
 * `events`, filtered by process in the module (-p PID), printed like opensnoop.
 *
 *	opensnoop.wasm [-p PID] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia-wasm.h"
#include "opensnoop.bpf.o.h"
#include "opensnoop.wasm.h"

static int target_pid;

static int handle_event(void *ctx, void *data, unsigned int size)
{
	const struct event *e = data;
	if (size < sizeof(*e) || (target_pid && e->pid != target_pid))
		return 0;
	int fd = e->ret >= 0 ? e->ret : -1;
	int err = e->ret >= 0 ? 0 : -e->ret;
	printf("%-6d %-16s %3d %3d %s\n", e->pid, e->comm, fd, err, e->fname);
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			target_pid = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [-p PID]\n", argv[0]);
			return 2;
		}
	}
	static const char *const progs[] = {"tracepoint__syscalls__sys_enter_open",
					    "tracepoint__syscalls__sys_enter_openat",
					    "tracepoint__syscalls__sys_exit_open",
					    "tracepoint__syscalls__sys_exit_openat", NULL};
	uint64_t obj = eu_bpf_open_and_attach(opensnoop_bpf_o, (int)opensnoop_bpf_o_len, progs);
	if (!obj)
		return 1;
	struct eu_bpf_buffer *pb = eu_bpf_buffer_new(obj, "events", handle_event, NULL,
						     (int)sizeof(struct event));
	if (!pb) {
		fprintf(stderr, "no perf buffer 'events'\n");
		return 1;
	}
	printf("%-6s %-16s %3s %3s %s\n", "PID", "COMM", "FD", "ERR", "PATH");
	fflush(stdout);
	int err;
	while ((err = eu_bpf_buffer_poll(pb, 100)) >= 0) {
	}
	eu_bpf_buffer_free(pb);
	wasm_close_bpf_object(obj);
	return err == -EU_EINTR ? 0 : 1;
}
