// SPDX-License-Identifier: GPL-2.0
/* bsshist: a latency tool keeping its results in .bss, like libbpf-tools' readahead and
 * funclatency: nanosleep(2) latency of one process in microseconds into a `struct hist`
 * global, the sizes of its pwrite64(2) calls into a bare `__u32 size_hist[]` array, and the
 * sizes per file descriptor (0..7) into `struct hist fd_hists[8]`. User space would print
 * them; there is no map to sample but the programs' own start-time map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bsshist.h"
#include "eu_test_bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct hist sleep_us = {};
__u32 size_hist[MAX_SLOTS] = {};
struct hist fd_hists[8] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

static __always_inline bool traced(void)
{
	return targ_pid && (bpf_get_current_pid_tgid() >> 32) == (__u32)targ_pid;
}

SEC("tracepoint/syscalls/sys_enter_nanosleep")
int sleep_enter(void *ctx)
{
	if (!traced())
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_nanosleep")
int sleep_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	__u64 delta = (bpf_ktime_get_ns() - *tsp) / 1000;
	bpf_map_delete_elem(&start, &tid);
	__sync_fetch_and_add(&sleep_us.slots[eu_log2_slot(delta, MAX_SLOTS)], 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pwrite64")
int size_pwrite(struct trace_event_raw_sys_enter *ctx)
{
	if (!traced())
		return 0;
	__u32 slot = eu_log2_slot(ctx->args[2], MAX_SLOTS);
	__sync_fetch_and_add(&size_hist[slot], 1);
	__u64 fd = ctx->args[0];
	if (fd < 8)
		__sync_fetch_and_add(&fd_hists[fd].slots[slot], 1);
	return 0;
}
