/* The instruction scan of insn_scan.h: libelf over the object's bytes (already checked by
 * package_elf.c when it came from a package, but checked again here: the scan is also fed
 * bare objects and fuzz input), one linear pass per executable section. */
#include "insn_scan.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

/* Helper ids (stable kernel ABI), spelled out so older uapi headers build too. */
enum {
	H_MAP_LOOKUP = 1,
	H_MAP_UPDATE = 2,
	H_MAP_DELETE = 3,
	H_TRACE_PRINTK = 6,
	H_PERF_EVENT_OUTPUT = 25,
	H_RINGBUF_OUTPUT = 130,
	H_RINGBUF_RESERVE = 131,
	H_TRACE_VPRINTK = 177,
	H_MAP_LOOKUP_PERCPU = 195,
	H_RINGBUF_RESERVE_DYNPTR = 198,
};

/* A section's instructions larger than this are not scanned (no real program comes close). */
#define MAX_SECTION_INSNS (1u << 20)

enum reg_kind { R_NONE, R_CONST, R_MAP, R_VAR, R_VALUE };

struct reg {
	uint8_t kind;
	int64_t value;   /* R_CONST */
	int32_t index;   /* R_MAP / R_VALUE: map index in the scan; R_VAR: data section symbol */
	uint32_t offset; /* R_VAR: byte offset inside the section */
};

struct sym {
	const char *name;
	size_t shndx;
	uint64_t value;
	unsigned char type;
};

struct ctx {
	Elf *elf;
	size_t shstrndx;
	struct sym *syms;
	size_t n_syms;
	size_t maps_shndx; /* the ".maps" section, 0 when absent */
	struct eu_scan *out;
	eu_error *err;
};

static int nomem(struct ctx *c)
{
	return eu_error_set(c->err, -ENOMEM, "out of memory scanning the BPF instructions");
}

static const char *section_name(struct ctx *c, size_t shndx)
{
	Elf_Scn *scn = elf_getscn(c->elf, shndx);
	GElf_Shdr sh;
	if (!scn || !gelf_getshdr(scn, &sh))
		return "";
	const char *n = elf_strptr(c->elf, c->shstrndx, sh.sh_name);
	return n ? n : "";
}

static int load_symbols(struct ctx *c)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(c->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize || sh.sh_entsize != sizeof(Elf64_Sym))
			return 0;
		size_t n = d->d_size / sizeof(Elf64_Sym);
		c->syms = calloc(n ? n : 1, sizeof(*c->syms));
		if (!c->syms)
			return nomem(c);
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s))
				continue;
			const char *name = elf_strptr(c->elf, sh.sh_link, s.st_name);
			c->syms[i] = (struct sym){.name = name ? name : "", .shndx = s.st_shndx,
						  .value = s.st_value,
						  .type = GELF_ST_TYPE(s.st_info)};
		}
		c->n_syms = n;
		return 0;
	}
	return 0;
}

static int map_index(struct ctx *c, const char *name)
{
	struct eu_scan *o = c->out;
	for (size_t i = 0; i < o->n_maps; i++)
		if (!strcmp(o->maps[i].name, name))
			return (int)i;
	size_t cap = o->n_maps; /* grown one by one: objects have few maps */
	struct eu_scan_map *m = realloc(o->maps, (cap + 1) * sizeof(*m));
	if (!m)
		return -1;
	o->maps = m;
	memset(&m[o->n_maps], 0, sizeof(*m));
	snprintf(m[o->n_maps].name, sizeof(m[o->n_maps].name), "%s", name);
	return (int)o->n_maps++;
}

/* Whether a section holds global variables (.bss, .data, .rodata and their .name variants). */
static bool data_section(const char *n)
{
	return !strncmp(n, ".bss", 4) || !strncmp(n, ".data", 5) || !strncmp(n, ".rodata", 7);
}

/* The register a ld_imm64 with relocation sym loads. */
static struct reg reloc_reg(struct ctx *c, size_t sym, int32_t imm)
{
	struct reg r = {.kind = R_NONE};
	if (sym >= c->n_syms)
		return r;
	const struct sym *s = &c->syms[sym];
	if (c->maps_shndx && s->shndx == c->maps_shndx && s->name[0]) {
		int idx = map_index(c, s->name);
		if (idx >= 0)
			r = (struct reg){.kind = R_MAP, .index = idx};
		return r;
	}
	if (s->shndx && s->shndx < 0xff00 && data_section(section_name(c, s->shndx))) {
		uint64_t off = (s->type == STT_SECTION ? 0 : s->value) + (uint64_t)(uint32_t)imm;
		r = (struct reg){.kind = R_VAR, .index = (int32_t)s->shndx, .offset = (uint32_t)off};
	}
	return r;
}

static int add_store(struct ctx *c, const struct reg *r, int16_t off)
{
	struct eu_scan *o = c->out;
	const char *sec = section_name(c, (size_t)r->index);
	int64_t at = (int64_t)r->offset + off;
	uint32_t offset = at < 0 ? 0 : (uint32_t)at;
	for (size_t i = 0; i < o->n_stores; i++)
		if (o->stores[i].offset == offset && !strcmp(o->stores[i].section, sec))
			return 0;
	size_t cap = o->n_stores;
	struct eu_scan_store *s = realloc(o->stores, (cap + 1) * sizeof(*s));
	if (!s)
		return nomem(c);
	o->stores = s;
	snprintf(s[o->n_stores].section, sizeof(s[o->n_stores].section), "%s", sec);
	s[o->n_stores].offset = offset;
	o->n_stores++;
	return 0;
}

static int add_output(struct ctx *c, int helper, const struct reg *map, const struct reg *size,
		      const char *func)
{
	struct eu_scan *o = c->out;
	size_t cap = o->n_outputs;
	struct eu_scan_output *v = realloc(o->outputs, (cap + 1) * sizeof(*v));
	if (!v)
		return nomem(c);
	o->outputs = v;
	struct eu_scan_output *e = &v[o->n_outputs++];
	memset(e, 0, sizeof(*e));
	e->helper = helper;
	e->size = size->kind == R_CONST ? size->value : -1;
	snprintf(e->func, sizeof(e->func), "%s", func);
	if (map->kind == R_MAP) {
		snprintf(e->map, sizeof(e->map), "%s", o->maps[map->index].name);
		o->maps[map->index].outputs++;
	}
	return 0;
}

static int on_helper(struct ctx *c, struct reg *r, int32_t id, const char *func)
{
	struct eu_scan *o = c->out;
	struct eu_scan_map *m1 = r[1].kind == R_MAP ? &o->maps[r[1].index] : NULL;
	struct reg ret = {.kind = R_NONE};
	int e = 0;
	switch (id) {
	case H_MAP_LOOKUP:
	case H_MAP_LOOKUP_PERCPU:
		if (m1) {
			m1->lookups++;
			ret = (struct reg){.kind = R_VALUE, .index = r[1].index};
		}
		break;
	case H_MAP_UPDATE:
		if (m1)
			m1->updates++;
		break;
	case H_MAP_DELETE:
		if (m1)
			m1->deletes++;
		break;
	case H_TRACE_PRINTK:
	case H_TRACE_VPRINTK:
		o->printk = true;
		break;
	case H_RINGBUF_OUTPUT:
		e = add_output(c, id, &r[1], &r[3], func);
		break;
	case H_RINGBUF_RESERVE:
	case H_RINGBUF_RESERVE_DYNPTR:
		e = add_output(c, id, &r[1], &r[2], func);
		break;
	case H_PERF_EVENT_OUTPUT:
		e = add_output(c, id, &r[2], &r[5], func);
		break;
	default:
		for (int i = 1; i <= 5; i++)
			if (r[i].kind == R_MAP)
				o->maps[r[i].index].other++;
		break;
	}
	for (int i = 0; i <= 5; i++)
		r[i] = (struct reg){.kind = R_NONE};
	r[0] = ret;
	return e;
}

static int on_store(struct ctx *c, const struct reg *dst, int16_t off)
{
	if (dst->kind == R_VALUE) {
		c->out->maps[dst->index].value_writes++;
		return 0;
	}
	if (dst->kind == R_VAR)
		return add_store(c, dst, off);
	return 0;
}

/* Function starts of one section, in order, to name calls and reset the register model. */
struct funcs {
	const struct sym **v;
	size_t n;
};

static int cmp_func(const void *a, const void *b)
{
	const struct sym *x = *(const struct sym *const *)a, *y = *(const struct sym *const *)b;
	return x->value < y->value ? -1 : x->value > y->value;
}

static int section_funcs(struct ctx *c, size_t shndx, struct funcs *f)
{
	f->n = 0;
	f->v = calloc(c->n_syms ? c->n_syms : 1, sizeof(*f->v));
	if (!f->v)
		return nomem(c);
	for (size_t i = 0; i < c->n_syms; i++)
		if (c->syms[i].shndx == shndx && c->syms[i].type == STT_FUNC)
			f->v[f->n++] = &c->syms[i];
	qsort(f->v, f->n, sizeof(*f->v), cmp_func);
	return 0;
}

static int scan_section(struct ctx *c, size_t shndx, const struct bpf_insn *insn, size_t n,
			const uint32_t *rel)
{
	struct reg r[11];
	memset(r, 0, sizeof(r));
	struct funcs fs;
	int e = section_funcs(c, shndx, &fs);
	if (e)
		return e;
	const char *func = section_name(c, shndx);
	size_t next_func = 0;
	for (size_t i = 0; i < n && !e; i++) {
		const struct bpf_insn *in = &insn[i];
		while (next_func < fs.n && fs.v[next_func]->value <= (uint64_t)i * 8) {
			func = fs.v[next_func++]->name;
			memset(r, 0, sizeof(r));
		}
		uint8_t cls = BPF_CLASS(in->code);
		uint8_t dst = in->dst_reg, src = in->src_reg;
		if (dst > 10 || src > 10)
			continue;
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW)) {
			if (i + 1 >= n)
				break;
			if (rel[i])
				r[dst] = reloc_reg(c, rel[i] - 1, in->imm);
			else
				r[dst] = (struct reg){.kind = R_CONST,
						      .value = (int64_t)(((uint64_t)(uint32_t)insn[i + 1].imm << 32) |
									 (uint32_t)in->imm)};
			i++;
			continue;
		}
		switch (cls) {
		case BPF_ALU64:
		case BPF_ALU: {
			uint8_t op = BPF_OP(in->code);
			bool k = BPF_SRC(in->code) == BPF_K;
			if (op == BPF_MOV) {
				if (k)
					r[dst] = (struct reg){.kind = R_CONST, .value = in->imm};
				else if (cls == BPF_ALU64 || r[src].kind == R_CONST)
					r[dst] = r[src];
				else
					r[dst] = (struct reg){.kind = R_NONE};
			} else if (op == BPF_ADD && cls == BPF_ALU64 &&
				   (r[dst].kind == R_VAR || r[dst].kind == R_VALUE)) {
				/* pointer arithmetic: an index into the same variable or value */
				if (k && r[dst].kind == R_VAR)
					r[dst].offset += (uint32_t)in->imm;
			} else if (op == BPF_ADD && !k && cls == BPF_ALU64 &&
				   (r[src].kind == R_VAR || r[src].kind == R_VALUE)) {
				/* `idx * 8 + &counts`: clang often adds the address to the index */
				r[dst] = r[src];
			} else if (op == BPF_ADD && k && r[dst].kind == R_CONST) {
				r[dst].value += in->imm;
			} else {
				r[dst] = (struct reg){.kind = R_NONE};
			}
			break;
		}
		case BPF_LDX:
			r[dst] = (struct reg){.kind = R_NONE};
			break;
		case BPF_ST:
		case BPF_STX:
			e = on_store(c, &r[dst], in->off);
			/* atomic fetches write the old value back into a register */
			if (cls == BPF_STX && BPF_MODE(in->code) == BPF_ATOMIC) {
				if (in->imm == BPF_CMPXCHG)
					r[0] = (struct reg){.kind = R_NONE};
				else if (in->imm & BPF_FETCH)
					r[src] = (struct reg){.kind = R_NONE};
			}
			break;
		case BPF_JMP:
		case BPF_JMP32:
			if (cls == BPF_JMP && BPF_OP(in->code) == BPF_CALL) {
				if (src == 0) {
					e = on_helper(c, r, in->imm, func);
				} else {
					for (int k = 0; k <= 5; k++)
						r[k] = (struct reg){.kind = R_NONE};
				}
			} else if (cls == BPF_JMP && BPF_OP(in->code) == BPF_EXIT) {
				memset(r, 0, sizeof(r));
			}
			break;
		default:
			break;
		}
	}
	free(fs.v);
	return e;
}

static int scan_exec(struct ctx *c, Elf_Scn *scn, size_t shndx)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size < 8)
		return 0;
	size_t n = d->d_size / 8;
	if (n > MAX_SECTION_INSNS)
		return 0;
	/* rel[i] = 1 + the symbol index of a relocation at instruction i */
	uint32_t *rel = calloc(n, sizeof(*rel));
	struct bpf_insn *insn = malloc(n * 8);
	if (!rel || !insn) {
		free(rel);
		free(insn);
		return nomem(c);
	}
	memcpy(insn, d->d_buf, n * 8);
	Elf_Scn *rs = NULL;
	while ((rs = elf_nextscn(c->elf, rs))) {
		GElf_Shdr rh;
		if (!gelf_getshdr(rs, &rh) || rh.sh_type != SHT_REL || rh.sh_info != shndx)
			continue;
		Elf_Data *rd = elf_getdata(rs, NULL);
		if (!rd || rh.sh_entsize != sizeof(Elf64_Rel))
			continue;
		size_t nr = rd->d_size / sizeof(Elf64_Rel);
		for (size_t k = 0; k < nr; k++) {
			GElf_Rel re;
			if (!gelf_getrel(rd, (int)k, &re) || re.r_offset % 8 || re.r_offset / 8 >= n)
				continue;
			size_t sym = GELF_R_SYM(re.r_info);
			if (sym < c->n_syms && sym < UINT32_MAX)
				rel[re.r_offset / 8] = (uint32_t)sym + 1;
		}
	}
	int e = scan_section(c, shndx, insn, n, rel);
	free(rel);
	free(insn);
	return e;
}

int eu_scan_object(const void *data, size_t size, struct eu_scan *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return eu_error_set(err, -EINVAL, "libelf: %s", elf_errmsg(-1));
	Elf *elf = elf_memory((char *)data, size);
	if (!elf)
		return eu_error_set(err, -EINVAL, "not an ELF object: %s", elf_errmsg(-1));
	struct ctx c = {.elf = elf, .out = out, .err = err};
	int ret = 0;
	if (elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &c.shstrndx)) {
		ret = eu_error_set(err, -EINVAL, "not an ELF object");
		goto out;
	}
	if ((ret = load_symbols(&c)))
		goto out;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && !strcmp(section_name(&c, elf_ndxscn(scn)), ".maps"))
			c.maps_shndx = elf_ndxscn(scn);
	}
	scn = NULL;
	while (!ret && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		ret = scan_exec(&c, scn, elf_ndxscn(scn));
	}
out:
	free(c.syms);
	elf_end(elf);
	if (ret)
		eu_scan_free(out);
	return ret;
}

void eu_scan_free(struct eu_scan *s)
{
	if (!s)
		return;
	free(s->outputs);
	free(s->maps);
	free(s->stores);
	memset(s, 0, sizeof(*s));
}

const struct eu_scan_map *eu_scan_find_map(const struct eu_scan *s, const char *name)
{
	for (size_t i = 0; s && i < s->n_maps; i++)
		if (!strcmp(s->maps[i].name, name))
			return &s->maps[i];
	return NULL;
}

bool eu_scan_stores_into(const struct eu_scan *s, const char *sec, uint32_t offset, uint32_t size)
{
	for (size_t i = 0; s && i < s->n_stores; i++)
		if (!strcmp(s->stores[i].section, sec) && s->stores[i].offset >= offset &&
		    s->stores[i].offset - offset < size)
			return true;
	return false;
}
