/* The 2022 legacy format: a flat object
 *   {"name", "data" (base64 ELF, line-wrapped), "data_sz", "maps": [{"name", "type",
 *    "export_data_types": {"Struct Name", "Size", "Fields": [{"Name", "Type", "FieldOffset"}]}}],
 *    "progs": [{"name"}], "version", "description", ...}
 * Sizes and offsets in export_data_types are in bits. Programs carry no attach point: the
 * runtime auto-attaches each by its ELF section. obj_name is the package "name" made into an
 * identifier ("template" -> "template"; "legacy" when there is none). */
#include "package_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

static int parse_legacy_map(struct eu_pj *c, const cJSON *m, void *item)
{
	struct eu_map_meta *map = item;
	int rc;
	if ((rc = eu_pj_expect_object(c, m)) ||
	    (rc = eu_pj_string(c, m, "name", true, &map->name)) ||
	    (rc = eu_pj_string(c, m, "type", false, &map->legacy_type)))
		return rc;
	if (!(map->ident = eu_pj_strdup(c, map->name)))
		return -ENOMEM;
	return 0;
}

static int parse_legacy_field(struct eu_pj *c, const cJSON *f, void *item)
{
	struct eu_member_meta *mem = item;
	int rc;
	if ((rc = eu_pj_expect_object(c, f)) ||
	    (rc = eu_pj_string(c, f, "Name", true, &mem->name)) ||
	    (rc = eu_pj_string(c, f, "Type", true, &mem->type)) ||
	    (rc = eu_pj_u32(c, f, "FieldOffset", true, 0, &mem->bit_offset)))
		return rc;
	mem->has_offset = true;
	return 0;
}

static int parse_legacy_type(struct eu_pj *c, const cJSON *x, struct eu_export_type *t)
{
	uint32_t bits;
	void *members = NULL;
	int rc;
	if ((rc = eu_pj_string(c, x, "Struct Name", true, &t->name)) ||
	    (rc = eu_pj_u32(c, x, "Size", false, 0, &bits)))
		return rc;
	t->size = bits / 8 + (bits % 8 != 0);
	rc = eu_pj_parse_array(c, x, "Fields", true, sizeof(*t->members), &members, &t->n_members,
			       parse_legacy_field);
	t->members = members;
	return rc;
}

/* Every map's export_data_types becomes one export type, in map order. */
static int parse_legacy_types(struct eu_pj *c, const cJSON *root, struct eu_package *pkg)
{
	const cJSON *maps = eu_pj_get(root, "maps");
	size_t n = 0;
	for (const cJSON *m = maps->child; m; m = m->next)
		n += eu_pj_get(m, "export_data_types") != NULL;
	if (!n)
		return 0;
	pkg->export_types = calloc(n, sizeof(*pkg->export_types));
	if (!pkg->export_types)
		return eu_pj_fail(c, -ENOMEM, "out of memory");
	size_t mark = eu_pj_push_key(c, "maps");
	size_t i = 0;
	for (const cJSON *m = maps->child; m; m = m->next, i++) {
		const cJSON *x;
		size_t imark = eu_pj_push_index(c, i);
		int rc = eu_pj_object(c, m, "export_data_types", false, &x);
		if (rc)
			return rc;
		if (x) {
			size_t xmark = eu_pj_push_key(c, "export_data_types");
			rc = parse_legacy_type(c, x, &pkg->export_types[pkg->n_export_types++]);
			if (rc)
				return rc;
			eu_pj_pop(c, xmark);
		}
		eu_pj_pop(c, imark);
	}
	eu_pj_pop(c, mark);
	return 0;
}

static int parse_legacy_prog(struct eu_pj *c, const cJSON *p, void *item)
{
	struct eu_prog_meta *prog = item;
	int rc;
	if ((rc = eu_pj_expect_object(c, p)) ||
	    (rc = eu_pj_string(c, p, "name", true, &prog->name)))
		return rc;
	prog->link = true;
	prog->tc.ifindex = 1;
	prog->tc.attach_point = BPF_TC_INGRESS;
	prog->tc.handle = 1;
	prog->tc.priority = 1;
	prog->xdp.ifindex = 1;
	return 0;
}

static char *identifier(const char *s)
{
	char *id = strdup(s && *s ? s : "legacy");
	for (char *q = id; q && *q; q++) {
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '_'))
			*q = '_';
	}
	return id;
}

int eu_pkg_parse_legacy(struct eu_pj *c, const cJSON *root, struct eu_package *pkg)
{
	const char *name, *text;
	bool has_size;
	void *items;
	int rc;
	if ((rc = eu_pj_cstr(c, root, "name", false, &name)) ||
	    (rc = eu_pj_size(c, root, "data_sz", EU_OBJECT_MAX_BYTES, &pkg->declared_object_size,
			     &has_size)) ||
	    (rc = eu_pj_cstr(c, root, "data", false, &text)) ||
	    (rc = eu_pj_string(c, root, "version", false, &pkg->doc.version)) ||
	    (rc = eu_pj_string(c, root, "description", false, &pkg->doc.description)))
		return rc;
	rc = eu_pj_parse_array(c, root, "maps", true, sizeof(*pkg->maps), &items, &pkg->n_maps,
			       parse_legacy_map);
	pkg->maps = items;
	if (rc || (rc = parse_legacy_types(c, root, pkg)))
		return rc;
	rc = eu_pj_parse_array(c, root, "progs", false, sizeof(*pkg->progs), &items, &pkg->n_progs,
			       parse_legacy_prog);
	pkg->progs = items;
	if (rc)
		return rc;

	pkg->poll_timeout_ms = 100;
	pkg->perf_buffer_pages = 64;
	pkg->perf_buffer_time_ms = 10;
	pkg->print_header = true;
	if (!(pkg->obj_name = identifier(name)) || !(pkg->name = strdup(pkg->obj_name)))
		return eu_pj_fail(c, -ENOMEM, "out of memory");
	if (text)
		return eu_pkg_decode_object(c, "data", text, strlen(text), has_size,
					    pkg->declared_object_size, &pkg->object,
					    &pkg->object_size);
	return 0;
}
