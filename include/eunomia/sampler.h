/* Sampled maps (a map's `sample {interval, type, unit, clear_map}`): consumer.c reads them on
 * a timer and delivers each entry (key, value); these functions print an entry.
 *
 * log2_hist / linear_hist: the value struct's `slots` array is the histogram; the key and the
 * value's other members print above it, one `name = value` per line (text), e.g.
 *	key = 4294967295
 *	comm = swapper/0
 *	     usecs               : count    distribution
 *	         0 -> 1          : 3        |****                                    |
 * linear_hist buckets start at the value's `base` (or `min`) member and are `step` wide
 * when those integer members exist, else 0 and 1.
 * JSON: one object per entry: {"key": K, <value members in order, slots as an array>}, e.g.
 *	{"key":4294967295,"comm":"swapper/0","slots":[0,3,...]}
 * default_kv: text `key = K  value = V` per entry; JSON {"key": K, "value": V}.
 * K and V are the scalar's value or the struct as an object.
 * Data-section variables (consumer.h) print as NAME = V / NAME[K] = V (histograms titled
 * NAME: / NAME[K]:), JSON {"name": NAME, "key": K (arrays only), "value": V or the
 * histogram's members}. */
#ifndef EUNOMIA_SAMPLER_H
#define EUNOMIA_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"

struct eu_export;

int eu_sample_format_text(const struct eu_export *exp, const void *key, size_t key_size,
			  const void *value, size_t value_size, eu_buf *out);
int eu_sample_format_json(const struct eu_export *exp, const void *key, size_t key_size,
			  const void *value, size_t value_size, eu_buf *out);

/* The histogram of a log2/linear entry: the `slots` array widened to u64. Returns the number
 * of slots (at most max), or a negative errno when the value has no integer `slots` array. */
int eu_sample_hist_slots(const struct eu_export *exp, const void *value, size_t value_size,
			 uint64_t *slots, size_t max);
/* Whether the entry is a histogram with every slot zero (`run` does not print those: array
 * maps hold one per key from the start). */
bool eu_sample_hist_empty(const struct eu_export *exp, const void *value, size_t value_size);

#endif
