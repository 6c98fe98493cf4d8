// SPDX-License-Identifier: GPL-2.0
/* Maps whose sizes libbpf-tools leave to user space (offcputime, profile, execsnoop style):
 * a stack-trace map with neither value size nor max_entries, hash maps with max_entries 0,
 * and an array whose size only the user can know. getpgid(2) calls of one process are
 * counted per pid, and their kernel stacks stored. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "sized.h"
#include "eu_test_bpf.h"

const volatile pid_t targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
} stackmap SEC(".maps");

/// @sample {"interval": 300, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, pid_t);
	__type(value, struct call_stats);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
} stack_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
} per_slot SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int handle_getpgid(struct trace_event_raw_sys_enter *ctx)
{
	pid_t tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid != targ_tgid)
		return 0;
	struct call_stats zero = {}, *s = eu_map_lookup_or_init(&calls, &tgid, &zero);
	if (!s)
		return 0;
	__sync_fetch_and_add(&s->calls, 1);
	s->last_arg = ctx->args[0];
	long id = bpf_get_stackid(ctx, &stackmap, 0);
	if (id >= 0) {
		__u32 key = (__u32)id;
		__u64 one = 1;
		bpf_map_update_elem(&stack_seen, &key, &one, BPF_ANY);
	}
	__u32 slot = 0;
	__u64 *v = bpf_map_lookup_elem(&per_slot, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
