/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __SIZED_H
#define __SIZED_H

struct call_stats {
	__u64 calls;
	__u64 last_arg;
};

#endif /* __SIZED_H */
