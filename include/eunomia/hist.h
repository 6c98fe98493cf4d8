/* bcc-style histograms and key/value tables for sampled maps. */
#ifndef EUNOMIA_HIST_H
#define EUNOMIA_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"

/* Appends bcc's print_log2_hist: "     usecs               : count    distribution" and one
 * line per slot from 0 up to the last non-zero one, "low -> high : count |****|", 40 stars at
 * the maximum (columns widen to 20 and the bar halves when a slot above 32 is used, as in
 * bcc). Every line ends with '\n'. Nothing is appended when all slots are zero. At most 64
 * slots are shown (slot 63 ends at 2^64-1). unit is the column title ("usecs"); NULL, "" and
 * upstream's placeholder "(unit)" leave it blank. */
void eu_hist_log2(eu_buf *out, const uint64_t *slots, size_t n, const char *unit);

/* bcc's print_linear_hist: slot i covers [base + i*step, base + (i+1)*step) and is labelled
 * by its low end; header "     usecs         : count     distribution", then only the
 * non-zero slots "        low        : count    |****|". Nothing when all are zero. */
void eu_hist_linear(eu_buf *out, const uint64_t *slots, size_t n, uint64_t base, uint64_t step,
		    const char *unit);

/* The unit a map or field name implies, as bcc's tools title their histograms: "usecs"
 * (_us, usec, micro), "nsecs" (_ns, nsec, nano), "msecs" (_ms, msec, milli), "kbytes"
 * (kbyte, _kb), "bytes" (byte, size, len as a word: len, *_len, len_*, length); NULL when the
 * name implies none. Time wins over size in one name ("size_us": usecs). */
const char *eu_hist_unit_from_name(const char *name);

#endif
