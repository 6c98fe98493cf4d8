/* The OTLP exporter: bounded queues of packed records, batches by count, bytes and time,
 * gzip, requests through libcurl on the libuv loop (otlp_http.c), retries with backoff and
 * jitter, the optional on-disk spool (otlp_spool.c). One request per signal is in flight at a
 * time, so records reach the receiver in the order they were queued, and curl keeps the
 * connection alive between requests.
 *
 * Two transports share everything but the request's framing and how its outcome is read:
 * http/protobuf POSTs the message (HTTP status, Retry-After), grpc makes a unary call over
 * HTTP/2 (h2c with prior knowledge for http://, ALPN for https://): the message behind gRPC's
 * 5-byte prefix, grpc-status/grpc-message from the trailers (otlp_grpc.c).
 *
 * With the spool in write-ahead mode (cfg.spool_write_ahead), a log record is appended to the
 * spool's open batch file before eu_otlp_exporter_log returns, and batches are always read
 * back from the spool: a crash or kill -9 loses nothing that was acknowledged (a batch
 * delivered just before it may be delivered again). Only while the spool cannot take records
 * (its cap, a full disk) do they wait in the memory queue as without write-ahead.
 * Metrics requests have a spool of their own (spool_dir/metrics) that only ever takes what
 * could not be sent (the overflow spool, never write-ahead): neither replays as the other.
 *
 * A receiver that cannot be reached is told at once: the first failed request logs a warning
 * naming the URL and the reason, a reminder follows every FAILING_REMIND_MS while it lasts,
 * and one line says when it works again. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "core/codec.h"
#include "eunomia/log.h"
#include "otlp.h"
#include "otlp_priv.h"
#include "otlp_wire_json.h"

#ifndef EU_VERSION
#define EU_VERSION "0.0.0"
#endif

#define MAX_RESPONSE (64u << 10)
/* while a receiver keeps failing, a reminder this often (the first failure is told at once) */
#define FAILING_REMIND_MS 30000u

struct chan {
	struct eu_otlp_exporter *exp;
	const struct eu_otlp_signal_config *sc;
	const char *what; /* "logs" / "metrics" */
	bool is_logs;
	size_t max_items;
	struct eu_otlp_pool pool; /* where the queued and batched items live */
	/* ring of queued items */
	struct eu_otlp_item **q;
	size_t q_cap, q_head, q_len, q_bytes;
	/* the batch being exported */
	struct eu_otlp_item **batch;
	size_t batch_n;
	eu_buf raw;
	eu_buf json; /* http/json: raw's protobuf, which raw then holds as JSON */
	eu_buf body;
	CURL *easy;
	struct curl_slist *hdrs;
	eu_buf resp;
	char retry_after[64];
	char curl_err[CURL_ERROR_SIZE];
	bool grpc;
	struct eu_otlp_grpc_status gst;
	/* the receiver's health as the log tells it */
	bool failing;
	uint64_t fail_since_ms, fail_warned_ms;
	uint64_t fail_requests; /* failed requests in this episode */
	bool in_flight;
	bool waiting_retry;
	bool from_spool;    /* the batch is a slice of a spool file */
	uint64_t batch_seq; /* its place in the spool's order */
	/* A spool file may hold more records than a batch takes now (written with a larger
	 * batch size, before a restart or a SIGHUP): it is sent in slices, and removed only
	 * once its last slice is delivered (or dropped, counted). */
	uint64_t slice_seq;   /* the file being sliced */
	size_t slice_done;    /* its records delivered or dropped so far */
	size_t slice_end;     /* where the batch in flight ends */
	size_t slice_total;   /* records in the file */
	bool spool_full_told; /* the current spool-full episode was logged */
	bool wal_failed_told; /* the current episode of failed write-ahead appends was logged */
	/* where this signal's batches wait on disk (NULL: no spool): logs in spool_dir,
	 * metrics requests apart in spool_dir/metrics, so neither replays as the other */
	struct eu_otlp_spool *spool;
	unsigned attempts;
	uint64_t first_ms;
	uv_timer_t retry_timer;
	struct eu_otlp_signal_stats st;
};

struct scope {
	char *name;
	char *version;
};

struct eu_otlp_exporter {
	uv_loop_t *loop;
	struct eu_otlp_config cfg;
	void *resource;
	size_t resource_len;
	struct scope *scopes;
	size_t n_scopes, cap_scopes;
	size_t *scope_len; /* cap_scopes of them: a request's room for its scopes' sizes */
	eu_buf *packed;    /* each scope's InstrumentationScope, packed once */
	struct eu_otlp_http *http;
	uv_timer_t batch_timer;
	struct chan logs;
	struct chan metrics;
	struct eu_otlp_gzip *gzip; /* when either signal compresses: one for both */
	uint64_t rng;
	int open_handles;
	bool closing;
};

static void start_export(struct chan *c);
static int intern_scope(struct eu_otlp_exporter *exp, const char *name, size_t nl,
			const char *ver, size_t vl, uint32_t *out);

/* ---- small helpers ---- */

static uint64_t next_rand(struct eu_otlp_exporter *exp)
{
	/* xorshift64: jitter only needs to decorrelate agents, not be unpredictable */
	uint64_t x = exp->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	exp->rng = x;
	return x;
}

int64_t eu_otlp_retry_after_ms(const char *value, int64_t now)
{
	while (*value == ' ' || *value == '\t')
		value++;
	if (!*value)
		return -1;
	if (*value >= '0' && *value <= '9') {
		char *end;
		long long s = strtoll(value, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (*end || s < 0)
			return -1;
		if (s > 86400 * 365)
			s = 86400 * 365;
		return (int64_t)s * 1000;
	}
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return -1;
	return t > now ? ((int64_t)t - now) * 1000 : 0;
}

static void on_handle_closed(uv_handle_t *h);

static void close_handle(struct eu_otlp_exporter *exp, uv_handle_t *h)
{
	if (uv_is_closing(h))
		return;
	exp->open_handles++;
	uv_close(h, on_handle_closed);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *userp)
{
	struct chan *c = userp;
	size_t len = size * n;
	if (c->resp.len + len <= MAX_RESPONSE)
		eu_buf_append(&c->resp, ptr, len);
	return len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *userp)
{
	struct chan *c = userp;
	size_t len = size * n;
	if (c->grpc) {
		/* libcurl hands trailers to this callback too */
		eu_otlp_grpc_header(&c->gst, ptr, len);
		return len;
	}
	static const char name[] = "retry-after:";
	if (len > sizeof(name) - 1 && !strncasecmp(ptr, name, sizeof(name) - 1)) {
		size_t vl = len - (sizeof(name) - 1);
		if (vl >= sizeof(c->retry_after))
			vl = sizeof(c->retry_after) - 1;
		memcpy(c->retry_after, ptr + sizeof(name) - 1, vl);
		c->retry_after[vl] = '\0';
		/* trailing CRLF */
		char *e = c->retry_after + strlen(c->retry_after);
		while (e > c->retry_after && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
			*--e = '\0';
	}
	return len;
}

/* ---- queue ---- */

static bool q_push(struct chan *c, struct eu_otlp_item *it)
{
	if (c->q_len == c->q_cap) {
		size_t ncap = c->q_cap ? c->q_cap * 2 : 64;
		struct eu_otlp_item **nq = malloc(ncap * sizeof(*nq));
		if (!nq)
			return false;
		for (size_t i = 0; i < c->q_len; i++)
			nq[i] = c->q[(c->q_head + i) & (c->q_cap - 1)];
		free(c->q);
		c->q = nq;
		c->q_cap = ncap;
		c->q_head = 0;
	}
	c->q[(c->q_head + c->q_len) & (c->q_cap - 1)] = it; /* q_cap: a power of two */
	c->q_len++;
	c->q_bytes += it->len;
	return true;
}

static struct eu_otlp_item *q_pop(struct chan *c)
{
	struct eu_otlp_item *it = c->q[c->q_head];
	c->q_head = (c->q_head + 1) & (c->q_cap - 1);
	c->q_len--;
	c->q_bytes -= it->len;
	return it;
}

static void batch_free(struct chan *c)
{
	for (size_t i = 0; i < c->batch_n; i++)
		eu_otlp_item_free(&c->pool, c->batch[i]);
	c->batch_n = 0;
	c->attempts = 0;
}

static bool busy(const struct chan *c)
{
	return c->in_flight || c->waiting_retry || c->batch_n;
}

/* ---- spool ---- */

static bool spooling(const struct chan *c)
{
	return c->spool != NULL;
}

/* Only logs are written ahead: the metrics spool takes what could not be sent (overflow). */
static bool write_ahead(const struct chan *c)
{
	return c->is_logs && spooling(c) && c->exp->cfg.spool_write_ahead;
}

/* Records on disk waiting to be sent: sealed batch files or the open write-ahead file. */
static bool spool_pending(const struct chan *c)
{
	return spooling(c) && (eu_otlp_spool_files(c->spool) ||
			       eu_otlp_spool_open_records(c->spool));
}

/* Records that could not be spooled are dropped as spool_full; said once per episode (until
 * a write to the spool works again), with the reason (the cap, ENOSPC, EIO ...). */
static void spool_failed(struct chan *c, size_t n, const char *why)
{
	c->st.dropped_spool_full += n;
	if (c->spool_full_told)
		return;
	c->spool_full_told = true;
	eu_log(EU_LOG_WARN, "otlp %s: cannot spool %zu records: %s; records that neither the "
			    "receiver nor the spool takes are dropped (counted as spool_full) until the "
			    "spool has room again", c->what, n, why);
}

/* Writes items to the spool as batch seq: 0, or a negative errno with err saying why. */
static int spool_write_items(struct chan *c, uint64_t seq, struct eu_otlp_item **items, size_t n,
			     eu_error *err)
{
	struct eu_otlp_exporter *exp = c->exp;
	struct eu_otlp_scoped_record *recs = malloc((n ? n : 1) * sizeof(*recs));
	if (!recs)
		return eu_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		/* a metrics request carries its scopes inside */
		const struct scope *sc = c->is_logs ? &exp->scopes[items[i]->scope] : NULL;
		recs[i] = (struct eu_otlp_scoped_record){sc ? sc->name : "", sc ? sc->version : "",
							 items[i]->data, items[i]->len};
	}
	int ret = eu_otlp_spool_write(c->spool, seq, recs, n, err);
	free(recs);
	if (!ret) {
		c->st.spooled += n;
		c->spool_full_told = false;
	}
	return ret;
}

/* Writes items to the spool as batch seq: true when they are safe there; dropped and counted
 * as spool_full when not. */
static bool spool_items(struct chan *c, uint64_t seq, struct eu_otlp_item **items, size_t n)
{
	eu_error err = {0};
	if (!spool_write_items(c, seq, items, n, &err))
		return true;
	spool_failed(c, n, err.msg);
	return false;
}

/* Loads the oldest spool file as the batch: true when there is one to send. */
static bool batch_from_spool(struct chan *c)
{
	struct eu_otlp_exporter *exp = c->exp;
	while (eu_otlp_spool_files(c->spool)) {
		struct eu_otlp_spool_batch sb;
		uint64_t seq;
		eu_error err = {0};
		if (eu_otlp_spool_oldest(c->spool, &seq, &sb, &err)) {
			eu_log(EU_LOG_WARN, "otlp %s: %s", c->what, err.msg);
			if (err.code == -ENOMEM)
				return false;
			eu_otlp_spool_remove(c->spool, seq);
			continue;
		}
		if (sb.damaged)
			eu_log(EU_LOG_WARN, "otlp %s: spool file %016llx is damaged: %zu records "
					    "recovered from it", c->what, (unsigned long long)seq, sb.n);
		if (seq != c->slice_seq || c->slice_done > sb.n) {
			c->slice_seq = seq;
			c->slice_done = 0;
		}
		size_t from = c->slice_done;
		size_t n = sb.n - from < c->max_items ? sb.n - from : c->max_items;
		c->slice_total = sb.n;
		c->slice_end = from + n;
		for (size_t i = from; i < from + n; i++) {
			const struct eu_otlp_spool_rec *r = &sb.recs[i];
			uint32_t scope = 0;
			struct eu_otlp_item *it = NULL;
			if (!c->is_logs || !intern_scope(exp, r->scope_name, r->name_len,
							 r->scope_version, r->version_len, &scope))
				it = eu_otlp_item_new(&c->pool, r->len);
			if (!it) {
				eu_otlp_spool_batch_free(&sb);
				batch_free(c);
				return false;
			}
			it->scope = scope;
			memcpy(it->data, r->record, r->len);
			c->batch[c->batch_n++] = it;
		}
		eu_otlp_spool_batch_free(&sb);
		if (!c->batch_n) {
			eu_otlp_spool_remove(c->spool, seq);
			c->slice_done = 0;
			continue;
		}
		c->from_spool = true;
		c->batch_seq = seq;
		return true;
	}
	return false;
}

/* Queue full: the oldest batch's worth of the queue goes to disk to make room. 0, or the
 * spool's error (the records stay queued). */
static int spill_queue(struct chan *c, eu_error *err)
{
	size_t n = c->q_len < c->max_items ? c->q_len : c->max_items;
	if (!n)
		return eu_error_set(err, -ENOENT, "nothing queued");
	struct eu_otlp_item **items = malloc(n * sizeof(*items));
	if (!items)
		return eu_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		items[i] = c->q[(c->q_head + i) & (c->q_cap - 1)];
	int ret = spool_write_items(c, eu_otlp_spool_reserve(c->spool), items, n, err);
	free(items);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++)
		eu_otlp_item_free(&c->pool, q_pop(c));
	return 0;
}

/* ---- export ---- */

static void send_batch(struct chan *c);
static void slice_done(struct chan *c);

static void on_retry_timer(uv_timer_t *t)
{
	struct chan *c = t->data;
	c->waiting_retry = false;
	send_batch(c);
}

static void send_batch(struct chan *c)
{
	struct eu_otlp_exporter *exp = c->exp;
	eu_buf_reset(&c->resp);
	c->retry_after[0] = '\0';
	c->curl_err[0] = '\0';
	eu_otlp_grpc_status_reset(&c->gst);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body.data);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body.len);
	if (!eu_otlp_http_add(exp->http, c->easy)) {
		/* nothing was sent: try again after the first backoff step */
		c->in_flight = false;
		c->waiting_retry = true;
		uv_timer_start(&c->retry_timer, on_retry_timer, exp->cfg.retry_initial_ms, 0);
		eu_log(EU_LOG_WARN, "otlp %s: cannot start a request", c->what);
		return;
	}
	c->in_flight = true;
	c->st.requests++;
	if (c->attempts)
		c->st.retries++;
	c->attempts++;
	c->st.bytes_sent += c->body.len;
	c->st.bytes_raw += c->raw.len;
}

static void batch_rec(void *ctx, size_t i, struct eu_otlp_rec *out)
{
	const struct eu_otlp_item *it = ((const struct chan *)ctx)->batch[i];
	*out = (struct eu_otlp_rec){it->scope, it->data, it->len};
}

static int build_body(struct chan *c)
{
	struct eu_otlp_exporter *exp = c->exp;
	eu_buf_reset(&c->raw);
	eu_buf_reset(&c->body);
	if (c->is_logs) {
		int ret = eu_otlp_logs_assemble(exp->resource, exp->resource_len, exp->packed,
						exp->n_scopes, c->batch_n, batch_rec, c,
						exp->scope_len, &c->raw);
		if (ret)
			return ret;
	} else {
		/* concatenated requests are one request: their resource_metrics add up */
		for (size_t i = 0; i < c->batch_n; i++)
			eu_buf_append(&c->raw, c->batch[i]->data, c->batch[i]->len);
	}
	if (c->raw.oom)
		return -ENOMEM;
	if (c->sc->protocol == EU_OTLP_HTTP_JSON) {
		eu_error err = {0};
		eu_buf_reset(&c->json);
		int ret = eu_otlp_wire_json(c->is_logs ? EU_OTLP_WIRE_LOGS : EU_OTLP_WIRE_METRICS,
					    c->raw.data, c->raw.len, &c->json, &err);
		if (ret) {
			eu_log(EU_LOG_WARN, "otlp %s: cannot write a request of %zu records as JSON: "
					    "%s", c->what, c->batch_n, err.msg);
			return ret;
		}
		eu_buf swap = c->raw;
		c->raw = c->json;
		c->json = swap;
	}
	int at = c->grpc ? eu_otlp_grpc_frame_begin(&c->body) : 0;
	int ret = at < 0 ? at : 0;
	if (!ret && !c->sc->gzip) {
		eu_buf_append(&c->body, c->raw.data, c->raw.len);
		ret = c->body.oom ? -ENOMEM : 0;
	} else if (!ret) {
		ret = eu_otlp_gzip(c->exp->gzip, c->raw.data, c->raw.len, &c->body);
	}
	if (!ret && c->grpc)
		eu_otlp_grpc_frame_end(&c->body, (size_t)at, c->sc->gzip);
	return ret;
}

static void start_export(struct chan *c)
{
	struct eu_otlp_exporter *exp = c->exp;
	if (busy(c) || exp->closing)
		return;
	if (write_ahead(c) && !eu_otlp_spool_files(c->spool))
		eu_otlp_spool_seal(c->spool); /* the open file holds the oldest records unsent */
	if (!c->q_len && !spool_pending(c))
		return;
	if (!c->batch) {
		c->batch = malloc(c->max_items * sizeof(*c->batch));
		if (!c->batch)
			return;
	}
	c->from_spool = false;
	if (spooling(c) && batch_from_spool(c))
		goto send;
	if (!c->q_len)
		return;
	if (spooling(c))
		c->batch_seq = eu_otlp_spool_reserve(c->spool);
	size_t bytes = 0;
	while (c->q_len && c->batch_n < c->max_items) {
		struct eu_otlp_item *next = c->q[c->q_head];
		if (c->batch_n && bytes + next->len > exp->cfg.max_batch_bytes)
			break;
		bytes += next->len + 8;
		c->batch[c->batch_n++] = q_pop(c);
	}
	int ret;
send:
	ret = build_body(c);
	if (ret) {
		eu_log(EU_LOG_WARN, "otlp %s: %s building a request: %zu records dropped", c->what,
		       ret == -ENOMEM ? "out of memory" : "failed", c->batch_n);
		c->st.dropped_non_retryable += c->batch_n;
		if (c->from_spool)
			slice_done(c); /* counted as dropped: not again from the file */
		batch_free(c);
		return;
	}
	c->attempts = 0;
	c->first_ms = uv_now(exp->loop);
	send_batch(c);
}

static void arm_batch_timer(struct eu_otlp_exporter *exp);

/* After a batch is done (sent or dropped): the next one goes at once when a whole batch is
 * waiting, else when the schedule delay says. */
static void batch_done(struct chan *c)
{
	batch_free(c);
	if (c->q_len >= c->max_items)
		start_export(c);
	else if (c->q_len || spool_pending(c))
		arm_batch_timer(c->exp);
}


static uint64_t dropped_total(const struct eu_otlp_signal_stats *st)
{
	return st->dropped_queue_full + st->dropped_non_retryable + st->dropped_retries_exhausted +
	       st->dropped_spool_full + st->dropped_shutdown;
}

/* A request failed: the first failure of an episode is told at once, then a reminder every
 * FAILING_REMIND_MS while it lasts. */
static void note_failure(struct chan *c, const char *why)
{
	uint64_t now = uv_now(c->exp->loop);
	c->fail_requests++;
	if (!c->failing) {
		c->failing = true;
		c->fail_since_ms = now;
		c->fail_warned_ms = now;
		eu_log(EU_LOG_WARN, "otlp %s: export to %s failed: %s; %s", c->what, c->sc->url, why,
		       spooling(c) ? "retrying with backoff, then spooling to disk"
				   : "retrying with backoff while the records wait in the queue");
		return;
	}
	if (now - c->fail_warned_ms < FAILING_REMIND_MS)
		return;
	c->fail_warned_ms = now;
	eu_log(EU_LOG_WARN,
	       "otlp %s: export to %s still failing after %llu s (%llu failed requests): %s; "
	       "%zu records queued, %llu spooled, %llu dropped so far",
	       c->what, c->sc->url, (unsigned long long)((now - c->fail_since_ms) / 1000),
	       (unsigned long long)c->fail_requests, why, c->q_len + c->batch_n,
	       (unsigned long long)c->st.spooled, (unsigned long long)dropped_total(&c->st));
}

static void note_success(struct chan *c)
{
	if (!c->failing)
		return;
	uint64_t now = uv_now(c->exp->loop);
	eu_log(EU_LOG_INFO, "otlp %s: export to %s works again after %llu s (%llu failed requests)",
	       c->what, c->sc->url, (unsigned long long)((now - c->fail_since_ms) / 1000),
	       (unsigned long long)c->fail_requests);
	c->failing = false;
	c->fail_requests = 0;
}

/* delay_ms >= 0: the receiver said when (Retry-After, RetryInfo); else exponential backoff */
static void retry_or_drop(struct chan *c, const char *why, int64_t delay_ms)
{
	struct eu_otlp_exporter *exp = c->exp;
	const struct eu_otlp_config *cfg = &exp->cfg;
	uint64_t delay;
	note_failure(c, why);
	if (delay_ms >= 0) {
		delay = (uint64_t)delay_ms;
	} else {
		/* exponential backoff, each step with jitter in [base/2, base] */
		uint64_t base = cfg->retry_initial_ms;
		for (unsigned i = 1; i < c->attempts && base < cfg->retry_max_ms; i++)
			base *= 2;
		if (base > cfg->retry_max_ms)
			base = cfg->retry_max_ms;
		delay = base / 2 + (base ? next_rand(exp) % (base / 2 + 1) : 0);
	}
	uint64_t now = uv_now(exp->loop);
	bool out_of_attempts = cfg->max_attempts && c->attempts >= cfg->max_attempts;
	bool out_of_time = now + delay - c->first_ms > cfg->export_timeout_ms;
	if (out_of_attempts || out_of_time) {
		if (c->from_spool) {
			/* it stays on disk; the next round starts after the schedule delay */
			eu_log(EU_LOG_DEBUG, "otlp %s: spool batch not delivered yet (%s)", c->what,
			       why);
		} else if (spooling(c)) {
			eu_log(EU_LOG_INFO, "otlp %s: %zu records spooled after %u attempts (%s)",
			       c->what, c->batch_n, c->attempts, why);
			spool_items(c, c->batch_seq, c->batch, c->batch_n);
		} else {
			eu_log(EU_LOG_WARN, "otlp %s: %zu records dropped after %u attempts (%s)",
			       c->what, c->batch_n, c->attempts, why);
			c->st.dropped_retries_exhausted += c->batch_n;
		}
		batch_done(c);
		return;
	}
	eu_log(EU_LOG_DEBUG, "otlp %s: %s; retry %u in %llu ms", c->what, why, c->attempts,
	       (unsigned long long)delay);
	c->waiting_retry = true;
	uv_timer_start(&c->retry_timer, on_retry_timer, delay, 0);
}

/* The Export response message (possibly empty): a partial success is logged and counted. */
static void read_partial_success(struct chan *c, const uint8_t *msg, size_t len)
{
	if (!len)
		return;
	int64_t rejected = 0;
	char *text = NULL;
	if (c->sc->protocol == EU_OTLP_HTTP_JSON) {
		char m[256];
		eu_error err = {0};
		if (eu_otlp_wire_json_partial(c->is_logs ? EU_OTLP_WIRE_LOGS : EU_OTLP_WIRE_METRICS,
					      msg, len, &rejected, m, sizeof(m), &err)) {
			eu_log(EU_LOG_WARN, "otlp %s: %s: the response is not an Export response in "
					    "JSON (%s); partial success not read", c->what,
			       c->sc->url, err.msg);
			return;
		}
		text = m[0] ? strdup(m) : NULL;
	} else if (c->is_logs) {
		Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse *r =
			opentelemetry__proto__collector__logs__v1__export_logs_service_response__unpack(
				NULL, len, msg);
		if (!r)
			return;
		if (r->partial_success) {
			rejected = r->partial_success->rejected_log_records;
			if (r->partial_success->error_message && *r->partial_success->error_message)
				text = strdup(r->partial_success->error_message);
		}
		opentelemetry__proto__collector__logs__v1__export_logs_service_response__free_unpacked(
			r, NULL);
	} else {
		Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *r =
			opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
				NULL, len, msg);
		if (!r)
			return;
		if (r->partial_success) {
			rejected = r->partial_success->rejected_data_points;
			if (r->partial_success->error_message && *r->partial_success->error_message)
				text = strdup(r->partial_success->error_message);
		}
		opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__free_unpacked(
			r, NULL);
	}
	if (rejected > 0 || text)
		eu_log(EU_LOG_WARN, "otlp %s: partial success: %lld rejected: %s", c->what,
		       (long long)rejected, text ? text : "(no message)");
	if (rejected > 0)
		c->st.rejected += (uint64_t)rejected;
	free(text);
}

/* The spool slice in flight is settled (delivered, or dropped and counted): the file goes
 * when this was its last slice. */
static void slice_done(struct chan *c)
{
	if (c->slice_end < c->slice_total) {
		c->slice_done = c->slice_end;
		return;
	}
	eu_otlp_spool_remove(c->spool, c->batch_seq);
	c->slice_done = 0;
}

enum verdict { DELIVERED, RETRY, DROP };

struct outcome {
	enum verdict verdict;
	char why[384];
	int64_t delay_ms; /* RETRY: when the receiver asked for it, else -1 */
};

static void http_outcome(struct chan *c, long status, struct outcome *o)
{
	if (status >= 200 && status < 300) {
		o->verdict = DELIVERED;
		read_partial_success(c, (const uint8_t *)c->resp.data, c->resp.len);
		return;
	}
	snprintf(o->why, sizeof(o->why), "HTTP %ld", status);
	if (status == 429 || status == 502 || status == 503 || status == 504) {
		o->verdict = RETRY;
		if (c->retry_after[0])
			o->delay_ms = eu_otlp_retry_after_ms(c->retry_after, time(NULL));
		return;
	}
	o->verdict = DROP;
}

static void grpc_outcome(struct chan *c, long status, struct outcome *o)
{
	struct eu_otlp_grpc_status *g = &c->gst;
	if (g->code < 0) {
		/* no grpc-status: a proxy or a server that is not gRPC answered */
		g->code = status == 200 ? EU_GRPC_UNKNOWN : eu_otlp_grpc_code_from_http(status);
		snprintf(g->message, sizeof(g->message), "HTTP %ld without a grpc-status", status);
	}
	if (g->code == EU_GRPC_OK) {
		const uint8_t *msg;
		size_t len;
		bool compressed;
		o->verdict = DELIVERED;
		if (eu_otlp_grpc_unframe(c->resp.data, c->resp.len, &msg, &len, &compressed)) {
			eu_log(EU_LOG_WARN, "otlp %s: %s: the response is not one gRPC message "
					    "(%zu bytes); partial success not read", c->what,
			       c->sc->url, c->resp.len);
			return;
		}
		if (!compressed) {
			read_partial_success(c, msg, len);
			return;
		}
		void *plain = NULL;
		size_t plen = 0;
		if (!eu_zlib_inflate(msg, len, MAX_RESPONSE, 0, &plain, &plen, NULL))
			read_partial_success(c, plain, plen);
		free(plain);
		return;
	}
	snprintf(o->why, sizeof(o->why), "gRPC %s%s%s", eu_otlp_grpc_code_name(g->code),
		 g->message[0] ? ": " : "", g->message);
	o->verdict = eu_otlp_grpc_retryable(g) ? RETRY : DROP;
	if (g->retry_info)
		o->delay_ms = g->retry_delay_ms;
}

static void on_done(struct chan *c, CURLcode code)
{
	c->in_flight = false;
	long status = 0;
	if (code == CURLE_OK)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	c->st.last_status = status;
	if (c->exp->closing)
		return;
	struct outcome o = {.verdict = RETRY, .delay_ms = -1};
	if (code != CURLE_OK)
		/* the error buffer names the host and the cause ("Connection refused") */
		snprintf(o.why, sizeof(o.why), "%s", c->curl_err[0] ? c->curl_err
								    : curl_easy_strerror(code));
	else if (c->grpc)
		grpc_outcome(c, status, &o);
	else
		http_outcome(c, status, &o);
	switch (o.verdict) {
	case DELIVERED:
		note_success(c);
		c->st.exported += c->batch_n;
		if (c->from_spool) {
			c->st.replayed += c->batch_n;
			slice_done(c);
		}
		batch_done(c);
		return;
	case RETRY:
		retry_or_drop(c, o.why, o.delay_ms);
		return;
	case DROP:
		break;
	}
	char why[sizeof(o.why) + 64];
	snprintf(why, sizeof(why), "%s (not retryable: %zu records dropped)", o.why, c->batch_n);
	note_failure(c, why);
	c->st.dropped_non_retryable += c->batch_n;
	if (c->from_spool)
		slice_done(c);
	batch_done(c);
}

static void on_transfer_done(void *ctx, CURL *easy, CURLcode code)
{
	struct chan *c = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
	if (c)
		on_done(c, code);
}

static void on_batch_timer(uv_timer_t *t)
{
	struct eu_otlp_exporter *exp = t->data;
	start_export(&exp->logs);
	start_export(&exp->metrics);
}

static void arm_batch_timer(struct eu_otlp_exporter *exp)
{
	if (!uv_is_active((uv_handle_t *)&exp->batch_timer))
		uv_timer_start(&exp->batch_timer, on_batch_timer, exp->cfg.schedule_delay_ms, 0);
}

/* Write-ahead: the record goes to the spool's open file; 0 when it is there. Failures are
 * told once per episode and the caller queues the record in memory instead. */
static int wal_append(struct chan *c, uint32_t scope, const void *data, size_t len)
{
	struct eu_otlp_exporter *exp = c->exp;
	const struct scope *sc = &exp->scopes[scope];
	struct eu_otlp_scoped_record r = {sc->name, sc->version, data, len};
	eu_error err = {0};
	if (eu_otlp_spool_append(c->spool, &r, &err)) {
		if (!c->wal_failed_told)
			eu_log(EU_LOG_WARN, "otlp %s: cannot write records ahead to the spool: %s; "
					    "they wait in memory (lost if the agent is killed) until "
					    "the spool has room again", c->what, err.msg);
		c->wal_failed_told = true;
		return err.code ? err.code : -EIO;
	}
	if (c->wal_failed_told)
		eu_log(EU_LOG_INFO, "otlp %s: records are written ahead to the spool again",
		       c->what);
	c->wal_failed_told = false;
	c->st.queued++;
	c->st.spooled++;
	if (eu_otlp_spool_open_records(c->spool) >= c->max_items ||
	    eu_otlp_spool_open_bytes(c->spool) >= exp->cfg.max_batch_bytes) {
		/* a whole batch is on disk: it may go now (or after the one in flight) */
		eu_otlp_spool_seal(c->spool);
		start_export(c);
	} else {
		arm_batch_timer(exp);
	}
	return 0;
}

static int enqueue(struct chan *c, size_t max_items, uint32_t scope, const void *data,
		   size_t len)
{
	struct eu_otlp_exporter *exp = c->exp;
	if (exp->closing) {
		c->st.dropped_shutdown++;
		return -ENOBUFS;
	}
	/* while records wait in memory, newer ones queue behind them (order) */
	if (write_ahead(c) && !c->q_len && !wal_append(c, scope, data, len))
		return 0;
	eu_error err = {0};
	bool spill_failed = false;
	while (c->q_len && (c->q_len >= max_items || c->q_bytes + len > exp->cfg.max_queue_bytes)) {
		if (!spooling(c))
			break;
		if (spill_queue(c, &err)) {
			spill_failed = true;
			break;
		}
	}
	if (c->q_len >= max_items || c->q_bytes + len > exp->cfg.max_queue_bytes) {
		/* with a spool, a full queue drops only because the spool did not take it */
		if (spill_failed)
			spool_failed(c, 1, err.msg);
		else
			c->st.dropped_queue_full++;
		return -ENOBUFS;
	}
	struct eu_otlp_item *it = eu_otlp_item_new(&c->pool, len);
	if (!it) {
		c->st.dropped_queue_full++;
		return -ENOBUFS;
	}
	it->scope = scope;
	memcpy(it->data, data, len);
	if (!q_push(c, it)) {
		eu_otlp_item_free(&c->pool, it);
		c->st.dropped_queue_full++;
		return -ENOBUFS;
	}
	c->st.queued++;
	if (c->q_len >= c->max_items)
		start_export(c);
	else
		arm_batch_timer(exp);
	return 0;
}

static int intern_scope(struct eu_otlp_exporter *exp, const char *name, size_t nl,
			const char *ver, size_t vl, uint32_t *out)
{
	size_t s;
	for (s = 0; s < exp->n_scopes; s++)
		if (strlen(exp->scopes[s].name) == nl && !memcmp(exp->scopes[s].name, name, nl) &&
		    strlen(exp->scopes[s].version) == vl && !memcmp(exp->scopes[s].version, ver, vl))
			break;
	if (s == exp->n_scopes) {
		if (exp->n_scopes == exp->cap_scopes) {
			size_t ncap = exp->cap_scopes ? exp->cap_scopes * 2 : 16;
			struct scope *ns = realloc(exp->scopes, ncap * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			exp->scopes = ns;
			size_t *nl_ = realloc(exp->scope_len, ncap * sizeof(*nl_));
			if (!nl_)
				return -ENOMEM;
			exp->scope_len = nl_;
			eu_buf *np = realloc(exp->packed, ncap * sizeof(*np));
			if (!np)
				return -ENOMEM;
			exp->packed = np;
			exp->cap_scopes = ncap;
		}
		char *dn = strndup(name, nl), *dv = strndup(ver, vl);
		eu_buf packed;
		eu_buf_init(&packed);
		if (!dn || !dv || eu_otlp_scope_pack(dn, dv, &packed)) {
			free(dn);
			free(dv);
			eu_buf_free(&packed);
			return -ENOMEM;
		}
		exp->scopes[s] = (struct scope){dn, dv};
		exp->packed[s] = packed;
		exp->n_scopes++;
	}
	*out = (uint32_t)s;
	return 0;
}

int eu_otlp_exporter_scope(struct eu_otlp_exporter *exp, const char *scope_name,
			   const char *scope_version, uint32_t *scope)
{
	const char *n = scope_name ? scope_name : "";
	const char *v = scope_version ? scope_version : "";
	return intern_scope(exp, n, strlen(n), v, strlen(v), scope);
}

int eu_otlp_exporter_log_scope(struct eu_otlp_exporter *exp, uint32_t scope,
			       const void *record, size_t len)
{
	if (scope >= exp->n_scopes) {
		exp->logs.st.dropped_queue_full++;
		return -ENOBUFS;
	}
	return enqueue(&exp->logs, exp->cfg.max_queue, scope, record, len);
}

int eu_otlp_exporter_log(struct eu_otlp_exporter *exp, const char *scope_name,
			 const char *scope_version, const void *record, size_t len)
{
	uint32_t s;
	if (eu_otlp_exporter_scope(exp, scope_name, scope_version, &s)) {
		exp->logs.st.dropped_queue_full++;
		return -ENOBUFS;
	}
	return enqueue(&exp->logs, exp->cfg.max_queue, s, record, len);
}

int eu_otlp_exporter_metrics(struct eu_otlp_exporter *exp, const void *request, size_t len)
{
	return enqueue(&exp->metrics, exp->cfg.max_metric_requests, 0, request, len);
}

int eu_otlp_exporter_sync(struct eu_otlp_exporter *exp)
{
	return exp->logs.spool ? eu_otlp_spool_sync(exp->logs.spool) : 0;
}

void eu_otlp_exporter_flush(struct eu_otlp_exporter *exp)
{
	start_export(&exp->logs);
	start_export(&exp->metrics);
}

bool eu_otlp_exporter_idle(const struct eu_otlp_exporter *exp)
{
	return !exp->logs.q_len && !busy(&exp->logs) && !exp->metrics.q_len &&
	       !busy(&exp->metrics) && !spool_pending(&exp->logs) && !spool_pending(&exp->metrics);
}

static void chan_stats(const struct chan *c, struct eu_otlp_signal_stats *out)
{
	*out = c->st;
	out->queue_len = c->q_len;
	if (c->spool) {
		out->spool_files = eu_otlp_spool_files(c->spool);
		out->spool_bytes = eu_otlp_spool_bytes(c->spool);
	}
}

void eu_otlp_exporter_get_stats(const struct eu_otlp_exporter *exp, struct eu_otlp_stats *out)
{
	chan_stats(&exp->logs, &out->logs);
	chan_stats(&exp->metrics, &out->metrics);
}

/* ---- life cycle ---- */

static int chan_init(struct eu_otlp_exporter *exp, struct chan *c,
		     const struct eu_otlp_signal_config *sc, const char *what, bool is_logs,
		     size_t max_items, eu_error *err)
{
	c->exp = exp;
	c->sc = sc;
	c->what = what;
	c->is_logs = is_logs;
	c->max_items = max_items ? max_items : 1;
	eu_buf_init(&c->raw);
	eu_buf_init(&c->json);
	eu_buf_init(&c->body);
	eu_buf_init(&c->resp);
	uv_timer_init(exp->loop, &c->retry_timer);
	c->retry_timer.data = c;
	c->grpc = sc->protocol == EU_OTLP_GRPC;
	c->easy = curl_easy_init();
	if (!c->easy)
		return eu_error_set(err, -ENOMEM, "otlp %s: curl_easy_init failed", what);
	const char *const http_fixed[] = {sc->protocol == EU_OTLP_HTTP_JSON
						  ? "Content-Type: application/json"
						  : "Content-Type: application/x-protobuf",
					  /* no 100-continue round trip before large bodies */
					  "Expect:"};
	static const char *const grpc_fixed[] = {"Content-Type: application/grpc",
						 /* gRPC requires it: the status comes as trailers */
						 "TE: trailers", "grpc-accept-encoding: identity,gzip",
						 "Expect:"};
	const char *const *fixed = c->grpc ? grpc_fixed : http_fixed;
	size_t n_fixed = c->grpc ? sizeof(grpc_fixed) / sizeof(grpc_fixed[0])
				 : sizeof(http_fixed) / sizeof(http_fixed[0]);
	for (size_t i = 0; i < n_fixed; i++)
		c->hdrs = curl_slist_append(c->hdrs, fixed[i]);
	if (sc->gzip)
		c->hdrs = curl_slist_append(c->hdrs, c->grpc ? "grpc-encoding: gzip"
							     : "Content-Encoding: gzip");
	if (c->grpc && sc->timeout_ms) {
		/* the server's deadline for the call: the same as ours */
		char to[48];
		snprintf(to, sizeof(to), "grpc-timeout: %um", sc->timeout_ms);
		c->hdrs = curl_slist_append(c->hdrs, to);
	}
	for (size_t i = 0; i < sc->n_headers; i++)
		c->hdrs = curl_slist_append(c->hdrs, sc->headers[i]);
	if (!c->hdrs)
		return eu_error_set(err, -ENOMEM, "otlp %s: out of memory", what);
	CURL *e = c->easy;
	curl_easy_setopt(e, CURLOPT_URL, sc->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "eunomia-agent/" EU_VERSION);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)sc->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_err);
	/* gRPC is HTTP/2 only: TLS with ALPN "h2", cleartext with prior knowledge (h2c, no
	 * upgrade dance; otlp_http.c sets the version of each attempt) */
	if (c->grpc && !strncasecmp(sc->url, "https://", 8))
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	else if (c->grpc && eu_otlp_http_h2c(exp->http, e))
		return eu_error_set(err, -ENOMEM, "otlp %s: out of memory", what);
	if (sc->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, sc->ca_file);
	if (sc->client_cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, sc->client_cert);
	if (sc->client_key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, sc->client_key);
	return 0;
}

static int copy_signal(struct eu_otlp_signal_config *d, const struct eu_otlp_signal_config *s)
{
	*d = (struct eu_otlp_signal_config){.protocol = s->protocol, .gzip = s->gzip,
					    .timeout_ms = s->timeout_ms};
	d->url = strdup(s->url ? s->url : "");
	d->ca_file = s->ca_file ? strdup(s->ca_file) : NULL;
	d->client_cert = s->client_cert ? strdup(s->client_cert) : NULL;
	d->client_key = s->client_key ? strdup(s->client_key) : NULL;
	d->headers = calloc(s->n_headers ? s->n_headers : 1, sizeof(*d->headers));
	if (!d->url || !d->headers || (s->ca_file && !d->ca_file) ||
	    (s->client_cert && !d->client_cert) || (s->client_key && !d->client_key))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_headers; i++) {
		d->headers[i] = strdup(s->headers[i]);
		if (!d->headers[i])
			return -ENOMEM;
		d->n_headers++;
	}
	return 0;
}

static void exporter_free(struct eu_otlp_exporter *exp);

int eu_otlp_exporter_new(uv_loop_t *loop, const struct eu_otlp_config *cfg,
			 const void *resource, size_t resource_len,
			 struct eu_otlp_exporter **out, eu_error *err)
{
	*out = NULL;
	struct eu_otlp_exporter *exp = calloc(1, sizeof(*exp));
	if (!exp)
		return eu_error_set(err, -ENOMEM, "otlp exporter: out of memory");
	exp->loop = loop;
	exp->cfg = *cfg;
	exp->cfg.logs = (struct eu_otlp_signal_config){0};
	exp->cfg.metrics = (struct eu_otlp_signal_config){0};
	exp->cfg.spool_dir = NULL;
	if (!exp->cfg.max_queue)
		exp->cfg.max_queue = 2048;
	if (!exp->cfg.max_batch)
		exp->cfg.max_batch = 512;
	if (!exp->cfg.max_queue_bytes)
		exp->cfg.max_queue_bytes = 64u << 20;
	if (!exp->cfg.max_batch_bytes)
		exp->cfg.max_batch_bytes = 4u << 20;
	if (!exp->cfg.max_metric_requests)
		exp->cfg.max_metric_requests = 16;
	if (!exp->cfg.export_timeout_ms)
		exp->cfg.export_timeout_ms = 30000;
	if (exp->cfg.gzip_level < 1 || exp->cfg.gzip_level > EU_OTLP_GZIP_LEVEL_MAX)
		exp->cfg.gzip_level = EU_OTLP_GZIP_LEVEL;
	exp->rng = (uint64_t)(uintptr_t)exp ^ ((uint64_t)time(NULL) << 20) ^ 0x9e3779b97f4a7c15ull;
	exp->resource = malloc(resource_len ? resource_len : 1);
	int ret = -ENOMEM;
	if (!exp->resource || copy_signal(&exp->cfg.logs, &cfg->logs) ||
	    copy_signal(&exp->cfg.metrics, &cfg->metrics)) {
		eu_error_set(err, ret, "otlp exporter: out of memory");
		goto fail;
	}
	memcpy(exp->resource, resource, resource_len);
	exp->resource_len = resource_len;
	if (cfg->spool_dir) {
		exp->cfg.spool_dir = strdup(cfg->spool_dir);
		if (!exp->cfg.spool_dir) {
			eu_error_set(err, ret, "otlp exporter: out of memory");
			goto fail;
		}
		ret = eu_otlp_spool_open(cfg->spool_dir, cfg->spool_max_bytes, cfg->spool_fsync,
					 &exp->logs.spool, err);
		char *mdir = NULL;
		if (!ret && asprintf(&mdir, "%s/metrics", cfg->spool_dir) < 0)
			ret = eu_error_set(err, -ENOMEM, "otlp exporter: out of memory");
		if (!ret)
			ret = eu_otlp_spool_open(mdir, cfg->spool_max_bytes, cfg->spool_fsync,
						 &exp->metrics.spool, err);
		free(mdir);
		/* spool_max_size bounds spool_dir: the two signals draw on one budget */
		if (!ret)
			eu_otlp_spool_share_cap(exp->logs.spool, exp->metrics.spool);
		if (ret)
			goto fail;
		ret = -ENOMEM;
	}

	if (cfg->logs.gzip || cfg->metrics.gzip) {
		exp->gzip = eu_otlp_gzip_new(exp->cfg.gzip_level);
		if (!exp->gzip) {
			eu_error_set(err, ret, "otlp exporter: out of memory");
			goto fail;
		}
	}
	if (eu_otlp_http_new(loop, on_transfer_done, exp, &exp->http)) {
		eu_error_set(err, ret, "otlp exporter: cannot set up libcurl");
		goto fail;
	}
	uv_timer_init(loop, &exp->batch_timer);
	exp->batch_timer.data = exp;
	ret = chan_init(exp, &exp->logs, &exp->cfg.logs, "logs", true, exp->cfg.max_batch, err);
	if (!ret)
		ret = chan_init(exp, &exp->metrics, &exp->cfg.metrics, "metrics", false, 1, err);
	if (ret)
		goto fail_handles;
	for (int i = 0; i < 2; i++) {
		const struct eu_otlp_signal_config *sc = i ? &exp->cfg.metrics : &exp->cfg.logs;
		eu_log(EU_LOG_INFO, "otlp %s: exporting to %s (%s, %s, timeout %u ms)",
		       i ? "metrics" : "logs", sc->url, eu_otlp_protocol_name(sc->protocol),
		       sc->gzip ? "gzip" : "no compression", sc->timeout_ms);
	}
	for (int i = 0; exp->logs.spool && i < 2; i++) {
		const struct chan *c = i ? &exp->metrics : &exp->logs;
		eu_log(EU_LOG_INFO, "otlp %s: spool %s%s%s: %zu batch files (%llu bytes) from earlier "
				    "runs to replay", c->what, exp->cfg.spool_dir, i ? "/metrics" : "",
		       write_ahead(c) ? " (write-ahead)" : "", eu_otlp_spool_files(c->spool),
		       (unsigned long long)eu_otlp_spool_bytes(c->spool));
		if (eu_otlp_spool_files(c->spool))
			arm_batch_timer(exp); /* replay what an earlier run left */
	}
	*out = exp;
	return 0;
fail_handles:
	/* the timers are initialised: they must be closed before the memory goes */
	eu_otlp_exporter_close(exp);
	uv_run(loop, UV_RUN_NOWAIT);
	return ret;
fail:
	exporter_free(exp);
	return ret;
}

static void chan_free(struct chan *c)
{
	while (c->q_len)
		eu_otlp_item_free(&c->pool, q_pop(c));
	free(c->q);
	batch_free(c);
	free(c->batch);
	eu_otlp_pool_free(&c->pool);
	eu_buf_free(&c->raw);
	eu_buf_free(&c->json);
	eu_buf_free(&c->body);
	eu_buf_free(&c->resp);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->hdrs);
}

static void exporter_free(struct eu_otlp_exporter *exp)
{
	chan_free(&exp->logs);
	chan_free(&exp->metrics);
	for (size_t i = 0; i < exp->n_scopes; i++) {
		free(exp->scopes[i].name);
		free(exp->scopes[i].version);
		eu_buf_free(&exp->packed[i]);
	}
	free(exp->scopes);
	free(exp->scope_len);
	free(exp->packed);
	free(exp->resource);
	eu_otlp_spool_close(exp->logs.spool);
	eu_otlp_spool_close(exp->metrics.spool);
	eu_otlp_gzip_free(exp->gzip);
	eu_otlp_config_free(&exp->cfg);
	free(exp);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct eu_otlp_exporter *exp = h->data; /* every timer points at the exporter once closing */
	if (--exp->open_handles == 0 && exp->closing)
		exporter_free(exp);
}

static void on_http_closed(void *ctx)
{
	struct eu_otlp_exporter *exp = ctx;
	exp->http = NULL;
	if (--exp->open_handles == 0 && exp->closing)
		exporter_free(exp);
}

static void chan_shutdown(struct chan *c)
{
	if (c->in_flight) {
		eu_otlp_http_remove(c->exp->http, c->easy);
		c->in_flight = false;
	}
	if (spooling(c)) {
		/* a spool batch is still on disk; the rest goes there in queue order */
		if (c->batch_n && !c->from_spool)
			spool_items(c, c->batch_seq, c->batch, c->batch_n);
		while (c->q_len) {
			eu_error err = {0};
			if (spill_queue(c, &err)) {
				spool_failed(c, c->q_len, err.msg);
				break;
			}
		}
	} else {
		c->st.dropped_shutdown += c->batch_n + c->q_len;
	}
	batch_free(c);
	while (c->q_len)
		eu_otlp_item_free(&c->pool, q_pop(c));
	c->waiting_retry = false;
	uv_timer_stop(&c->retry_timer);
}

void eu_otlp_exporter_close(struct eu_otlp_exporter *exp)
{
	if (!exp || exp->closing)
		return;
	exp->closing = true;
	chan_shutdown(&exp->logs);
	chan_shutdown(&exp->metrics);
	/* one extra count so no close callback frees before every close is requested */
	exp->open_handles++;
	if (exp->http) {
		exp->open_handles++;
		eu_otlp_http_close(exp->http, on_http_closed);
	}
	uv_timer_stop(&exp->batch_timer);
	close_handle(exp, (uv_handle_t *)&exp->batch_timer);
	exp->logs.retry_timer.data = exp;
	exp->metrics.retry_timer.data = exp;
	close_handle(exp, (uv_handle_t *)&exp->logs.retry_timer);
	close_handle(exp, (uv_handle_t *)&exp->metrics.retry_timer);
	exp->open_handles--;
}
