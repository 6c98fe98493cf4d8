/* Plans from the 2022 legacy metadata, which has no BTF: each member is a C type spelled as
 * text ("unsigned long long", "char [16]", "__u32[26]") at a bit offset. We understand the
 * integer spellings (standard, kernel __uN/uN, <stdint.h>, pid_t and friends), bool, float,
 * double, pointers, and fixed arrays of those (char[N] as a string). */
#include "decoder_priv.h"
#include "eunomia/export_type.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIMS 8

struct scalar {
	const char *name;
	uint8_t kind;
	uint8_t size;
};

/* `char` alone is a signed byte; `char [N]` is a string (handled in parse_type) */
static const struct scalar scalars[] = {
	{"char", EU_OP_S8, 1}, {"signed char", EU_OP_S8, 1}, {"unsigned char", EU_OP_U8, 1},
	{"short", EU_OP_S16, 2}, {"short int", EU_OP_S16, 2}, {"signed short", EU_OP_S16, 2},
	{"unsigned short", EU_OP_U16, 2}, {"unsigned short int", EU_OP_U16, 2},
	{"short unsigned int", EU_OP_U16, 2},
	{"int", EU_OP_S32, 4}, {"signed", EU_OP_S32, 4}, {"signed int", EU_OP_S32, 4},
	{"unsigned", EU_OP_U32, 4}, {"unsigned int", EU_OP_U32, 4},
	{"long", EU_OP_S64, 8}, {"long int", EU_OP_S64, 8}, {"signed long", EU_OP_S64, 8},
	{"unsigned long", EU_OP_U64, 8}, {"unsigned long int", EU_OP_U64, 8},
	{"long unsigned int", EU_OP_U64, 8},
	{"long long", EU_OP_S64, 8}, {"long long int", EU_OP_S64, 8},
	{"signed long long", EU_OP_S64, 8},
	{"unsigned long long", EU_OP_U64, 8}, {"unsigned long long int", EU_OP_U64, 8},
	{"long long unsigned int", EU_OP_U64, 8},
	{"__int128", EU_OP_S128, 16}, {"__int128_t", EU_OP_S128, 16}, {"__s128", EU_OP_S128, 16},
	{"unsigned __int128", EU_OP_U128, 16}, {"__uint128_t", EU_OP_U128, 16},
	{"__u128", EU_OP_U128, 16},
	{"__u8", EU_OP_U8, 1}, {"__s8", EU_OP_S8, 1}, {"u8", EU_OP_U8, 1}, {"s8", EU_OP_S8, 1},
	{"uint8_t", EU_OP_U8, 1}, {"int8_t", EU_OP_S8, 1},
	{"__u16", EU_OP_U16, 2}, {"__s16", EU_OP_S16, 2}, {"u16", EU_OP_U16, 2},
	{"s16", EU_OP_S16, 2}, {"uint16_t", EU_OP_U16, 2}, {"int16_t", EU_OP_S16, 2},
	{"__u32", EU_OP_U32, 4}, {"__s32", EU_OP_S32, 4}, {"u32", EU_OP_U32, 4},
	{"s32", EU_OP_S32, 4}, {"uint32_t", EU_OP_U32, 4}, {"int32_t", EU_OP_S32, 4},
	{"__u64", EU_OP_U64, 8}, {"__s64", EU_OP_S64, 8}, {"u64", EU_OP_U64, 8},
	{"s64", EU_OP_S64, 8}, {"uint64_t", EU_OP_U64, 8}, {"int64_t", EU_OP_S64, 8},
	{"pid_t", EU_OP_S32, 4}, {"uid_t", EU_OP_U32, 4}, {"gid_t", EU_OP_U32, 4},
	{"size_t", EU_OP_U64, 8}, {"ssize_t", EU_OP_S64, 8},
	{"bool", EU_OP_BOOL, 1}, {"_Bool", EU_OP_BOOL, 1},
	{"float", EU_OP_F32, 4}, {"double", EU_OP_F64, 8},
};

struct legacy_type {
	uint8_t kind;
	uint8_t size;
	bool is_char;  /* plain `char`: char[N] becomes a string */
	uint32_t dims[MAX_DIMS];
	int ndims;
};

/* Copies s without leading/trailing blanks and with inner runs of blanks squeezed to one. */
static void squeeze(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	bool space = false;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (isspace((unsigned char)s[i])) {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < cap)
			dst[o++] = ' ';
		space = false;
		dst[o++] = s[i];
	}
	dst[o] = '\0';
}

static int parse_type(const char *text, struct legacy_type *lt)
{
	memset(lt, 0, sizeof(*lt));
	size_t n = strlen(text);
	/* array dimensions, read right to left, stored left to right */
	uint32_t rev[MAX_DIMS];
	int nd = 0;
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	while (n && text[n - 1] == ']') {
		size_t open = n - 1;
		while (open && text[open - 1] != '[')
			open--;
		if (!open)
			return -EINVAL;
		open--;
		if (nd == MAX_DIMS)
			return -E2BIG;
		char *end;
		const char *num = text + open + 1;
		if (!isdigit((unsigned char)*num))
			return -EINVAL;
		unsigned long long v = strtoull(num, &end, 10);
		if (end != text + n - 1 || v > EU_PLAN_MAX_SIZE)
			return -EINVAL;
		rev[nd++] = (uint32_t)v;
		n = open;
		while (n && isspace((unsigned char)text[n - 1]))
			n--;
	}
	for (int i = 0; i < nd; i++)
		lt->dims[i] = rev[nd - 1 - i];
	lt->ndims = nd;

	char base[128];
	if (n >= sizeof(base))
		return -EINVAL;
	squeeze(base, sizeof(base), text, n);
	size_t bl = strlen(base);
	if (bl && base[bl - 1] == '*') {
		lt->kind = EU_OP_PTR;
		lt->size = 8;
		return 0;
	}
	const char *b = base;
	for (;;) {
		if (strncmp(b, "const ", 6) == 0)
			b += 6;
		else if (strncmp(b, "volatile ", 9) == 0)
			b += 9;
		else
			break;
	}
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		if (strcmp(b, scalars[i].name) == 0) {
			lt->kind = scalars[i].kind;
			lt->size = scalars[i].size;
			lt->is_char = strcmp(b, "char") == 0;
			return 0;
		}
	}
	return -ENOENT;
}

static int build_dims(struct eu_plan_builder *pb, uint32_t op, const struct legacy_type *lt,
		      int dim, uint64_t *size, uint64_t *cost)
{
	struct eu_plan_op *o = &pb->ops[op];
	if (dim == lt->ndims) {
		o->kind = lt->kind;
		o->size = lt->size;
		*size = lt->size;
		*cost = 1;
		return 0;
	}
	uint32_t n = lt->dims[dim];
	if (lt->is_char && dim == lt->ndims - 1) {
		o->kind = EU_OP_CHARS;
		o->count = n;
		o->size = n;
		*size = n;
		*cost = 1;
		return 0;
	}
	o->kind = EU_OP_ARRAY;
	o->count = n;
	*size = 0;
	*cost = 1;
	if (n == 0)
		return 0;
	uint32_t elem = 0;
	int err = eu_pb_add_ops(pb, 1, &elem);
	if (err)
		return err;
	pb->ops[op].first = elem;
	uint64_t esize = 0, ecost = 0;
	err = build_dims(pb, elem, lt, dim + 1, &esize, &ecost);
	if (err)
		return err;
	if (esize * n > EU_PLAN_MAX_SIZE)
		return -E2BIG;
	pb->ops[op].stride = (uint32_t)esize;
	pb->ops[op].size = (uint32_t)(esize * n);
	*size = esize * n;
	*cost = eu_pb_cost(n, ecost, 1);
	return 0;
}

int eu_plan_new_legacy(const struct eu_export_type *type, struct eu_plan **out, eu_error *err)
{
	*out = NULL;
	const char *tname = type->name ? type->name : "";
	char what[160];
	snprintf(what, sizeof(what), "legacy export type %.100s", tname);
	struct eu_plan_builder pb;
	eu_pb_init(&pb, what, err);
	uint32_t root = 0, first = 0;
	int ret;
	if (type->n_members > EU_PLAN_MAX_OPS) {
		ret = eu_error_set(err, -E2BIG, "%s: %zu members is too many", what, type->n_members);
		goto out;
	}
	ret = eu_pb_add_ops(&pb, 1, &root);
	if (!ret)
		ret = eu_pb_add_ops(&pb, (uint32_t)type->n_members, &first);
	if (ret)
		goto out;
	pb.ops[root].kind = EU_OP_STRUCT;
	pb.ops[root].first = first;
	pb.ops[root].count = (uint32_t)type->n_members;
	uint64_t end_max = 0, total = 1;
	for (size_t i = 0; i < type->n_members; i++) {
		const struct eu_member_meta *m = &type->members[i];
		const char *mname = m->name ? m->name : "";
		const char *mtype = m->type ? m->type : "";
		struct legacy_type lt;
		int perr = parse_type(mtype, &lt);
		if (perr) {
			ret = eu_error_set(err, perr == -ENOENT ? -EOPNOTSUPP : -EINVAL,
					   "%s: member %s: %s type \"%.64s\"", what, mname,
					   perr == -ENOENT ? "unsupported" : "malformed", mtype);
			goto out;
		}
		if (!m->has_offset) {
			ret = eu_error_set(err, -EINVAL, "%s: member %s has no FieldOffset", what,
					   mname);
			goto out;
		}
		if (m->bit_offset % 8) {
			ret = eu_error_set(err, -EINVAL,
					   "%s: member %s: bit offset %u is not on a byte boundary",
					   what, mname, m->bit_offset);
			goto out;
		}
		uint32_t op = first + (uint32_t)i;
		uint64_t size = 0, cost = 0;
		ret = build_dims(&pb, op, &lt, 0, &size, &cost);
		if (ret == -E2BIG) {
			ret = eu_error_set(err, -E2BIG, "%s: member %s: type \"%.64s\" is too large",
					   what, mname, mtype);
			goto out;
		}
		if (ret)
			goto out;
		uint64_t end = m->bit_offset / 8 + size;
		if (type->size && end > type->size) {
			ret = eu_error_set(err, -EINVAL,
					   "%s: member %s (bytes %u..%llu) lies outside the %u-byte struct",
					   what, mname, m->bit_offset / 8, (unsigned long long)end,
					   type->size);
			goto out;
		}
		if (end > end_max)
			end_max = end;
		pb.ops[op].offset = m->bit_offset / 8;
		ret = eu_pb_set_name(&pb, op, mname);
		if (ret)
			goto out;
		total = eu_pb_cost(1, total, cost);
		if (total > EU_PLAN_MAX_COST) {
			ret = eu_error_set(err, -E2BIG, "%s: prints more than %u values per record",
					   what, EU_PLAN_MAX_COST);
			goto out;
		}
	}
	uint64_t size = type->size ? type->size : end_max;
	if (size > EU_PLAN_MAX_SIZE) {
		ret = eu_error_set(err, -E2BIG, "%s: size %llu is larger than %u bytes", what,
				   (unsigned long long)size, EU_PLAN_MAX_SIZE);
		goto out;
	}
	pb.ops[root].size = (uint32_t)size;
	ret = eu_pb_finish(&pb, tname, size, out);
out:
	eu_pb_free(&pb);
	return ret;
}
