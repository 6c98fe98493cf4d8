// SPDX-License-Identifier: GPL-2.0
/* Known values in every member of struct event (layout.h), one event per getppid(2): the
 * test reads them back in a wasm32 module built on `ecc --wasm-header`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "layout.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int handle_getppid(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->tag = 'T';
	e->l = -1234567890123L;
	e->ptr = (void *)0x1122334455667788ULL;
	e->small = 0xab;
	e->big = 0x0102030405060708ULL;
	e->s[0] = -1;
	e->s[1] = 2;
	e->s[2] = -3;
	e->in.c = 'i';
	e->in.v = -42;
	e->ul = 0xfedcba9876543210UL;
	__builtin_memcpy(e->name, "abcd", 5);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
