/* stackcount: samples per (process, kernel stack, user stack), as bcc's profile keeps them. */
#ifndef STACKCOUNT_H
#define STACKCOUNT_H

#define TASK_COMM_LEN 16

struct key_t {
	__u32 pid;
	int user_stack_id;
	int kern_stack_id;
	char name[TASK_COMM_LEN];
};

#endif
