/* /proc/kallsyms as a sorted table of text symbols. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols.h"
#include "symbols_priv.h"

struct ksym {
	uint64_t addr;
	const char *name;   /* into the string pool */
	const char *module; /* "" or into the pool */
};

struct eu_ksyms {
	struct ksym *syms;
	size_t n, cap;
	struct sym_pool pool;
};

static int add_sym(struct eu_ksyms *k, uint64_t addr, const char *name, size_t nl,
		   const char *module, size_t ml)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 65536;
		struct ksym *s = realloc(k->syms, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		k->syms = s;
		k->cap = cap;
	}
	const char *n = sym_pool_dup(&k->pool, name, nl);
	const char *m = ml ? sym_pool_dup(&k->pool, module, ml) : "";
	if (!n || !m)
		return -ENOMEM;
	k->syms[k->n++] = (struct ksym){.addr = addr, .name = n, .module = m};
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* "ffffffff81000000 T _stext" or "... t name\t[module]": text symbols only. */
static int parse_line(struct eu_ksyms *k, char *line, bool *nonzero)
{
	char *end;
	uint64_t addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return 0;
	char type = end[1];
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return 0;
	if (end[2] != ' ')
		return 0;
	char *name = end + 3;
	size_t nl = strcspn(name, "\t\n ");
	if (!nl)
		return 0;
	const char *module = "";
	size_t ml = 0;
	char *tab = name + nl;
	if (*tab == '\t' && tab[1] == '[') {
		module = tab + 2;
		ml = strcspn(module, "]");
	}
	if (addr)
		*nonzero = true;
	return add_sym(k, addr, name, nl, module, ml);
}

int eu_ksyms_load(const char *path, struct eu_ksyms **out, eu_error *err)
{
	*out = NULL;
	if (!path)
		path = "/proc/kallsyms";
	FILE *f = fopen(path, "re");
	if (!f)
		return eu_error_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
	struct eu_ksyms *k = calloc(1, sizeof(*k));
	if (!k) {
		fclose(f);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	char *line = NULL;
	size_t cap = 0;
	bool nonzero = false;
	int ret = 0;
	while (!ret && getline(&line, &cap, f) > 0)
		ret = parse_line(k, line, &nonzero);
	free(line);
	fclose(f);
	if (ret) {
		eu_ksyms_free(k);
		return eu_error_set(err, ret, "out of memory reading %s", path);
	}
	if (k->n && !nonzero) {
		eu_ksyms_free(k);
		return eu_error_set(err, -EPERM,
				    "%s shows every address as 0 (kernel.kptr_restrict): kernel frames "
				    "cannot be named; run as root or set kernel.kptr_restrict=0",
				    path);
	}
	if (k->n > 1) /* an empty kallsyms leaves syms NULL: qsort(NULL, 0) is undefined */
		qsort(k->syms, k->n, sizeof(*k->syms), by_addr);
	*out = k;
	return 0;
}

void eu_ksyms_free(struct eu_ksyms *k)
{
	if (!k)
		return;
	sym_pool_free(&k->pool);
	free(k->syms);
	free(k);
}

const char *eu_ksyms_lookup(const struct eu_ksyms *k, uint64_t addr, uint64_t *offset)
{
	if (!k || !k->n || addr < k->syms[0].addr)
		return NULL;
	size_t lo = 0, hi = k->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* past the last symbol nothing tells where the text ends: a bounded guess */
	if (lo == k->n - 1 && addr - k->syms[lo].addr > (1u << 20))
		return NULL;
	if (offset)
		*offset = addr - k->syms[lo].addr;
	return k->syms[lo].name;
}

bool eu_ksyms_find(const struct eu_ksyms *k, const char *name, const char **module)
{
	for (size_t i = 0; k && i < k->n; i++) {
		if (!strcmp(k->syms[i].name, name)) {
			if (module)
				*module = k->syms[i].module;
			return true;
		}
	}
	return false;
}

size_t eu_ksyms_count(const struct eu_ksyms *k)
{
	return k ? k->n : 0;
}
