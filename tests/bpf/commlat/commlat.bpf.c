// SPDX-License-Identifier: GPL-2.0
/* commlat: sizes of pread64(2) and pwrite64(2) of one process as log2 histograms in a hash
 * map keyed by a struct, one histogram per direction, each carrying the process name.
 * Without a @sample comment: bcc's user space would walk the map and print each hist. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "commlat.h"
#include "eu_test_bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

static struct hist zero_hist;

static __always_inline int record(__u64 bytes, __u32 is_write)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!targ_tgid || tgid != (__u32)targ_tgid)
		return 0;
	struct hist_key key = {.tgid = tgid, .is_write = is_write};
	struct hist *h = eu_map_lookup_or_init(&hists, &key, &zero_hist);
	if (!h)
		return 0;
	if (!h->comm[0])
		bpf_get_current_comm(h->comm, sizeof(h->comm));
	__sync_fetch_and_add(&h->slots[eu_log2_slot(bytes, MAX_SLOTS)], 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pread64")
int trace_pread(struct trace_event_raw_sys_enter *ctx)
{
	return record(ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_enter_pwrite64")
int trace_pwrite(struct trace_event_raw_sys_enter *ctx)
{
	return record(ctx->args[2], 1);
}
