// SPDX-License-Identifier: GPL-2.0
/* syscnt: counts the syscalls of one process per syscall id and sums their latency, in a
 * per-CPU hash whose value is a struct (bcc's syscount shape: raw_syscalls enter/exit, a
 * start map keyed by thread id, `const volatile` filters). User space would sum the CPUs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "syscnt.h"
#include "eu_test_bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;
const volatile bool count_failed = true;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct data_t);
} data SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!targ_pid || (id >> 32) != (__u32)targ_pid)
		return 0;
	__u32 tid = (__u32)id;
	__u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!targ_pid || (id >> 32) != (__u32)targ_pid)
		return 0;
	if (!count_failed && ctx->ret < 0)
		return 0;
	__u32 tid = (__u32)id;
	__u64 *ts = bpf_map_lookup_elem(&start, &tid);
	if (!ts)
		return 0;
	__u64 delta = bpf_ktime_get_ns() - *ts;
	bpf_map_delete_elem(&start, &tid);
	__u32 key = ctx->id;
	struct data_t zero = {}, *v = eu_map_lookup_or_init(&data, &key, &zero);
	if (!v)
		return 0;
	v->count++;
	v->total_ns += delta;
	return 0;
}
