/* bsscount: per-syscall counts kept in a global array, as bcc's syscount-style tools keep
 * results that their user space reads through the skeleton. */
#ifndef __BSSCOUNT_H
#define __BSSCOUNT_H

#define MAX_SYSCALLS 512

#endif /* __BSSCOUNT_H */
