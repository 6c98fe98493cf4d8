#include <stdlib.h>
#include <string.h>

#include "symbols_priv.h"

#define CHUNK (256 * 1024)

const char *sym_pool_dup(struct sym_pool *p, const char *s, size_t len)
{
	if (!p->n_chunks || p->used + len + 1 > p->cap) {
		size_t cap = len + 1 > CHUNK ? len + 1 : CHUNK;
		char **chunks = realloc(p->chunks, (p->n_chunks + 1) * sizeof(*chunks));
		if (!chunks)
			return NULL;
		p->chunks = chunks;
		if (!(chunks[p->n_chunks] = malloc(cap)))
			return NULL;
		p->n_chunks++;
		p->used = 0;
		p->cap = cap;
	}
	char *d = p->chunks[p->n_chunks - 1] + p->used;
	memcpy(d, s, len);
	d[len] = '\0';
	p->used += len + 1;
	return d;
}

void sym_pool_free(struct sym_pool *p)
{
	for (size_t i = 0; i < p->n_chunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
	memset(p, 0, sizeof(*p));
}
