/* What sink_plugin.h offers the plugins: their keys' values, the clock, a batch's JSON lines.
 * Below the sink core and the registry (which reach every plugin): a plugin calls only this,
 * sink_io.c and its own files, never back into the core that looks it up. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eunomia/record.h"
#include "sink_plugin.h"

const struct eu_sink_key *eu_sink_key_find(const struct eu_sink_key *keys, const char *name)
{
	for (size_t i = 0; keys && keys[i].key; i++)
		if (!strcmp(keys[i].key, name))
			return &keys[i];
	return NULL;
}

const char *eu_sink_config_get(const struct eu_sink_config *cfg, const char *key)
{
	const struct eu_sink_key *k = eu_sink_key_find(cfg->plugin->keys, key);
	return k ? cfg->set[k - cfg->plugin->keys] : NULL;
}

const char *eu_sink_config_getenv(void *ctx, const char *name)
{
	const struct eu_sink_config *cfg = ctx;
	for (size_t i = 0; cfg && cfg->plugin && cfg->plugin->keys && cfg->plugin->keys[i].key; i++)
		if (cfg->set[i] && cfg->plugin->keys[i].env && !strcmp(cfg->plugin->keys[i].env, name))
			return cfg->set[i];
	return getenv(name);
}

uint64_t eu_sink_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int eu_sink_batch_json(const struct eu_sink_batch *b, const char **text, size_t *len)
{
	return eu_record_batch_json(b->records, text, len);
}
