/* runqlat: run-queue latency histograms, one per key (all, process, thread or pid
 * namespace). */
#ifndef RUNQLAT_H
#define RUNQLAT_H

#define TASK_COMM_LEN 16
#define MAX_SLOTS 26

struct hist {
	__u32 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif
