// SPDX-License-Identifier: GPL-2.0
/* aggcount: counts getppid(2) calls per process in a per-CPU hash map and keeps a log2
 * histogram of pwrite64(2) sizes per process, like bcc's syscount and bitesize; no
 * ring buffer and no @sample: user space is expected to print the maps. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "aggcount.h"
#include "eu_test_bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

static struct hist initial_hist;

static __always_inline bool traced(__u32 pid)
{
	return targ_pid && pid == (__u32)targ_pid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!traced(pid))
		return 0;
	__u64 zero = 0, *val = eu_map_lookup_or_init(&counts, &pid, &zero);
	if (!val)
		return 0;
	*val += 1;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pwrite64")
int size_pwrite(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!traced(pid))
		return 0;
	struct hist *h = eu_map_lookup_or_init(&hists, &pid, &initial_hist);
	if (!h)
		return 0;
	if (!h->comm[0])
		bpf_get_current_comm(h->comm, sizeof(h->comm));
	__sync_fetch_and_add(&h->slots[eu_log2_slot(ctx->args[2], MAX_SLOTS)], 1);
	return 0;
}
