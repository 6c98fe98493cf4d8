// SPDX-License-Identifier: GPL-2.0
/* argsnoop: openat(2) and unlinkat(2) of one process, sent through a perf event array with
 * only the bytes of the path that were read (offsetof(struct event, path) + len), the way
 * execsnoop and filelife cut their records. The path comes from ctx->args[1] of the
 * syscall tracepoint, read with bpf_probe_read_user_str. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "argsnoop.h"

char LICENSE[] SEC("license") = "GPL";

#define O_CREAT_FLAG 0100

const volatile pid_t targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} heap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

static __always_inline int emit(struct trace_event_raw_sys_enter *ctx, enum op_kind op,
				bool creat)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!targ_tgid || (id >> 32) != (__u32)targ_tgid)
		return 0;
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->pid = id >> 32;
	e->op = op;
	e->creat = creat;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	long len = bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)ctx->args[1]);
	if (len < 0)
		len = 0;
	e->path_len = len;
	__u64 size = __builtin_offsetof(struct event, path) + (len & (MAX_PATH - 1));
	if (size > sizeof(*e))
		size = sizeof(*e);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, size);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct trace_event_raw_sys_enter *ctx)
{
	return emit(ctx, ARGOP_OPEN, (ctx->args[2] & O_CREAT_FLAG) != 0);
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int trace_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return emit(ctx, ARGOP_UNLINK, false);
}
