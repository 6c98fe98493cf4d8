/* ecc --wasm-header: the C header a wasm32 module needs to read the structs a BPF object
 * exchanges with user space (its export structs and its maps' key and value structs), laid
 * out exactly as on the BPF side. wasm32 has 4-byte pointers and longs and would lay the
 * same C out differently, so every struct is written packed with explicit padding members
 * (`char __padN[k]`), pointers become uint64_t, longs fixed-width integers, and the layout is
 * checked at compile time: a _Static_assert on each struct's size and each named member's
 * offset. Bitfields become the bytes holding them (`uint8_t __bitfield_OFF[k]`). */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecc.h"
#include "eunomia/buf.h"

struct gen {
	const struct btf *btf;
	eu_buf *top; /* the header */
	eu_buf *out; /* the body being written */
	unsigned char *state; /* per type id: 0 not written, 1 being written, 2 written */
	unsigned pad_seq;
	eu_error *err;
};

static int write_struct(struct gen *g, uint32_t id);

static uint32_t skip_mods(const struct btf *btf, uint32_t id)
{
	for (int depth = 0; depth < 64; depth++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t || !(btf_is_mod(t) || btf_is_typedef(t)))
			return id;
		id = t->type;
	}
	return id;
}

static const char *int_type(const struct btf *btf, const struct btf_type *t)
{
	bool sign = btf_int_encoding(t) & BTF_INT_SIGNED;
	const char *name = btf__name_by_offset(btf, t->name_off);
	/* char stays char: strings print with %s without casts */
	if ((btf_int_encoding(t) & BTF_INT_CHAR) || (name && !strcmp(name, "char")))
		return "char";
	switch (t->size) {
	case 1:
		return sign ? "int8_t" : "uint8_t";
	case 2:
		return sign ? "int16_t" : "uint16_t";
	case 4:
		return sign ? "int32_t" : "uint32_t";
	case 8:
		return sign ? "int64_t" : "uint64_t";
	default:
		return NULL;
	}
}

static const char *enum_type(const struct btf_type *t)
{
	bool sign = btf_kflag(t);
	switch (t->size) {
	case 1:
		return sign ? "int8_t" : "uint8_t";
	case 2:
		return sign ? "int16_t" : "uint16_t";
	case 8:
		return sign ? "int64_t" : "uint64_t";
	default:
		return sign ? "int32_t" : "uint32_t";
	}
}

static void indent(struct gen *g, int level)
{
	for (int i = 0; i < level; i++)
		eu_buf_putc(g->out, '\t');
}

static int write_body(struct gen *g, uint32_t id, int level);

/* One member (or array of them) named name ("" for an anonymous struct/union member). */
static int write_decl(struct gen *g, uint32_t type_id, const char *name, int level)
{
	const struct btf *btf = g->btf;
	uint32_t dims[8];
	int n_dims = 0;
	uint32_t id = skip_mods(btf, type_id);
	const struct btf_type *t = btf__type_by_id(btf, id);
	while (t && btf_is_array(t) && n_dims < 8) {
		dims[n_dims++] = btf_array(t)->nelems;
		id = skip_mods(btf, btf_array(t)->type);
		t = btf__type_by_id(btf, id);
	}
	if (!t)
		return eu_error_set(g->err, -EINVAL, "BTF type %u of member %s is missing", type_id,
				    name);
	indent(g, level);
	const char *base = NULL;
	if (btf_is_int(t))
		base = int_type(btf, t);
	else if (btf_is_ptr(t))
		base = "uint64_t"; /* the BPF side's 8-byte pointer */
	else if (btf_is_enum(t) || btf_is_enum64(t))
		base = enum_type(t);
	else if (btf_is_float(t))
		base = t->size == 4 ? "float" : t->size == 8 ? "double" : NULL;
	if (base) {
		eu_buf_printf(g->out, "%s %s", base, name);
	} else if ((btf_is_struct(t) || btf_is_union(t)) && t->name_off) {
		int ret = write_struct(g, id);
		if (ret)
			return ret;
		eu_buf_printf(g->out, "%s %s %s", btf_is_union(t) ? "union" : "struct",
			      btf__name_by_offset(btf, t->name_off), name);
	} else if (btf_is_struct(t) || btf_is_union(t)) {
		eu_buf_printf(g->out, "%s {\n", btf_is_union(t) ? "union" : "struct");
		int ret = write_body(g, id, level + 1);
		if (ret)
			return ret;
		indent(g, level);
		eu_buf_printf(g->out, "} __attribute__((packed))%s%s", *name ? " " : "", name);
	} else {
		/* __int128, odd-sized ints and floats, anything else: its bytes */
		int64_t size = btf__resolve_size(btf, id);
		if (size <= 0)
			return eu_error_set(g->err, -EINVAL, "member %s has a type of no size", name);
		eu_buf_printf(g->out, "uint8_t %s[%lld]", name, (long long)size);
	}
	for (int i = 0; i < n_dims; i++)
		eu_buf_printf(g->out, "[%u]", dims[i]);
	eu_buf_puts(g->out, ";\n");
	return 0;
}

static void write_pad(struct gen *g, uint32_t bytes, int level)
{
	indent(g, level);
	eu_buf_printf(g->out, "char __pad%u[%u];\n", g->pad_seq++, bytes);
}

/* The members of struct/union id, with padding so each sits at its BPF offset. */
static int write_body(struct gen *g, uint32_t id, int level)
{
	const struct btf_type *t = btf__type_by_id(g->btf, id);
	const struct btf_member *m = btf_members(t);
	uint16_t n = btf_vlen(t);
	bool is_union = btf_is_union(t);
	uint32_t at = 0; /* bytes written so far (structs) */
	for (uint16_t i = 0; i < n; i++) {
		uint32_t bit = btf_member_bit_offset(t, i);
		uint32_t bits = btf_member_bitfield_size(t, i);
		const char *name = btf__name_by_offset(g->btf, m[i].name_off);
		name = name ? name : "";
		if (bits) {
			/* a run of bitfields: the bytes that hold them */
			uint32_t start = bit / 8, end = (bit + bits + 7) / 8;
			uint16_t j = i;
			/* the following bitfields that share those bytes join them */
			while (j + 1 < n && btf_member_bitfield_size(t, j + 1) &&
			       btf_member_bit_offset(t, j + 1) / 8 < end) {
				j++;
				uint32_t e2 = (btf_member_bit_offset(t, j) +
					       btf_member_bitfield_size(t, j) + 7) / 8;
				end = e2 > end ? e2 : end;
			}
			if (!is_union && start < at)
				start = at;
			if (!is_union && start > at)
				write_pad(g, start - at, level);
			indent(g, level);
			eu_buf_printf(g->out, "uint8_t __bitfield_%u[%u]; /*", start, end - start);
			for (uint16_t k = i; k <= j; k++)
				eu_buf_printf(g->out, " %s:%u",
					      btf__name_by_offset(g->btf, m[k].name_off),
					      btf_member_bitfield_size(t, k));
			eu_buf_puts(g->out, " */\n");
			if (!is_union)
				at = end;
			i = j;
			continue;
		}
		if (bit % 8)
			return eu_error_set(g->err, -EINVAL, "member %s is not byte-aligned", name);
		uint32_t off = bit / 8;
		if (!is_union && off < at)
			return eu_error_set(g->err, -EINVAL, "member %s overlaps the one before it",
					    name);
		if (!is_union && off > at)
			write_pad(g, off - at, level);
		int ret = write_decl(g, m[i].type, name, level);
		if (ret)
			return ret;
		int64_t size = btf__resolve_size(g->btf, m[i].type);
		if (size < 0)
			return eu_error_set(g->err, -EINVAL, "member %s has no size", name);
		if (!is_union)
			at = off + (uint32_t)size;
	}
	if (is_union) {
		/* a union's size may exceed its largest member: say it */
		indent(g, level);
		eu_buf_printf(g->out, "uint8_t __size[%u];\n", t->size);
	} else if (t->size > at) {
		write_pad(g, t->size - at, level);
	}
	return 0;
}

static void write_asserts(struct gen *g, uint32_t id, const char *kw, const char *sname)
{
	const struct btf_type *t = btf__type_by_id(g->btf, id);
	eu_buf_printf(g->top, "_Static_assert(sizeof(%s %s) == %u, \"%s %s: the BPF side's size\");\n",
		      kw, sname, t->size, kw, sname);
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++) {
		const char *name = btf__name_by_offset(g->btf, m[i].name_off);
		if (!name || !*name || btf_member_bitfield_size(t, i))
			continue;
		eu_buf_printf(g->top,
			      "_Static_assert(__builtin_offsetof(%s %s, %s) == %u, "
			      "\"%s %s.%s: the BPF side's offset\");\n",
			      kw, sname, name, btf_member_bit_offset(t, i) / 8, kw, sname, name);
	}
}

/* Writes the named struct/union id (after the named ones it holds by value), once. */
static int write_struct(struct gen *g, uint32_t id)
{
	if (g->state[id] == 2)
		return 0;
	if (g->state[id] == 1)
		return eu_error_set(g->err, -ELOOP, "BTF type %u contains itself", id);
	g->state[id] = 1;
	const struct btf_type *t = btf__type_by_id(g->btf, id);
	const char *kw = btf_is_union(t) ? "union" : "struct";
	const char *sname = btf__name_by_offset(g->btf, t->name_off);
	/* the body goes to its own buffer: the named structs it holds by value are written to
	 * the header meanwhile, so they precede it as C requires */
	eu_buf body;
	eu_buf_init(&body);
	eu_buf *saved = g->out;
	g->out = &body;
	int ret = write_body(g, id, 1);
	g->out = saved;
	if (!ret) {
		eu_buf_printf(g->top, "%s %s {\n%s} __attribute__((packed));\n", kw, sname,
			      body.data ? body.data : "");
		write_asserts(g, id, kw, sname);
		eu_buf_putc(g->top, '\n');
	}
	eu_buf_free(&body);
	g->state[id] = 2;
	return ret;
}

static int add_root(struct gen *g, uint32_t type_id)
{
	uint32_t id = skip_mods(g->btf, type_id);
	const struct btf_type *t = btf__type_by_id(g->btf, id);
	if (!t || !(btf_is_struct(t) || btf_is_union(t)) || !t->name_off)
		return 0; /* scalars and anonymous types need no header */
	return write_struct(g, id);
}

int ecc_wasm_header(const void *elf, size_t size, const char *guard, eu_buf *out,
		    eu_error *err)
{
	struct bpf_object *obj = bpf_object__open_mem(elf, size, NULL);
	if (!obj)
		return eu_error_set(err, -errno, "not a BPF object libbpf can open (%s)",
				    strerror(errno));
	const struct btf *btf = bpf_object__btf(obj);
	if (!btf) {
		bpf_object__close(obj);
		return eu_error_set(err, -ENOENT, "the object has no BTF (compile it with -g)");
	}
	struct gen g = {.btf = btf, .top = out, .out = out, .err = err};
	g.state = calloc(btf__type_cnt(btf), 1);
	if (!g.state) {
		bpf_object__close(obj);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	eu_buf_printf(out,
		      "/* Generated by ecc --wasm-header: the BPF side's structs laid out for a "
		      "wasm32 module\n * (packed, explicit padding, pointers as uint64_t). "
		      "Do not edit. */\n#ifndef %s\n#define %s\n\n#include <stdint.h>\n\n",
		      guard, guard);
	int ret = 0;
	struct eu_package *pkg = calloc(1, sizeof(*pkg));
	eu_error merr;
	eu_error_clear(&merr);
	/* the export structs, found as the runtime finds them */
	if (pkg && !eu_meta_from_object(pkg, elf, size, "wasm_header", &merr))
		for (size_t i = 0; i < pkg->n_export_types && !ret; i++) {
			int32_t id = btf__find_by_name_kind(btf, pkg->export_types[i].name,
							    BTF_KIND_STRUCT);
			if (id > 0)
				ret = add_root(&g, (uint32_t)id);
		}
	eu_package_free(pkg);
	/* the maps' keys and values */
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		if (ret)
			break;
		if (bpf_map__btf_key_type_id(map))
			ret = add_root(&g, bpf_map__btf_key_type_id(map));
		if (!ret && bpf_map__btf_value_type_id(map))
			ret = add_root(&g, bpf_map__btf_value_type_id(map));
	}
	eu_buf_printf(out, "#endif\n");
	free(g.state);
	bpf_object__close(obj);
	return ret;
}

int ecc_write_wasm_header(const void *elf, size_t size, const char *source, const char *out_dir)
{
	/* NAME.wasm.h for NAME.bpf.o / NAME.bpf.c / NAME.o */
	const char *file = strrchr(source, '/');
	file = file ? file + 1 : source;
	size_t len = strcspn(file, ".");
	char name[256], path[4096], guard[300];
	snprintf(name, sizeof(name), "%.*s", (int)(len ? len : strlen(file)), file);
	if (!out_dir) {
		const char *slash = strrchr(source, '/');
		snprintf(path, sizeof(path), "%.*s%s.wasm.h", slash ? (int)(slash - source + 1) : 0,
			 source, name);
	} else {
		snprintf(path, sizeof(path), "%s/%s.wasm.h", out_dir, name);
	}
	size_t g = 0;
	for (const char *c = name; *c && g < sizeof(guard) - 16; c++)
		guard[g++] = (char)((*c >= 'a' && *c <= 'z') ? *c - 32
				    : ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) ? *c
											    : '_');
	snprintf(guard + g, sizeof(guard) - g, "_WASM_H");
	eu_buf out;
	eu_buf_init(&out);
	eu_error err;
	eu_error_clear(&err);
	int ret = ecc_wasm_header(elf, size, guard, &out, &err);
	if (!ret)
		ret = ecc_write_file(path, out.data, out.len, &err);
	if (ret)
		fprintf(stderr, "ecc: error: --wasm-header %s: %s\n", source, err.msg);
	else
		printf("ecc: %s -> %s\n", source, path);
	eu_buf_free(&out);
	return ret ? 1 : 0;
}
