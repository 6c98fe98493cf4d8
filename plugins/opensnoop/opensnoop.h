/* opensnoop: one event per open(2)/openat(2) that returns. */
#ifndef OPENSNOOP_H
#define OPENSNOOP_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255

struct event {
	unsigned long long ts;
	int pid;
	int uid;
	int ret;
	int flags;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

#endif
