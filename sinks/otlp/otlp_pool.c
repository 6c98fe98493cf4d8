/* Queued records packed into chunks (otlp_priv.h, struct eu_otlp_pool).
 *
 * A malloc and a free per record cost more than the rest of queueing it, and at a few 100k
 * records/s the writer thread's malloc arena grew and was trimmed once per batch (page faults,
 * madvise). Records are appended one after another to the current chunk; a chunk goes back to
 * the pool's spares when the last record in it is freed, so a steady flow reuses the same few
 * chunks and calls malloc only when the queue grows past them. */
#include <stdlib.h>

#include "otlp_priv.h"

/* a batch of 512 records of ~200 bytes fills two */
#define CHUNK_BYTES (64u << 10)
/* spare chunks kept for reuse (1 MiB: a batch of 4096 records of ~200 bytes); beyond
 * them, freed chunks go back to malloc */
#define MAX_SPARE 16u

struct eu_otlp_chunk {
	struct eu_otlp_chunk *next; /* in the spares list */
	size_t used, cap;
	size_t live; /* items handed out and not freed yet */
	_Alignas(max_align_t) unsigned char mem[];
};

static size_t item_size(size_t len)
{
	size_t n = sizeof(struct eu_otlp_item) + len;
	return (n + _Alignof(max_align_t) - 1) & ~(size_t)(_Alignof(max_align_t) - 1);
}

static struct eu_otlp_chunk *chunk_new(struct eu_otlp_pool *p, size_t cap)
{
	struct eu_otlp_chunk *ch;
	if (cap == CHUNK_BYTES && p->spares) {
		ch = p->spares;
		p->spares = ch->next;
		p->n_spares--;
	} else {
		ch = malloc(sizeof(*ch) + cap);
		if (!ch)
			return NULL;
		ch->cap = cap;
	}
	ch->next = NULL;
	ch->used = 0;
	ch->live = 0;
	return ch;
}

static void chunk_release(struct eu_otlp_pool *p, struct eu_otlp_chunk *ch)
{
	if (ch->cap == CHUNK_BYTES && p->n_spares < MAX_SPARE) {
		ch->next = p->spares;
		p->spares = ch;
		p->n_spares++;
		return;
	}
	free(ch);
}

struct eu_otlp_item *eu_otlp_item_new(struct eu_otlp_pool *p, size_t len)
{
	size_t need = item_size(len);
	struct eu_otlp_chunk *ch = p->fill;
	if (!ch || ch->cap - ch->used < need) {
		if (need > CHUNK_BYTES / 4) {
			/* a large record (a metrics request) gets a chunk of its own */
			ch = chunk_new(p, need);
		} else {
			ch = chunk_new(p, CHUNK_BYTES);
			if (ch) {
				struct eu_otlp_chunk *old = p->fill;
				p->fill = ch;
				if (old && !old->live)
					chunk_release(p, old);
			}
		}
		if (!ch)
			return NULL;
	}
	struct eu_otlp_item *it = (struct eu_otlp_item *)(ch->mem + ch->used);
	ch->used += need;
	ch->live++;
	it->chunk = ch;
	it->len = len;
	return it;
}

void eu_otlp_item_free(struct eu_otlp_pool *p, struct eu_otlp_item *it)
{
	if (!it)
		return;
	struct eu_otlp_chunk *ch = it->chunk;
	if (--ch->live)
		return;
	if (ch == p->fill)
		ch->used = 0; /* drained: filled again from the start */
	else
		chunk_release(p, ch);
}

void eu_otlp_pool_free(struct eu_otlp_pool *p)
{
	while (p->spares) {
		struct eu_otlp_chunk *ch = p->spares;
		p->spares = ch->next;
		free(ch);
	}
	free(p->fill);
	*p = (struct eu_otlp_pool){0};
}
