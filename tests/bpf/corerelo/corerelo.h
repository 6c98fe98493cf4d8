/* The event of corerelo.bpf.c: one value per CO-RE relocation kind, read from the calling
 * task, so a test can check each against what it knows of itself and of the kernel's BTF. */
#ifndef CORERELO_H
#define CORERELO_H

struct corerelo_event {
	int pid;             /* task->tgid (field offset) */
	int ppid;            /* task->real_parent->tgid (through a pointer) */
	int flavor_tgid;     /* the same through struct task_struct___eu (a flavor) */
	int has_pid;         /* bpf_core_field_exists(task->pid): 1 */
	int has_missing;     /* bpf_core_field_exists of a field no kernel has: 0 */
	int pid_size;        /* bpf_core_field_size(task->pid): 4 */
	int task_exists;     /* bpf_core_type_exists(struct task_struct): 1 */
	int task_size;       /* bpf_core_type_size(struct task_struct) */
	int tgid_enum;       /* bpf_core_enum_value(enum pid_type, PIDTYPE_TGID) */
	int sid_exists;      /* bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID): 1 */
	int mm_count;        /* task->mm->mm_count.counter: inside two anonymous structs, >= 1 */
	int reset_on_fork;   /* a bitfield: task->sched_reset_on_fork, 0 */
	char comm3;          /* task->comm[3]: an array index in the access path */
	char comm[16];
};

#endif
