/* argsnoop: a header in execsnoop/filelife shape: an args struct, a key, then the event
 * with an enum, a bool, an unsigned-char comm and a variable-length tail. */
#ifndef __ARGSNOOP_H
#define __ARGSNOOP_H

#define TASK_COMM_LEN 16
#define MAX_PATH 128

enum op_kind {
	ARGOP_OPEN = 1,
	ARGOP_UNLINK = 2,
};

struct start_args {
	__u64 ts;
	const char *fname;
};

struct pid_key {
	__u32 tgid;
	__u32 pid;
};

struct event {
	__u32 pid;
	enum op_kind op;
	bool creat;
	__u8 comm[TASK_COMM_LEN];
	__u32 path_len;
	char path[MAX_PATH];
};

#endif /* __ARGSNOOP_H */
