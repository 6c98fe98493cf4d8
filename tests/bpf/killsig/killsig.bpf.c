// SPDX-License-Identifier: GPL-2.0
/* killsig: kill(2) calls of one process with their result, killsnoop-style: the entry keeps
 * pid and signal by thread, the exit sends them with the return value. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "killsig.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct event);
} values SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	if (targ_pid && (id >> 32) != (__u32)targ_pid)
		return 0;
	struct event e = {};
	e.pid = id >> 32;
	e.tpid = (__u32)ctx->args[0];
	e.sig = (int)ctx->args[1];
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_map_update_elem(&values, &tid, &e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&values, &tid);
	if (!e)
		return 0;
	e->ret = (int)ctx->ret;
	bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	bpf_map_delete_elem(&values, &tid);
	return 0;
}
