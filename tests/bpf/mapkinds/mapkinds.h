/* mapkinds: sampled maps of each kind the metrics turn into histograms and gauges. */
#ifndef MAPKINDS_H
#define MAPKINDS_H

#define LIN_SLOTS 8

struct lin_hist {
	unsigned int slots[LIN_SLOTS];
	char comm[16];
};

#endif
