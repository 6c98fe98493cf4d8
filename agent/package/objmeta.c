/* Deriving the skeleton meta from a BPF object, in the shape upstream ecc writes. Shared by
 * our ecc (build time) and the runtime (bare .bpf.o files), so both agree by construction. */
#include "eunomia/package.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "core/btf_util.h"
#include "eunomia/buf.h"
#include "export_pick.h"
#include "insn_scan.h"

#define EU_META_VERSION "0.3.4"
#define DUMMY_PREFIX "__eunomia_dummy_"
#define DUMMY_SUFFIX "_ptr"

/* The fields this file fills, so a failure can release exactly them. */


static void meta_release(struct eu_package *p)
{
	for (size_t i = 0; i < p->n_sections; i++) {
		for (size_t j = 0; j < p->sections[i].n_vars; j++) {
			free(p->sections[i].vars[j].name);
			free(p->sections[i].vars[j].type);
		}
		free(p->sections[i].vars);
		free(p->sections[i].name);
	}
	for (size_t i = 0; i < p->n_maps; i++) {
		free(p->maps[i].name);
		free(p->maps[i].ident);
	}
	for (size_t i = 0; i < p->n_progs; i++) {
		free(p->progs[i].name);
		free(p->progs[i].attach);
	}
	for (size_t i = 0; i < p->n_export_types; i++) {
		struct eu_export_type *t = &p->export_types[i];
		for (size_t j = 0; j < t->n_members; j++) {
			free(t->members[j].name);
			free(t->members[j].type);
		}
		free(t->members);
		free(t->name);
	}
	free(p->sections);
	free(p->maps);
	free(p->progs);
	free(p->export_types);
	free(p->obj_name);
	free(p->name);
	free(p->eunomia_version);
}

static void spell_tagged(const struct btf *btf, const struct btf_type *t, const char *tag,
			 eu_buf *b)
{
	const char *name = eu_btf_name(btf, t->name_off);
	eu_buf_puts(b, tag);
	if (name && name[0]) {
		eu_buf_putc(b, ' ');
		eu_buf_puts(b, name);
	} else {
		eu_buf_puts(b, " {...}");
	}
}

/* C spelling of a type as upstream writes it in the meta: qualifiers dropped, typedef
 * names kept ("pid_t"), "struct event *", "char[16]", "int[2][3]", "char *[4]". */
static void spell_type(const struct btf *btf, __u32 id, eu_buf *b, int depth)
{
	if (depth > 32) {
		eu_buf_puts(b, "?");
		return;
	}
	id = eu_btf_skip_mods(btf, id, false);
	const struct btf_type *t = id ? btf__type_by_id(btf, id) : NULL;
	if (!t) {
		eu_buf_puts(b, "void");
		return;
	}
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPEDEF:
		eu_buf_puts(b, eu_btf_name(btf, t->name_off));
		return;
	case BTF_KIND_STRUCT:
		spell_tagged(btf, t, "struct", b);
		return;
	case BTF_KIND_UNION:
		spell_tagged(btf, t, "union", b);
		return;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		spell_tagged(btf, t, "enum", b);
		return;
	case BTF_KIND_FWD:
		spell_tagged(btf, t, btf_kflag(t) ? "union" : "struct", b);
		return;
	case BTF_KIND_PTR: {
		__u32 to = eu_btf_skip_mods(btf, t->type, false);
		const struct btf_type *pt = to ? btf__type_by_id(btf, to) : NULL;
		if (pt && btf_is_func_proto(pt)) {
			spell_type(btf, pt->type, b, depth + 1);
			eu_buf_puts(b, " (*)()");
			return;
		}
		size_t before = b->len;
		spell_type(btf, t->type, b, depth + 1);
		bool ends_ptr = b->len > before && b->data[b->len - 1] == '*';
		eu_buf_puts(b, ends_ptr ? "*" : " *");
		return;
	}
	case BTF_KIND_ARRAY: {
		char dims[128] = "";
		size_t dl = 0;
		const struct btf_type *at = t;
		for (int dim = 0; dim < EU_BTF_MAX_CHAIN; dim++) {
			const struct btf_array *a = btf_array(at);
			int n = snprintf(dims + dl, sizeof(dims) - dl, "[%u]", a->nelems);
			if (n > 0 && (size_t)n < sizeof(dims) - dl)
				dl += (size_t)n;
			__u32 elem = eu_btf_skip_mods(btf, a->type, false);
			const struct btf_type *et = btf__type_by_id(btf, elem);
			if (!et || !btf_is_array(et)) {
				spell_type(btf, elem, b, depth + 1);
				break;
			}
			at = et;
		}
		eu_buf_puts(b, dims);
		return;
	}
	case BTF_KIND_FUNC_PROTO:
		spell_type(btf, t->type, b, depth + 1);
		eu_buf_puts(b, " ()");
		return;
	default:
		eu_buf_puts(b, "void");
		return;
	}
}

static char *type_string(const struct btf *btf, __u32 id, eu_error *err)
{
	eu_buf b;
	eu_buf_init(&b);
	spell_type(btf, id, &b, 0);
	if (b.oom || !b.data) {
		eu_buf_free(&b);
		eu_error_set(err, -ENOMEM, "out of memory spelling BTF type %u", id);
		return NULL;
	}
	return b.data;
}

/* bpftool's skeleton identifier for a map: user maps keep their name; internal ones take
 * the part from the section suffix on, dots and other non-identifier bytes as '_'. */
static char *map_ident(const struct bpf_map *map)
{
	static const char *const sfxs[] = {".data", ".rodata", ".bss", ".kconfig"};
	const char *name = bpf_map__name(map);
	if (!bpf_map__is_internal(map))
		return strdup(name);
	const char *from = name;
	for (size_t i = 0; i < sizeof(sfxs) / sizeof(sfxs[0]); i++) {
		const char *p = strstr(name, sfxs[i]);
		if (p) {
			from = p + 1;
			break;
		}
	}
	char *id = strdup(from);
	for (char *c = id; c && *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			*c = '_';
	return id;
}

/* The ELF section behind one of libbpf's standard internal maps, NULL for others. libbpf
 * names them "<obj prefix>.rodata"; custom ones (".rodata.str1.1") keep the section name. */
static const char *std_section_of(const struct bpf_map *map)
{
	static const char *const secs[] = {".rodata", ".data", ".bss"};
	if (!bpf_map__is_internal(map))
		return NULL;
	const char *name = bpf_map__name(map);
	size_t nl = strlen(name);
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		size_t sl = strlen(secs[i]);
		if (nl >= sl && strcmp(name + nl - sl, secs[i]) == 0 &&
		    (nl == sl || name[0] != '.'))
			return secs[i];
	}
	return NULL;
}

static int fill_maps(struct eu_package *p, struct bpf_object *obj, eu_error *err)
{
	struct bpf_map *map;
	size_t n = 0;
	bpf_object__for_each_map(map, obj)
		n++;
	if (!n)
		return 0;
	p->maps = calloc(n, sizeof(*p->maps));
	if (!p->maps)
		return eu_error_set(err, -ENOMEM, "out of memory");
	bpf_object__for_each_map(map, obj) {
		struct eu_map_meta *m = &p->maps[p->n_maps++];
		m->name = strdup(bpf_map__name(map));
		m->ident = map_ident(map);
		m->mmaped = bpf_map__map_flags(map) & BPF_F_MMAPABLE;
		if (!m->name || !m->ident)
			return eu_error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static int fill_progs(struct eu_package *p, struct bpf_object *obj, eu_error *err)
{
	struct bpf_program *prog;
	size_t n = 0;
	bpf_object__for_each_program(prog, obj)
		n++;
	if (!n)
		return 0;
	p->progs = calloc(n, sizeof(*p->progs));
	if (!p->progs)
		return eu_error_set(err, -ENOMEM, "out of memory");
	bpf_object__for_each_program(prog, obj) {
		struct eu_prog_meta *m = &p->progs[p->n_progs++];
		m->name = strdup(bpf_program__name(prog));
		m->attach = strdup(bpf_program__section_name(prog));
		if (!m->name || !m->attach)
			return eu_error_set(err, -ENOMEM, "out of memory");
		m->link = true;
		/* upstream's defaults, which its ecc writes for every tc/xdp program */
		m->tc.ifindex = 1;
		m->tc.attach_point = BPF_TC_INGRESS;
		m->tc.handle = 1;
		m->tc.priority = 1;
		m->xdp.ifindex = 1;
		m->xdp.flags = 0;
		m->xdp.old_prog_fd = 0;
	}
	return 0;
}

static bool var_is_global(const struct btf_type *v)
{
	return btf_var(v)->linkage != BTF_VAR_STATIC;
}

/* One data section entry per standard internal map whose DATASEC holds global variables,
 * in libbpf's map order (which puts .rodata before .bss, as upstream does). */
static int fill_sections(struct eu_package *p, struct bpf_object *obj, const struct btf *btf,
			 eu_error *err)
{
	struct bpf_map *map;
	size_t n = 0;
	bpf_object__for_each_map(map, obj)
		n += std_section_of(map) != NULL;
	if (!n)
		return 0;
	p->sections = calloc(n, sizeof(*p->sections));
	if (!p->sections)
		return eu_error_set(err, -ENOMEM, "out of memory");
	bpf_object__for_each_map(map, obj) {
		const char *sec = std_section_of(map);
		if (!sec)
			continue;
		__s32 sid = btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC);
		if (sid <= 0)
			continue;
		const struct btf_type *ds = btf__type_by_id(btf, sid);
		const struct btf_var_secinfo *vi = btf_var_secinfos(ds);
		size_t nv = 0;
		for (__u16 i = 0; i < btf_vlen(ds); i++) {
			const struct btf_type *v = btf__type_by_id(btf, vi[i].type);
			nv += v && btf_is_var(v) && var_is_global(v);
		}
		if (!nv)
			continue;
		struct eu_section_meta *s = &p->sections[p->n_sections++];
		s->name = strdup(sec);
		s->vars = calloc(nv, sizeof(*s->vars));
		if (!s->name || !s->vars)
			return eu_error_set(err, -ENOMEM, "out of memory");
		for (__u16 i = 0; i < btf_vlen(ds); i++) {
			const struct btf_type *v = btf__type_by_id(btf, vi[i].type);
			if (!v || !btf_is_var(v) || !var_is_global(v))
				continue;
			struct eu_var_meta *var = &s->vars[s->n_vars++];
			var->name = strdup(eu_btf_name(btf, v->name_off));
			if (!var->name)
				return eu_error_set(err, -ENOMEM, "out of memory");
			var->type = type_string(btf, v->type, err);
			if (!var->type)
				return err ? err->code : -ENOMEM;
			var->dummy = strncmp(var->name, DUMMY_PREFIX, strlen(DUMMY_PREFIX)) == 0;
		}
	}
	return 0;
}

static int add_export(struct eu_package *p, const struct btf *btf, __u32 id, eu_error *err)
{
	for (size_t i = 0; i < p->n_export_types; i++)
		if (p->export_types[i].type_id == id)
			return 0;
	const struct btf_type *t = btf__type_by_id(btf, id);
	void *grown = realloc(p->export_types, (p->n_export_types + 1) * sizeof(*p->export_types));
	if (!grown)
		return eu_error_set(err, -ENOMEM, "out of memory");
	p->export_types = grown;
	struct eu_export_type *e = &p->export_types[p->n_export_types++];
	memset(e, 0, sizeof(*e));
	e->name = strdup(eu_btf_name(btf, t->name_off));
	e->type_id = id;
	e->size = t->size;
	__u16 vlen = btf_vlen(t);
	e->members = vlen ? calloc(vlen, sizeof(*e->members)) : NULL;
	if (!e->name || (vlen && !e->members))
		return eu_error_set(err, -ENOMEM, "out of memory");
	const struct btf_member *m = btf_members(t);
	for (__u16 i = 0; i < vlen; i++) {
		struct eu_member_meta *mm = &e->members[e->n_members++];
		mm->name = strdup(eu_btf_name(btf, m[i].name_off));
		if (!mm->name)
			return eu_error_set(err, -ENOMEM, "out of memory");
		mm->type = type_string(btf, m[i].type, err);
		if (!mm->type)
			return err ? err->code : -ENOMEM;
	}
	return 0;
}

/* The struct a global pointer variable points at, 0 when it is not `struct S *`. */
static __u32 pointed_struct(const struct btf *btf, const struct btf_type *var)
{
	__u32 pid = eu_btf_skip_mods(btf, var->type, true);
	const struct btf_type *pt = btf__type_by_id(btf, pid);
	if (!pt || !btf_is_ptr(pt))
		return 0;
	__u32 sid = eu_btf_skip_mods(btf, pt->type, true);
	const struct btf_type *st = btf__type_by_id(btf, sid);
	return st && btf_is_struct(st) && btf_vlen(st) ? sid : 0;
}

/* True when struct `inner` is a member (through arrays, typedefs, qualifiers, nested
 * structs/unions, not pointers) of struct `outer`. */
static bool contains_type(const struct btf *btf, __u32 outer, __u32 inner, int depth)
{
	if (depth > 16)
		return false;
	const struct btf_type *t = btf__type_by_id(btf, outer);
	if (!t || !btf_is_composite(t))
		return false;
	const struct btf_member *m = btf_members(t);
	for (__u16 i = 0; i < btf_vlen(t); i++) {
		__u32 id = eu_btf_array_elem(btf, m[i].type);
		if (id == inner || contains_type(btf, id, inner, depth + 1))
			return true;
	}
	return false;
}

/* A header usually defines helper structs before the event that embeds them; only the
 * outermost structs are events (upstream exports them all and uses the first, which would be
 * the helper). */
static void drop_nested_exports(struct eu_package *p, const struct btf *btf)
{
	size_t keep = 0;
	for (size_t i = 0; i < p->n_export_types; i++) {
		bool nested = false;
		for (size_t j = 0; j < p->n_export_types && !nested; j++)
			nested = j != i && contains_type(btf, p->export_types[j].type_id,
							 p->export_types[i].type_id, 0);
		if (!nested) {
			p->export_types[keep++] = p->export_types[i];
			continue;
		}
		struct eu_export_type *t = &p->export_types[i];
		for (size_t k = 0; k < t->n_members; k++) {
			free(t->members[k].name);
			free(t->members[k].type);
		}
		free(t->members);
		free(t->name);
	}
	p->n_export_types = keep;
}

/* The exported structs, by the convention documented in package.h: ecc's dummies, else
 * .bss `struct S *` globals, else `struct event`. */
static int fill_exports(struct eu_package *p, const struct btf *btf, eu_error *err)
{
	for (int pass = 0; pass < 2 && !p->n_export_types; pass++) {
		__u32 cnt = btf__type_cnt(btf);
		for (__u32 id = 1; id < cnt; id++) {
			const struct btf_type *ds = btf__type_by_id(btf, id);
			if (!btf_is_datasec(ds))
				continue;
			const char *sec = eu_btf_name(btf, ds->name_off);
			if (pass == 1 && strcmp(sec, ".bss") != 0)
				continue;
			const struct btf_var_secinfo *vi = btf_var_secinfos(ds);
			for (__u16 i = 0; i < btf_vlen(ds); i++) {
				const struct btf_type *v = btf__type_by_id(btf, vi[i].type);
				if (!v || !btf_is_var(v) || !var_is_global(v))
					continue;
				const char *vn = eu_btf_name(btf, v->name_off);
				if (pass == 0 && strncmp(vn, DUMMY_PREFIX, strlen(DUMMY_PREFIX)) != 0)
					continue;
				__u32 sid = pointed_struct(btf, v);
				if (!sid)
					continue;
				int r = add_export(p, btf, sid, err);
				if (r)
					return r;
			}
		}
	}
	if (!p->n_export_types) {
		__s32 sid = btf__find_by_name_kind(btf, "event", BTF_KIND_STRUCT);
		if (sid > 0)
			return add_export(p, btf, (__u32)sid, err);
	}
	drop_nested_exports(p, btf);
	return 0;
}

/* "bootstrap_bpf" -> "bootstrap"; the name users see in logs and the API. */
static char *short_name(const char *obj_name)
{
	size_t n = strlen(obj_name);
	if (n > 4 && strcmp(obj_name + n - 4, "_bpf") == 0)
		n -= 4;
	return strndup(obj_name, n);
}

/* Upstream's runtimes decode with export_types[0]: put first the struct the programs send
 * (export_pick.h), so the package reads right there too. The others stay, in order. */
static void order_exports(struct eu_package *p, const struct btf *btf, const void *elf,
			  size_t size)
{
	if (p->n_export_types < 2)
		return;
	struct eu_scan scan;
	if (eu_scan_object(elf, size, &scan, NULL))
		return;
	const char *map = scan.n_outputs && scan.outputs[0].map[0] ? scan.outputs[0].map : NULL;
	struct eu_export_pick pick;
	if (!eu_export_pick(p, btf, &scan, map, NULL, &pick, NULL) && pick.index > 0) {
		struct eu_export_type t = p->export_types[pick.index];
		memmove(&p->export_types[1], &p->export_types[0],
			(size_t)pick.index * sizeof(t));
		p->export_types[0] = t;
	}
	eu_scan_free(&scan);
}

static int derive(struct eu_package *p, struct bpf_object *obj, const void *elf, size_t size,
		  eu_error *err)
{
	const struct btf *btf = bpf_object__btf(obj);
	int r;
	if ((r = fill_maps(p, obj, err)) || (r = fill_progs(p, obj, err)) ||
	    (r = fill_sections(p, obj, btf, err)) || (r = fill_exports(p, btf, err)))
		return r;
	order_exports(p, btf, elf, size);
	return 0;
}

int eu_meta_from_object(struct eu_package *pkg, const void *elf, size_t size, const char *obj_name,
			eu_error *err)
{
	static const unsigned char magic[4] = {0x7f, 'E', 'L', 'F'};
	if (!pkg || !elf || !obj_name || !obj_name[0])
		return eu_error_set(err, -EINVAL, "eu_meta_from_object: missing argument");
	if (size < 64 || memcmp(elf, magic, sizeof(magic)) != 0)
		return eu_error_set(err, -ENOEXEC,
				    "%s: not an ELF object (expected a BPF .bpf.o built by clang -target bpf)",
				    obj_name);
	const unsigned char *e = elf;
	/* e_machine (little-endian ELF64) must be EM_BPF (247) */
	if (e[4] != 2 || e[5] != 1 || (e[18] | (e[19] << 8)) != 247)
		return eu_error_set(err, -ENOEXEC,
				    "%s: ELF object is not for BPF (compile with clang -target bpf)",
				    obj_name);

	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = obj_name);
	struct bpf_object *obj = bpf_object__open_mem(elf, size, &opts);
	if (!obj) {
		int code = errno ? -errno : -EINVAL;
		return eu_error_set(err, code, "%s: libbpf cannot open the BPF object: %s", obj_name,
				    strerror(-code));
	}
	if (!bpf_object__btf(obj)) {
		bpf_object__close(obj);
		return eu_error_set(err, -ENODATA,
				    "%s: the BPF object has no BTF (.BTF section): build it with clang -g "
				    "and strip only DWARF (llvm-strip -g)",
				    obj_name);
	}

	struct eu_package tmp;
	memset(&tmp, 0, sizeof(tmp));
	int r = derive(&tmp, obj, elf, size, err);
	bpf_object__close(obj);
	if (!r) {
		tmp.obj_name = strdup(obj_name);
		tmp.name = short_name(obj_name);
		tmp.eunomia_version = strdup(EU_META_VERSION);
		if (!tmp.obj_name || !tmp.name || !tmp.eunomia_version)
			r = eu_error_set(err, -ENOMEM, "out of memory");
	}
	if (r) {
		meta_release(&tmp);
		return eu_error_prefix(err, "%s", obj_name);
	}

	pkg->obj_name = tmp.obj_name;
	pkg->name = tmp.name;
	pkg->eunomia_version = tmp.eunomia_version;
	pkg->sections = tmp.sections;
	pkg->n_sections = tmp.n_sections;
	pkg->maps = tmp.maps;
	pkg->n_maps = tmp.n_maps;
	pkg->progs = tmp.progs;
	pkg->n_progs = tmp.n_progs;
	pkg->export_types = tmp.export_types;
	pkg->n_export_types = tmp.n_export_types;
	pkg->multiple_export = false;
	pkg->poll_timeout_ms = 100;
	pkg->perf_buffer_pages = 64;
	pkg->perf_buffer_time_ms = 10;
	pkg->print_header = true;
	pkg->debug_verbose = false;
	if (!pkg->format)
		pkg->format = EU_PKG_BPF_OBJECT;
	return 0;
}
