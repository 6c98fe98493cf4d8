// SPDX-License-Identifier: GPL-2.0
/* A program the verifier must reject: it dereferences a random number. The run tests compile
 * it with clang and expect the agent to fail quoting the verifier's reason
 * ("invalid mem access 'scalar'"). */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp/syscalls/sys_enter_getpid")
int bad_read(void *ctx)
{
	volatile int *p = (volatile int *)(unsigned long)bpf_get_prandom_u32();
	return *p;
}
