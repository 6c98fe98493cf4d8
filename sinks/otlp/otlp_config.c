/* OTLP exporter configuration from the OTEL_EXPORTER_OTLP_* and OTEL_BLRP_* variables, with
 * the specification's precedence (per-signal first) and URL rules. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "otlp.h"
#include "otlp_priv.h"

#define DEFAULT_ENDPOINT "http://localhost:4318"

char *eu_otlp_signal_url(const char *base, const char *signal)
{
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	size_t need = bl + strlen("/v1/") + strlen(signal) + 1;
	char *url = malloc(need);
	if (url)
		snprintf(url, need, "%.*s/v1/%s", (int)bl, base, signal);
	return url;
}

struct env {
	eu_otlp_getenv_fn fn;
	void *ctx;
	const char *signal; /* "LOGS" */
	char name[96];
};

/* OTEL_EXPORTER_OTLP_<SIGNAL>_<what>, else OTEL_EXPORTER_OTLP_<what>. */
static const char *lookup(struct env *e, const char *what, const char **which)
{
	snprintf(e->name, sizeof(e->name), "OTEL_EXPORTER_OTLP_%s_%s", e->signal, what);
	const char *v = eu_otlp_env(e->fn, e->ctx, e->name);
	if (!v) {
		snprintf(e->name, sizeof(e->name), "OTEL_EXPORTER_OTLP_%s", what);
		v = eu_otlp_env(e->fn, e->ctx, e->name);
	}
	if (which)
		*which = e->name;
	return v;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || end == s || *end || v > UINT32_MAX || !isdigit((unsigned char)*s))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int dup_opt(char **dst, const char *v)
{
	if (!v)
		return 0;
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int signal_config(struct eu_otlp_signal_config *sc, const char *signal,
			 const char *lower, const char *base, eu_otlp_getenv_fn fn, void *ctx,
			 eu_error *err)
{
	struct env e = {.fn = fn, .ctx = ctx, .signal = signal};
	const char *which;
	char name[96];

	snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_ENDPOINT", signal);
	const char *own = eu_otlp_env(fn, ctx, name);
	if (own) {
		sc->url = strdup(own);
	} else {
		const char *b = base ? base : eu_otlp_env(fn, ctx, "OTEL_EXPORTER_OTLP_ENDPOINT");
		sc->url = eu_otlp_signal_url(b ? b : DEFAULT_ENDPOINT, lower);
	}
	if (!sc->url)
		return -ENOMEM;
	if (strncmp(sc->url, "http://", 7) && strncmp(sc->url, "https://", 8))
		return eu_error_set(err, -EINVAL, "OTLP %s endpoint '%s': not an http:// or "
						  "https:// URL", lower, sc->url);

	const char *proto = lookup(&e, "PROTOCOL", &which);
	if (proto && strcmp(proto, "http/protobuf"))
		return eu_error_set(err, -ENOTSUP, "%s=%s: only http/protobuf is supported", which,
				    proto);

	const char *comp = lookup(&e, "COMPRESSION", &which);
	if (comp && !strcasecmp(comp, "gzip"))
		sc->gzip = true;
	else if (comp && strcasecmp(comp, "none"))
		return eu_error_set(err, -EINVAL, "%s=%s: expected gzip or none", which, comp);

	sc->timeout_ms = 10000;
	const char *to = lookup(&e, "TIMEOUT", &which);
	if (to && parse_u32(to, &sc->timeout_ms))
		return eu_error_set(err, -EINVAL, "%s=%s: expected milliseconds", which, to);

	const char *hdrs = lookup(&e, "HEADERS", &which);
	if (hdrs) {
		struct eu_otlp_kvs kvs;
		int ret = eu_otlp_kvs_parse(hdrs, &kvs, err);
		if (ret)
			return eu_error_prefix(err, "%s", which);
		sc->headers = calloc(kvs.n ? kvs.n : 1, sizeof(*sc->headers));
		if (!sc->headers) {
			eu_otlp_kvs_free(&kvs);
			return -ENOMEM;
		}
		for (size_t i = 0; i < kvs.n; i++) {
			/* a CR or LF would smuggle a header line into the request */
			if (strpbrk(kvs.v[i].key, "\r\n:") || strpbrk(kvs.v[i].value, "\r\n")) {
				eu_otlp_kvs_free(&kvs);
				return eu_error_set(err, -EINVAL, "%s: header %zu has a line break "
								  "or a ':' in its name", which, i + 1);
			}
			size_t n = strlen(kvs.v[i].key) + strlen(kvs.v[i].value) + 3;
			sc->headers[i] = malloc(n);
			if (!sc->headers[i]) {
				eu_otlp_kvs_free(&kvs);
				return -ENOMEM;
			}
			snprintf(sc->headers[i], n, "%s: %s", kvs.v[i].key, kvs.v[i].value);
			sc->n_headers++;
		}
		eu_otlp_kvs_free(&kvs);
	}
	if (dup_opt(&sc->ca_file, lookup(&e, "CERTIFICATE", NULL)) ||
	    dup_opt(&sc->client_cert, lookup(&e, "CLIENT_CERTIFICATE", NULL)) ||
	    dup_opt(&sc->client_key, lookup(&e, "CLIENT_KEY", NULL)))
		return -ENOMEM;
	return 0;
}

static int blrp(eu_otlp_getenv_fn fn, void *ctx, const char *name, uint32_t *out,
		eu_error *err)
{
	const char *v = eu_otlp_env(fn, ctx, name);
	if (v && (parse_u32(v, out) || !*out))
		return eu_error_set(err, -EINVAL, "%s=%s: expected a positive integer", name, v);
	return 0;
}

int eu_otlp_config_from_env(struct eu_otlp_config *cfg, const char *base_endpoint,
			    eu_otlp_getenv_fn fn, void *ctx, eu_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	uint32_t queue = 2048, batch = 512, delay = 1000, timeout = 30000;
	int ret = signal_config(&cfg->logs, "LOGS", "logs", base_endpoint, fn, ctx, err);
	if (!ret)
		ret = signal_config(&cfg->metrics, "METRICS", "metrics", base_endpoint, fn, ctx,
				    err);
	if (!ret)
		ret = blrp(fn, ctx, "OTEL_BLRP_MAX_QUEUE_SIZE", &queue, err);
	if (!ret)
		ret = blrp(fn, ctx, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", &batch, err);
	if (!ret)
		ret = blrp(fn, ctx, "OTEL_BLRP_SCHEDULE_DELAY", &delay, err);
	if (!ret)
		ret = blrp(fn, ctx, "OTEL_BLRP_EXPORT_TIMEOUT", &timeout, err);
	if (ret) {
		if (ret == -ENOMEM)
			eu_error_set(err, ret, "OTLP configuration: out of memory");
		eu_otlp_config_free(cfg);
		return ret;
	}
	/* the specification: a batch larger than the queue is clamped to it */
	cfg->max_queue = queue;
	cfg->max_batch = batch > queue ? queue : batch;
	cfg->max_queue_bytes = 64u << 20;
	cfg->max_batch_bytes = 4u << 20;
	cfg->schedule_delay_ms = delay;
	cfg->export_timeout_ms = timeout;
	cfg->retry_initial_ms = 1000;
	cfg->retry_max_ms = 5000;
	cfg->max_attempts = 0;
	cfg->max_metric_requests = 16;
	cfg->spool_max_bytes = 256u << 20;
	return 0;
}

static void signal_free(struct eu_otlp_signal_config *sc)
{
	free(sc->url);
	for (size_t i = 0; i < sc->n_headers; i++)
		free(sc->headers[i]);
	free(sc->headers);
	free(sc->ca_file);
	free(sc->client_cert);
	free(sc->client_key);
	memset(sc, 0, sizeof(*sc));
}

void eu_otlp_config_free(struct eu_otlp_config *cfg)
{
	if (!cfg)
		return;
	signal_free(&cfg->logs);
	signal_free(&cfg->metrics);
	free(cfg->spool_dir);
	cfg->spool_dir = NULL;
}
