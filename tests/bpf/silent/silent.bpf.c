// SPDX-License-Identifier: GPL-2.0
/* silent: sends records through a ring buffer, but the struct it sends is local to the
 * source (no header, nothing global refers to it), so the package names no event struct and
 * the agent must say so instead of printing nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rb SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int handle_getppid(void *ctx)
{
	struct data_t {
		__u32 pid;
		__u32 cpu;
	} data = {};
	data.pid = bpf_get_current_pid_tgid() >> 32;
	if (targ_pid && data.pid != (__u32)targ_pid)
		return 0;
	data.cpu = bpf_get_smp_processor_id();
	bpf_ringbuf_output(&rb, &data, sizeof(data), 0);
	return 0;
}
