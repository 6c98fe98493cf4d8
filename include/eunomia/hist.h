/* bcc-style histograms and key/value tables for sampled maps. */
#ifndef EUNOMIA_HIST_H
#define EUNOMIA_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"

/* Appends bcc's print_log2_hist: "     usecs               : count    distribution" and one
 * line per slot from 0 up to the last non-zero one, "low -> high : count |****|", 40 stars at
 * the maximum. unit is the column title ("usecs", "(unit)"). */
void eu_hist_log2(eu_buf *out, const uint64_t *slots, size_t n, const char *unit);

/* Linear buckets: slot i covers [base + i*step, base + (i+1)*step). */
void eu_hist_linear(eu_buf *out, const uint64_t *slots, size_t n, uint64_t base, uint64_t step,
		    const char *unit);

#endif
