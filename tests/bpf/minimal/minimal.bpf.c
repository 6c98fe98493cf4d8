// SPDX-License-Identifier: GPL-2.0
/* Test counterpart of upstream's "minimal" example: a write(2) tracepoint that only prints
 * to the trace pipe, a pid_t parameter, and a string literal in .rodata.str1.1. No export:
 * the package stays attached until stopped. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile pid_t pid_filter = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;
	if (pid_filter && pid != pid_filter)
		return 0;
	bpf_printk("BPF triggered sys_enter_write from PID %d.\n", pid);
	/* a plain literal lands in .rodata.str1.1, like upstream's build of this example */
	bpf_trace_printk("minimal: write\n", sizeof("minimal: write\n"));
	return 0;
}
