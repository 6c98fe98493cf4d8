/* The registry: every sink type the agent is built with. A new sink is a file (or a folder)
 * that defines one struct eu_sink_plugin, plus one line here. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sink_plugin.h"

extern const struct eu_sink_plugin eu_sink_plugin_stdout;
extern const struct eu_sink_plugin eu_sink_plugin_file;
extern const struct eu_sink_plugin eu_sink_plugin_otlp;

static const struct eu_sink_plugin *const plugins[] = {
	&eu_sink_plugin_stdout,
	&eu_sink_plugin_file,
	&eu_sink_plugin_otlp,
};

const struct eu_sink_plugin *eu_sink_plugin_find(const char *type)
{
	for (size_t i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++)
		if (!strcmp(plugins[i]->name, type))
			return plugins[i];
	return NULL;
}

const struct eu_sink_plugin *eu_sink_plugin_at(size_t i)
{
	return i < sizeof(plugins) / sizeof(plugins[0]) ? plugins[i] : NULL;
}

static char names[256];

static void make_names(void)
{
	size_t off = 0;
	for (size_t i = 0; i < sizeof(plugins) / sizeof(plugins[0]) && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
					plugins[i]->name);
}

const char *eu_sink_plugin_names(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, make_names);
	return names;
}
