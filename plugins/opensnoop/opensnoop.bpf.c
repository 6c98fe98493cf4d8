// SPDX-License-Identifier: GPL-2.0
/// Trace open family syscalls.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "opensnoop.h"

char LICENSE[] SEC("license") = "GPL";

/* what the entry saw, keyed by thread id, until the syscall returns */
struct args_t {
	const char *fname;
	int flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct args_t);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/// Process ID to trace
const volatile int pid_target = 0;
/// Thread ID to trace
const volatile int tgid_target = 0;
/// User ID to trace
const volatile int uid_target = 0;
/// @cmdarg {"default": false, "short": "f", "long": "failed"}
/// trace only failed events
const volatile bool targ_failed = false;

static __always_inline bool trace_allowed(u32 pid, u32 tid)
{
	if (pid_target && pid_target != pid)
		return false;
	if (tgid_target && tgid_target != tid)
		return false;
	if (uid_target) {
		u32 uid = (u32)bpf_get_current_uid_gid();
		if (uid != (u32)uid_target)
			return false;
	}
	return true;
}

static __always_inline int trace_enter(const char *fname, int flags)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 pid = id >> 32, tid = (u32)id;
	if (!trace_allowed(pid, tid))
		return 0;
	struct args_t args = {.fname = fname, .flags = flags};
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

static __always_inline int trace_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct args_t *ap = bpf_map_lookup_elem(&start, &tid);
	if (!ap)
		return 0;
	int ret = ctx->ret;
	if (targ_failed && ret >= 0)
		goto cleanup;

	struct event event = {};
	event.ts = bpf_ktime_get_ns();
	event.pid = id >> 32;
	event.uid = (u32)bpf_get_current_uid_gid();
	event.ret = ret;
	event.flags = ap->flags;
	bpf_get_current_comm(&event.comm, sizeof(event.comm));
	bpf_probe_read_user_str(&event.fname, sizeof(event.fname), ap->fname);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)ctx->args[1], (int)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int tracepoint__syscalls__sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx);
}
