// SPDX-License-Identifier: GPL-2.0
/* Sampled maps for the run tests (built with our ecc at test time): getppid(2) calls of one
 * process counted per pid in a hash map printed as a key/value table, and in a per-CPU
 * array printed as a linear histogram; both cleared after each interval. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/// Only this process's calls are counted
const volatile int target_pid = 0;

struct calls {
	__u64 count;
	__u32 last_tid;
};

struct buckets {
	__u64 slots[8];
};

/// @sample {"interval": 200, "type": "default_kv", "clear_map": true}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct calls);
} per_pid SEC(".maps");

/// @sample {"interval": 200, "type": "linear_hist", "unit": "calls", "clear_map": true}
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct buckets);
} spread SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (pid != (__u32)target_pid)
		return 0;
	struct calls zero = {}, *c = bpf_map_lookup_elem(&per_pid, &pid);
	if (!c) {
		bpf_map_update_elem(&per_pid, &pid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&per_pid, &pid);
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(&c->count, 1);
	c->last_tid = (__u32)id;
	__u32 key = 0;
	struct buckets *b = bpf_map_lookup_elem(&spread, &key);
	if (b)
		b->slots[2]++;
	return 0;
}
