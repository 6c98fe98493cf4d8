#include "btf_util.h"

#include <bpf/btf.h>

const char *eu_btf_name(const struct btf *btf, uint32_t off)
{
	const char *name = btf__name_by_offset(btf, off);
	return name ? name : "";
}

uint32_t eu_btf_skip_mods(const struct btf *btf, uint32_t id, bool skip_typedefs)
{
	for (int i = 0; i < EU_BTF_MAX_CHAIN; i++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t)
			return 0;
		if (!btf_is_mod(t) && !(skip_typedefs && btf_is_typedef(t)))
			return id;
		id = t->type;
	}
	return 0;
}

uint32_t eu_btf_array_elem(const struct btf *btf, uint32_t id)
{
	id = eu_btf_skip_mods(btf, id, true);
	for (int i = 0; i < EU_BTF_MAX_CHAIN; i++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t || !btf_is_array(t))
			return id;
		id = eu_btf_skip_mods(btf, btf_array(t)->type, true);
	}
	return 0;
}
