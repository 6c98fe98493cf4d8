/* aggcount: results kept in maps, as bcc's count and histogram tools keep them. */
#ifndef __AGGCOUNT_H
#define __AGGCOUNT_H

#define MAX_SLOTS 27
#define TASK_COMM_LEN 16

struct hist {
	__u32 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif /* __AGGCOUNT_H */
