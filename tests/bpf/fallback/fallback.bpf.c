// SPDX-License-Identifier: GPL-2.0
/* Alternatives that must fall back (`<base>__alt<N>`, first runnable one wins):
 *  - getppid: an fentry on a function no kernel has, then the syscall's tracepoint;
 *  - openat: an fentry on a function that exists (refused where trampolines are not
 *    permitted), a kprobe on it (absent where the kernel has no kprobes), then the tracepoint.
 * Every event says which handler sent it, so a test sees that the one the agent named ran. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "fallback.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == (__u32)targ_pid;
}

static __always_inline int send(__u32 via, __u32 call, const char *user_path)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->via = via;
	e->call = call;
	e->path[0] = '\0';
	if (user_path)
		bpf_probe_read_user_str(e->path, sizeof(e->path), user_path);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fentry/eu_no_such_function")
int BPF_PROG(getppid__alt0)
{
	return mine() ? send(VIA_FENTRY, 1, NULL) : 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid__alt1(struct trace_event_raw_sys_enter *ctx)
{
	return mine() ? send(VIA_TRACEPOINT, 1, NULL) : 0;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(openat__alt0, int dfd, const char *filename)
{
	return mine() ? send(VIA_FENTRY, 2, filename) : 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(openat__alt1, int dfd, const char *filename)
{
	return mine() ? send(VIA_KPROBE, 2, filename) : 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat__alt2(struct trace_event_raw_sys_enter *ctx)
{
	return mine() ? send(VIA_TRACEPOINT, 2, (const char *)ctx->args[1]) : 0;
}
