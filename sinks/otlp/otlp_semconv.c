/* Event field names -> OpenTelemetry semantic-convention attribute names. Only names whose
 * meaning is unambiguous in the tracing tools' structs are mapped; the rest keep their name. */
#include <string.h>

#include "otlp.h"

static const struct eu_otlp_attr_map semconv[] = {
	{"pid", "process.pid"},
	{"ppid", "process.parent_pid"},
	{"tid", "thread.id"},
	{"comm", "process.executable.name"},
	{"exit_code", "process.exit.code"},
	{"filename", "file.path"},
	{"fname", "file.path"},
	{"path", "file.path"},
	{"uid", "process.user.id"},
	{"cpu", "cpu.logical_number"},
	{"saddr", "source.address"},
	{"daddr", "destination.address"},
	{"sport", "source.port"},
	{"dport", "destination.port"},
};

const char *eu_otlp_attr_name(const char *field, const struct eu_otlp_attr_map *map,
			      size_t n_map)
{
	for (size_t i = 0; i < n_map; i++)
		if (map[i].field && !strcmp(map[i].field, field))
			return map[i].attr && *map[i].attr ? map[i].attr : NULL;
	for (size_t i = 0; i < sizeof(semconv) / sizeof(semconv[0]); i++)
		if (!strcmp(semconv[i].field, field))
			return semconv[i].attr;
	return field;
}
