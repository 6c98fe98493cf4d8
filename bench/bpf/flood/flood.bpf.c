// SPDX-License-Identifier: GPL-2.0
/* The daemon throughput bench's event source: every getppid() of target_pid emits one
 * record into a ring buffer, so a user-space loop sets the rate. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "eu_bpf.h"
#include "flood.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} rb SEC(".maps");

/* the generating process */
const volatile int target_pid = 0;

__u64 seq = 0;

SEC("tp/syscalls/sys_enter_getppid")
int handle_getppid(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;
	if (pid != target_pid)
		return 0;
	struct flood_event *e = eu_ringbuf_reserve(&rb, sizeof(*e));
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->seq = __sync_fetch_and_add(&seq, 1);
	e->pid = pid;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
