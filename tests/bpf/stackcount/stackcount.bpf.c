// SPDX-License-Identifier: GPL-2.0
/* A CPU profiler in libbpf-tools' profile style: a perf_event program counts samples per
 * {pid, user stack id, kernel stack id, comm} in a hash map, the stacks kept in a stack-trace
 * map whose value size (the depth) user space would set. Nothing here says how to print it:
 * the agent prints the counts as folded stacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "stackcount.h"
#include "eu_test_bpf.h"

const volatile pid_t targ_pid = -1;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__type(key, __u32);
} stackmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key_t);
	__type(value, __u64);
	__uint(max_entries, 10240);
} counts SEC(".maps");

SEC("perf_event")
int do_perf_event(struct bpf_perf_event_data *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (targ_pid != -1 && pid != (__u32)targ_pid)
		return 0;
	struct key_t key = {.pid = pid};
	bpf_get_current_comm(&key.name, sizeof(key.name));
	key.kern_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, 0);
	key.user_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, BPF_F_USER_STACK);
	static const __u64 zero;
	__u64 *count = eu_map_lookup_or_init(&counts, &key, &zero);
	if (!count)
		return 0;
	__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
