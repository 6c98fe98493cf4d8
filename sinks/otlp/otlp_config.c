/* OTLP exporter configuration from the OTEL_EXPORTER_OTLP_* and OTEL_BLRP_* variables, with
 * the specification's precedence (per-signal first) and URL rules. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eunomia/log.h"
#include "otlp.h"
#include "otlp_priv.h"

#define DEFAULT_HTTP_ENDPOINT "http://localhost:4318"
#define DEFAULT_GRPC_ENDPOINT "http://localhost:4317"

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

char *eu_otlp_grpc_url(const char *endpoint, bool insecure, const char *service)
{
	/* a gRPC endpoint names a server, not a path: scheme and authority are kept, any path
	 * is replaced by the method's */
	const char *scheme = insecure ? "http://" : "https://";
	const char *auth = endpoint;
	if (!strncasecmp(endpoint, "http://", 7)) {
		scheme = "http://";
		auth = endpoint + 7;
	} else if (!strncasecmp(endpoint, "https://", 8)) {
		scheme = "https://";
		auth = endpoint + 8;
	}
	size_t al = strcspn(auth, "/?#");
	size_t need = strlen(scheme) + al + strlen(service) + strlen("//Export") + 1;
	char *url = malloc(need);
	if (url)
		snprintf(url, need, "%s%.*s/%s/Export", scheme, (int)al, auth, service);
	return url;
}

const char *eu_otlp_protocol_name(enum eu_otlp_protocol p)
{
	return p == EU_OTLP_GRPC ? "grpc" : p == EU_OTLP_HTTP_JSON ? "http/json" : "http/protobuf";
}

/* Variables already reported in this resolution: a generic one (OTEL_EXPORTER_OTLP_TIMEOUT)
 * is read for both signals but is told once. */
struct warned {
	char names[16][64];
	size_t n;
};

static bool first_warning(struct warned *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->names[i], name))
			return false;
	if (w->n < sizeof(w->names) / sizeof(w->names[0]))
		snprintf(w->names[w->n++], sizeof(w->names[0]), "%s", name);
	return true;
}

struct env {
	struct warned *w;
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
	while (*s == ' ' || *s == '\t')
		s++;
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

/* The specification: an invalid value is reported and the default used, never fatal. */
#define IGNORED(e, name, value, fmt, ...)                                                   \
	do {                                                                                \
		if (first_warning((e)->w, name))                                            \
			eu_log(EU_LOG_WARN, "%s=%s ignored: " fmt, name, value, __VA_ARGS__); \
	} while (0)

static enum eu_otlp_protocol protocol(struct env *e)
{
	const char *which;
	const char *v = lookup(e, "PROTOCOL", &which);
	if (!v || !strcasecmp(v, "http/protobuf"))
		return EU_OTLP_HTTP_PROTOBUF;
	if (!strcasecmp(v, "grpc"))
		return EU_OTLP_GRPC;
	if (!strcasecmp(v, "http/json"))
		return EU_OTLP_HTTP_JSON;
	IGNORED(e, which, v, "%s", "expected grpc, http/protobuf or http/json; using "
				"http/protobuf");
	return EU_OTLP_HTTP_PROTOBUF;
}

static bool parse_bool(struct env *e, const char *which, const char *v, bool def)
{
	if (!v)
		return def;
	if (!strcasecmp(v, "true"))
		return true;
	if (!strcasecmp(v, "false"))
		return false;
	IGNORED(e, which, v, "expected true or false; using %s", def ? "true" : "false");
	return def;
}

static int signal_url(struct eu_otlp_signal_config *sc, struct env *e, const char *lower,
		      const char *base, eu_error *err)
{
	char name[96];
	snprintf(name, sizeof(name), "OTEL_EXPORTER_OTLP_%s_ENDPOINT", e->signal);
	const char *own = eu_otlp_env(e->fn, e->ctx, name);
	const char *b = base ? base : eu_otlp_env(e->fn, e->ctx, "OTEL_EXPORTER_OTLP_ENDPOINT");
	const char *which;
	const char *iv = lookup(e, "INSECURE", &which);
	bool insecure = parse_bool(e, which, iv, false);
	if (sc->protocol == EU_OTLP_GRPC) {
		const char *svc = !strcmp(lower, "logs")
					  ? "opentelemetry.proto.collector.logs.v1.LogsService"
					  : "opentelemetry.proto.collector.metrics.v1.MetricsService";
		sc->url = eu_otlp_grpc_url(own ? own : b ? b : DEFAULT_GRPC_ENDPOINT, insecure, svc);
	} else if (own) {
		sc->url = strdup(own);
	} else {
		sc->url = eu_otlp_signal_url(b ? b : DEFAULT_HTTP_ENDPOINT, lower);
	}
	if (!sc->url)
		return -ENOMEM;
	/* an endpoint is where the data goes: a wrong one is an error, not a default */
	if (strncasecmp(sc->url, "http://", 7) && strncasecmp(sc->url, "https://", 8))
		return eu_error_set(err, -EINVAL, "OTLP %s endpoint '%s': not an http:// or "
						  "https:// URL", lower, sc->url);
	return 0;
}

static int signal_headers(struct eu_otlp_signal_config *sc, struct env *e, eu_error *err)
{
	const char *which;
	const char *hdrs = lookup(e, "HEADERS", &which);
	if (!hdrs)
		return 0;
	struct eu_otlp_kvs kvs;
	eu_error kerr = {0};
	int ret = eu_otlp_kvs_parse(hdrs, &kvs, &kerr);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		/* the specification: a list that does not parse is discarded whole */
		if (first_warning(e->w, which))
			eu_log(EU_LOG_WARN, "%s ignored: %s", which, kerr.msg);
		return 0;
	}
	for (size_t i = 0; i < kvs.n; i++) {
		/* a CR or LF would smuggle a header line into the request */
		if (strpbrk(kvs.v[i].key, "\r\n:") || strpbrk(kvs.v[i].value, "\r\n")) {
			if (first_warning(e->w, which))
				eu_log(EU_LOG_WARN, "%s ignored: header %zu has a line break or a "
						    "':' in its name", which, i + 1);
			eu_otlp_kvs_free(&kvs);
			return 0;
		}
	}
	sc->headers = calloc(kvs.n ? kvs.n : 1, sizeof(*sc->headers));
	if (!sc->headers) {
		eu_otlp_kvs_free(&kvs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < kvs.n; i++) {
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
	return 0;
}

static int signal_config(struct eu_otlp_signal_config *sc, const char *signal,
			 const char *lower, const char *base, eu_otlp_getenv_fn fn, void *ctx,
			 struct warned *w, eu_error *err)
{
	struct env e = {.w = w, .fn = fn, .ctx = ctx, .signal = signal};
	const char *which;

	sc->protocol = protocol(&e);
	int ret = signal_url(sc, &e, lower, base, err);
	if (ret)
		return ret;

	const char *comp = lookup(&e, "COMPRESSION", &which);
	if (comp && !strcasecmp(comp, "gzip"))
		sc->gzip = true;
	else if (comp && strcasecmp(comp, "none"))
		IGNORED(&e, which, comp, "%s", "expected gzip or none; using none");

	sc->timeout_ms = 10000;
	const char *to = lookup(&e, "TIMEOUT", &which);
	if (to && parse_u32(to, &sc->timeout_ms)) {
		sc->timeout_ms = 10000;
		IGNORED(&e, which, to, "%s", "expected milliseconds; using 10000");
	}
	ret = signal_headers(sc, &e, err);
	if (ret)
		return ret;
	if (dup_opt(&sc->ca_file, lookup(&e, "CERTIFICATE", NULL)) ||
	    dup_opt(&sc->client_cert, lookup(&e, "CLIENT_CERTIFICATE", NULL)) ||
	    dup_opt(&sc->client_key, lookup(&e, "CLIENT_KEY", NULL)))
		return -ENOMEM;
	return 0;
}

static void blrp(eu_otlp_getenv_fn fn, void *ctx, const char *name, uint32_t *out)
{
	const char *v = eu_otlp_env(fn, ctx, name);
	uint32_t def = *out;
	if (v && (parse_u32(v, out) || !*out)) {
		*out = def;
		eu_log(EU_LOG_WARN, "%s=%s ignored: expected a positive integer; using %u", name, v,
		       def);
	}
}

/* EUNOMIA_OTLP_COMPRESSION_LEVEL (the otlp sink's compression_level key): one level for
 * both signals, as they share one compressor. */
static int gzip_level(eu_otlp_getenv_fn fn, void *ctx)
{
	const char *name = "EUNOMIA_OTLP_COMPRESSION_LEVEL";
	const char *v = eu_otlp_env(fn, ctx, name);
	uint32_t level;
	if (!v)
		return EU_OTLP_GZIP_LEVEL;
	if (parse_u32(v, &level) || level < 1 || level > EU_OTLP_GZIP_LEVEL_MAX) {
		eu_log(EU_LOG_WARN, "%s=%s ignored: expected 1 to %d; using %d", name, v,
		       EU_OTLP_GZIP_LEVEL_MAX, EU_OTLP_GZIP_LEVEL);
		return EU_OTLP_GZIP_LEVEL;
	}
	return (int)level;
}

int eu_otlp_config_from_env(struct eu_otlp_config *cfg, const char *base_endpoint,
			    eu_otlp_getenv_fn fn, void *ctx, eu_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	uint32_t queue = 2048, batch = 512, delay = 1000, timeout = 30000;
	struct warned w = {0};
	int ret = signal_config(&cfg->logs, "LOGS", "logs", base_endpoint, fn, ctx, &w, err);
	if (!ret)
		ret = signal_config(&cfg->metrics, "METRICS", "metrics", base_endpoint, fn, ctx, &w,
				    err);
	if (ret) {
		if (ret == -ENOMEM)
			eu_error_set(err, ret, "OTLP configuration: out of memory");
		eu_otlp_config_free(cfg);
		return ret;
	}
	blrp(fn, ctx, "OTEL_BLRP_MAX_QUEUE_SIZE", &queue);
	blrp(fn, ctx, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", &batch);
	blrp(fn, ctx, "OTEL_BLRP_SCHEDULE_DELAY", &delay);
	blrp(fn, ctx, "OTEL_BLRP_EXPORT_TIMEOUT", &timeout);
	cfg->metric_interval_ms = 60000;
	blrp(fn, ctx, "OTEL_METRIC_EXPORT_INTERVAL", &cfg->metric_interval_ms);
	const char *tn = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
	const char *tp = eu_otlp_env(fn, ctx, tn);
	if (eu_metrics_temporality_parse(tp, &cfg->temporality))
		eu_log(EU_LOG_WARN, "%s=%s ignored: expected cumulative, delta or lowmemory; using "
		       "cumulative", tn, tp);
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
	cfg->gzip_level = gzip_level(fn, ctx);
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
