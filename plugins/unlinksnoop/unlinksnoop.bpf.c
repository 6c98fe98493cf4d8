// SPDX-License-Identifier: GPL-2.0
/// Trace file deletions (unlink).
///
/// Two versions of one handler: the agent keeps the first this kernel supports. The fentry
/// version sees every do_unlinkat() call (unlink(2) and unlinkat(2) alike) at trampoline
/// cost; the tracepoint version sees unlinkat(2), which rm and most tools use.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "eu_bpf.h"
#include "unlinksnoop.h"

char LICENSE[] SEC("license") = "GPL";

/// Only deletions by this process; 0 for all
const volatile int target_pid = 0;

/* rm -rf of a large tree deletes 100k+ files per second */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

static __always_inline struct event *start_event(void)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (target_pid && pid != (u32)target_pid)
		return NULL;
	struct event *e = eu_ringbuf_reserve(&events, sizeof(*e));
	if (!e)
		return NULL;
	e->pid = pid;
	e->uid = (u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	return e;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink__alt1, int dfd, struct filename *name)
{
	struct event *e = start_event();
	if (!e)
		return 0;
	e->dfd = dfd;
	const char *path = BPF_CORE_READ(name, name);
	if (bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), path) < 0)
		e->filename[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int unlink__alt2(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = start_event();
	if (!e)
		return 0;
	e->dfd = (int)ctx->args[0];
	if (bpf_probe_read_user_str(&e->filename, sizeof(e->filename),
				    (const char *)ctx->args[1]) < 0)
		e->filename[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}
