/* The sink core: a bounded queue of batches and one writer thread per sink (see sink.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eunomia/log.h"
#include "sink_priv.h"

/* See count_result. */
#define EPISODE_QUIET_MS 2000u

struct chunk {
	struct chunk *next;
	size_t len;
	size_t n_records;
	char data[];
};

struct eu_sink {
	char *name;
	const struct eu_sink_ops *ops;
	struct eu_sink_backend *backend;
	size_t max_records, max_bytes;

	pthread_mutex_t mu;
	pthread_cond_t wake;    /* to the writer: work, reopen or stop */
	pthread_cond_t drained; /* from the writer: the queue went empty */
	pthread_t thread;
	struct chunk *head, *tail;
	size_t q_records, q_bytes;
	bool busy;       /* the writer holds chunks outside the queue */
	bool stop;
	bool reopen;
	bool abandoned;  /* eu_sink_abandon: everything unwritten is counted dropped already */
	bool reader_gone; /* a write failed with EPIPE: nobody reads the other end any more */
	bool failing;    /* in an error episode: log once */
	uint64_t episode_drops;
	uint64_t last_failure_ms;
	struct eu_sink_stats st;
};

/* ms from now on CLOCK_REALTIME, the clock pthread_cond_timedwait measures against */
static struct timespec deadline_in(uint32_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

uint64_t eu_sink_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void eu_sink_config_init(struct eu_sink_config *cfg, enum eu_sink_type type)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = type;
	cfg->fd = 1;
	cfg->keep = EU_SINK_DEFAULT_KEEP;
	cfg->fsync = EU_FSYNC_NONE;
	cfg->fsync_interval_ms = 1000;
}

int eu_sink_config_from_spec(const char *spec, struct eu_sink_config *out, eu_error *err)
{
	if (!strcmp(spec, "stdout")) {
		eu_sink_config_init(out, EU_SINK_STDOUT);
		return 0;
	}
	if (!strncmp(spec, "file:", 5)) {
		if (!spec[5])
			return eu_error_set(err, -EINVAL, "sink '%s': file: needs a path (file:PATH)",
					    spec);
		eu_sink_config_init(out, EU_SINK_FILE);
		out->path = strdup(spec + 5);
		return out->path ? 0 : eu_error_set(err, -ENOMEM, "out of memory");
	}
	if (!strcmp(spec, "otlp") || !strncmp(spec, "otlp:", 5)) {
		eu_sink_config_init(out, EU_SINK_OTLP);
		if (spec[4] == ':' && !(out->path = strdup(spec + 5)))
			return eu_error_set(err, -ENOMEM, "out of memory");
		return 0;
	}
	return eu_error_set(err, -EINVAL,
			    "unknown sink '%s' (expected stdout, file:PATH, otlp or otlp:URL)", spec);
}

int eu_sink_config_copy(struct eu_sink_config *dst, const struct eu_sink_config *src)
{
	*dst = *src;
	dst->path = dst->spool_dir = dst->severity = dst->attributes = NULL;
	dst->otel = NULL;
	dst->n_otel = 0;
	for (size_t i = 0; i < src->n_otel; i++) {
		if (eu_sink_config_set_otel(dst, src->otel[i].name, src->otel[i].value)) {
			eu_sink_config_free(dst);
			return -ENOMEM;
		}
	}
	if ((src->path && !(dst->path = strdup(src->path))) ||
	    (src->spool_dir && !(dst->spool_dir = strdup(src->spool_dir))) ||
	    (src->severity && !(dst->severity = strdup(src->severity))) ||
	    (src->attributes && !(dst->attributes = strdup(src->attributes)))) {
		eu_sink_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int eu_sink_config_set_otel(struct eu_sink_config *cfg, const char *name, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_otel; i++) {
		if (!strcmp(cfg->otel[i].name, name)) {
			free(cfg->otel[i].value);
			cfg->otel[i].value = v;
			return 0;
		}
	}
	struct eu_sink_setting *o = realloc(cfg->otel, (cfg->n_otel + 1) * sizeof(*o));
	char *n = strdup(name);
	if (!o || !n) {
		if (o)
			cfg->otel = o;
		free(n);
		free(v);
		return -ENOMEM;
	}
	cfg->otel = o;
	cfg->otel[cfg->n_otel++] = (struct eu_sink_setting){n, v};
	return 0;
}

const char *eu_sink_config_getenv(void *ctx, const char *name)
{
	const struct eu_sink_config *cfg = ctx;
	for (size_t i = 0; cfg && i < cfg->n_otel; i++)
		if (!strcmp(cfg->otel[i].name, name))
			return cfg->otel[i].value;
	return getenv(name);
}

static bool otel_eq(const struct eu_sink_config *a, const struct eu_sink_config *b)
{
	if (a->n_otel != b->n_otel)
		return false;
	for (size_t i = 0; i < a->n_otel; i++)
		if (!str_eq(a->otel[i].name, b->otel[i].name) ||
		    !str_eq(a->otel[i].value, b->otel[i].value))
			return false;
	return true;
}

bool eu_sink_config_equal(const struct eu_sink_config *a, const struct eu_sink_config *b)
{
	return a->type == b->type && str_eq(a->path, b->path) && a->fd == b->fd &&
	       a->max_bytes == b->max_bytes && a->rotate_interval_s == b->rotate_interval_s &&
	       a->keep == b->keep && a->compress == b->compress && a->fsync == b->fsync &&
	       a->fsync_interval_ms == b->fsync_interval_ms &&
	       a->queue_records == b->queue_records && a->queue_bytes == b->queue_bytes &&
	       str_eq(a->spool_dir, b->spool_dir) && a->spool_max_bytes == b->spool_max_bytes &&
	       str_eq(a->severity, b->severity) && str_eq(a->attributes, b->attributes) &&
	       otel_eq(a, b);
}

void eu_sink_config_free(struct eu_sink_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->spool_dir);
	free(cfg->severity);
	free(cfg->attributes);
	cfg->path = cfg->spool_dir = cfg->severity = cfg->attributes = NULL;
	for (size_t i = 0; i < cfg->n_otel; i++) {
		free(cfg->otel[i].name);
		free(cfg->otel[i].value);
	}
	free(cfg->otel);
	cfg->otel = NULL;
	cfg->n_otel = 0;
}

static void count_result(struct eu_sink *s, struct chunk *c, int ret, uint64_t retries)
{
	pthread_mutex_lock(&s->mu);
	if (s->abandoned) {
		/* a write that outlived the close: already counted dropped, and the final
		 * counters have been logged */
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->st.retried += retries;
	if (ret == 0) {
		s->st.written += c->n_records;
		s->st.bytes += c->len;
	} else {
		s->st.dropped += c->n_records;
		s->reader_gone = s->reader_gone || ret == -EPIPE;
	}
	/* An episode starts at the first failure and ends at the first success at least
	 * EPISODE_QUIET_MS after the last failure: a nearly full disk that takes a small batch now
	 * and then stays one episode (one message), not a flapping stream of them. */
	uint64_t now = eu_sink_now_ms();
	bool start = false, end = false;
	uint64_t episode = 0;
	if (ret) {
		start = !s->failing;
		s->failing = true;
		s->last_failure_ms = now;
		s->episode_drops += c->n_records;
	} else if (s->failing && now - s->last_failure_ms >= EPISODE_QUIET_MS) {
		end = true;
		s->failing = false;
		episode = s->episode_drops;
		s->episode_drops = 0;
	}
	pthread_mutex_unlock(&s->mu);
	if (start)
		eu_log(EU_LOG_ERROR, "sink %s: cannot write: %s; dropping records until it works again",
		       s->name, strerror(-ret));
	else if (end)
		eu_log(EU_LOG_WARN, "sink %s: writing again after dropping %llu records", s->name,
		       (unsigned long long)episode);
}

static void *writer_main(void *arg)
{
	struct eu_sink *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->reopen) {
			s->reopen = false;
			pthread_mutex_unlock(&s->mu);
			eu_error err = {0};
			if (s->ops->reopen && s->ops->reopen(s->backend, &err))
				eu_log(EU_LOG_ERROR, "sink %s: reopen: %s", s->name, err.msg);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (s->head) {
			struct chunk *list = s->head;
			s->head = s->tail = NULL;
			s->busy = true;
			pthread_mutex_unlock(&s->mu);
			while (list) {
				struct chunk *c = list;
				list = c->next;
				uint64_t retries = 0;
				int ret = s->ops->write(s->backend, c->data, c->len, &retries);
				pthread_mutex_lock(&s->mu);
				if (!s->abandoned) {
					s->q_records -= c->n_records;
					s->q_bytes -= c->len;
				}
				pthread_mutex_unlock(&s->mu);
				count_result(s, c, ret, retries);
				free(c);
			}
			if (s->ops->tick)
				s->ops->tick(s->backend, eu_sink_now_ms());
			pthread_mutex_lock(&s->mu);
			s->busy = false;
			continue;
		}
		pthread_cond_broadcast(&s->drained);
		if (s->stop)
			break;
		uint32_t period = s->ops->tick_period_ms ? s->ops->tick_period_ms(s->backend) : 0;
		if (period) {
			struct timespec ts = deadline_in(period);
			int r = pthread_cond_timedwait(&s->wake, &s->mu, &ts);
			if (r == ETIMEDOUT && s->ops->tick) {
				pthread_mutex_unlock(&s->mu);
				s->ops->tick(s->backend, eu_sink_now_ms());
				pthread_mutex_lock(&s->mu);
			}
		} else {
			pthread_cond_wait(&s->wake, &s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int eu_sink_open(const struct eu_sink_config *cfg, struct eu_sink **out, eu_error *err)
{
	*out = NULL;
	struct eu_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return eu_error_set(err, -ENOMEM, "out of memory");
	int ret;
	switch (cfg->type) {
	case EU_SINK_STDOUT:
		s->name = strdup("stdout");
		ret = eu_sink_stdout_open(cfg, &s->backend, &s->ops, err);
		break;
	case EU_SINK_FILE:
		if (!cfg->path) {
			ret = eu_error_set(err, -EINVAL, "file sink: no path");
			break;
		}
		if (asprintf(&s->name, "file:%s", cfg->path) < 0)
			s->name = NULL;
		ret = eu_sink_file_open(cfg, &s->backend, &s->ops, err);
		break;
	case EU_SINK_OTLP:
		if (asprintf(&s->name, "otlp:%s", cfg->path ? cfg->path : "env") < 0)
			s->name = NULL;
		ret = eu_sink_otlp_open(cfg, &s->backend, &s->ops, err);
		break;
	default:
		ret = eu_error_set(err, -EINVAL, "unknown sink type %d", (int)cfg->type);
		break;
	}
	if (ret) {
		free(s->name);
		free(s);
		return ret;
	}
	s->max_records = cfg->queue_records ? cfg->queue_records : EU_SINK_DEFAULT_QUEUE_RECORDS;
	s->max_bytes = cfg->queue_bytes ? cfg->queue_bytes : EU_SINK_DEFAULT_QUEUE_BYTES;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->drained, NULL);
	ret = pthread_create(&s->thread, NULL, writer_main, s);
	if (ret) {
		s->ops->close(s->backend);
		free(s->name);
		free(s);
		return eu_error_set(err, -ret, "sink: cannot start its writer thread: %s",
				    strerror(ret));
	}
	*out = s;
	return 0;
}

bool eu_sink_write(struct eu_sink *s, const char *data, size_t len, size_t n_records)
{
	if (!len || !n_records)
		return true;
	pthread_mutex_lock(&s->mu);
	bool full = s->stop || s->q_records + n_records > s->max_records ||
		    s->q_bytes + len > s->max_bytes;
	if (full) {
		s->st.dropped += n_records;
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	pthread_mutex_unlock(&s->mu);
	/* copy outside the lock so the writer is never held up by it */
	struct chunk *c = malloc(sizeof(*c) + len);
	if (!c) {
		pthread_mutex_lock(&s->mu);
		s->st.dropped += n_records;
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	memcpy(c->data, data, len);
	c->len = len;
	c->n_records = n_records;
	c->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->q_records += n_records;
	s->q_bytes += len;
	s->st.queued += n_records;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	return true;
}

int eu_sink_flush(struct eu_sink *s, int timeout_ms)
{
	struct timespec ts = deadline_in(timeout_ms > 0 ? (uint32_t)timeout_ms : 0);
	int ret = 0;
	pthread_mutex_lock(&s->mu);
	while (s->head || s->busy) {
		pthread_cond_signal(&s->wake);
		if (pthread_cond_timedwait(&s->drained, &s->mu, &ts) == ETIMEDOUT) {
			ret = (s->head || s->busy) ? -ETIMEDOUT : 0;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return ret;
}

void eu_sink_reopen(struct eu_sink *s)
{
	pthread_mutex_lock(&s->mu);
	s->reopen = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

void eu_sink_abandon(struct eu_sink *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	if (!s->abandoned) {
		/* what is still queued will not be written: count it now */
		for (struct chunk *c = s->head; c;) {
			struct chunk *n = c->next;
			s->q_records -= c->n_records;
			s->q_bytes -= c->len;
			s->st.dropped += c->n_records;
			free(c);
			c = n;
		}
		s->head = s->tail = NULL;
		/* nor, from now on, what the writer holds (a write blocked on a stuck reader):
		 * counted now, so the final counters say it; its late result is ignored */
		s->st.dropped += s->q_records;
		s->q_records = s->q_bytes = 0;
		s->abandoned = true;
	}
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

void eu_sink_close(struct eu_sink *s, int timeout_ms)
{
	if (!s)
		return;
	if (eu_sink_flush(s, timeout_ms))
		eu_log(EU_LOG_WARN, "sink %s: not drained within %d ms at close; dropping the rest",
		       s->name, timeout_ms);
	eu_sink_abandon(s);
	pthread_mutex_lock(&s->mu);
	bool busy = s->busy;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	/* a writer stuck in write() (a blocked stdout reader) would hold us here forever: the
	 * bound above already elapsed, so detach rather than join in that case */
	if (busy) {
		pthread_detach(s->thread);
		return; /* the sink leaks deliberately: its thread still uses it */
	}
	pthread_join(s->thread, NULL);
	s->ops->close(s->backend);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->drained);
	free(s->name);
	free(s);
}

bool eu_sink_reader_gone(struct eu_sink *s)
{
	pthread_mutex_lock(&s->mu);
	bool gone = s->reader_gone;
	pthread_mutex_unlock(&s->mu);
	return gone;
}

void eu_sink_get_stats(struct eu_sink *s, struct eu_sink_stats *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	out->queue_len = s->q_records;
	pthread_mutex_unlock(&s->mu);
	out->rotations = s->ops->rotations ? s->ops->rotations(s->backend) : 0;
	if (s->ops->stats)
		s->ops->stats(s->backend, out);
}

const char *eu_sink_name(const struct eu_sink *s)
{
	return s->name ? s->name : "sink";
}
