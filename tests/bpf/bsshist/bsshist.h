/* bsshist: log2 histograms kept in globals, as bcc's readahead/funclatency keep them. */
#ifndef __BSSHIST_H
#define __BSSHIST_H

#define MAX_SLOTS 26

struct hist {
	__u32 slots[MAX_SLOTS];
};

#endif /* __BSSHIST_H */
