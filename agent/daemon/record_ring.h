/* A package's recent records for the control API's streams (record_ring.c): typed, kept by
 * reference into the batches the sinks were handed, and formatted as JSON lines only when a
 * stream reads them. Numbered from 1; bounded by count, by the records' bytes and by the
 * memory of the batches it keeps alive. Used on one thread (the daemon's loop). */
#ifndef EUNOMIA_RECORD_RING_H
#define EUNOMIA_RECORD_RING_H

#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/record.h"

/* A record kept: by reference into its batch, or, once that batch would keep too much memory
 * alive for this ring, a copy of its raw bytes. Either way its source is held (by the batch,
 * or by the copy): the records of a package version swapped out still decode. */
struct ring_rec {
	struct eu_record_batch *batch; /* NULL: a copy, in own */
	uint32_t idx;                  /* in batch */
	uint32_t bytes;                /* what it counts against max_bytes */
	struct eu_record own;          /* a copy: own.src referenced, its bytes in copy */
	void *copy;
};

struct record_ring {
	struct ring_rec *recs;         /* allocated with the first record */
	size_t cap, head, n, bytes;    /* head: the oldest */
	size_t n_copies;               /* the copies come first (the oldest records) */
	/* the bytes (eu_record_batch_bytes) of the batches held, but the newest (which may be
	 * still filled) */
	size_t pinned;
	size_t max_bytes, max_pinned;
	uint64_t seq;                  /* of the last record pushed */
};

void record_ring_init(struct record_ring *r, size_t max_records, size_t max_bytes,
		      size_t max_pinned);
/* Keeps the last record of b (the one just added: b may still be filled, on this thread) as
 * number ++seq, letting go of the oldest as the bounds say. A record that cannot be kept
 * (out of memory) is numbered all the same: readers count it as missed. */
void record_ring_push(struct record_ring *r, struct eu_record_batch *b);
/* The record numbered *cursor or the oldest after it as its JSON line in line (reset first),
 * *seq its number, *cursor past it: 1. 0: none yet. *missed grows by the records between
 * *cursor and the oldest kept, and by those that could not be formatted (out of memory). */
int record_ring_read(struct record_ring *r, uint64_t *cursor, eu_buf *line, uint64_t *seq,
		     uint64_t *missed);
void record_ring_free(struct record_ring *r);

#endif
