/* bootstrap as a wasm-bpf module: process exec and exit events from the ring buffer `rb`,
 * printed like libbpf-bootstrap's C program. The event struct comes from
 * `ecc --wasm-header` (bootstrap.wasm.h), so this also proves that header's layout. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bootstrap.bpf.o.h"
#include "bootstrap.wasm.h"
#include "eunomia-wasm.h"

static int handle_event(void *ctx, void *data, unsigned int size)
{
	const struct event *e = data;
	if (size < sizeof(*e)) {
		fprintf(stderr, "short event: %u bytes\n", size);
		return 0;
	}
	char ts[32];
	time_t t = time(NULL);
	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
	if (e->exit_event)
		printf("%-8s %-5s %-16s %-7d %-7d [%u] (%llums)\n", ts, "EXIT", e->comm, e->pid,
		       e->ppid, e->exit_code, (unsigned long long)e->duration_ns / 1000000);
	else
		printf("%-8s %-5s %-16s %-7d %-7d %s\n", ts, "EXEC", e->comm, e->pid, e->ppid,
		       e->filename);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const progs[] = {"handle_exec", "handle_exit", NULL};
	uint64_t obj = eu_bpf_open_and_attach(bootstrap_bpf_o, (int)bootstrap_bpf_o_len, progs);
	if (!obj)
		return 1;
	struct eu_bpf_buffer *rb = eu_bpf_buffer_new(obj, "rb", handle_event, NULL, 1024);
	if (!rb) {
		fprintf(stderr, "no ring buffer 'rb'\n");
		wasm_close_bpf_object(obj);
		return 1;
	}
	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID",
	       "FILENAME/EXIT CODE");
	int err;
	while ((err = eu_bpf_buffer_poll(rb, 100)) >= 0) {
	}
	eu_bpf_buffer_free(rb);
	wasm_close_bpf_object(obj);
	if (err != -EU_EINTR) {
		fprintf(stderr, "polling the ring buffer failed: %d\n", err);
		return 1;
	}
	return 0;
}
