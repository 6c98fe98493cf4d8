// SPDX-License-Identifier: GPL-2.0
/* Two exports in one object, as upstream's enable_multiple_export_types packages have: exec
 * events on a ring buffer, exit events on a perf event array. The run tests compile it with
 * clang and write its skel.json by hand (export_config by BTF type id and by custom
 * members). */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct event_exec {
	int pid;
	int tid;
	char comm[16];
};

struct event_exit {
	int pid;
	int tid;
	char comm[16];
	__u64 when_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb_exec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb_exit SEC(".maps");

/* keep both structs in the BTF (what upstream's ecc does with __dummy pointers) */
struct event_exec *__dummy1 __attribute__((unused));
struct event_exit *__dummy2 __attribute__((unused));

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	struct event_exec *e = bpf_ringbuf_reserve(&rb_exec, sizeof(*e), 0);
	if (!e)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct event_exit e = {};
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)id != id >> 32)
		return 0; /* threads: only the process's own exit */
	e.pid = id >> 32;
	e.tid = (__u32)id;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	e.when_ns = bpf_ktime_get_ns();
	bpf_perf_event_output(ctx, &pb_exit, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
