// SPDX-License-Identifier: GPL-2.0
/* Each getppid(2) of the process target_pid adds one to slot 3 of a linear histogram that
 * the sampler clears after every read (`clear_map`), and 5 to a plain key/value map (never
 * cleared): known contents for the metrics tests. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "mapkinds.h"
#include "eu_test_bpf.h"

char LICENSE[] SEC("license") = "GPL";

/// Only getppid() calls of this process count (0: none)
const volatile int target_pid = 0;

static struct lin_hist zero;

/// @sample {"interval": 500, "type": "linear_hist", "clear_map": true}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, struct lin_hist);
} lin SEC(".maps");

/// @sample {"interval": 500, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} kv SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int mapkinds_getppid(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!target_pid || pid != (u32)target_pid)
		return 0;
	u32 key = 0;
	struct lin_hist *h = eu_map_lookup_or_init(&lin, &key, &zero);
	if (!h)
		return 0;
	if (!h->comm[0])
		bpf_get_current_comm(h->comm, sizeof(h->comm));
	__sync_fetch_and_add(&h->slots[3], 1);
	u32 k = 7;
	u64 init = 0;
	u64 *v = eu_map_lookup_or_init(&kv, &k, &init);
	if (v)
		__sync_fetch_and_add(v, 5);
	return 0;
}
