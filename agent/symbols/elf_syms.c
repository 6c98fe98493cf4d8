/* Function symbols of an ELF file (.symtab and .dynsym, or the .symtab of its separate debug
 * file found by build-id), its loadable segments and its build-id. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols.h"
#include "symbols_priv.h"

#define MAX_LOADS 16

struct elf_load {
	uint64_t vaddr, offset, filesz;
};

struct elf_sym {
	uint64_t addr, size;
	const char *name;
};

struct eu_elf_syms {
	struct elf_sym *syms;
	size_t n, cap;
	struct sym_pool pool;
	struct elf_load loads[MAX_LOADS];
	size_t n_loads;
	bool has_symtab;
	char build_id[41];
};

static int add_sym(struct eu_elf_syms *e, uint64_t addr, uint64_t size, const char *name)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 1024;
		struct elf_sym *s = realloc(e->syms, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		e->syms = s;
		e->cap = cap;
	}
	const char *n = sym_pool_dup(&e->pool, name, strlen(name));
	if (!n)
		return -ENOMEM;
	e->syms[e->n++] = (struct elf_sym){.addr = addr, .size = size, .name = n};
	return 0;
}

static int read_symbols(struct eu_elf_syms *e, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || !sh->sh_entsize)
		return 0;
	size_t n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		int type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value)
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		int ret = add_sym(e, sym.st_value, sym.st_size, name);
		if (ret)
			return ret;
	}
	return 0;
}

static void read_build_id(struct eu_elf_syms *e, Elf_Scn *scn)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) || nh.n_descsz > 20)
			continue;
		const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;
		for (size_t i = 0; i < nh.n_descsz; i++)
			snprintf(e->build_id + 2 * i, 3, "%02x", d[i]);
		return;
	}
}

/* Reads symbols (and, when with_layout, segments and build-id) of path into e. */
static int read_file(struct eu_elf_syms *e, const char *path, bool with_layout, eu_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eu_error_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		if (elf)
			elf_end(elf);
		close(fd);
		return eu_error_set(err, -ENOEXEC, "%s is not an ELF file", path);
	}
	int ret = 0;
	size_t nph = 0;
	if (with_layout && !elf_getphdrnum(elf, &nph)) {
		for (size_t i = 0; i < nph && e->n_loads < MAX_LOADS; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
				e->loads[e->n_loads++] = (struct elf_load){
					ph.p_vaddr, ph.p_offset, ph.p_filesz};
		}
	}
	Elf_Scn *scn = NULL;
	while (!ret && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
			e->has_symtab |= sh.sh_type == SHT_SYMTAB;
			ret = read_symbols(e, elf, scn, &sh);
		} else if (with_layout && sh.sh_type == SHT_NOTE && !e->build_id[0]) {
			read_build_id(e, scn);
		}
	}
	elf_end(elf);
	close(fd);
	return ret ? eu_error_set(err, ret, "out of memory reading %s", path) : 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

int eu_elf_syms_load(const char *path, struct eu_elf_syms **out, eu_error *err)
{
	*out = NULL;
	struct eu_elf_syms *e = calloc(1, sizeof(*e));
	if (!e)
		return eu_error_set(err, -ENOMEM, "out of memory");
	int ret = read_file(e, path, true, err);
	/* a stripped file: its full symbol table may be in the debug file named by build-id */
	if (!ret && !e->has_symtab && e->build_id[0]) {
		char dbg[128];
		snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", e->build_id,
			 e->build_id + 2);
		if (access(dbg, R_OK) == 0)
			read_file(e, dbg, false, NULL);
	}
	if (ret) {
		eu_elf_syms_free(e);
		return ret;
	}
	if (e->n > 1) /* an ELF without symbols has syms NULL: qsort(NULL, 0) is undefined */
		qsort(e->syms, e->n, sizeof(*e->syms), by_addr);
	*out = e;
	return 0;
}

void eu_elf_syms_free(struct eu_elf_syms *e)
{
	if (!e)
		return;
	sym_pool_free(&e->pool);
	free(e->syms);
	free(e);
}

const char *eu_elf_syms_lookup(const struct eu_elf_syms *e, uint64_t vaddr, uint64_t *offset)
{
	if (!e || !e->n || vaddr < e->syms[0].addr)
		return NULL;
	size_t lo = 0, hi = e->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->syms[mid].addr <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	/* aliases share an address: any of them with a size that covers vaddr will do */
	for (size_t i = lo + 1; i-- > 0 && e->syms[i].addr == e->syms[lo].addr;) {
		const struct elf_sym *s = &e->syms[i];
		if (!s->size || vaddr < s->addr + s->size) {
			if (offset)
				*offset = vaddr - s->addr;
			return s->name;
		}
	}
	return NULL;
}

bool eu_elf_syms_vaddr(const struct eu_elf_syms *e, uint64_t file_offset, uint64_t *vaddr)
{
	for (size_t i = 0; e && i < e->n_loads; i++) {
		if (file_offset >= e->loads[i].offset &&
		    file_offset < e->loads[i].offset + e->loads[i].filesz) {
			*vaddr = file_offset - e->loads[i].offset + e->loads[i].vaddr;
			return true;
		}
	}
	return false;
}

const char *eu_elf_syms_build_id(const struct eu_elf_syms *e)
{
	return e ? e->build_id : "";
}

bool eu_elf_defines_function(const char *path, const char *func)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	bool found = false;
	Elf_Scn *scn = NULL;
	while (elf && elf_kind(elf) == ELF_K_ELF && !found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = data ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n && !found; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym))
				break;
			int type = GELF_ST_TYPE(sym.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			found = name && !strcmp(name, func);
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}
