/* commlat: log2 histograms per (process, direction), as biolatency keeps them per disk and
 * flags: a struct key and a bcc `struct hist` value with a name beside the slots. */
#ifndef __COMMLAT_H
#define __COMMLAT_H

#define MAX_SLOTS 26
#define TASK_COMM_LEN 16

struct hist_key {
	__u32 tgid;
	__u32 is_write;
};

struct hist {
	__u32 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif /* __COMMLAT_H */
