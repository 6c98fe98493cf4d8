// SPDX-License-Identifier: GPL-2.0
/* bsscount: counts the system calls of one process by number into a .bss array, and all of
 * them into a .data total, like a libbpf-tools syscount whose x.c prints obj->bss->counts;
 * no map, no ring buffer, no @sample. `limit` is a .bss global the programs only read and
 * `targ_pid` a read-only parameter: neither is a result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bsscount.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

__u64 counts[MAX_SYSCALLS] = {};
__u64 total SEC(".data") = 0;
__u64 limit;

SEC("tracepoint/raw_syscalls/sys_enter")
int count_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!targ_pid || pid != (__u32)targ_pid)
		return 0;
	if (limit && total >= limit)
		return 0;
	__u64 id = ctx->id;
	if (id >= MAX_SYSCALLS)
		return 0;
	__sync_fetch_and_add(&counts[id], 1);
	__sync_fetch_and_add(&total, 1);
	return 0;
}
