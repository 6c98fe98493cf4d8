/* The event of libbpf-tools' opensnoop (ret: the fd or -errno), with its args struct
 * declared first as there. */
#ifndef OPENERR_H
#define OPENERR_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255

struct args_t {
	const char *fname;
	int flags;
};

struct event {
	__u64 ts;
	pid_t pid;
	uid_t uid;
	int ret;
	int flags;
	__u64 callers[2];
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

#endif
