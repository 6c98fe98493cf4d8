#include "eunomia/params.h"

#include <bpf/btf.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/btf_util.h"
#include "eunomia/log.h"
#include "eunomia/package.h"

typedef unsigned __int128 eu_u128;

#define DUMMY_PREFIX "__eunomia_dummy"

/* ---- types ---------------------------------------------------------------------------- */

static void type_name_copy(struct eu_param_type *t, const char *name)
{
	snprintf(t->name, sizeof(t->name), "%s", name);
}

int eu_param_type_from_btf(const struct btf *btf, uint32_t type_id, struct eu_param_type *out,
			   eu_error *err)
{
	memset(out, 0, sizeof(*out));
	out->btf = btf;
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const char *outer_name = NULL;
	/* skip modifiers and typedefs, remembering the first name the program used */
	for (int i = 0; t && (btf_is_mod(t) || btf_is_typedef(t)); i++) {
		if (i == EU_BTF_MAX_CHAIN) {
			t = NULL;
			break;
		}
		if (btf_is_typedef(t) && !outer_name)
			outer_name = eu_btf_name(btf, t->name_off);
		type_id = t->type;
		t = btf__type_by_id(btf, type_id);
	}
	if (!t)
		return eu_error_set(err, -EINVAL, "BTF type id %u is invalid", type_id);
	out->type_id = type_id;
	const char *name = eu_btf_name(btf, t->name_off);
	if (outer_name && *outer_name)
		name = outer_name;

	if (btf_is_int(t)) {
		uint8_t enc = btf_int_encoding(t);
		out->size = t->size;
		if (enc & BTF_INT_BOOL) {
			out->kind = EU_PARAM_BOOL;
			type_name_copy(out, "bool");
			return 0;
		}
		if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8 && t->size != 16)
			return eu_error_set(err, -EOPNOTSUPP, "integer type %s has an unusual size %u",
					    name ? name : "?", t->size);
		if (btf_int_offset(t) || btf_int_bits(t) != t->size * 8)
			return eu_error_set(err, -EOPNOTSUPP, "bitfield integers cannot be parameters");
		out->kind = EU_PARAM_INT;
		out->is_signed = enc & BTF_INT_SIGNED;
		type_name_copy(out, name && *name ? name : "int");
		return 0;
	}
	if (btf_is_any_enum(t)) {
		if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8)
			return eu_error_set(err, -EOPNOTSUPP, "enum of size %u", t->size);
		out->kind = EU_PARAM_ENUM;
		out->size = t->size;
		out->is_signed = btf_kflag(t);
		if (outer_name && *outer_name)
			type_name_copy(out, outer_name);
		else
			snprintf(out->name, sizeof(out->name), "enum %s", name && *name ? name : "");
		return 0;
	}
	if (btf_is_float(t)) {
		if (t->size != 4 && t->size != 8)
			return eu_error_set(err, -EOPNOTSUPP, "%u-byte floats cannot be parameters",
					    t->size);
		out->kind = EU_PARAM_FLOAT;
		out->size = t->size;
		type_name_copy(out, name && *name ? name : (t->size == 4 ? "float" : "double"));
		return 0;
	}
	if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		uint32_t eid = eu_btf_skip_mods(btf, a->type, true);
		const struct btf_type *et = eid ? btf__type_by_id(btf, eid) : NULL;
		if (et && btf_is_int(et) && et->size == 1 && !(btf_int_encoding(et) & BTF_INT_BOOL) &&
		    a->nelems > 0) {
			out->kind = EU_PARAM_CHARS;
			out->size = a->nelems;
			snprintf(out->name, sizeof(out->name), "char[%u]", a->nelems);
			return 0;
		}
		struct eu_param_type elem;
		if (!a->nelems || eu_param_type_from_btf(btf, a->type, &elem, NULL) ||
		    elem.kind == EU_PARAM_CHARS || elem.kind == EU_PARAM_ARRAY ||
		    (uint64_t)elem.size * a->nelems > (1u << 20))
			return eu_error_set(err, -EOPNOTSUPP,
					    "only arrays of chars, integers, bools, floats and enums "
					    "can be parameters");
		*out = elem;
		out->kind = EU_PARAM_ARRAY;
		out->elem_kind = elem.kind;
		out->elem_size = elem.size;
		out->n_elems = a->nelems;
		out->size = elem.size * a->nelems;
		snprintf(out->name, sizeof(out->name), "%.48s[%u]", elem.name, a->nelems);
		return 0;
	}
	return eu_error_set(err, -EOPNOTSUPP, "%s types cannot be parameters",
			    btf_is_ptr(t) ? "pointer" : btf_is_composite(t) ? "struct and union"
										 : "these");
}

/* ---- integers ------------------------------------------------------------------------- */

static void u128_text(eu_u128 v, eu_buf *out)
{
	char tmp[48];
	char *p = tmp + sizeof(tmp);
	*--p = '\0';
	do {
		*--p = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	eu_buf_puts(out, p);
}

static void i128_text(__int128 v, eu_buf *out)
{
	if (v < 0) {
		eu_buf_putc(out, '-');
		u128_text((eu_u128)0 - (eu_u128)v, out);
	} else {
		u128_text((eu_u128)v, out);
	}
}

/* Largest magnitude of a positive value and of a negative one for an integer of this shape. */
static void int_limits(uint32_t size, bool is_signed, eu_u128 *max_pos, eu_u128 *max_neg)
{
	unsigned bits = size * 8;
	eu_u128 all = bits >= 128 ? ~(eu_u128)0 : (((eu_u128)1 << bits) - 1);
	if (is_signed) {
		*max_pos = all >> 1;
		*max_neg = *max_pos + 1;
	} else {
		*max_pos = all;
		*max_neg = 0;
	}
}

void eu_param_range_text(const struct eu_param_type *t, eu_buf *out)
{
	eu_u128 max_pos, max_neg;
	int_limits(t->size, t->is_signed, &max_pos, &max_neg);
	if (max_neg) {
		eu_buf_putc(out, '-');
		u128_text(max_neg, out);
	} else {
		eu_buf_putc(out, '0');
	}
	eu_buf_puts(out, "..");
	u128_text(max_pos, out);
}

/* Parses [+-]digits or [+-]0x hexdigits; -ERANGE when the magnitude overflows 128 bits. */
static int parse_magnitude(const char *s, bool *neg, eu_u128 *mag)
{
	*neg = false;
	if (*s == '-' || *s == '+') {
		*neg = *s == '-';
		s++;
	}
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	eu_u128 v = 0;
	bool overflow = false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (v > (~(eu_u128)0 - d) / base)
			overflow = true;
		else
			v = v * base + d;
	}
	*mag = v;
	return overflow ? -ERANGE : 0;
}

static void store_int(void *out, uint32_t size, eu_u128 bits)
{
	switch (size) {
	case 1: { uint8_t v = (uint8_t)bits; memcpy(out, &v, 1); break; }
	case 2: { uint16_t v = (uint16_t)bits; memcpy(out, &v, 2); break; }
	case 4: { uint32_t v = (uint32_t)bits; memcpy(out, &v, 4); break; }
	case 8: { uint64_t v = (uint64_t)bits; memcpy(out, &v, 8); break; }
	default: memcpy(out, &bits, 16); break;
	}
}

static eu_u128 load_uint(const void *in, uint32_t size)
{
	switch (size) {
	case 1: { uint8_t v; memcpy(&v, in, 1); return v; }
	case 2: { uint16_t v; memcpy(&v, in, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, in, 4); return v; }
	case 8: { uint64_t v; memcpy(&v, in, 8); return v; }
	default: { eu_u128 v; memcpy(&v, in, 16); return v; }
	}
}

static __int128 load_sint(const void *in, uint32_t size)
{
	switch (size) {
	case 1: { int8_t v; memcpy(&v, in, 1); return v; }
	case 2: { int16_t v; memcpy(&v, in, 2); return v; }
	case 4: { int32_t v; memcpy(&v, in, 4); return v; }
	case 8: { int64_t v; memcpy(&v, in, 8); return v; }
	default: { __int128 v; memcpy(&v, in, 16); return v; }
	}
}

/* The value as two's-complement bits, range-checked; -EINVAL (syntax) or -ERANGE. */
static int parse_int_bits(const char *text, uint32_t size, bool is_signed, eu_u128 *bits)
{
	bool neg;
	eu_u128 mag;
	int ret = parse_magnitude(text, &neg, &mag);
	if (ret)
		return ret;
	eu_u128 max_pos, max_neg;
	int_limits(size, is_signed, &max_pos, &max_neg);
	if (neg && mag) {
		if (mag > max_neg)
			return -ERANGE;
		*bits = (eu_u128)0 - mag;
	} else {
		if (mag > max_pos)
			return -ERANGE;
		*bits = mag;
	}
	return 0;
}

static int int_error(const struct eu_param_type *t, const char *option, const char *text,
		     int ret, eu_error *err)
{
	eu_buf range;
	eu_buf_init(&range);
	eu_param_range_text(t, &range);
	if (ret == -ERANGE)
		eu_error_set(err, -ERANGE, "%s: '%s' is out of range for %s (%s)", option, text,
			     t->name, range.data ? range.data : "");
	else
		eu_error_set(err, -EINVAL, "%s: '%s' is not a valid %s (decimal or 0x hex, %s)",
			     option, text, t->name, range.data ? range.data : "");
	eu_buf_free(&range);
	return err ? err->code : ret;
}

/* ---- enums ---------------------------------------------------------------------------- */

static const struct btf_type *enum_type(const struct eu_param_type *t)
{
	return t->btf ? btf__type_by_id(t->btf, t->type_id) : NULL;
}

static bool enum_value_at(const struct eu_param_type *t, const struct btf_type *et, int i,
			  const char **name, eu_u128 *bits)
{
	if (btf_is_enum(et)) {
		const struct btf_enum *e = btf_enum(et) + i;
		*name = eu_btf_name(t->btf, e->name_off);
		/* 32-bit enumerators are stored as s32; reinterpret by the enum's signedness */
		*bits = t->is_signed ? (eu_u128)(__int128)e->val : (eu_u128)(uint32_t)e->val;
	} else {
		const struct btf_enum64 *e = btf_enum64(et) + i;
		const uint32_t *raw = (const uint32_t *)e;
		*name = eu_btf_name(t->btf, raw[0]);
		uint64_t v = btf_enum64_value(e);
		*bits = t->is_signed ? (eu_u128)(__int128)(int64_t)v : (eu_u128)v;
	}
	return *name != NULL;
}

static int parse_enum(const struct eu_param_type *t, const char *option, const char *text,
		      void *out, eu_error *err)
{
	const struct btf_type *et = enum_type(t);
	if (et && btf_is_any_enum(et)) {
		for (int i = 0; i < btf_vlen(et); i++) {
			const char *name;
			eu_u128 bits;
			if (enum_value_at(t, et, i, &name, &bits) && !strcmp(name, text)) {
				store_int(out, t->size, bits);
				return 0;
			}
		}
	}
	eu_u128 bits;
	int ret = parse_int_bits(text, t->size, t->is_signed, &bits);
	if (ret == 0) {
		store_int(out, t->size, bits);
		return 0;
	}
	eu_buf names;
	eu_buf_init(&names);
	for (int i = 0; et && btf_is_any_enum(et) && i < btf_vlen(et) && i < 16; i++) {
		const char *name;
		eu_u128 b;
		if (enum_value_at(t, et, i, &name, &b)) {
			eu_buf_puts(&names, name);
			eu_buf_puts(&names, ", ");
		}
	}
	if (et && btf_vlen(et) > 16)
		eu_buf_puts(&names, "..., ");
	eu_error_set(err, ret, "%s: '%s' is not a value of %s (%sor a number)", option, text,
		     t->name, names.data ? names.data : "");
	eu_buf_free(&names);
	return err ? err->code : ret;
}

/* ---- values --------------------------------------------------------------------------- */

static int parse_bool_text(const char *text, bool *v)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(text, yes[i])) {
			*v = true;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			*v = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_float(const struct eu_param_type *t, const char *option, const char *text,
		       void *out, eu_error *err)
{
	char *end = NULL;
	errno = 0;
	if (!*text || isspace((unsigned char)*text))
		goto bad;
	if (t->size == 4) {
		float f = strtof(text, &end);
		if (*end)
			goto bad;
		if (errno == ERANGE && isinf(f))
			goto range;
		memcpy(out, &f, 4);
	} else {
		double d = strtod(text, &end);
		if (*end)
			goto bad;
		if (errno == ERANGE && isinf(d))
			goto range;
		memcpy(out, &d, 8);
	}
	return 0;
bad:
	return eu_error_set(err, -EINVAL, "%s: '%s' is not a valid %s", option, text, t->name);
range:
	return eu_error_set(err, -ERANGE, "%s: '%s' is out of range for %s (about +-%g)", option,
			    text, t->name, t->size == 4 ? (double)FLT_MAX : DBL_MAX);
}

/* The element type of an array type. */
static struct eu_param_type elem_type(const struct eu_param_type *t)
{
	struct eu_param_type e = *t;
	e.kind = t->elem_kind;
	e.size = t->elem_size;
	e.n_elems = 0;
	size_t len = strcspn(t->name, "[");
	e.name[len] = '\0';
	return e;
}

static int parse_array(const struct eu_param_type *t, const char *option, const char *text,
		       void *out, eu_error *err)
{
	struct eu_param_type e = elem_type(t);
	memset(out, 0, t->size);
	if (!*text)
		return 0; /* "" clears the array */
	uint32_t i = 0;
	for (const char *s = text;; i++) {
		size_t len = strcspn(s, ",");
		if (i == t->n_elems) {
			uint32_t given = i;
			for (const char *q = s; *q; q++)
				given += *q == ',';
			return eu_error_set(err, -ERANGE, "%s: %u values given; %s holds at most %u",
					    option, given + 1, t->name, t->n_elems);
		}
		char item[128], elem_opt[160];
		if (len >= sizeof(item))
			return eu_error_set(err, -EINVAL, "%s: value %u is too long", option, i + 1);
		memcpy(item, s, len);
		item[len] = '\0';
		snprintf(elem_opt, sizeof(elem_opt), "%s value %u", option, i + 1);
		int ret = eu_param_parse_value(&e, elem_opt, item, (uint8_t *)out + (size_t)i * e.size,
					       err);
		if (ret)
			return ret;
		if (!s[len])
			break;
		s += len + 1;
	}
	return 0;
}

/* How many elements of an array value are given: up to the last nonzero one. */
static uint32_t array_used(const struct eu_param_type *t, const void *value)
{
	uint32_t used = 0;
	for (uint32_t i = 0; i < t->n_elems; i++) {
		const uint8_t *el = (const uint8_t *)value + (size_t)i * t->elem_size;
		for (uint32_t b = 0; b < t->elem_size; b++)
			if (el[b]) {
				used = i + 1;
				break;
			}
	}
	return used;
}

int eu_param_parse_value(const struct eu_param_type *t, const char *option, const char *text,
			 void *out, eu_error *err)
{
	if (!option)
		option = "value";
	if (!text)
		return eu_error_set(err, -EINVAL, "%s: missing value", option);
	switch (t->kind) {
	case EU_PARAM_INT: {
		eu_u128 bits;
		int ret = parse_int_bits(text, t->size, t->is_signed, &bits);
		if (ret)
			return int_error(t, option, text, ret, err);
		store_int(out, t->size, bits);
		return 0;
	}
	case EU_PARAM_BOOL: {
		bool v;
		if (parse_bool_text(text, &v))
			return eu_error_set(err, -EINVAL, "%s: '%s' is not a valid bool (true or false)",
					    option, text);
		memset(out, 0, t->size);
		((uint8_t *)out)[0] = v;
		return 0;
	}
	case EU_PARAM_CHARS: {
		size_t n = strlen(text);
		if (n + 1 > t->size)
			return eu_error_set(err, -ERANGE,
					    "%s: value is %zu bytes; %s holds at most %u plus the NUL",
					    option, n, t->name, t->size - 1);
		memset(out, 0, t->size);
		memcpy(out, text, n);
		return 0;
	}
	case EU_PARAM_FLOAT:
		return parse_float(t, option, text, out, err);
	case EU_PARAM_ENUM:
		return parse_enum(t, option, text, out, err);
	case EU_PARAM_ARRAY:
		return parse_array(t, option, text, out, err);
	}
	return eu_error_set(err, -EINVAL, "%s: type %s cannot be set", option, t->name);
}

void eu_param_format_value(const struct eu_param_type *t, const void *value, eu_buf *out)
{
	switch (t->kind) {
	case EU_PARAM_ARRAY: {
		struct eu_param_type e = elem_type(t);
		uint32_t used = array_used(t, value);
		for (uint32_t i = 0; i < (used ? used : 1); i++) {
			if (i)
				eu_buf_putc(out, ',');
			eu_param_format_value(&e, (const uint8_t *)value + (size_t)i * e.size, out);
		}
		return;
	}
	case EU_PARAM_INT:
		if (t->is_signed)
			i128_text(load_sint(value, t->size), out);
		else
			u128_text(load_uint(value, t->size), out);
		return;
	case EU_PARAM_BOOL:
		eu_buf_puts(out, ((const uint8_t *)value)[0] ? "true" : "false");
		return;
	case EU_PARAM_CHARS:
		eu_buf_text_escaped(out, value, strnlen(value, t->size));
		return;
	case EU_PARAM_FLOAT: {
		double d;
		if (t->size == 4) {
			float f;
			memcpy(&f, value, 4);
			d = f;
		} else {
			memcpy(&d, value, 8);
		}
		eu_buf_printf(out, "%g", d);
		return;
	}
	case EU_PARAM_ENUM: {
		eu_u128 bits = load_uint(value, t->size);
		if (t->is_signed)
			bits = (eu_u128)load_sint(value, t->size);
		const struct btf_type *et = enum_type(t);
		for (int i = 0; et && btf_is_any_enum(et) && i < btf_vlen(et); i++) {
			const char *name;
			eu_u128 b;
			if (enum_value_at(t, et, i, &name, &b) && b == bits) {
				eu_buf_puts(out, name);
				return;
			}
		}
		if (t->is_signed)
			i128_text((__int128)bits, out);
		else
			u128_text(bits, out);
		return;
	}
	}
}

/* ---- the option table ----------------------------------------------------------------- */

struct param_entry {
	struct eu_param pub;
	uint8_t *value;
	char *strings[5]; /* owned copies behind pub's string fields */
};

struct eu_params {
	struct param_entry *entries;
	size_t n, cap;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void eu_params_free(struct eu_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->entries[i].value);
		for (size_t k = 0; k < 5; k++)
			free(p->entries[i].strings[k]);
	}
	free(p->entries);
	free(p);
}

size_t eu_params_count(const struct eu_params *p)
{
	return p ? p->n : 0;
}

const struct eu_param *eu_params_at(const struct eu_params *p, size_t i)
{
	return p && i < p->n ? &p->entries[i].pub : NULL;
}

const void *eu_params_value(const struct eu_params *p, size_t i)
{
	return p && i < p->n ? p->entries[i].value : NULL;
}

int eu_params_find(const struct eu_params *p, const char *long_name)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (!strcmp(p->entries[i].pub.long_name, long_name))
			return (int)i;
	return -1;
}

static int find_short(const struct eu_params *p, char c)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->entries[i].pub.short_name == c)
			return (int)i;
	return -1;
}

static const struct btf_var_secinfo *datasec_find_var(const struct btf *btf,
							const struct btf_type *sec, const char *name)
{
	const struct btf_var_secinfo *vi = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vi++) {
		const struct btf_type *vt = btf__type_by_id(btf, vi->type);
		if (!vt || !btf_is_var(vt))
			continue;
		const char *vname = eu_btf_name(btf, vt->name_off);
		if (vname && !strcmp(vname, name))
			return vi;
	}
	return NULL;
}

/* Adds one option; meta may be NULL (a variable known only from BTF). */
static int params_add(struct eu_params *p, const struct btf *btf, const char *section,
		      const struct btf_var_secinfo *vi, const char *name,
		      const struct eu_var_meta *meta, const struct eu_params_opts *opts,
		      eu_error *err)
{
	const struct btf_type *vt = btf__type_by_id(btf, vi->type);
	struct eu_param_type type;
	eu_error why;
	eu_error_clear(&why);
	if (eu_param_type_from_btf(btf, vt->type, &type, &why)) {
		eu_log(EU_LOG_DEBUG, "variable %s in %s is not a parameter: %s", name, section,
		       why.msg);
		return 0;
	}
	if (type.size != vi->size && vi->size) {
		eu_log(EU_LOG_DEBUG, "variable %s in %s: BTF size %u differs from its type's %u",
		       name, section, vi->size, type.size);
		return 0;
	}
	if (meta && meta->type && *meta->type && type.kind != EU_PARAM_ENUM &&
	    type.kind != EU_PARAM_CHARS)
		type_name_copy(&type, meta->type); /* the spelling the author wrote */

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct param_entry *e = realloc(p->entries, cap * sizeof(*e));
		if (!e)
			return eu_error_set(err, -ENOMEM, "out of memory");
		p->entries = e;
		p->cap = cap;
	}
	struct param_entry *e = &p->entries[p->n];
	memset(e, 0, sizeof(*e));
	e->value = calloc(1, type.size);
	const char *long_name = meta && meta->cmdarg.long_name && *meta->cmdarg.long_name
					? meta->cmdarg.long_name
					: name;
	const char *help = meta ? (meta->cmdarg.help && *meta->cmdarg.help ? meta->cmdarg.help
									    : meta->description)
				: NULL;
	e->strings[0] = strdup(name);
	e->strings[1] = strdup(long_name);
	e->strings[2] = strdup(section);
	e->strings[3] = dup_or_null(help);
	if (!e->value || !e->strings[0] || !e->strings[1] || !e->strings[2] ||
	    (help && !e->strings[3])) {
		free(e->value);
		for (size_t k = 0; k < 5; k++)
			free(e->strings[k]);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	p->n++;
	e->pub.name = e->strings[0];
	e->pub.long_name = e->strings[1];
	e->pub.section = e->strings[2];
	e->pub.help = e->strings[3];
	e->pub.offset = vi->offset;
	e->pub.type = type;
	if (meta && meta->cmdarg.short_name && meta->cmdarg.short_name[0])
		e->pub.short_name = meta->cmdarg.short_name[0];

	if (opts && opts->section_data) {
		size_t size = 0;
		const uint8_t *data = opts->section_data(opts->ctx, section, &size);
		if (data && (size_t)vi->offset + type.size <= size)
			memcpy(e->value, data + vi->offset, type.size);
	}

	char option[160];
	snprintf(option, sizeof(option), "preset value of %s", name);
	if (meta && meta->value_text) {
		if (eu_param_parse_value(&type, option, meta->value_text, e->value, err))
			return err ? err->code : -EINVAL;
		e->pub.set = true;
	}
	snprintf(option, sizeof(option), "cmdarg.default of %s", name);
	if (meta && meta->cmdarg.default_text) {
		if (eu_param_parse_value(&type, option, meta->cmdarg.default_text, e->value, err))
			return err ? err->code : -EINVAL;
		e->pub.set = true;
	}
	eu_buf text;
	eu_buf_init(&text);
	eu_param_format_value(&type, e->value, &text);
	e->strings[4] = strdup(text.data ? text.data : "");
	eu_buf_free(&text);
	if (!e->strings[4])
		return eu_error_set(err, -ENOMEM, "out of memory");
	e->pub.default_text = e->strings[4];
	return 0;
}

static bool is_data_section(const char *name)
{
	if (!name)
		return false;
	if (!strncmp(name, ".rodata.str", 11) || !strncmp(name, ".rodata.cst", 11))
		return false;
	return !strncmp(name, ".rodata", 7) || !strncmp(name, ".bss", 4) ||
	       !strncmp(name, ".data", 5);
}

/* Bare objects: every global variable of every data section. */
static int params_from_btf(struct eu_params *p, const struct btf *btf,
			   const struct eu_params_opts *opts, eu_error *err)
{
	uint32_t n = btf__type_cnt(btf);
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_datasec(t))
			continue;
		const char *sec = eu_btf_name(btf, t->name_off);
		if (!is_data_section(sec))
			continue;
		const struct btf_var_secinfo *vi = btf_var_secinfos(t);
		for (int i = 0; i < btf_vlen(t); i++, vi++) {
			const struct btf_type *vt = btf__type_by_id(btf, vi->type);
			if (!vt || !btf_is_var(vt) || btf_var(vt)->linkage == BTF_VAR_STATIC)
				continue;
			const char *name = eu_btf_name(btf, vt->name_off);
			if (!name || !strncmp(name, DUMMY_PREFIX, strlen(DUMMY_PREFIX)))
				continue;
			int ret = params_add(p, btf, sec, vi, name, NULL, opts, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int eu_params_new(const struct eu_package *pkg, const struct btf *btf,
		  const struct eu_params_opts *opts_in, struct eu_params **out, eu_error *err)
{
	struct eu_params_opts opts = {0};
	if (opts_in)
		memcpy(&opts, opts_in, opts_in->sz < sizeof(opts) ? opts_in->sz : sizeof(opts));
	*out = NULL;
	struct eu_params *p = calloc(1, sizeof(*p));
	if (!p)
		return eu_error_set(err, -ENOMEM, "out of memory");
	int ret = 0;
	if (!btf)
		goto done; /* no BTF, no typed options (legacy packages) */
	if (!pkg || pkg->n_sections == 0) {
		ret = params_from_btf(p, btf, &opts, err);
		goto done;
	}
	for (size_t s = 0; s < pkg->n_sections && !ret; s++) {
		const struct eu_section_meta *sec = &pkg->sections[s];
		int sec_id = btf__find_by_name_kind(btf, sec->name, BTF_KIND_DATASEC);
		const struct btf_type *st = sec_id > 0 ? btf__type_by_id(btf, (uint32_t)sec_id) : NULL;
		for (size_t v = 0; v < sec->n_vars && !ret; v++) {
			const struct eu_var_meta *var = &sec->vars[v];
			if (var->dummy || !var->name ||
			    !strncmp(var->name, DUMMY_PREFIX, strlen(DUMMY_PREFIX)))
				continue;
			const struct btf_var_secinfo *vi = st ? datasec_find_var(btf, st, var->name)
							      : NULL;
			if (!vi) {
				eu_log(EU_LOG_DEBUG,
				       "variable %s (%s) has no BTF in the object: not an option",
				       var->name, sec->name);
				continue;
			}
			ret = params_add(p, btf, sec->name, vi, var->name, var, &opts, err);
		}
	}
done:
	if (ret) {
		eu_params_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

/* An array's length companion (`ports_len`, `n_ports`, ...) of integer type, or -1. */
static int length_companion(const struct eu_params *p, const char *array)
{
	static const char *const patterns[] = {"%s_len", "%s_cnt", "%s_count", "n_%s", "nr_%s"};
	for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
		char name[160];
		snprintf(name, sizeof(name), patterns[k], array);
		for (size_t i = 0; i < p->n; i++)
			if (!strcmp(p->entries[i].pub.name, name) &&
			    p->entries[i].pub.type.kind == EU_PARAM_INT)
				return (int)i;
	}
	return -1;
}

/* After an array option: its companion, unless set already, gets the count given. */
static int set_length_companion(struct eu_params *p, const struct param_entry *arr,
				const char *text, eu_error *err)
{
	int c = length_companion(p, arr->pub.name);
	if (c < 0 || p->entries[c].pub.set)
		return 0;
	unsigned count = 0;
	if (*text) {
		count = 1;
		for (const char *q = text; *q; q++)
			count += *q == ',';
	}
	char num[16];
	snprintf(num, sizeof(num), "%u", count);
	int ret = eu_params_set(p, (size_t)c, num, err);
	if (!ret)
		eu_log(EU_LOG_DEBUG, "--%s: %s set to %u, the number of values given",
		       arr->pub.long_name, p->entries[c].pub.name, count);
	return ret;
}

int eu_params_set(struct eu_params *p, size_t i, const char *text, eu_error *err)
{
	if (!p || i >= p->n)
		return eu_error_set(err, -EINVAL, "no option #%zu", i);
	struct param_entry *e = &p->entries[i];
	char option[160];
	snprintf(option, sizeof(option), "--%s", e->pub.long_name);
	uint8_t tmp[64];
	uint8_t *buf = e->pub.type.size <= sizeof(tmp) ? tmp : malloc(e->pub.type.size);
	if (!buf)
		return eu_error_set(err, -ENOMEM, "out of memory");
	int ret = eu_param_parse_value(&e->pub.type, option, text, buf, err);
	if (ret == 0) {
		memcpy(e->value, buf, e->pub.type.size);
		e->pub.set = true;
	}
	if (buf != tmp)
		free(buf);
	if (ret == 0 && e->pub.type.kind == EU_PARAM_ARRAY)
		ret = set_length_companion(p, e, text, err);
	return ret;
}

/* `--enable-X` / `--disable-X` for a bool option X. */
static int find_bool_switch(const struct eu_params *p, const char *name, bool *value)
{
	const char *rest = NULL;
	if (!strncmp(name, "enable-", 7)) {
		rest = name + 7;
		*value = true;
	} else if (!strncmp(name, "disable-", 8)) {
		rest = name + 8;
		*value = false;
	}
	if (!rest)
		return -1;
	int i = eu_params_find(p, rest);
	if (i < 0 || p->entries[i].pub.type.kind != EU_PARAM_BOOL)
		return -1;
	return i;
}

int eu_params_parse_argv(struct eu_params *p, int argc, char *const argv[], eu_error *err)
{
	for (int a = 0; a < argc; a++) {
		const char *arg = argv[a];
		int idx;
		const char *value = NULL;
		char name[256];
		if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
			const char *body = arg + 2;
			const char *eq = strchr(body, '=');
			size_t len = eq ? (size_t)(eq - body) : strlen(body);
			if (len >= sizeof(name))
				return eu_error_set(err, -EINVAL, "unknown option '%s'", arg);
			memcpy(name, body, len);
			name[len] = '\0';
			if (eq)
				value = eq + 1;
			idx = eu_params_find(p, name);
			if (idx < 0) {
				bool on;
				idx = find_bool_switch(p, name, &on);
				if (idx >= 0) {
					if (value)
						return eu_error_set(err, -EINVAL,
								    "--%s takes no value", name);
					value = on ? "true" : "false";
				}
			}
			if (idx < 0)
				return eu_error_set(err, -EINVAL, "unknown option '--%s'", name);
		} else if (arg[0] == '-' && arg[1] && arg[1] != '-') {
			idx = find_short(p, arg[1]);
			if (idx < 0)
				return eu_error_set(err, -EINVAL, "unknown option '-%c'", arg[1]);
			snprintf(name, sizeof(name), "%s", p->entries[idx].pub.long_name);
			if (arg[2])
				value = arg[2] == '=' ? arg + 3 : arg + 2;
		} else {
			return eu_error_set(err, -EINVAL, "unexpected argument '%s'", arg);
		}
		const struct eu_param *prm = &p->entries[idx].pub;
		if (!value) {
			if (prm->type.kind == EU_PARAM_BOOL) {
				value = "true";
			} else if (a + 1 < argc) {
				value = argv[++a];
			} else {
				return eu_error_set(err, -EINVAL, "--%s needs a value (%s)",
						    prm->long_name, prm->type.name);
			}
		}
		int ret = eu_params_set(p, (size_t)idx, value, err);
		if (ret)
			return ret;
	}
	return 0;
}

int eu_params_patch_section(const struct eu_params *p, const char *section, void *data,
			    size_t size, eu_error *err)
{
	for (size_t i = 0; p && i < p->n; i++) {
		const struct eu_param *prm = &p->entries[i].pub;
		if (!prm->set || strcmp(prm->section, section))
			continue;
		if ((size_t)prm->offset + prm->type.size > size)
			return eu_error_set(err, -EINVAL,
					    "variable %s at %s+%u (%u bytes) is outside the %zu-byte section",
					    prm->name, section, prm->offset, prm->type.size, size);
		memcpy((uint8_t *)data + prm->offset, p->entries[i].value, prm->type.size);
	}
	return 0;
}

void eu_params_help(const struct eu_params *p, eu_buf *out)
{
	if (!p || p->n == 0) {
		eu_buf_puts(out, "This package has no options.\n");
		return;
	}
	eu_buf_puts(out, "Package options:\n");
	for (size_t i = 0; i < p->n; i++) {
		const struct eu_param *prm = &p->entries[i].pub;
		eu_buf_puts(out, "  ");
		if (prm->short_name)
			eu_buf_printf(out, "-%c, ", prm->short_name);
		if (prm->type.kind == EU_PARAM_BOOL) {
			if (!strcmp(prm->default_text, "true"))
				eu_buf_printf(out, "--disable-%s, --%s=false", prm->long_name,
					      prm->long_name);
			else
				eu_buf_printf(out, "--%s, --enable-%s", prm->long_name,
					      prm->long_name);
			eu_buf_printf(out, "  (bool, default: %s)\n", prm->default_text);
		} else {
			eu_buf_printf(out, "--%s <%s%s>  (default: ", prm->long_name, prm->type.name,
				      prm->type.kind == EU_PARAM_ARRAY ? ", comma-separated" : "");
			if (prm->type.kind == EU_PARAM_CHARS)
				eu_buf_printf(out, "\"%s\")\n", prm->default_text);
			else
				eu_buf_printf(out, "%s)\n", prm->default_text);
		}
		if (prm->help && *prm->help)
			eu_buf_printf(out, "        %s\n", prm->help);
	}
}
