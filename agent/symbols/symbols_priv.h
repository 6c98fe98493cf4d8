/* Internals of the symbols module: a string pool the tables keep their names in. */
#ifndef EUNOMIA_SYMBOLS_PRIV_H
#define EUNOMIA_SYMBOLS_PRIV_H

#include <stddef.h>

/* Names copied into large chunks: one allocation per 256 KiB, not per symbol. */
struct sym_pool {
	char **chunks;
	size_t n_chunks;
	size_t used, cap;
};

/* A NUL-terminated copy of s[0..len) living as long as the pool; NULL when out of memory. */
const char *sym_pool_dup(struct sym_pool *p, const char *s, size_t len);
void sym_pool_free(struct sym_pool *p);

#endif
