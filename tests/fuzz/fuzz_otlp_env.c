/* Fuzzes the OTEL_* variable parsers: the key=value lists (OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_HEADERS) and the whole exporter configuration from a fake environment
 * whose variables are the NUL-separated parts of the input. Accepted lists hold non-empty keys
 * and UTF-8 values; accepted headers never contain a line break. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/otlp/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"OTEL_EXPORTER_OTLP_ENDPOINT",     "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS",      "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
	"OTEL_EXPORTER_OTLP_COMPRESSION",  "OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_PROTOCOL",     "OTEL_BLRP_MAX_QUEUE_SIZE",
	"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "OTEL_RESOURCE_ATTRIBUTES",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

struct env {
	const char *v[N_NAMES];
};

static const char *get(void *ctx, const char *name)
{
	struct env *e = ctx;
	for (size_t i = 0; i < N_NAMES; i++)
		if (!strcmp(names[i], name))
			return e->v[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct eu_otlp_kvs kvs;
	eu_error err = {0};
	if (!eu_otlp_kvs_parse(text, &kvs, &err)) {
		for (size_t i = 0; i < kvs.n; i++)
			if (!kvs.v[i].key[0] ||
			    eu_utf8_valid_prefix(kvs.v[i].value, strlen(kvs.v[i].value)) !=
				    strlen(kvs.v[i].value))
				abort();
		eu_otlp_kvs_free(&kvs);
	} else if (!err.msg[0] || kvs.n) {
		abort();
	}

	struct env e = {{0}};
	char *p = text;
	for (size_t i = 0; i < N_NAMES && p <= text + size; i++) {
		e.v[i] = p;
		p += strlen(p) + 1;
	}
	struct eu_otlp_config cfg;
	if (!eu_otlp_config_from_env(&cfg, NULL, get, &e, &err)) {
		for (size_t i = 0; i < cfg.logs.n_headers; i++)
			if (strpbrk(cfg.logs.headers[i], "\r\n"))
				abort();
		if (!cfg.max_batch || cfg.max_batch > cfg.max_queue)
			abort();
		eu_otlp_config_free(&cfg);
	}
	struct eu_otlp_resource_opts o = {.getenv = get, .getenv_ctx = &e, .host_name = "h"};
	eu_buf b;
	eu_buf_init(&b);
	eu_otlp_resource_encode(&o, &b, &err);
	eu_buf_free(&b);
	free(text);
	return 0;
}
