/* Results kept in global variables: bcc-style tools count into `.bss`/`.data` arrays and
 * structs (`__u64 counts[512]`, `struct hist hists[N]`, `__u32 hist[MAX_SLOTS]`, a
 * `__u64 total`) and leave the printing to their user space, which reads them through the
 * skeleton. Here every variable the programs store into (insn_scan.h) becomes a sampled
 * export of its own, named after the variable, read with one lookup of the section's map per
 * interval and at exit:
 *   - an array: one entry per index whose element is not all zero (key: the index);
 *   - a struct with an integer `slots` array, or an integer array named *hist* / *slots*
 *     (also as the elements of an array): log2 histograms, per index for arrays;
 *   - anything else (scalars, structs, char arrays): one entry, printed as NAME = VALUE.
 * Read-only `.rodata` (the `const volatile` parameters) and variables the programs only read
 * are never printed. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_priv.h"
#include "core/btf_util.h"
#include "eunomia/decoder.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/program.h"

#define DUMMY_PREFIX "__eunomia_dummy"

/* .bss, .data and their .bss.NAME / .data.NAME variants; never .rodata or .kconfig. */
static bool writable_section(const char *sec)
{
	return !strncmp(sec, ".bss", 4) || !strncmp(sec, ".data", 5);
}

/* The section's DATASEC type when map is a writable data section's map, else NULL. */
static const struct btf_type *section_of(struct bpf_map *map, const struct btf *btf,
					 const char **name)
{
	if (!btf || !bpf_map__is_internal(map) || bpf_map__type(map) != BPF_MAP_TYPE_ARRAY)
		return NULL;
	const struct btf_type *t = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
	if (!t || !btf_is_datasec(t))
		return NULL;
	*name = eu_btf_name(btf, t->name_off);
	return writable_section(*name) ? t : NULL;
}

size_t datasec_var_count(struct bpf_object *obj, const struct btf *btf)
{
	size_t n = 0;
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		const char *sec;
		const struct btf_type *ds = section_of(map, btf, &sec);
		if (ds)
			n += btf_vlen(ds);
	}
	return n;
}

static bool int_type(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, eu_btf_skip_mods(btf, id, true));
	return t && (btf_is_int(t) || btf_is_enum(t));
}

/* char[N] (a name or a path the programs copy in) prints as one string, not per index. */
static bool char_type(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, eu_btf_skip_mods(btf, id, true));
	return t && btf_is_int(t) && t->size == 1 &&
	       ((btf_int_encoding(t) & BTF_INT_CHAR) ||
		!strcmp(eu_btf_name(btf, t->name_off), "char"));
}

static bool hist_name(const char *name)
{
	return strstr(name, "hist") || strstr(name, "slots");
}

/* An integer array (a histogram's bare slots), or 0. */
static const struct btf_array *int_array(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, eu_btf_skip_mods(btf, id, true));
	if (!t || !btf_is_array(t) || !btf_array(t)->nelems || !int_type(btf, btf_array(t)->type))
		return NULL;
	return btf_array(t);
}

/* The plan of one entry's value of type id: a bare integer array named like a histogram as
 * {"slots": [...]}, else as consumer_plan_for_type makes it. */
static int value_plan(struct eu_export *exp, const struct btf *btf, uint32_t id, eu_error *err)
{
	if (hist_name(exp->map_name) && int_array(btf, id)) {
		struct eu_custom_member m = {.name = "slots", .offset = 0, .btf_type_id = id};
		exp->value_scalar = false;
		return eu_plan_new_custom(btf, exp->map_name, &m, 1, &exp->plan, err);
	}
	return consumer_plan_for_type(btf, id, "value", &exp->plan, &exp->value_scalar, err);
}

/* Decides how the variable prints (see the top of the file) and makes its plans. */
static int var_shape(struct eu_export *exp, const struct btf *btf, uint32_t type_id,
		     eu_error *err)
{
	const struct btf_type *t = btf__type_by_id(btf, eu_btf_skip_mods(btf, type_id, true));
	if (!t)
		return eu_error_set(err, -EINVAL, "its BTF type %u is broken", type_id);
	bool per_index = false;
	if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		bool bare_hist = hist_name(exp->map_name) && int_array(btf, type_id);
		const struct btf_type *it = btf__type_by_id(btf, a->index_type);
		per_index = a->nelems && !bare_hist && !char_type(btf, a->type) && it &&
			    btf_is_int(it) && it->size == 4;
		if (per_index) {
			int64_t es = btf__resolve_size(btf, a->type);
			if (es <= 0 || (uint64_t)es * a->nelems != exp->var_size)
				return eu_error_set(err, -EINVAL, "its %u elements are not %u bytes",
						    a->nelems, exp->var_size);
			exp->elems = a->nelems;
			exp->elem_size = (uint32_t)es;
			int ret = consumer_plan_for_type(btf, a->index_type, "key", &exp->key_plan,
							 &exp->key_scalar, err);
			if (ret)
				return ret;
			return value_plan(exp, btf, a->type, err);
		}
	}
	return value_plan(exp, btf, type_id, err);
}

static int add_var(struct eu_consumer *c, struct bpf_map *map, const struct btf *btf,
		   const char *sec, const struct btf_var_secinfo *vs, eu_error *err)
{
	const struct btf_type *v = btf__type_by_id(btf, vs->type);
	if (!v || !btf_is_var(v))
		return 0;
	const char *name = eu_btf_name(btf, v->name_off);
	if (!*name || !strncmp(name, DUMMY_PREFIX, strlen(DUMMY_PREFIX)) || !vs->size ||
	    (uint64_t)vs->offset + vs->size > bpf_map__value_size(map) ||
	    !eu_scan_stores_into(&c->scan, sec, vs->offset, vs->size))
		return 0;
	struct eu_export *exp = consumer_auto_export(c, map, err);
	if (!exp)
		return err ? err->code : -ENOMEM;
	char *vname = strdup(name);
	if (!vname)
		return eu_error_set(err, -ENOMEM, "out of memory");
	free(exp->map_name);
	exp->map_name = vname;
	exp->datasec = true;
	exp->var_offset = vs->offset;
	exp->var_size = vs->size;
	struct eu_map_meta *m = exp->own_meta;
	int ret = var_shape(exp, btf, v->type, err);
	if (ret)
		return eu_error_prefix(err, "variable %s (%s)", name, sec);
	m->sample.type = EU_SAMPLE_LOG2_HIST;
	sampler_find_hist(exp);
	if (exp->hist_field >= 0) {
		m->sample.unit = strdup(consumer_unit_from_names(name, exp->plan));
		if (!m->sample.unit)
			return eu_error_set(err, -ENOMEM, "out of memory");
	} else {
		m->sample.type = EU_SAMPLE_DEFAULT_KV;
	}
	exp->key_size = exp->elems ? sizeof(uint32_t) : 0;
	exp->value_size = exp->elems ? exp->elem_size : exp->var_size;
	exp->min_size = eu_plan_size(exp->plan);
	if (exp->min_size > exp->value_size)
		return eu_error_set(err, -EINVAL, "variable %s (%s): its type is larger than its "
				    "%u bytes", name, sec, exp->value_size);
	exp->interval_ms = m->sample.interval_ms;
	exp->raw = calloc(1, bpf_map__value_size(map));
	exp->keys = calloc(1, sizeof(uint32_t));
	if (!exp->raw || !exp->keys)
		return eu_error_set(err, -ENOMEM, "out of memory");
	eu_log(EU_LOG_DEBUG, "%s: variable %s (%s, %u bytes): printed every %u ms and at exit as %s: "
	       "the programs write it", eu_program_name(c->prog), name, sec, vs->size,
	       m->sample.interval_ms,
	       exp->hist_field >= 0 ? (exp->elems ? "log2 histograms per index" : "a log2 histogram")
				    : (exp->elems ? "index = value, zeros left out" : "name = value"));
	return 0;
}

int datasec_choose(struct eu_consumer *c, struct bpf_object *obj, const struct btf *btf,
		   eu_error *err)
{
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		const char *sec;
		const struct btf_type *ds = section_of(map, btf, &sec);
		if (!ds)
			continue;
		const struct btf_var_secinfo *vs = btf_var_secinfos(ds);
		for (uint16_t i = 0; i < btf_vlen(ds); i++) {
			int ret = add_var(c, map, btf, sec, &vs[i], err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void deliver(struct eu_export *exp, const void *key, size_t ks, const void *value)
{
	struct eu_consumer *c = exp->owner;
	exp->stats.received++;
	exp->stats.decoded++;
	if (c->opts.on_sample)
		c->opts.on_sample(c->opts.ctx, exp, key, ks, value, exp->value_size);
}

void datasec_tick_now(struct eu_export *exp)
{
	struct eu_consumer *c = exp->owner;
	uint32_t zero = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(exp->map), &zero, exp->raw)) {
		int e = errno;
		if (!exp->read_failed)
			eu_log(EU_LOG_ERROR, "%s: variable %s: cannot read its section (map %s): %s; "
			       "its values are not printed", eu_program_name(c->prog), exp->map_name,
			       bpf_map__name(exp->map), strerror(e));
		exp->read_failed = true;
		return;
	}
	const uint8_t *var = exp->raw + exp->var_offset;
	if (!exp->elems) {
		deliver(exp, NULL, 0, var);
	} else {
		for (uint32_t i = 0; i < exp->elems; i++) {
			const uint8_t *elem = var + (size_t)i * exp->elem_size;
			if (all_zero(elem, exp->elem_size))
				continue;
			memcpy(exp->keys, &i, sizeof(i));
			deliver(exp, exp->keys, sizeof(i), elem);
		}
	}
	exp->stats.drains++;
	if (c->opts.on_batch)
		c->opts.on_batch(c->opts.ctx, exp);
}
