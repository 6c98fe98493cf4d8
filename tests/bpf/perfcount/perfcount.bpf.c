// SPDX-License-Identifier: GPL-2.0
/* perfcount: counts the samples of a perf_event program per process, as a profiler that
 * wants a specific event (cache misses, page faults) would; the event and its period come
 * from the package's eu_perf_event or `run --perf-event`, never from this source. The
 * counts map is only written here: the agent prints it as a key/value table. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "eu_test_bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} samples SEC(".maps");

SEC("perf_event")
int count_sample(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (targ_pid && pid != (__u32)targ_pid)
		return 0;
	__u64 zero = 0, *val = eu_map_lookup_or_init(&samples, &pid, &zero);
	if (!val)
		return 0;
	__sync_fetch_and_add(val, 1);
	return 0;
}
