/* The sink core: a bounded queue of batches and one writer thread per sink (see sink.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eunomia/log.h"
#include "eunomia/record.h"
#include "sink.h"
#include "sinks/plugin_api/sink_plugin.h"

/* See count_result. */
#define EPISODE_QUIET_MS 2000u
/* how long close waits for a writer still busy with a batch or a flush */
#define SINK_CLOSE_GRACE_MS 200u

/* A queued batch: a reference to records every sink shares (nothing is copied per sink). */
struct chunk {
	struct chunk *next;
	struct eu_record_batch *batch;
	size_t len;       /* what it counts against queue_bytes */
	size_t n_records;
};

struct eu_sink {
	char *name;
	const struct eu_sink_plugin *ops;
	void *backend;
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
	bool stopped;    /* eu_sink_stop ran (the closing thread's own flag) */
	bool detached;   /* ... and left a writer stuck in write() behind */
	bool reader_gone; /* a write failed with EPIPE: nobody reads the other end any more */
	bool flush_req; /* a flush waits: the plugin pushes out what it buffers */
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



static void chunk_free(struct chunk *c)
{
	eu_record_batch_unref(c->batch);
	free(c);
}

static void count_result(struct eu_sink *s, struct chunk *c, int ret, uint64_t retries,
			 uint64_t bytes)
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
		s->st.bytes += bytes;
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
				uint64_t retries = 0, bytes = 0;
				struct eu_sink_batch b = {c->batch, c->n_records};
				int ret = s->ops->write(s->backend, &b, &retries, &bytes);
				pthread_mutex_lock(&s->mu);
				if (!s->abandoned) {
					s->q_records -= c->n_records;
					s->q_bytes -= c->len;
				}
				pthread_mutex_unlock(&s->mu);
				count_result(s, c, ret, retries, bytes);
				chunk_free(c);
			}
			if (s->ops->tick)
				s->ops->tick(s->backend, eu_sink_now_ms());
			pthread_mutex_lock(&s->mu);
			s->busy = false;
			continue;
		}
		if (s->flush_req && s->ops->flush) {
			s->flush_req = false;
			s->busy = true;
			pthread_mutex_unlock(&s->mu);
			s->ops->flush(s->backend);
			pthread_mutex_lock(&s->mu);
			s->busy = false;
			continue;
		}
		s->flush_req = false;
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
	const char *arg = cfg->plugin->arg_key ? eu_sink_config_get(cfg, cfg->plugin->arg_key)
					       : NULL;
	if (arg ? asprintf(&s->name, "%s:%s", cfg->plugin->name, arg) < 0
		: !(s->name = strdup(cfg->plugin->name))) {
		free(s);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	s->ops = cfg->plugin;
	int ret = eu_sink_config_check(cfg, err);
	if (!ret)
		ret = s->ops->open(cfg, cfg->conf, &s->backend, err);
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

bool eu_sink_write(struct eu_sink *s, struct eu_record_batch *batch)
{
	size_t n_records = eu_record_batch_lines(batch);
	size_t len = eu_record_batch_bytes(batch);
	if (!n_records)
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
	struct chunk *c = malloc(sizeof(*c));
	if (!c) {
		pthread_mutex_lock(&s->mu);
		s->st.dropped += n_records;
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	c->batch = eu_record_batch_ref(batch);
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

bool eu_sink_write_lines(struct eu_sink *s, const char *data, size_t len, size_t n_records)
{
	if (!len || !n_records)
		return true;
	struct eu_record_batch *b = eu_record_batch_text(data, len, n_records);
	if (!b) {
		pthread_mutex_lock(&s->mu);
		s->st.dropped += n_records;
		pthread_mutex_unlock(&s->mu);
		return false;
	}
	bool ok = eu_sink_write(s, b);
	eu_record_batch_unref(b);
	return ok;
}



int eu_sink_flush(struct eu_sink *s, int timeout_ms)
{
	struct timespec ts = deadline_in(timeout_ms > 0 ? (uint32_t)timeout_ms : 0);
	int ret = 0;
	pthread_mutex_lock(&s->mu);
	s->flush_req = true;
	while (s->head || s->busy || s->flush_req) {
		pthread_cond_signal(&s->wake);
		if (pthread_cond_timedwait(&s->drained, &s->mu, &ts) == ETIMEDOUT) {
			ret = (s->head || s->busy || s->flush_req) ? -ETIMEDOUT : 0;
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
			chunk_free(c);
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

void eu_sink_stop(struct eu_sink *s, int timeout_ms)
{
	if (!s || s->stopped)
		return;
	s->stopped = true;
	pthread_mutex_lock(&s->mu);
	bool abandoned = s->abandoned;
	pthread_mutex_unlock(&s->mu);
	/* abandoned (retire_sink_set): nothing is left to drain, what was unwritten is counted
	 * dropped already, and its writer may have stopped: a flush would only time out */
	if (!abandoned && eu_sink_flush(s, timeout_ms))
		eu_log(EU_LOG_WARN, "sink %s: not drained within %d ms at close; dropping the rest",
		       s->name, timeout_ms);
	eu_sink_abandon(s);
	pthread_mutex_lock(&s->mu);
	/* a writer finishing a batch or a flush is done in moments; only one stuck in write()
	 * is not, and it is left behind after this grace */
	struct timespec grace = deadline_in(SINK_CLOSE_GRACE_MS);
	while (s->busy && pthread_cond_timedwait(&s->drained, &s->mu, &grace) != ETIMEDOUT)
		;
	bool busy = s->busy;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	/* a writer stuck in write() (a blocked stdout reader) would hold us here forever: the
	 * bound above already elapsed, so detach rather than join in that case */
	if (busy) {
		pthread_detach(s->thread);
		s->detached = true;
		return;
	}
	pthread_join(s->thread, NULL);
	if (s->ops->finish)
		s->ops->finish(s->backend);
}

void eu_sink_close(struct eu_sink *s, int timeout_ms)
{
	if (!s)
		return;
	eu_sink_stop(s, timeout_ms);
	if (s->detached)
		return; /* the sink leaks deliberately: its thread still uses it */
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
	if (s->ops->stats)
		s->ops->stats(s->backend, out);
}

const char *eu_sink_name(const struct eu_sink *s)
{
	return s->name ? s->name : "sink";
}
