/* bcc libbpf-tools' histogram layouts (print_log2_hist / print_linear_hist), byte for byte,
 * with 64-bit counts. Not a hot path: one call per map per interval. */
#include "eunomia/hist.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#define STARS_MAX 40

/* The column title: upstream's "(unit)" is the placeholder its package.json holds when
 * nobody named a unit, so it titles nothing, like a missing one (bcc's tools always know
 * theirs). */
static const char *title_of(const char *unit)
{
	return unit && strcmp(unit, "(unit)") ? unit : "";
}

static void put_stars(eu_buf *out, uint64_t val, uint64_t val_max, int width)
{
	uint64_t v = val < val_max ? val : val_max;
	/* 128-bit product: counts near 2^64 must not wrap */
	int stars = val_max ? (int)((unsigned __int128)v * (unsigned)width / val_max) : 0;
	char line[STARS_MAX + 2];
	int n = 0;
	for (int i = 0; i < stars; i++)
		line[n++] = '*';
	for (int i = stars; i < width; i++)
		line[n++] = ' ';
	if (val > val_max)
		line[n++] = '+';
	eu_buf_append(out, line, (size_t)n);
}

void eu_hist_log2(eu_buf *out, const uint64_t *slots, size_t n, const char *unit)
{
	/* slot 63 already ends at UINT64_MAX; anything past it has no range */
	if (n > 64)
		n = 64;
	int idx_max = -1;
	uint64_t val_max = 0;
	for (size_t i = 0; i < n; i++) {
		if (slots[i] > 0)
			idx_max = (int)i;
		if (slots[i] > val_max)
			val_max = slots[i];
	}
	if (idx_max < 0)
		return;
	bool narrow = idx_max <= 32;
	eu_buf_printf(out, "%*s%-*s : count    distribution\n", narrow ? 5 : 15, "",
		      narrow ? 19 : 29, title_of(unit));
	int stars = narrow ? STARS_MAX : STARS_MAX / 2;
	int width = narrow ? 10 : 20;
	for (int i = 0; i <= idx_max; i++) {
		uint64_t low = i == 0 ? 0 : (uint64_t)1 << i;
		uint64_t high = i == 63 ? UINT64_MAX : ((uint64_t)1 << (i + 1)) - 1;
		eu_buf_printf(out, "%*" PRIu64 " -> %-*" PRIu64 " : %-8" PRIu64 " |", width, low,
			      width, high, slots[i]);
		put_stars(out, slots[i], val_max, stars);
		eu_buf_puts(out, "|\n");
	}
}

void eu_hist_linear(eu_buf *out, const uint64_t *slots, size_t n, uint64_t base, uint64_t step,
		    const char *unit)
{
	ptrdiff_t idx_min = -1, idx_max = -1;
	uint64_t val_max = 0;
	for (size_t i = 0; i < n; i++) {
		if (slots[i] > 0) {
			idx_max = (ptrdiff_t)i;
			if (idx_min < 0)
				idx_min = (ptrdiff_t)i;
		}
		if (slots[i] > val_max)
			val_max = slots[i];
	}
	if (idx_max < 0)
		return;
	eu_buf_printf(out, "     %-13s : count     distribution\n", title_of(unit));
	for (ptrdiff_t i = idx_min; i <= idx_max; i++) {
		if (!slots[i])
			continue;
		eu_buf_printf(out, "        %-10" PRIu64 " : %-8" PRIu64 " |",
			      base + (uint64_t)i * step, slots[i]);
		put_stars(out, slots[i], val_max, STARS_MAX);
		eu_buf_puts(out, "|\n");
	}
}

/* A word ending in '_' ("_us", "_kb") must end the name or be followed by '_': "lat_us"
 * and "lat_us_hist", not "cpu_usage" or "tcp_msg_size". Other words match anywhere. */
static bool has_any(const char *name, const char *const *words)
{
	for (; *words; words++) {
		size_t n = strlen(*words);
		bool bounded = (*words)[0] == '_';
		for (const char *s = name; (s = strstr(s, *words)); s++)
			if (!bounded || s[n] == '\0' || s[n] == '_')
				return true;
	}
	return false;
}

/* "len" only as a word of a snake_case name: "msg_len", "len_hist", "lens", "pkt_length";
 * not "silence". */
static bool has_len_word(const char *name)
{
	size_t n = strlen(name);
	for (const char *s = name; (s = strstr(s, "len")); s++) {
		bool start = s == name || s[-1] == '_';
		size_t after = (size_t)(s - name) + 3;
		bool end = after == n || name[after] == '_' || name[after] == 's' ||
			   !strncmp(name + after, "gth", 3);
		if (start && end)
			return true;
	}
	return false;
}

const char *eu_hist_unit_from_name(const char *name)
{
	static const char *const us[] = {"_us", "usec", "micro", NULL};
	static const char *const ns[] = {"_ns", "nsec", "nano", NULL};
	static const char *const ms[] = {"_ms", "msec", "milli", NULL};
	static const char *const kb[] = {"kbyte", "_kb", NULL};
	static const char *const bytes[] = {"byte", "size", NULL};
	if (!name)
		return NULL;
	char lower[128];
	size_t n = strlen(name);
	if (n >= sizeof(lower))
		n = sizeof(lower) - 1;
	for (size_t i = 0; i < n; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	lower[n] = '\0';
	if (has_any(lower, us))
		return "usecs";
	if (has_any(lower, ns))
		return "nsecs";
	if (has_any(lower, ms))
		return "msecs";
	if (has_any(lower, kb))
		return "kbytes";
	if (has_any(lower, bytes) || has_len_word(lower))
		return "bytes";
	return NULL;
}
