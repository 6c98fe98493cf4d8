/* pickevent: a header as real tools write it, a key struct and an args struct before the
 * event, and an event whose trailing buffer is sent only as far as it is filled. */
#ifndef __PICKEVENT_H
#define __PICKEVENT_H

#define TASK_COMM_LEN 16
#define MAX_BUF 64

struct key_t {
	__u32 pid;
	__u32 tid;
};

struct args_t {
	const char *buf;
	__u64 count;
	int fd;
};

struct event {
	__u32 pid;
	__u32 len;
	char comm[TASK_COMM_LEN];
	char buf[MAX_BUF];
};

#endif /* __PICKEVENT_H */
