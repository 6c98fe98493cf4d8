// SPDX-License-Identifier: GPL-2.0
/* A tiny bootstrap-like BPF object for the package reader's tests: a ring buffer exporting
 * struct event (7 members), a hash map, a .rodata parameter and an ecc-style dummy pointer
 * that keeps struct event in the BTF. event.bpf.o beside it is committed; regenerate with:
 *
 *   clang -g -O2 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c event.bpf.c -o event.bpf.o
 *   llvm-strip -g event.bpf.o
 *
 * (-g makes the .BTF section; strip -g then drops only the DWARF.) If it changes, update the
 * BTF type ids the tests expect (bpftool btf dump file event.bpf.o). */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
	int pid;
	int ppid;
	unsigned int exit_code;
	unsigned long long duration_ns;
	char comm[16];
	char filename[127];
	unsigned char exit_event;
};

struct pair {
	int key;
	long value;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, int);
	__type(value, unsigned long long);
} exec_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

const volatile unsigned long long min_duration_ns = 0;
struct event *__eunomia_dummy_event_ptr __attribute__((unused));
struct pair *__eunomia_dummy_pair_ptr __attribute__((unused));

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;
	unsigned long long ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);
	if (min_duration_ns)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->exit_event = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
