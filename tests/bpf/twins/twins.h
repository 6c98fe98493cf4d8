/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __TWINS_H
#define __TWINS_H

#define MAX_SLOTS 16

struct hist {
	__u32 slots[MAX_SLOTS];
};

#endif /* __TWINS_H */
