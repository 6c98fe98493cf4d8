/* The event of libbpf-tools' killsnoop. */
#ifndef KILLSIG_H
#define KILLSIG_H

#define TASK_COMM_LEN 16

struct event {
	__u32 pid;
	__u32 tpid;
	int sig;
	int ret;
	char comm[TASK_COMM_LEN];
};

#endif
