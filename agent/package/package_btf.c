/* The package object's BTF, read from the in-memory ELF without the kernel, and the checks
 * that the meta's type ids name what the meta says they name. */
#include "package_priv.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* libelf may convert headers in place for a foreign byte order, and the package's object is
 * const: read from a private copy. */
static int find_btf_section(const struct eu_package *pkg, void *image, struct btf **out,
			    eu_error *err)
{
	Elf *elf = elf_memory(image, pkg->object_size);
	if (!elf)
		return eu_error_set(err, -EINVAL, "%s: cannot read the object as ELF: %s",
				    pkg->origin, elf_errmsg(-1));
	int rc = 0;
	size_t shstrndx;
	Elf_Data *data = NULL;
	if (elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0) {
		rc = eu_error_set(err, -EINVAL, "%s: the object's ELF section headers are unreadable",
				  pkg->origin);
		goto out;
	}
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".BTF") != 0)
			continue;
		if (sh.sh_type != SHT_NOBITS)
			data = elf_getdata(scn, NULL);
		break;
	}
	if (!data || !data->d_buf || !data->d_size) {
		rc = eu_error_set(err, -ENOENT,
				  "%s: the object has no .BTF section (compile it with clang -g)",
				  pkg->origin);
		goto out;
	}
	if (data->d_size > UINT32_MAX) {
		rc = eu_error_set(err, -EFBIG, "%s: the object's .BTF section is too large",
				  pkg->origin);
		goto out;
	}
	struct btf *btf = btf__new(data->d_buf, (uint32_t)data->d_size);
	long e = libbpf_get_error(btf);
	if (!btf || e) {
		int code = e ? (int)e : -EINVAL;
		rc = eu_error_set(err, code, "%s: the object's .BTF section is invalid: %s",
				  pkg->origin, strerror(-code));
		goto out;
	}
	*out = btf;
out:
	elf_end(elf);
	return rc;
}

int eu_package_object_btf(const struct eu_package *pkg, struct btf **out, eu_error *err)
{
	*out = NULL;
	if (!pkg || !pkg->object || !pkg->object_size)
		return eu_error_set(err, -ENOENT, "%s: the package has no BPF object",
				    pkg && pkg->origin ? pkg->origin : "<package>");
	if (elf_version(EV_CURRENT) == EV_NONE)
		return eu_error_set(err, -EINVAL, "%s: libelf is unusable: %s", pkg->origin,
				    elf_errmsg(-1));
	void *image = malloc(pkg->object_size);
	if (!image)
		return eu_error_set(err, -ENOMEM, "%s: out of memory", pkg->origin);
	memcpy(image, pkg->object, pkg->object_size);
	int rc = find_btf_section(pkg, image, out, err);
	free(image);
	return rc;
}

/* "'struct foo'", "'unsigned int'", "a pointer": how a BTF type reads in a message. */
static void describe_type(const struct btf *btf, const struct btf_type *t, char *buf,
			  size_t size)
{
	const char *name = btf__name_by_offset(btf, t->name_off);
	if (!name || !*name)
		name = "(anon)";
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_FLOAT:
		snprintf(buf, size, "'%s'", name);
		break;
	case BTF_KIND_STRUCT:
		snprintf(buf, size, "'struct %s'", name);
		break;
	case BTF_KIND_UNION:
		snprintf(buf, size, "'union %s'", name);
		break;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		snprintf(buf, size, "'enum %s'", name);
		break;
	case BTF_KIND_FWD:
		snprintf(buf, size, "a forward declaration of '%s'", name);
		break;
	case BTF_KIND_TYPEDEF:
		snprintf(buf, size, "'typedef %s'", name);
		break;
	case BTF_KIND_PTR:
		snprintf(buf, size, "a pointer");
		break;
	case BTF_KIND_ARRAY:
		snprintf(buf, size, "an array");
		break;
	case BTF_KIND_FUNC:
		snprintf(buf, size, "the function '%s'", name);
		break;
	case BTF_KIND_VAR:
		snprintf(buf, size, "the variable '%s'", name);
		break;
	case BTF_KIND_DATASEC:
		snprintf(buf, size, "the data section '%s'", name);
		break;
	default:
		snprintf(buf, size, "a type of BTF kind %u", btf_kind(t));
		break;
	}
}

static int check_export_type(const struct btf *btf, const struct eu_package *pkg,
			     const char *prefix, size_t i, eu_error *err)
{
	const struct eu_export_type *et = &pkg->export_types[i];
	uint32_t n = btf__type_cnt(btf);
	if (et->type_id == 0 || et->type_id >= n)
		return eu_error_set(err, -EINVAL,
				    "%s: %sexport_types[%zu]: type_id %u is not in the object's BTF "
				    "(ids 1 to %u), expected struct %s with %zu members",
				    pkg->origin, prefix, i, et->type_id, n - 1, et->name,
				    et->n_members);
	const struct btf_type *t = btf__type_by_id(btf, et->type_id);
	if (!t)
		return eu_error_set(err, -EINVAL, "%s: %sexport_types[%zu]: type_id %u is unreadable",
				    pkg->origin, prefix, i, et->type_id);
	const char *name = btf__name_by_offset(btf, t->name_off);
	char what[160];
	describe_type(btf, t, what, sizeof(what));
	if (!btf_is_composite(t) || !name || strcmp(name, et->name) != 0)
		return eu_error_set(err, -EINVAL,
				    "%s: %sexport_types[%zu]: type_id %u is %s in the object's BTF, "
				    "expected struct %s with %zu members",
				    pkg->origin, prefix, i, et->type_id, what, et->name,
				    et->n_members);
	if (btf_vlen(t) != et->n_members)
		return eu_error_set(err, -EINVAL,
				    "%s: %sexport_types[%zu]: type_id %u is %s with %u members in the "
				    "object's BTF, expected struct %s with %zu members",
				    pkg->origin, prefix, i, et->type_id, what, btf_vlen(t), et->name,
				    et->n_members);
	return 0;
}

static int check_type_id(const struct btf *btf, const struct eu_package *pkg, uint32_t id,
			 const char *where, eu_error *err)
{
	uint32_t n = btf__type_cnt(btf);
	if (id == 0 || id >= n)
		return eu_error_set(err, -EINVAL,
				    "%s: %s: type %u is not in the object's BTF (ids 1 to %u)",
				    pkg->origin, where, id, n - 1);
	return 0;
}

static int check_export_config(const struct btf *btf, const struct eu_package *pkg,
			       const char *prefix, size_t i, eu_error *err)
{
	const struct eu_map_meta *m = &pkg->maps[i];
	char where[256];
	if (m->export_config.kind == EU_EXPORT_TYPE_ID) {
		snprintf(where, sizeof(where), "%sbpf_skel.maps[%zu].export_config.btf_type_id",
			 prefix, i);
		return check_type_id(btf, pkg, m->export_config.btf_type_id, where, err);
	}
	if (m->export_config.kind != EU_EXPORT_CUSTOM)
		return 0;
	for (size_t j = 0; j < m->export_config.n_members; j++) {
		snprintf(where, sizeof(where),
			 "%sbpf_skel.maps[%zu].export_config.custom_members[%zu].btf_type_id", prefix,
			 i, j);
		int rc = check_type_id(btf, pkg, m->export_config.members[j].btf_type_id, where,
				       err);
		if (rc)
			return rc;
	}
	return 0;
}

int eu_pkg_check_btf(const struct eu_package *pkg, const char *meta_path, eu_error *err)
{
	/* in multiple-export mode each map's export_config rules and export_types is ignored */
	bool types = !pkg->multiple_export && pkg->n_export_types > 0, configs = false;
	for (size_t i = 0; i < pkg->n_maps; i++)
		configs |= pkg->maps[i].export_config.kind == EU_EXPORT_TYPE_ID ||
			   pkg->maps[i].export_config.kind == EU_EXPORT_CUSTOM;
	if (!types && !configs)
		return 0;

	struct btf *btf;
	int rc = eu_package_object_btf(pkg, &btf, err);
	if (rc)
		return rc;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s%s", meta_path, *meta_path ? "." : "");
	for (size_t i = 0; !rc && types && i < pkg->n_export_types; i++)
		rc = check_export_type(btf, pkg, prefix, i, err);
	for (size_t i = 0; !rc && i < pkg->n_maps; i++)
		rc = check_export_config(btf, pkg, prefix, i, err);
	btf__free(btf);
	return rc;
}
