/* ecc's closing line: what the package it wrote gives user space. A struct in export_types
 * is only what events would be decoded as; a package without a ring buffer or perf event
 * array sends none, and what it gives is the maps user space reads (its @sample maps). */
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ecc.h"

/* "struct hist", "__u64": the value type as the source names it. */
static void put_type(const struct btf *btf, uint32_t id, eu_buf *out)
{
	const struct btf_type *t = btf ? btf__type_by_id(btf, id) : NULL;
	while (t && (btf_is_const(t) || btf_is_volatile(t) || btf_is_restrict(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	const char *name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (!t || !name || !*name) {
		eu_buf_puts(out, "?");
		return;
	}
	if (btf_is_struct(t))
		eu_buf_puts(out, "struct ");
	else if (btf_is_union(t))
		eu_buf_puts(out, "union ");
	eu_buf_puts(out, name);
}

static const struct eu_map_meta *meta_of(const struct eu_package *pkg, const char *name)
{
	for (size_t i = 0; i < pkg->n_maps; i++)
		if (pkg->maps[i].name && !strcmp(pkg->maps[i].name, name))
			return &pkg->maps[i];
	return NULL;
}

void ecc_summary(const struct eu_package *pkg, eu_buf *out)
{
	eu_buf_printf(out, "%s: %zu program(s), %zu map(s)", pkg->obj_name, pkg->n_progs,
		      pkg->n_maps);
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = pkg->obj_name);
	struct bpf_object *obj = bpf_object__open_mem(pkg->object, pkg->object_size, &opts);
	if (!obj) {
		/* the meta was read from these bytes already; say only what it holds */
		if (pkg->n_export_types)
			eu_buf_printf(out, ", struct %s", pkg->export_types[0].name);
		return;
	}
	const struct btf *btf = bpf_object__btf(obj);
	bool events = false;
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj) {
		enum bpf_map_type t = bpf_map__type(m);
		events |= t == BPF_MAP_TYPE_RINGBUF || t == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
	}
	if (events) {
		if (pkg->n_export_types)
			eu_buf_printf(out, ", exports struct %s", pkg->export_types[0].name);
		else
			eu_buf_puts(out, ", sends events but names no struct for them");
		bpf_object__close(obj);
		return;
	}
	size_t sampled = 0;
	bpf_object__for_each_map(m, obj) {
		const struct eu_map_meta *mm = meta_of(pkg, bpf_map__name(m));
		if (!mm || mm->sample.type == EU_SAMPLE_NONE)
			continue;
		eu_buf_printf(out, "%s map %s (", sampled++ ? "," : ", samples", bpf_map__name(m));
		put_type(btf, bpf_map__btf_value_type_id(m), out);
		eu_buf_putc(out, ')');
	}
	if (!sampled)
		eu_buf_puts(out, ", no events (no ring buffer or perf event array): the agent prints "
				 "the maps and globals its programs fill");
	bpf_object__close(obj);
}
