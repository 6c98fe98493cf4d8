/* Numbers with units as people write them in config files and options. */
#ifndef EUNOMIA_UNITS_H
#define EUNOMIA_UNITS_H

#include <stdint.h>

/* "123", "64K", "100M", "1G" (also "4KiB", "4MB": powers of 1024) -> bytes. -EINVAL, or
 * -ERANGE past UINT64_MAX. */
int eu_parse_size(const char *s, uint64_t *out);
/* "30", "30s", "5m", "1h", "2d" -> seconds, up to UINT32_MAX (-ERANGE). */
int eu_parse_seconds(const char *s, uint64_t *out);
/* "250", "250ms", "5s", "2m", "1h" -> milliseconds, 1 .. UINT32_MAX. -EINVAL otherwise. */
int eu_parse_millis(const char *s, uint64_t *out);

#endif
