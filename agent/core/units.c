/* Numbers with units (units.h). */
#include "units.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* An unsigned decimal (no minus sign) with an optional one-letter unit from units, worth
 * muls[i] for units[i]; with byte_suffix the unit may be followed by "i" and/or "b" (any
 * case): "4k", "4KiB", "4MB". The result must not exceed max (-ERANGE). */
static int parse_with_unit(const char *s, const char *units, const uint64_t *muls,
			   bool byte_suffix, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	if (!s || !*s || *s == '-')
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	uint64_t mul = 1;
	if (*end) {
		const char *u = strchr(units, *end);
		if (!u)
			return -EINVAL;
		mul = muls[u - units];
		end++;
		if (byte_suffix && (*end == 'i' || *end == 'I'))
			end++;
		if (byte_suffix && (*end == 'b' || *end == 'B'))
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v > max / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

int eu_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t muls[] = {1ull << 10, 1ull << 10, 1ull << 20,
					1ull << 20, 1ull << 30, 1ull << 30};
	return parse_with_unit(s, "kKmMgG", muls, true, UINT64_MAX, out);
}

int eu_parse_seconds(const char *s, uint64_t *out)
{
	static const uint64_t muls[] = {1, 60, 3600, 86400};
	return parse_with_unit(s, "smhd", muls, false, UINT32_MAX, out);
}

int eu_parse_millis(const char *s, uint64_t *out)
{
	size_t n = s ? strlen(s) : 0;
	uint64_t v = 0;
	if (!n || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	if (n > 2 && !strcmp(s + n - 2, "ms")) {
		char num[32];
		if (n - 2 >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, n - 2);
		num[n - 2] = '\0';
		if (parse_with_unit(num, "", NULL, false, UINT32_MAX, &v))
			return -EINVAL;
	} else if (s[n - 1] >= '0' && s[n - 1] <= '9') {
		if (parse_with_unit(s, "", NULL, false, UINT32_MAX, &v))
			return -EINVAL;
	} else {
		uint64_t secs;
		if (eu_parse_seconds(s, &secs) || secs > UINT32_MAX / 1000)
			return -EINVAL;
		v = secs * 1000;
	}
	if (v < 1 || v > UINT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}
