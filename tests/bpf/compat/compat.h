/* compat: one record per probe hit, from programs written against a newer libbpf. */
#ifndef COMPAT_H
#define COMPAT_H

enum compat_kind {
	COMPAT_URETPROBE = 1, /* getpid() returned in libc: ret */
	COMPAT_KFUNC = 2,     /* getppid(2) entered: pid and ppid read through bpf_task_from_pid */
};

struct event {
	__u32 kind;
	__s32 ret;
	__s32 pid;
	__s32 ppid;
	__s32 iter_sum;      /* 0+1+...+4 counted by bpf_for: 10 */
	__u8 kfunc_exists;   /* bpf_ksym_exists(bpf_task_from_pid) */
	__u8 sym_exists;     /* bpf_ksym_exists(&schedule) */
	__u8 missing_exists; /* bpf_ksym_exists(&a symbol no kernel has) */
	__u8 variant;        /* COMPAT_VARIANT: what -D gave the compiler (0 without) */
};

#endif
