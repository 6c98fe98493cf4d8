/* stacksnoop: one event per getppid(2) call with the stacks it was made from. */
#ifndef STACKSNOOP_H
#define STACKSNOOP_H

#define MAX_STACK_DEPTH 32

struct event {
	__u32 pid;
	__u32 tid;
	char comm[16];
	int kern_stack_id;  /* into stackmap (bpf_get_stackid) */
	int kstack_sz;      /* bytes bpf_get_stack wrote into kstack */
	int ustack_sz;
	__u64 kstack[MAX_STACK_DEPTH];
	__u64 ustack[MAX_STACK_DEPTH];
};

#endif
