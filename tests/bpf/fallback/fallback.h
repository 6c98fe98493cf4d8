/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __FALLBACK_H
#define __FALLBACK_H

#define PATH_LEN 64

/* which handler sent the event: the test knows which one the kernel should have allowed */
enum fallback_via {
	VIA_FENTRY = 1,
	VIA_KPROBE = 2,
	VIA_TRACEPOINT = 3,
};

struct event {
	__u32 pid;
	__u32 via;
	__u32 call; /* 1 getppid, 2 openat */
	char path[PATH_LEN];
};

#endif /* __FALLBACK_H */
