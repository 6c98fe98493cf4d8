/* Snapshots of the registry for readers on other threads (metrics_feed.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_feed.h"

struct eu_metrics_sub {
	struct eu_metrics_sub *next;
	struct eu_metrics_feed *feed;
	bool asked;
	bool ready;
	struct eu_metrics_snapshot snap;
	eu_error err;
};

struct eu_metrics_feed {
	pthread_mutex_t mu;
	eu_metrics_collect_fn collect;
	void *ctx;
	eu_metrics_wake_fn wake;
	void *wake_ctx;
	struct eu_metrics_sub *subs;
};

void eu_metrics_snapshot_free(struct eu_metrics_snapshot *s)
{
	if (!s)
		return;
	eu_metrics_free(s->reg);
	eu_metrics_free(s->self);
	memset(s, 0, sizeof(*s));
}

int eu_metrics_feed_new(eu_metrics_collect_fn collect, void *ctx, struct eu_metrics_feed **out,
			eu_error *err)
{
	struct eu_metrics_feed *f = calloc(1, sizeof(*f));
	if (!f)
		return eu_error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&f->mu, NULL);
	f->collect = collect;
	f->ctx = ctx;
	*out = f;
	return 0;
}

void eu_metrics_feed_set_wake(struct eu_metrics_feed *f, eu_metrics_wake_fn wake, void *ctx)
{
	pthread_mutex_lock(&f->mu);
	f->wake = wake;
	f->wake_ctx = ctx;
	bool pending = false;
	for (struct eu_metrics_sub *s = f->subs; s; s = s->next)
		pending = pending || s->asked;
	if (wake && pending)
		wake(ctx);
	pthread_mutex_unlock(&f->mu);
}

void eu_metrics_feed_serve(struct eu_metrics_feed *f, bool all)
{
	pthread_mutex_lock(&f->mu);
	for (struct eu_metrics_sub *s = f->subs; s; s = s->next) {
		if (!s->asked && !all)
			continue;
		/* the reader's lock is the feed's: collecting under it keeps a reader that is
		 * leaving from being served after it left */
		eu_metrics_snapshot_free(&s->snap);
		memset(&s->err, 0, sizeof(s->err));
		if (f->collect(f->ctx, &s->snap, &s->err))
			eu_metrics_snapshot_free(&s->snap);
		s->asked = false;
		s->ready = true;
	}
	pthread_mutex_unlock(&f->mu);
}

void eu_metrics_feed_free(struct eu_metrics_feed *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int eu_metrics_sub_new(struct eu_metrics_feed *f, struct eu_metrics_sub **out)
{
	struct eu_metrics_sub *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->feed = f;
	pthread_mutex_lock(&f->mu);
	s->next = f->subs;
	f->subs = s;
	pthread_mutex_unlock(&f->mu);
	*out = s;
	return 0;
}

void eu_metrics_sub_ask(struct eu_metrics_sub *s)
{
	struct eu_metrics_feed *f = s->feed;
	pthread_mutex_lock(&f->mu);
	if (!s->asked) {
		s->asked = true;
		if (f->wake)
			f->wake(f->wake_ctx);
	}
	pthread_mutex_unlock(&f->mu);
}

bool eu_metrics_sub_asked(struct eu_metrics_sub *s)
{
	pthread_mutex_lock(&s->feed->mu);
	bool asked = s->asked;
	pthread_mutex_unlock(&s->feed->mu);
	return asked;
}

bool eu_metrics_sub_take(struct eu_metrics_sub *s, struct eu_metrics_snapshot *out,
			 eu_error *err)
{
	pthread_mutex_lock(&s->feed->mu);
	bool ready = s->ready;
	if (ready) {
		*out = s->snap;
		memset(&s->snap, 0, sizeof(s->snap));
		if (err)
			*err = s->err;
		s->ready = false;
	}
	pthread_mutex_unlock(&s->feed->mu);
	return ready;
}

void eu_metrics_sub_free(struct eu_metrics_sub *s)
{
	if (!s)
		return;
	struct eu_metrics_feed *f = s->feed;
	pthread_mutex_lock(&f->mu);
	for (struct eu_metrics_sub **p = &f->subs; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&f->mu);
	eu_metrics_snapshot_free(&s->snap);
	free(s);
}
