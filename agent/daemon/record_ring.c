/* A package's recent records for the API's streams (record_ring.h). Keeping a record costs a
 * slot and, once per batch, a reference: no formatting and no copy while nobody reads. */
#include "record_ring.h"

#include <stdlib.h>
#include <string.h>

void record_ring_init(struct record_ring *r, size_t max_records, size_t max_bytes,
		      size_t max_pinned)
{
	memset(r, 0, sizeof(*r));
	r->cap = max_records ? max_records : 1;
	r->max_bytes = max_bytes;
	r->max_pinned = max_pinned;
}

static struct ring_rec *ring_at(struct record_ring *r, size_t k)
{
	return &r->recs[(r->head + k) % r->cap];
}

/* Lets go of the oldest record; with the last record of a batch, of the batch. */
static void drop_oldest(struct record_ring *r)
{
	struct ring_rec *e = ring_at(r, 0);
	r->bytes -= e->bytes;
	r->head = (r->head + 1) % r->cap;
	r->n--;
	if (!e->batch) {
		r->n_copies--;
		eu_record_source_unref(e->own.src);
		free(e->copy);
	} else if (!r->n || ring_at(r, 0)->batch != e->batch) {
		/* a batch with records after it is not the newest: its bytes were counted */
		if (r->n)
			r->pinned -= eu_record_batch_bytes(e->batch);
		eu_record_batch_unref(e->batch);
	}
	memset(e, 0, sizeof(*e));
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* The record's raw bytes copied out of its batch, with a reference to its source. */
static bool copy_out(struct ring_rec *e)
{
	struct eu_record rec;
	if (!eu_record_batch_get(e->batch, e->idx, &rec))
		return false;
	size_t ka = align8(rec.key_size), da = align8(rec.size);
	char *p = malloc(ka + da + rec.stacks_size + 1);
	if (!p)
		return false;
	if (rec.key_size)
		memcpy(p, rec.key, rec.key_size);
	if (rec.size)
		memcpy(p + ka, rec.data, rec.size);
	if (rec.stacks_size)
		memcpy(p + ka + da, rec.stacks, rec.stacks_size);
	rec.key = rec.key_size ? p : NULL;
	rec.data = p + ka;
	rec.stacks = rec.stacks_size ? p + ka + da : NULL;
	rec.src = eu_record_source_ref(rec.src);
	e->own = rec;
	e->copy = p;
	e->batch = NULL;
	return true;
}

/* The oldest batch held is let go of, its records copied. When a copy fails, the records up
 * to that batch's last are dropped instead: readers count them as missed. */
static void release_oldest_batch(struct record_ring *r)
{
	struct eu_record_batch *b = ring_at(r, r->n_copies)->batch;
	size_t k = r->n_copies;
	while (k < r->n && ring_at(r, k)->batch == b && copy_out(ring_at(r, k)))
		k++;
	r->n_copies = k;
	if (k < r->n && ring_at(r, k)->batch == b) {
		while (r->n && (!ring_at(r, 0)->batch || ring_at(r, 0)->batch == b))
			drop_oldest(r);
		return;
	}
	r->pinned -= eu_record_batch_bytes(b);
	eu_record_batch_unref(b);
}

/* What a record counts against max_bytes: about what keeping it costs. */
static size_t rec_bytes(const struct eu_record *rec)
{
	return sizeof(*rec) + rec->size + rec->key_size + rec->stacks_size;
}

void record_ring_push(struct record_ring *r, struct eu_record_batch *b)
{
	r->seq++;
	if (!r->recs && !(r->recs = calloc(r->cap, sizeof(*r->recs))))
		return;
	size_t idx = eu_record_batch_count(b) - 1;
	struct eu_record rec;
	if (!eu_record_batch_get(b, idx, &rec)) {
		/* nothing to keep: what the ring holds would be numbered wrong */
		while (r->n)
			drop_oldest(r);
		return;
	}
	size_t len = rec_bytes(&rec);
	while (r->n && (r->n == r->cap || r->bytes + len > r->max_bytes))
		drop_oldest(r);
	struct eu_record_batch *newest = r->n ? ring_at(r, r->n - 1)->batch : NULL;
	if (b != newest) {
		/* one batch is filled at a time: a new one means the newest was sealed */
		if (newest)
			r->pinned += eu_record_batch_bytes(newest);
		eu_record_batch_ref(b);
	}
	*ring_at(r, r->n) = (struct ring_rec){.batch = b, .idx = (uint32_t)idx,
					      .bytes = (uint32_t)len};
	r->n++;
	r->bytes += len;
	/* a package with few records among many keeps copies rather than others' batches */
	while (r->pinned > r->max_pinned)
		release_oldest_batch(r);
}

int record_ring_read(struct record_ring *r, uint64_t *cursor, eu_buf *line, uint64_t *seq,
		     uint64_t *missed)
{
	uint64_t oldest = r->seq - r->n + 1;
	if (*cursor < oldest) {
		*missed += oldest - *cursor;
		*cursor = oldest;
	}
	for (; *cursor <= r->seq && r->n; ++*cursor) {
		const struct ring_rec *e = ring_at(r, *cursor - oldest);
		struct eu_record rec = e->own;
		if (e->batch)
			eu_record_batch_get(e->batch, e->idx, &rec);
		eu_buf_reset(line);
		/* records were checked when added: only memory can fail here */
		if (eu_record_format(line, &rec)) {
			++*missed;
			continue;
		}
		*seq = (*cursor)++;
		return 1;
	}
	return 0;
}

void record_ring_free(struct record_ring *r)
{
	while (r->n)
		drop_oldest(r);
	free(r->recs);
	r->recs = NULL;
}
