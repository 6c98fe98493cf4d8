// SPDX-License-Identifier: GPL-2.0
/* perfnote: a perf_event program whose event is declared in its source with our ecc tag
 * `/// @perf_event` (here every page fault), counting one process's samples into a .bss
 * total that the agent prints without user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

__u64 faults = 0;

/// @perf_event sw:page-faults:period=1
SEC("perf_event")
int count_fault(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == (__u32)targ_pid)
		__sync_fetch_and_add(&faults, 1);
	return 0;
}
