// SPDX-License-Identifier: GPL-2.0
/* pickevent: getppid(2) of the target process sends a whole struct event; pwrite64(2) sends
 * the event cut after the bytes written (offsetof(struct event, buf) + len), as variable-length
 * tools do; a pwrite64 of exactly 3 bytes sends a 3-byte record (a wrong size on purpose). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "pickevent.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct key_t);
	__type(value, struct args_t);
} start SEC(".maps");

static __always_inline bool traced(void)
{
	return targ_pid && (bpf_get_current_pid_tgid() >> 32) == (__u32)targ_pid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int handle_getppid(void *ctx)
{
	if (!traced())
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_pwrite64")
int handle_pwrite(struct trace_event_raw_sys_enter *ctx)
{
	struct event e = {};
	struct key_t key = {};
	struct args_t args = {};
	if (!traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	key.pid = id >> 32;
	key.tid = (__u32)id;
	args.fd = (int)ctx->args[0];
	args.buf = (const char *)ctx->args[1];
	args.count = ctx->args[2];
	bpf_map_update_elem(&start, &key, &args, BPF_ANY);
	if (args.count == 3) {
		bpf_ringbuf_output(&events, &e, 3, 0);
		return 0;
	}
	__u32 len = args.count > MAX_BUF ? MAX_BUF : (__u32)args.count;
	if (len == 0 || len > MAX_BUF)
		return 0;
	e.pid = key.pid;
	e.len = len;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (bpf_probe_read_user(e.buf, len, args.buf))
		return 0;
	bpf_ringbuf_output(&events, &e, __builtin_offsetof(struct event, buf) + len, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_pwrite64")
int handle_pwrite_exit(void *ctx)
{
	struct key_t key = {};
	if (!traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	key.pid = id >> 32;
	key.tid = (__u32)id;
	bpf_map_delete_elem(&start, &key);
	return 0;
}
