/* Plans from BTF: a struct/union type (eu_plan_new) or upstream's custom_members list
 * (eu_plan_new_custom). Every BTF lookup happens here, once; the formatters never see BTF.
 *
 * The input may be hostile (a package is data from the network), so every type chain, depth,
 * size and count is bounded, and every member must lie inside its parent. */
#include "decoder_priv.h"
#include "eunomia/export_type.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* typedef/modifier chains longer than this are loops in practice */
#define MAX_TYPE_HOPS 64

struct btf_ctx {
	struct eu_plan_builder *pb;
	const struct btf *btf;
	char path[256];  /* dotted field path, for messages */
	uint32_t visits; /* members looked at, skipped ones included */
};

/* Bounds the work on BTF whose anonymous members nest and fan out: a tree of unnamed padding
 * members could otherwise be walked 2^depth times without adding a single op. */
#define MAX_VISITS (4u * EU_PLAN_MAX_OPS)

struct resolved {
	const struct btf_type *t;
	uint32_t id;
	uint8_t addr;  /* EU_OP_IPV4 / EU_OP_IP when a typedef eu_ipv4_t / eu_ip_t was crossed */
	bool be;       /* a __be16/__be32/__be64 typedef was crossed: stored big-endian */
	const char *typedef_name;
};

struct member_ref {
	const char *name;
	uint32_t type_id;
	uint64_t bit_off;
	uint32_t bitfield;
};

struct member_vec {
	struct member_ref *v;
	size_t n, cap;
};

static const char *kind_name(const struct btf_type *t)
{
	static const char *const names[] = {
		"void", "int", "pointer", "array", "struct", "union", "enum", "forward declaration",
		"typedef", "volatile", "const", "restrict", "function", "function prototype",
		"variable", "data section", "float", "declaration tag", "type tag", "enum64",
	};
	unsigned k = btf_kind(t);
	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown kind";
}

static const char *field_path(const struct btf_ctx *c)
{
	return c->path[0] ? c->path : "(root)";
}

__attribute__((format(printf, 3, 4)))
static int fail(struct btf_ctx *c, int code, const char *fmt, ...)
{
	char msg[EU_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return eu_error_set(c->pb->err, code, "%s: field %s: %s", c->pb->what, field_path(c), msg);
}

/* Follows typedefs and qualifiers to the type that has a layout. */
static int resolve(struct btf_ctx *c, uint32_t id, struct resolved *r)
{
	memset(r, 0, sizeof(*r));
	for (int hops = 0;; hops++) {
		if (hops > MAX_TYPE_HOPS)
			return fail(c, -ELOOP, "type %u: typedef/qualifier chain loops", id);
		const struct btf_type *t = btf__type_by_id(c->btf, id);
		if (!t)
			return fail(c, -EINVAL, "type id %u does not exist in the BTF", id);
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF: {
			const char *name = btf__name_by_offset(c->btf, t->name_off);
			if (name && !r->typedef_name)
				r->typedef_name = name;
			/* the outermost address typedef wins */
			if (name && !r->addr) {
				if (strcmp(name, "eu_ipv4_t") == 0)
					r->addr = EU_OP_IPV4;
				else if (strcmp(name, "eu_ip_t") == 0)
					r->addr = EU_OP_IP;
			}
			if (name && (!strcmp(name, "__be16") || !strcmp(name, "__be32") ||
				     !strcmp(name, "__be64")))
				r->be = true;
			id = t->type;
			continue;
		}
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			continue;
		default:
			r->t = t;
			r->id = id;
			return 0;
		}
	}
}

static const char *type_name(const struct btf_ctx *c, const struct btf_type *t)
{
	const char *n = btf__name_by_offset(c->btf, t->name_off);
	return n ? n : "";
}

static bool is_char_elem(struct btf_ctx *c, uint32_t id)
{
	struct resolved r;
	if (resolve(c, id, &r))
		return false;
	if (!btf_is_int(r.t) || r.t->size != 1)
		return false;
	/* clang emits plain `char` as a signed 1-byte int named "char"; unsigned char and
	 * __u8 arrays are byte arrays, printed as numbers */
	return (btf_int_encoding(r.t) & BTF_INT_CHAR) || strcmp(type_name(c, r.t), "char") == 0;
}

/* `__u8 comm[16]`, `unsigned char fname[N]`: bcc declares these `char`, libbpf-tools and
 * hand-written tools often do not; their user space prints them with %s all the same. Only
 * names that say text turn an unsigned byte array into a string: other byte arrays
 * (addresses, hashes, raw buffers) keep every byte. */
static bool text_name(const char *name)
{
	static const char *const exact[] = {"task", "file", "str", "text", "msg", NULL};
	static const char *const suffix[] = {"comm", "name", "path", NULL};
	size_t n = strlen(name);
	for (const char *const *e = exact; *e; e++)
		if (!strcmp(name, *e))
			return true;
	for (const char *const *e = suffix; *e; e++) {
		size_t m = strlen(*e);
		if (n >= m && !strcmp(name + n - m, *e))
			return true;
	}
	return false;
}

static int push_member(struct btf_ctx *c, struct member_vec *mv, const struct member_ref *m)
{
	if (mv->n >= EU_PLAN_MAX_OPS)
		return fail(c, -E2BIG, "more than %u members", EU_PLAN_MAX_OPS);
	if (mv->n == mv->cap) {
		size_t cap = mv->cap ? mv->cap * 2 : 16;
		struct member_ref *v = realloc(mv->v, cap * sizeof(*v));
		if (!v)
			return fail(c, -ENOMEM, "out of memory");
		mv->v = v;
		mv->cap = cap;
	}
	mv->v[mv->n++] = *m;
	return 0;
}

/* The members of a struct/union as C code sees them: an anonymous struct or union member
 * contributes its own members at this level (at their combined offsets). */
static int collect_members(struct btf_ctx *c, const struct btf_type *t, uint64_t base,
			   struct member_vec *mv, int depth)
{
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++) {
		if (++c->visits > MAX_VISITS)
			return fail(c, -E2BIG, "more than %u members in all", MAX_VISITS);
		const char *name = btf__name_by_offset(c->btf, m[i].name_off);
		if (!name)
			return fail(c, -EINVAL, "member %u has an invalid name offset", i);
		struct member_ref ref = {
			.name = name,
			.type_id = m[i].type,
			.bit_off = base + btf_member_bit_offset(t, i),
			.bitfield = btf_member_bitfield_size(t, i),
		};
		if (name[0]) {
			int err = push_member(c, mv, &ref);
			if (err)
				return err;
			continue;
		}
		if (ref.bitfield)
			continue; /* `int :3;` is padding */
		struct resolved r;
		int err = resolve(c, ref.type_id, &r);
		if (err)
			return err;
		if (!btf_is_composite(r.t))
			continue;
		if (depth + 1 > EU_PLAN_MAX_DEPTH)
			return fail(c, -E2BIG, "anonymous members nest deeper than %d", EU_PLAN_MAX_DEPTH);
		err = collect_members(c, r.t, ref.bit_off, mv, depth + 1);
		if (err)
			return err;
	}
	return 0;
}

static int build_value(struct btf_ctx *c, uint32_t op, uint32_t type_id, uint64_t bit_off,
		       uint32_t bitfield, int depth, uint64_t *cost);

static int build_composite(struct btf_ctx *c, uint32_t op, const struct btf_type *t, int depth,
			   uint64_t *cost)
{
	struct eu_plan_builder *pb = c->pb;
	struct member_vec mv = {0};
	int err = collect_members(c, t, 0, &mv, depth);
	if (err)
		goto out;
	uint32_t first = 0;
	err = eu_pb_add_ops(pb, (uint32_t)mv.n, &first);
	if (err)
		goto out;
	pb->ops[op].kind = btf_is_union(t) ? EU_OP_UNION : EU_OP_STRUCT;
	pb->ops[op].first = first;
	pb->ops[op].count = (uint32_t)mv.n;
	uint64_t total = 1;
	size_t plen = strlen(c->path);
	for (size_t i = 0; i < mv.n; i++) {
		const struct member_ref *m = &mv.v[i];
		snprintf(c->path + plen, sizeof(c->path) - plen, "%s%s", plen ? "." : "", m->name);
		uint64_t child_cost = 0;
		err = build_value(c, first + (uint32_t)i, m->type_id, m->bit_off, m->bitfield,
				  depth + 1, &child_cost);
		if (err)
			goto out;
		struct eu_plan_op *child = &pb->ops[first + i];
		if (child->kind == EU_OP_ARRAY && text_name(m->name) && child->count &&
		    child->stride == 1 && pb->ops[child->first].kind == EU_OP_U8)
			child->kind = EU_OP_CHARS; /* its element op stays, unused */
		if ((uint64_t)child->offset + child->size > t->size) {
			err = fail(c, -EINVAL, "lies outside its parent (bytes %u..%llu of %u)",
				   child->offset, (unsigned long long)child->offset + child->size,
				   t->size);
			goto out;
		}
		err = eu_pb_set_name(pb, first + (uint32_t)i, m->name);
		if (err)
			goto out;
		total = eu_pb_cost(1, total, child_cost);
		if (total > EU_PLAN_MAX_COST) {
			err = fail(c, -E2BIG, "prints more than %u values per record",
				   EU_PLAN_MAX_COST);
			goto out;
		}
	}
	c->path[plen] = '\0';
	*cost = total;
out:
	free(mv.v);
	return err;
}

static int build_enum(struct btf_ctx *c, uint32_t op, const struct btf_type *t, uint32_t width)
{
	struct eu_plan_builder *pb = c->pb;
	uint64_t mask = width >= 64 ? UINT64_MAX : ((uint64_t)1 << width) - 1;
	uint32_t first = pb->n_enums;
	uint16_t n = btf_vlen(t);
	for (uint16_t i = 0; i < n; i++) {
		uint32_t name_off;
		uint64_t v;
		if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t) + i;
			name_off = ((const uint32_t *)e)[0];
			v = btf_enum64_value(e);
		} else {
			const struct btf_enum *e = btf_enum(t) + i;
			name_off = e->name_off;
			/* 32-bit entries are stored as s32: sign-extend, the mask trims it */
			v = (uint64_t)(int64_t)e->val;
		}
		const char *name = btf__name_by_offset(c->btf, name_off);
		if (!name)
			return fail(c, -EINVAL, "enum value %u has an invalid name offset", i);
		int err = eu_pb_add_enum(pb, v & mask, name);
		if (err)
			return err;
	}
	eu_pb_sort_enums(pb, first, n);
	pb->ops[op].kind = EU_OP_ENUM;
	pb->ops[op].first = first;
	pb->ops[op].count = n;
	pb->ops[op].is_signed = btf_kflag(t);
	return 0;
}

static uint8_t int_kind(uint32_t size, bool is_signed)
{
	switch (size) {
	case 1: return is_signed ? EU_OP_S8 : EU_OP_U8;
	case 2: return is_signed ? EU_OP_S16 : EU_OP_U16;
	case 4: return is_signed ? EU_OP_S32 : EU_OP_U32;
	case 8: return is_signed ? EU_OP_S64 : EU_OP_U64;
	default: return is_signed ? EU_OP_S128 : EU_OP_U128;
	}
}

static int build_array(struct btf_ctx *c, uint32_t op, const struct resolved *r, int depth,
		       uint64_t *cost, uint32_t *size)
{
	struct eu_plan_builder *pb = c->pb;
	const struct btf_array *a = btf_array(r->t);
	uint32_t n = a->nelems;
	if (r->addr == EU_OP_IP && n == 16) {
		struct resolved e;
		int err = resolve(c, a->type, &e);
		if (err)
			return err;
		if (btf_is_int(e.t) && e.t->size == 1) {
			pb->ops[op].kind = EU_OP_IP;
			*size = 16;
			return 0;
		}
	}
	if (is_char_elem(c, a->type)) {
		if (n > EU_PLAN_MAX_SIZE)
			return fail(c, -E2BIG, "char array of %u bytes is too large", n);
		pb->ops[op].kind = EU_OP_CHARS;
		pb->ops[op].count = n;
		*size = n;
		return 0;
	}
	pb->ops[op].kind = EU_OP_ARRAY;
	pb->ops[op].count = n;
	if (n == 0) {
		/* flexible or zero-length: prints as [] and occupies nothing */
		*size = 0;
		return 0;
	}
	uint32_t elem = 0;
	int err = eu_pb_add_ops(pb, 1, &elem);
	if (err)
		return err;
	pb->ops[op].first = elem;
	uint64_t elem_cost = 0;
	err = build_value(c, elem, a->type, 0, 0, depth + 1, &elem_cost);
	if (err)
		return err;
	uint64_t stride = pb->ops[elem].size;
	if (stride * n > EU_PLAN_MAX_SIZE)
		return fail(c, -E2BIG, "array of %u x %llu bytes is larger than %u bytes", n,
			    (unsigned long long)stride, EU_PLAN_MAX_SIZE);
	pb->ops[op].stride = (uint32_t)stride;
	*size = (uint32_t)(stride * n);
	*cost = eu_pb_cost(n, elem_cost, 1);
	if (*cost > EU_PLAN_MAX_COST)
		return fail(c, -E2BIG, "array prints more than %u values per record",
			    EU_PLAN_MAX_COST);
	return 0;
}

/* Fills op for the value of type type_id at bit_off (relative to the parent's base). */
static int build_value(struct btf_ctx *c, uint32_t op, uint32_t type_id, uint64_t bit_off,
		       uint32_t bitfield, int depth, uint64_t *cost)
{
	struct eu_plan_builder *pb = c->pb;
	if (depth > EU_PLAN_MAX_DEPTH)
		return fail(c, -E2BIG, "types nest deeper than %d levels", EU_PLAN_MAX_DEPTH);
	struct resolved r;
	int err = resolve(c, type_id, &r);
	if (err)
		return err;
	const struct btf_type *t = r.t;
	uint32_t size = 0;
	*cost = 1;

	if (btf_is_int(t)) {
		uint32_t enc = btf_int_encoding(t), bits = btf_int_bits(t), ioff = btf_int_offset(t);
		size = t->size;
		if (size != 1 && size != 2 && size != 4 && size != 8 && size != 16)
			return fail(c, -EINVAL, "integer of %u bytes is not supported", size);
		if (bits == 0 || bits + ioff > size * 8)
			return fail(c, -EINVAL, "integer encoding (%u bits at %u) does not fit %u bytes",
				    bits, ioff, size);
		/* pre-kflag BTF describes bitfields in the int type itself */
		if (!bitfield && (ioff || bits != size * 8)) {
			bitfield = bits;
			bit_off += ioff;
		}
		bool is_bool = (enc & BTF_INT_BOOL) || strcmp(type_name(c, t), "_Bool") == 0;
		if (bitfield) {
			pb->ops[op].kind = is_bool ? EU_OP_BOOL : EU_OP_BITS;
			pb->ops[op].is_signed = (enc & BTF_INT_SIGNED) != 0;
		} else if (is_bool) {
			pb->ops[op].kind = EU_OP_BOOL;
		} else if (r.addr == EU_OP_IPV4 && size == 4) {
			pb->ops[op].kind = EU_OP_IPV4;
		} else {
			pb->ops[op].kind = int_kind(size, enc & BTF_INT_SIGNED);
			if (r.be && size >= 2 && size <= 8)
				pb->ops[op].flags |= EU_OPF_BE;
		}
	} else if (btf_is_any_enum(t)) {
		size = t->size;
		if (size != 1 && size != 2 && size != 4 && size != 8)
			return fail(c, -EINVAL, "enum of %u bytes is not supported", size);
		err = build_enum(c, op, t, bitfield ? bitfield : size * 8);
		if (err)
			return err;
	} else if (bitfield) {
		return fail(c, -EINVAL, "a bitfield of a %s is not supported", kind_name(t));
	} else if (btf_is_ptr(t)) {
		size_t ps = btf__pointer_size(c->btf);
		size = ps == 4 ? 4 : 8;
		pb->ops[op].kind = EU_OP_PTR;
	} else if (btf_is_float(t)) {
		size = t->size;
		if (size == 0 || size > 16)
			return fail(c, -EINVAL, "float of %u bytes is not supported", size);
		pb->ops[op].kind = size == 4 ? EU_OP_F32 : size == 8 ? EU_OP_F64 : EU_OP_FBYTES;
	} else if (btf_is_array(t)) {
		err = build_array(c, op, &r, depth, cost, &size);
		if (err)
			return err;
	} else if (btf_is_composite(t)) {
		size = t->size;
		if (size > EU_PLAN_MAX_SIZE)
			return fail(c, -E2BIG, "%s of %u bytes is larger than %u bytes", kind_name(t),
				    size, EU_PLAN_MAX_SIZE);
		err = build_composite(c, op, t, depth, cost);
		if (err)
			return err;
	} else {
		return fail(c, -EOPNOTSUPP, "type %u is a %s, which has no printable value",
			    r.id, kind_name(t));
	}

	struct eu_plan_op *o = &pb->ops[op];
	if (bitfield) {
		if (bitfield > 64)
			return fail(c, -EOPNOTSUPP, "bitfield of %u bits is wider than 64", bitfield);
		if (bitfield > size * 8)
			return fail(c, -EINVAL, "bitfield of %u bits in a %u-byte type", bitfield, size);
		if (bit_off / 8 > EU_PLAN_MAX_SIZE)
			return fail(c, -E2BIG, "offset beyond %u bytes", EU_PLAN_MAX_SIZE);
		o->offset = (uint32_t)(bit_off / 8);
		o->bit_shift = (uint8_t)(bit_off % 8);
		o->bit_size = (uint8_t)bitfield;
		o->size = (o->bit_shift + bitfield + 7) / 8;
		return 0;
	}
	if (bit_off % 8)
		return fail(c, -EINVAL, "starts at bit %llu, not on a byte boundary",
			    (unsigned long long)bit_off);
	if (bit_off / 8 > EU_PLAN_MAX_SIZE)
		return fail(c, -E2BIG, "offset beyond %u bytes", EU_PLAN_MAX_SIZE);
	o->offset = (uint32_t)(bit_off / 8);
	o->size = size;
	return 0;
}

int eu_plan_new(const struct btf *btf, uint32_t type_id, struct eu_plan **out, eu_error *err)
{
	*out = NULL;
	char what[64];
	snprintf(what, sizeof(what), "BTF type %u", type_id);
	struct eu_plan_builder pb;
	eu_pb_init(&pb, what, err);
	struct btf_ctx c = {.pb = &pb, .btf = btf};
	struct resolved r;
	int ret = resolve(&c, type_id, &r);
	if (ret)
		goto out;
	const char *name = type_name(&c, r.t);
	if (!name[0] && r.typedef_name)
		name = r.typedef_name;
	char what2[EU_ERROR_MSG_MAX / 2];
	snprintf(what2, sizeof(what2), "BTF type %u (%s%s%.128s)", type_id,
		 btf_is_union(r.t) ? "union " : btf_is_struct(r.t) ? "struct " : "",
		 name[0] ? "" : "anonymous", name);
	pb.what = what2;
	if (!btf_is_composite(r.t)) {
		ret = eu_error_set(err, -EINVAL, "%s: is a %s, not a struct or union", pb.what,
				   kind_name(r.t));
		goto out;
	}
	uint32_t root = 0;
	uint64_t cost = 0;
	ret = eu_pb_add_ops(&pb, 1, &root);
	if (ret)
		goto out;
	ret = build_value(&c, root, r.id, 0, 0, 0, &cost);
	if (ret)
		goto out;
	ret = eu_pb_finish(&pb, name, pb.ops[root].size, out);
out:
	eu_pb_free(&pb);
	return ret;
}

int eu_plan_new_custom(const struct btf *btf, const char *name,
		       const struct eu_custom_member *members, size_t n, struct eu_plan **out,
		       eu_error *err)
{
	*out = NULL;
	char what[128];
	snprintf(what, sizeof(what), "custom export %.100s", name ? name : "");
	struct eu_plan_builder pb;
	eu_pb_init(&pb, what, err);
	struct btf_ctx c = {.pb = &pb, .btf = btf};
	uint32_t root = 0, first = 0;
	int ret;
	if (n > EU_PLAN_MAX_OPS) {
		ret = eu_error_set(err, -E2BIG, "%s: %zu members is too many", what, n);
		goto out;
	}
	ret = eu_pb_add_ops(&pb, 1, &root);
	if (!ret)
		ret = eu_pb_add_ops(&pb, (uint32_t)n, &first);
	if (ret)
		goto out;
	pb.ops[root].kind = EU_OP_STRUCT;
	pb.ops[root].first = first;
	pb.ops[root].count = (uint32_t)n;
	uint64_t size = 0, total = 1;
	for (size_t i = 0; i < n; i++) {
		const struct eu_custom_member *m = &members[i];
		const char *mname = m->name ? m->name : "";
		snprintf(c.path, sizeof(c.path), "%s", mname);
		if (m->offset > EU_PLAN_MAX_SIZE) {
			ret = fail(&c, -E2BIG, "offset %u is beyond %u bytes", m->offset,
				   EU_PLAN_MAX_SIZE);
			goto out;
		}
		uint64_t cost = 0;
		ret = build_value(&c, first + (uint32_t)i, m->btf_type_id, (uint64_t)m->offset * 8, 0,
				  1, &cost);
		if (ret)
			goto out;
		const struct eu_plan_op *o = &pb.ops[first + i];
		if ((uint64_t)o->offset + o->size > size)
			size = (uint64_t)o->offset + o->size;
		if (size > EU_PLAN_MAX_SIZE) {
			ret = fail(&c, -E2BIG, "record would be larger than %u bytes",
				   EU_PLAN_MAX_SIZE);
			goto out;
		}
		ret = eu_pb_set_name(&pb, first + (uint32_t)i, mname);
		if (ret)
			goto out;
		total = eu_pb_cost(1, total, cost);
		if (total > EU_PLAN_MAX_COST) {
			ret = fail(&c, -E2BIG, "prints more than %u values per record",
				   EU_PLAN_MAX_COST);
			goto out;
		}
	}
	pb.ops[root].size = (uint32_t)size;
	ret = eu_pb_finish(&pb, name, size, out);
out:
	eu_pb_free(&pb);
	return ret;
}
