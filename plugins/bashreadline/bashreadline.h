/* bashreadline: every line bash reads interactively. */
#ifndef BASHREADLINE_H
#define BASHREADLINE_H

#define TASK_COMM_LEN 16
#define MAX_LINE_SIZE 80

struct event {
	unsigned int pid;
	char comm[TASK_COMM_LEN];
	char line[MAX_LINE_SIZE];
};

#endif
