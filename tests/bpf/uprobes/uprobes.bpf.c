// SPDX-License-Identifier: GPL-2.0
/* User-space probes whose targets the user space of libbpf-tools decides (funclatency,
 * bashreadline, usdt-based tools): a uprobe with no target at all, a uprobe on a bare libc
 * function, a uretprobe on a bare function that lives in bash, and a USDT probe with no
 * target. Calls of one process are counted by argument. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "eu_test_bpf.h"

const volatile pid_t targ_tgid = 0;

/// @sample {"interval": 300, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);  /* 1000 * probe + argument */
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int count(__u32 probe, long arg)
{
	if ((bpf_get_current_pid_tgid() >> 32) != (__u32)targ_tgid)
		return 0;
	__u32 key = probe * 1000 + (__u32)(arg & 0x3ff);
	/* created at 0 and then added to, on every path: a first call that lost the race to
	 * create the element still counts (an insert of 1 would be refused with EEXIST) */
	__u64 zero = 0, *v = eu_map_lookup_or_init(&hits, &key, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(any_function, long x)
{
	return count(1, x);
}

SEC("uprobe/getpgid")
int BPF_KPROBE(libc_getpgid, long pid)
{
	return count(2, pid);
}

SEC("uretprobe/readline")
int BPF_KRETPROBE(bash_readline, void *line)
{
	return count(3, 0);
}

SEC("usdt")
int BPF_USDT(usdt_tick, long x)
{
	return count(4, x);
}

char LICENSE[] SEC("license") = "GPL";
