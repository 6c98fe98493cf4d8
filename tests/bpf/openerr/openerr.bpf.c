// SPDX-License-Identifier: GPL-2.0
/* openerr: openat(2) calls of one process with their result, opensnoop-style. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "openerr.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct args_t);
} start SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_entry(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	if (targ_pid && (id >> 32) != (__u32)targ_pid)
		return 0;
	struct args_t args = {.fname = (const char *)ctx->args[1], .flags = (int)ctx->args[2]};
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct args_t *ap = bpf_map_lookup_elem(&start, &tid);
	if (!ap)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->ts = bpf_ktime_get_ns();
		e->pid = id >> 32;
		e->uid = (__u32)bpf_get_current_uid_gid();
		e->ret = (int)ctx->ret;
		e->flags = ap->flags;
		e->callers[0] = e->callers[1] = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_probe_read_user_str(e->fname, sizeof(e->fname), ap->fname);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}
