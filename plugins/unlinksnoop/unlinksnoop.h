/* unlinksnoop: file deletions. */
#ifndef UNLINKSNOOP_H
#define UNLINKSNOOP_H

#define TASK_COMM_LEN 16
#define MAX_PATH_LEN 256

struct event {
	unsigned int pid;
	unsigned int uid;
	int dfd;
	char comm[TASK_COMM_LEN];
	char filename[MAX_PATH_LEN];
};

#endif
