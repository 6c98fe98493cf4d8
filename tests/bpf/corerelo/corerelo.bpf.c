// SPDX-License-Identifier: GPL-2.0
/* Every CO-RE relocation kind the trimmer serves (kbtf_trim.h), each producing a value a test
 * can check: sends one struct corerelo_event when process target_pid calls getppid(2). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "eu_bpf.h"
#include "corerelo.h"

char LICENSE[] SEC("license") = "GPL";

/// Only getppid() calls of this process send an event (0: none)
const volatile int target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* a flavor: matched to struct task_struct by its essential name */
struct task_struct___eu {
	int tgid;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

struct task_struct___missing {
	int eu_no_kernel_has_this_field;
} __attribute__((preserve_access_index));

SEC("tracepoint/syscalls/sys_enter_getppid")
int corerelo_getppid(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!target_pid || pid != (u32)target_pid)
		return 0;
	struct corerelo_event *e = eu_ringbuf_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct___eu *flavor = (struct task_struct___eu *)task;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->flavor_tgid = BPF_CORE_READ(flavor, tgid);
	e->has_pid = bpf_core_field_exists(task->pid);
	e->has_missing =
		bpf_core_field_exists(((struct task_struct___missing *)task)->eu_no_kernel_has_this_field);
	e->pid_size = bpf_core_field_size(task->pid);
	e->task_exists = bpf_core_type_exists(struct task_struct);
	e->task_size = bpf_core_type_size(struct task_struct);
	e->tgid_enum = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	e->sid_exists = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID);
	e->mm_count = BPF_CORE_READ(task, mm, mm_count.counter);
	e->reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	bpf_core_read(&e->comm3, 1, &task->comm[3]);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
