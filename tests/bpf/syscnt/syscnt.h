/* syscnt: per-syscall totals as bcc's syscount keeps them. */
#ifndef __SYSCNT_H
#define __SYSCNT_H

struct data_t {
	__u64 count;
	__u64 total_ns;
};

#endif /* __SYSCNT_H */
