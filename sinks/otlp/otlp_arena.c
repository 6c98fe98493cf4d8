/* The bump allocator behind OTLP record encoding (see otlp_priv.h). */
#include <stdlib.h>
#include <string.h>

#include "otlp_priv.h"

struct eu_otlp_arena_chunk {
	struct eu_otlp_arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char mem[];
};

void *eu_otlp_arena_alloc(struct eu_otlp_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 8192 ? n : 8192;
		struct eu_otlp_arena_chunk *c = malloc(sizeof(*c) + cap);
		if (!c) {
			a->oom = true;
			return NULL;
		}
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	void *p = a->head->mem + a->head->used;
	a->head->used += n;
	return p;
}

void eu_otlp_arena_free(struct eu_otlp_arena *a)
{
	while (a->head) {
		struct eu_otlp_arena_chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

char *eu_otlp_arena_str(struct eu_otlp_arena *a, const char *s, size_t n)
{
	size_t ok = eu_utf8_valid_prefix(s, n);
	char *out;
	if (ok == n) {
		out = eu_otlp_arena_alloc(a, n + 1);
		if (out) {
			memcpy(out, s, n);
			out[n] = '\0';
		}
		return out;
	}
	char *tmp = eu_otlp_utf8_dup(s, n);
	if (!tmp) {
		a->oom = true;
		return NULL;
	}
	out = eu_otlp_arena_alloc(a, strlen(tmp) + 1);
	if (out)
		strcpy(out, tmp);
	free(tmp);
	return out;
}
