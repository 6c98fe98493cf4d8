/* Reads layout.bpf.c's events through the struct `ecc --wasm-header` wrote (layout.wasm.h)
 * and prints every member of the first event of the pid given as its argument, then exits. */
#include <stdio.h>
#include <stdlib.h>

#include "eunomia-wasm.h"
#include "layout.bpf.o.h"
#include "layout.wasm.h"

static int want_pid;
static int seen;

static int on_event(void *ctx, void *data, unsigned int size)
{
	const struct event *e = data;
	if (size < sizeof(*e) || e->pid != want_pid || seen)
		return 0;
	seen = 1;
	printf("pid=%d tag=%c l=%lld ptr=%llx small=%x big=%llx s=%d,%d,%d in=%c,%lld "
	       "ul=%llx name=%s size=%u\n",
	       e->pid, e->tag, (long long)e->l, (unsigned long long)e->ptr, e->small,
	       (unsigned long long)e->big, e->s[0], e->s[1], e->s[2], e->in.c,
	       (long long)e->in.v, (unsigned long long)e->ul, e->name, size);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	want_pid = atoi(argv[1]);
	static const char *const progs[] = {"handle_getppid", NULL};
	uint64_t obj = eu_bpf_open_and_attach(layout_bpf_o, (int)layout_bpf_o_len, progs);
	if (!obj)
		return 1;
	struct eu_bpf_buffer *b = eu_bpf_buffer_new(obj, "rb", on_event, NULL, sizeof(struct event));
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 200 && !seen; i++)
		if (eu_bpf_buffer_poll(b, 100) < 0)
			break;
	return seen ? 0 : 3;
}
