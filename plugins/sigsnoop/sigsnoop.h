/* sigsnoop: signals sent with kill(2), tkill(2), tgkill(2), and every signal the kernel
 * generates. */
#ifndef SIGSNOOP_H
#define SIGSNOOP_H

#define TASK_COMM_LEN 16

struct event {
	unsigned int pid;
	unsigned int tpid;
	int sig;
	int ret;
	char comm[TASK_COMM_LEN];
};

#endif
