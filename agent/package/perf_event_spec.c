/* perf event specs ("hw:cache-misses:period=10000"): the event a perf_event program samples
 * on, as a package's "eu_perf_event" key, `run --perf-event PROG=SPEC` and the daemon's
 * `perf_events:` give it. The text is untrusted (package meta): bounded, every number range
 * checked, nothing but the caller's struct written. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "eunomia/package.h"

struct named_event {
	const char *name;
	const char *alias; /* perf's short name, or NULL */
	uint64_t config;
};

static const struct named_event hw_events[] = {
	{"cpu-cycles", "cycles", PERF_COUNT_HW_CPU_CYCLES},
	{"instructions", NULL, PERF_COUNT_HW_INSTRUCTIONS},
	{"cache-references", NULL, PERF_COUNT_HW_CACHE_REFERENCES},
	{"cache-misses", NULL, PERF_COUNT_HW_CACHE_MISSES},
	{"branch-instructions", "branches", PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
	{"branch-misses", NULL, PERF_COUNT_HW_BRANCH_MISSES},
	{"bus-cycles", NULL, PERF_COUNT_HW_BUS_CYCLES},
	{"stalled-cycles-frontend", "idle-cycles-frontend", PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
	{"stalled-cycles-backend", "idle-cycles-backend", PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
	{"ref-cycles", NULL, PERF_COUNT_HW_REF_CPU_CYCLES},
};

static const struct named_event sw_events[] = {
	{"cpu-clock", NULL, PERF_COUNT_SW_CPU_CLOCK},
	{"task-clock", NULL, PERF_COUNT_SW_TASK_CLOCK},
	{"page-faults", "faults", PERF_COUNT_SW_PAGE_FAULTS},
	{"context-switches", "cs", PERF_COUNT_SW_CONTEXT_SWITCHES},
	{"cpu-migrations", "migrations", PERF_COUNT_SW_CPU_MIGRATIONS},
	{"minor-faults", NULL, PERF_COUNT_SW_PAGE_FAULTS_MIN},
	{"major-faults", NULL, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
	{"alignment-faults", NULL, PERF_COUNT_SW_ALIGNMENT_FAULTS},
	{"emulation-faults", NULL, PERF_COUNT_SW_EMULATION_FAULTS},
};

/* Hardware cache events are perf's "<cache>-<op>s" / "<cache>-<op>-misses" names. */
static const struct {
	const char *name;
	uint64_t id;
} caches[] = {
	{"L1-dcache", PERF_COUNT_HW_CACHE_L1D}, {"L1-icache", PERF_COUNT_HW_CACHE_L1I},
	{"LLC", PERF_COUNT_HW_CACHE_LL},        {"dTLB", PERF_COUNT_HW_CACHE_DTLB},
	{"iTLB", PERF_COUNT_HW_CACHE_ITLB},     {"branch", PERF_COUNT_HW_CACHE_BPU},
	{"node", PERF_COUNT_HW_CACHE_NODE},
};

static const struct {
	const char *name;
	uint64_t id;
} cache_ops[] = {
	{"load", PERF_COUNT_HW_CACHE_OP_READ},
	{"store", PERF_COUNT_HW_CACHE_OP_WRITE},
	{"prefetch", PERF_COUNT_HW_CACHE_OP_PREFETCH},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool find_named(const struct named_event *t, size_t n, const char *name, uint64_t *config,
		       const char **canonical)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(name, t[i].name) || (t[i].alias && !strcasecmp(name, t[i].alias))) {
			*config = t[i].config;
			*canonical = t[i].name;
			return true;
		}
	return false;
}

/* "LLC-load-misses" -> config LL | READ << 8 | MISS << 16, canonical spelling in out. */
static bool find_cache(const char *name, uint64_t *config, char *out, size_t n)
{
	for (size_t c = 0; c < N_OF(caches); c++) {
		size_t cl = strlen(caches[c].name);
		if (strncasecmp(name, caches[c].name, cl) || name[cl] != '-')
			continue;
		const char *op = name + cl + 1;
		for (size_t o = 0; o < N_OF(cache_ops); o++) {
			size_t ol = strlen(cache_ops[o].name);
			if (strncasecmp(op, cache_ops[o].name, ol))
				continue;
			const char *rest = op + ol;
			uint64_t result;
			if (!strcasecmp(rest, "s"))
				result = PERF_COUNT_HW_CACHE_RESULT_ACCESS;
			else if (!strcasecmp(rest, "-misses"))
				result = PERF_COUNT_HW_CACHE_RESULT_MISS;
			else
				continue;
			*config = caches[c].id | cache_ops[o].id << 8 | result << 16;
			snprintf(out, n, "%s-%s%s", caches[c].name, cache_ops[o].name,
				 result == PERF_COUNT_HW_CACHE_RESULT_MISS ? "-misses" : "s");
			return true;
		}
	}
	return false;
}

/* Decimal or 0x hex, digits only (no sign, no spaces), up to max. */
static bool parse_number(const char *s, uint64_t max, uint64_t *out)
{
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		unsigned d;
		if (isdigit((unsigned char)*s))
			d = (unsigned)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			return false;
		if (v > (max - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

__attribute__((format(printf, 3, 0))) static int fail(eu_error *err, const char *spec,
							const char *fmt, const char *what)
{
	char msg[440];
	snprintf(msg, sizeof(msg), fmt, what);
	return eu_error_set(err, -EINVAL, "perf event \"%.*s\": %s", EU_PERF_EVENT_SPEC_MAX, spec,
			    msg);
}

#define EVENT_LIST                                                                             \
	"expected a hardware event (cpu-cycles, instructions, cache-references, cache-misses, "   \
	"branch-instructions, branch-misses, bus-cycles, ref-cycles, L1-dcache-load-misses, "     \
	"LLC-load-misses, ...), a software event (cpu-clock, task-clock, page-faults, "           \
	"context-switches, cpu-migrations, ...), raw:CONFIG or TYPE:CONFIG"

/* The event part: tok[0] and maybe tok[1]; returns how many tokens it took, or -1. */
static int parse_event(char **tok, int n, struct eu_perf_event *ev, const char *spec,
		       eu_error *err)
{
	const char *canon = NULL;
	uint64_t v;
	if (!strcasecmp(tok[0], "hw") || !strcasecmp(tok[0], "hardware") ||
	    !strcasecmp(tok[0], "sw") || !strcasecmp(tok[0], "software")) {
		bool hw = tolower((unsigned char)tok[0][0]) == 'h';
		if (n < 2 || !*tok[1])
			return fail(err, spec, "%s: needs an event name after it", tok[0]), -1;
		if (hw && find_named(hw_events, N_OF(hw_events), tok[1], &ev->config, &canon)) {
			ev->type = PERF_TYPE_HARDWARE;
		} else if (hw && find_cache(tok[1], &ev->config, ev->name, sizeof(ev->name))) {
			ev->type = PERF_TYPE_HW_CACHE;
		} else if (!hw && find_named(sw_events, N_OF(sw_events), tok[1], &ev->config, &canon)) {
			ev->type = PERF_TYPE_SOFTWARE;
		} else {
			return fail(err, spec, hw ? "\"%s\" is not a hardware event (" EVENT_LIST ")"
						  : "\"%s\" is not a software event (" EVENT_LIST ")",
				    tok[1]),
			       -1;
		}
		if (canon)
			snprintf(ev->name, sizeof(ev->name), "%s", canon);
		return 2;
	}
	if (!strcasecmp(tok[0], "raw")) {
		if (n < 2 || !parse_number(tok[1], UINT64_MAX, &ev->config))
			return fail(err, spec, "%s", "raw needs a number: raw:CONFIG (decimal or 0x hex)"),
			       -1;
		ev->type = PERF_TYPE_RAW;
		return 2;
	}
	if (isdigit((unsigned char)tok[0][0])) {
		if (!parse_number(tok[0], UINT32_MAX, &v))
			return fail(err, spec, "type \"%s\" is not a number up to 4294967295", tok[0]),
			       -1;
		if (n < 2 || !parse_number(tok[1], UINT64_MAX, &ev->config))
			return fail(err, spec, "%s", "a numeric event is TYPE:CONFIG (decimal or 0x hex)"),
			       -1;
		ev->type = (uint32_t)v;
		return 2;
	}
	if (find_named(hw_events, N_OF(hw_events), tok[0], &ev->config, &canon))
		ev->type = PERF_TYPE_HARDWARE;
	else if (find_named(sw_events, N_OF(sw_events), tok[0], &ev->config, &canon))
		ev->type = PERF_TYPE_SOFTWARE;
	else if (find_cache(tok[0], &ev->config, ev->name, sizeof(ev->name)))
		ev->type = PERF_TYPE_HW_CACHE;
	else
		return fail(err, spec, "unknown event \"%s\" (" EVENT_LIST ")", tok[0]), -1;
	if (canon)
		snprintf(ev->name, sizeof(ev->name), "%s", canon);
	return 1;
}

static int parse_rate(const char *t, struct eu_perf_event *ev, const char *spec, eu_error *err)
{
	uint64_t v;
	if (!strncasecmp(t, "period=", 7)) {
		if (ev->sample_period || ev->sample_freq)
			return fail(err, spec, "%s", "give one period= or freq=, not both or twice");
		if (!parse_number(t + 7, UINT64_MAX >> 1, &v) || !v)
			return fail(err, spec, "period \"%s\" is not a number from 1 to 2^63-1", t + 7);
		ev->sample_period = v;
		return 0;
	}
	if (!strncasecmp(t, "freq=", 5)) {
		if (ev->sample_period || ev->sample_freq)
			return fail(err, spec, "%s", "give one period= or freq=, not both or twice");
		if (!parse_number(t + 5, EU_PERF_EVENT_FREQ_MAX, &v) || !v)
			return fail(err, spec, "freq \"%s\" is not a number from 1 to 100000 (Hz)",
				    t + 5);
		ev->sample_freq = (uint32_t)v;
		return 0;
	}
	return fail(err, spec, "unknown option \"%s\" (expected period=N or freq=HZ)", t);
}

int eu_perf_event_parse(const char *spec, struct eu_perf_event *out, eu_error *err)
{
	char buf[EU_PERF_EVENT_SPEC_MAX + 1];
	if (!spec || !*spec)
		return eu_error_set(err, -EINVAL, "perf event: empty (" EVENT_LIST ")");
	size_t len = strnlen(spec, sizeof(buf));
	if (len >= sizeof(buf))
		return eu_error_set(err, -EINVAL, "perf event \"%.40s...\": longer than %d bytes",
				    spec, EU_PERF_EVENT_SPEC_MAX);
	memcpy(buf, spec, len + 1);
	char *tok[5];
	int n = 0;
	for (char *s = buf; n < 5; n++) {
		tok[n] = s;
		char *colon = strchr(s, ':');
		if (!colon) {
			n++;
			break;
		}
		*colon = '\0';
		s = colon + 1;
	}
	if (n > 3)
		return fail(err, spec, "%s", "too many ':' parts (EVENT[:period=N|:freq=HZ])");
	struct eu_perf_event ev = {.set = true};
	int used = parse_event(tok, n, &ev, spec, err);
	if (used < 0)
		return err ? err->code : -EINVAL;
	for (int i = used; i < n; i++)
		if (parse_rate(tok[i], &ev, spec, err))
			return err ? err->code : -EINVAL;
	*out = ev;
	return 0;
}

const char *eu_perf_event_format(const struct eu_perf_event *ev, char *buf, size_t n)
{
	int w;
	if (ev->name[0])
		w = snprintf(buf, n, "%s:%s", ev->type == PERF_TYPE_SOFTWARE ? "sw" : "hw", ev->name);
	else if (ev->type == PERF_TYPE_RAW)
		w = snprintf(buf, n, "raw:0x%" PRIx64, ev->config);
	else
		w = snprintf(buf, n, "%" PRIu32 ":0x%" PRIx64, ev->type, ev->config);
	size_t used = w > 0 && (size_t)w < n ? (size_t)w : 0;
	if (ev->sample_period)
		snprintf(buf + used, n - used, ":period=%" PRIu64, ev->sample_period);
	else if (ev->sample_freq)
		snprintf(buf + used, n - used, ":freq=%" PRIu32, ev->sample_freq);
	return buf;
}

const char *eu_perf_event_describe(const struct eu_perf_event *ev, char *buf, size_t n)
{
	if (!ev->set)
		snprintf(buf, n, "software event cpu-clock");
	else if (ev->name[0])
		snprintf(buf, n, "%s event %s",
			 ev->type == PERF_TYPE_SOFTWARE ? "software"
			 : ev->type == PERF_TYPE_HW_CACHE ? "hardware cache"
							  : "hardware",
			 ev->name);
	else if (ev->type == PERF_TYPE_RAW)
		snprintf(buf, n, "raw event 0x%" PRIx64, ev->config);
	else
		snprintf(buf, n, "event %" PRIu32 ":0x%" PRIx64 " (PMU type %" PRIu32 ")", ev->type,
			 ev->config, ev->type);
	return buf;
}
