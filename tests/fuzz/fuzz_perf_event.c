/* Fuzzes the perf event spec parser (package.h: eu_perf_event_parse), whose input comes from
 * package meta (untrusted) and the command line. A refusal must leave the event untouched
 * and carry a message; an accepted spec must format to text that parses to the same event,
 * and that text must format identically (canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	struct eu_perf_event ev, untouched;
	memset(&ev, 0x5a, sizeof(ev));
	memcpy(&untouched, &ev, sizeof(ev));
	eu_error err = {0};
	if (eu_perf_event_parse(spec, &ev, &err)) {
		if (!err.msg[0] || err.code >= 0 || memcmp(&ev, &untouched, sizeof(ev)))
			abort();
		free(spec);
		return 0;
	}
	char text[EU_PERF_EVENT_SPEC_MAX + 1], again[EU_PERF_EVENT_SPEC_MAX + 1], what[128];
	eu_perf_event_format(&ev, text, sizeof(text));
	struct eu_perf_event back;
	if (eu_perf_event_parse(text, &back, &err))
		abort();
	if (back.type != ev.type || back.config != ev.config ||
	    back.sample_period != ev.sample_period || back.sample_freq != ev.sample_freq ||
	    strcmp(back.name, ev.name) || !ev.set)
		abort();
	if (strcmp(eu_perf_event_format(&back, again, sizeof(again)), text))
		abort();
	eu_perf_event_describe(&ev, what, sizeof(what));
	free(spec);
	return 0;
}
