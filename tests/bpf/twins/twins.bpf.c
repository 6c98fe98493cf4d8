// SPDX-License-Identifier: GPL-2.0
/* Twin programs on one hook, the way libbpf-tools write them (hardirqs, runqlat, biolatency):
 * a tp_btf and a raw_tp version of the same handler, of which user space loads one. Here the
 * hook is sys_enter; the histogram counts getpgid(2) calls of one process by log2 of their
 * argument, so a test can cause an exact number and see it counted once. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "twins.h"
#include "eu_test_bpf.h"

/* the build machine's numbers (ecc adds its multiarch include directory) */
#include <asm/unistd.h>

const volatile pid_t targ_tgid = 0;

/// @sample {"interval": 300, "type": "log2_hist", "unit": "pid"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

static __always_inline int count(struct pt_regs *regs, long id)
{
	if (id != __NR_getpgid || (bpf_get_current_pid_tgid() >> 32) != (__u32)targ_tgid)
		return 0;
	__u64 arg = PT_REGS_PARM1_CORE_SYSCALL(regs);
	__u32 key = 0;
	static const struct hist zero;
	struct hist *h = eu_map_lookup_or_init(&hists, &key, &zero);
	if (!h)
		return 0;
	__sync_fetch_and_add(&h->slots[eu_log2_slot(arg, MAX_SLOTS)], 1);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return count(regs, id);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	return count(regs, id);
}

char LICENSE[] SEC("license") = "GPL";
