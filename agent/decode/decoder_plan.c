/* The plan container: building ops into one flat array, finishing a plan (top-level field
 * table, text column widths, per-record reservations) and the read-only accessors. */
#include "decoder_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void eu_pb_init(struct eu_plan_builder *pb, const char *what, eu_error *err)
{
	memset(pb, 0, sizeof(*pb));
	eu_buf_init(&pb->pool);
	pb->err = err;
	pb->what = what ? what : "";
	/* offset 0 is the empty string, so an unset name_off reads as "" */
	eu_buf_putc(&pb->pool, '\0');
}

void eu_pb_free(struct eu_plan_builder *pb)
{
	free(pb->ops);
	free(pb->enums);
	eu_buf_free(&pb->pool);
	memset(pb, 0, sizeof(*pb));
}

static int pb_nomem(struct eu_plan_builder *pb)
{
	return eu_error_set(pb->err, -ENOMEM, "%s: out of memory building the field plan",
			    pb->what);
}

int eu_pb_add_ops(struct eu_plan_builder *pb, uint32_t n, uint32_t *first)
{
	if (n > EU_PLAN_MAX_OPS - pb->n_ops)
		return eu_error_set(pb->err, -E2BIG, "%s: type has more than %u fields in all",
				    pb->what, EU_PLAN_MAX_OPS);
	if (pb->n_ops + n > pb->cap_ops) {
		uint32_t cap = pb->cap_ops ? pb->cap_ops : 16;
		while (cap < pb->n_ops + n)
			cap *= 2;
		struct eu_plan_op *ops = realloc(pb->ops, (size_t)cap * sizeof(*ops));
		if (!ops)
			return pb_nomem(pb);
		pb->ops = ops;
		pb->cap_ops = cap;
	}
	memset(pb->ops + pb->n_ops, 0, (size_t)n * sizeof(*pb->ops));
	*first = pb->n_ops;
	pb->n_ops += n;
	return 0;
}

/* Appends s plus a NUL to the pool; returns its offset or -1 when out of memory. */
static int64_t pool_add(struct eu_plan_builder *pb, const char *s, size_t n)
{
	size_t off = pb->pool.len;
	eu_buf_append(&pb->pool, s, n);
	eu_buf_putc(&pb->pool, '\0');
	if (pb->pool.oom || pb->pool.len > UINT32_MAX)
		return -1;
	return (int64_t)off;
}

int eu_pb_set_name(struct eu_plan_builder *pb, uint32_t op, const char *name)
{
	size_t n = strlen(name);
	int64_t off = pool_add(pb, name, n);
	if (off < 0)
		return pb_nomem(pb);
	size_t key = pb->pool.len;
	eu_buf_json_string(&pb->pool, name, n);
	eu_buf_putc(&pb->pool, ':');
	size_t key_len = pb->pool.len - key;
	eu_buf_putc(&pb->pool, '\0');
	if (pb->pool.oom || pb->pool.len > UINT32_MAX)
		return pb_nomem(pb);
	pb->ops[op].name_off = (uint32_t)off;
	pb->ops[op].key_off = (uint32_t)key;
	pb->ops[op].key_len = (uint32_t)key_len;
	return 0;
}

int eu_pb_add_enum(struct eu_plan_builder *pb, uint64_t bits, const char *name)
{
	if (pb->n_enums >= EU_PLAN_MAX_ENUMS)
		return eu_error_set(pb->err, -E2BIG, "%s: more than %u enum values in all",
				    pb->what, EU_PLAN_MAX_ENUMS);
	if (pb->n_enums == pb->cap_enums) {
		uint32_t cap = pb->cap_enums ? pb->cap_enums * 2 : 16;
		struct eu_plan_enum *e = realloc(pb->enums, (size_t)cap * sizeof(*e));
		if (!e)
			return pb_nomem(pb);
		pb->enums = e;
		pb->cap_enums = cap;
	}
	/* the text form is stored escaped, so text output can copy it as is */
	size_t n = strlen(name);
	size_t off = pb->pool.len;
	eu_buf_text_escaped(&pb->pool, name, n);
	size_t text_len = pb->pool.len - off;
	eu_buf_putc(&pb->pool, '\0');
	size_t json = pb->pool.len;
	eu_buf_json_string(&pb->pool, name, n);
	size_t json_len = pb->pool.len - json;
	eu_buf_putc(&pb->pool, '\0');
	if (pb->pool.oom || pb->pool.len > UINT32_MAX)
		return pb_nomem(pb);
	pb->enums[pb->n_enums++] = (struct eu_plan_enum){
		.bits = bits,
		.name_off = (uint32_t)off,
		.name_len = (uint32_t)text_len,
		.json_off = (uint32_t)json,
		.json_len = (uint32_t)json_len,
	};
	return 0;
}

static int enum_cmp(const void *a, const void *b)
{
	const struct eu_plan_enum *x = a, *y = b;
	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	/* pool offsets grow in declaration order */
	return x->name_off < y->name_off ? -1 : x->name_off > y->name_off;
}

void eu_pb_sort_enums(struct eu_plan_builder *pb, uint32_t first, uint32_t count)
{
	if (count > 1)
		qsort(pb->enums + first, count, sizeof(*pb->enums), enum_cmp);
}

uint64_t eu_pb_cost(uint64_t a, uint64_t b, uint64_t c)
{
	const uint64_t cap = (uint64_t)EU_PLAN_MAX_COST + 1;
	if (a > cap)
		a = cap;
	if (b > cap)
		b = cap;
	uint64_t v = a * b + c; /* both <= 2^22 + 1: no overflow */
	return v > cap ? cap : v;
}

static enum eu_field_kind public_kind(uint8_t kind)
{
	switch (kind) {
	case EU_OP_BOOL: return EU_FIELD_BOOL;
	case EU_OP_CHARS: return EU_FIELD_CHAR_ARRAY;
	case EU_OP_ENUM: return EU_FIELD_ENUM;
	case EU_OP_F32:
	case EU_OP_F64:
	case EU_OP_FBYTES: return EU_FIELD_FLOAT;
	case EU_OP_PTR: return EU_FIELD_POINTER;
	case EU_OP_ARRAY: return EU_FIELD_ARRAY;
	case EU_OP_STRUCT: return EU_FIELD_STRUCT;
	case EU_OP_UNION: return EU_FIELD_UNION;
	case EU_OP_IPV4: return EU_FIELD_IPV4;
	case EU_OP_IP:
	case EU_OP_AF_ADDR: return EU_FIELD_IP;
	default: return EU_FIELD_INT; /* EU_OP_BE and EU_OP_NAMED are numbers too */
	}
}

static bool op_signed(const struct eu_plan_op *op)
{
	switch (op->kind == EU_OP_NAMED ? op->base_kind : op->kind) {
	case EU_OP_S8:
	case EU_OP_S16:
	case EU_OP_S32:
	case EU_OP_S64:
	case EU_OP_S128:
		return true;
	case EU_OP_BITS:
	case EU_OP_ENUM:
		return op->is_signed;
	default:
		return false;
	}
}

/* Decimal digits of the largest magnitude a bitfield of `bits` can hold (plus the sign). */
static unsigned bits_digits(unsigned bits, bool is_signed)
{
	if (is_signed && bits > 0)
		bits--;
	uint64_t max = bits >= 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	unsigned d = 1;
	while (max >= 10) {
		max /= 10;
		d++;
	}
	return d + (is_signed ? 1 : 0);
}

/* The text column width of a value, before the header name is considered. Numbers get the
 * digits their type can hold, capped at 10 so that 64-bit counters do not make every table
 * wide (bigger values widen their cell only); strings up to 16; see decoder.h. */
static unsigned type_width(const struct eu_plan *plan, const struct eu_plan_op *op)
{
	unsigned w;
	switch (op->kind) {
	case EU_OP_U8: w = 3; break;
	case EU_OP_S8: w = 4; break;
	case EU_OP_U16: w = 5; break;
	case EU_OP_S16: w = 6; break;
	case EU_OP_BITS: w = bits_digits(op->bit_size, op->is_signed); break;
	case EU_OP_BOOL: w = 5; break;
	case EU_OP_CHARS: w = op->count < 16 ? op->count : 16; break;
	case EU_OP_ENUM:
		w = 1;
		for (uint32_t i = 0; i < op->count; i++)
			if (plan->enums[op->first + i].name_len > w)
				w = plan->enums[op->first + i].name_len;
		if (w > 16)
			w = 16;
		break;
	case EU_OP_F32:
	case EU_OP_F64: w = 12; break;
	case EU_OP_PTR:
	case EU_OP_FBYTES: w = 2 + 2 * op->size; break;
	case EU_OP_IPV4:
	case EU_OP_IP:
	case EU_OP_AF_ADDR: w = 15; break;
	case EU_OP_BE: w = op->size == 2 ? 5 : 10; break;
	case EU_OP_NAMED: w = op->hint == EU_NAMES_TCP_STATE ? 15 : op->hint == EU_NAMES_SIGNAL ? 7 : 8;
		break;
	case EU_OP_ARRAY:
	case EU_OP_STRUCT:
	case EU_OP_UNION: w = 16; break;
	default: w = 10; break;
	}
	if (w > 18)
		w = 18;
	return w;
}

/* A generous guess of one value's JSON length, to reserve a record's output once. */
static uint64_t json_estimate(const struct eu_plan *plan, const struct eu_plan_op *op, int depth)
{
	const uint64_t cap = 1u << 16;
	uint64_t n;
	switch (op->kind) {
	case EU_OP_CHARS: n = (uint64_t)op->count + 2; break;
	case EU_OP_ENUM: n = 24; break;
	case EU_OP_F32:
	case EU_OP_F64: n = 26; break;
	case EU_OP_FBYTES: n = 4 + 2 * (uint64_t)op->size; break;
	case EU_OP_U128:
	case EU_OP_S128:
	case EU_OP_IP:
	case EU_OP_AF_ADDR: n = 44; break;
	case EU_OP_NAMED: n = 21 + op->aux_len + 24; break;
	case EU_OP_ARRAY:
		/* an empty array has no element op: its first index is not a child and may
		 * point back up the tree, which once made this walk exponential */
		if (op->count == 0)
			n = 2;
		else
			n = depth > EU_PLAN_MAX_DEPTH ? cap
			    : 2 + (uint64_t)op->count *
				      (json_estimate(plan, &plan->ops[op->first], depth + 1) + 1);
		break;
	case EU_OP_STRUCT:
	case EU_OP_UNION:
		n = 2;
		for (uint32_t i = 0; i < op->count && n < cap; i++) {
			const struct eu_plan_op *c = &plan->ops[op->first + i];
			n += c->key_len + 1 +
			     (depth > EU_PLAN_MAX_DEPTH ? cap : json_estimate(plan, c, depth + 1));
		}
		break;
	default: n = 21; break;
	}
	return n > cap ? cap : n;
}

/* A struct whose last member (by offset, all others ending before it) is an array or char
 * array may arrive cut inside that array. Unions and custom plans with overlaps have none. */
static void find_tail(struct eu_plan *plan)
{
	const struct eu_plan_op *root = &plan->ops[0];
	plan->min_size = plan->size;
	plan->tail = -1;
	if (root->kind != EU_OP_STRUCT || root->count == 0)
		return;
	uint32_t last = 0;
	for (uint32_t i = 1; i < root->count; i++)
		if (plan->ops[root->first + i].offset >= plan->ops[root->first + last].offset)
			last = i;
	const struct eu_plan_op *t = &plan->ops[root->first + last];
	if ((t->kind != EU_OP_ARRAY && t->kind != EU_OP_CHARS) || t->count == 0 ||
	    t->offset >= plan->size)
		return;
	for (uint32_t i = 0; i < root->count; i++) {
		const struct eu_plan_op *o = &plan->ops[root->first + i];
		if (i != last && (uint64_t)o->offset + o->size > t->offset)
			return;
	}
	plan->min_size = t->offset;
	plan->tail = (int32_t)last;
}

void eu_plan_layout(struct eu_plan *plan)
{
	const struct eu_plan_op *root = &plan->ops[0];
	size_t text = 16;
	for (uint32_t i = 0; i < root->count; i++) {
		const struct eu_plan_op *op = &plan->ops[root->first + i];
		struct eu_field_info *f = &plan->fields[i];
		f->name = plan->pool + op->name_off;
		f->kind = public_kind(op->kind);
		f->offset = op->offset;
		f->size = op->size;
		f->bit_offset = op->offset * 8 + op->bit_shift;
		f->bit_size = op->bit_size;
		f->is_signed = op_signed(op);
		f->elems = op->kind == EU_OP_ARRAY || op->kind == EU_OP_CHARS ? op->count
			   : op->kind == EU_OP_IP ? 16 : 0;
		unsigned w = type_width(plan, op);
		size_t hl = strlen(f->name);
		if (hl > w)
			w = hl > 64 ? 64 : (unsigned)hl;
		plan->widths[i] = (uint16_t)w;
		text += w + 1;
	}
	plan->json_hint = json_estimate(plan, root, 0);
	plan->text_hint = text + 64;
}

int eu_pb_finish(struct eu_plan_builder *pb, const char *name, size_t size, struct eu_plan **out)
{
	*out = NULL;
	static const char pad[EU_KEY_COPY];
	eu_buf_append(&pb->pool, pad, sizeof(pad));
	if (pb->pool.oom)
		return pb_nomem(pb);
	struct eu_plan *plan = calloc(1, sizeof(*plan));
	if (!plan)
		return pb_nomem(pb);
	plan->name = strdup(name ? name : "");
	const struct eu_plan_op *root = &pb->ops[0];
	uint32_t n = root->count;
	plan->fields = calloc(n ? n : 1, sizeof(*plan->fields));
	plan->widths = calloc(n ? n : 1, sizeof(*plan->widths));
	if (!plan->name || !plan->fields || !plan->widths) {
		free(plan->name);
		free(plan->fields);
		free(plan->widths);
		free(plan);
		return pb_nomem(pb);
	}
	atomic_init(&plan->refs, 1);
	plan->size = size;
	plan->ops = pb->ops;
	plan->n_ops = pb->n_ops;
	plan->enums = pb->enums;
	plan->n_enums = pb->n_enums;
	plan->pool = pb->pool.data;
	plan->pool_len = pb->pool.len;
	pb->ops = NULL;
	pb->enums = NULL;
	eu_buf_init(&pb->pool);
	eu_pb_free(pb);

	find_tail(plan);
	eu_plan_layout(plan);
	*out = plan;
	return 0;
}

struct eu_plan *eu_plan_ref(struct eu_plan *plan)
{
	if (plan)
		atomic_fetch_add_explicit(&plan->refs, 1, memory_order_relaxed);
	return plan;
}

void eu_plan_free(struct eu_plan *plan)
{
	if (!plan || atomic_fetch_sub_explicit(&plan->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(plan->name);
	free(plan->ops);
	free(plan->enums);
	free(plan->pool);
	free(plan->fields);
	free(plan->widths);
	free(plan);
}

const char *eu_plan_name(const struct eu_plan *plan)
{
	return plan->name;
}

size_t eu_plan_size(const struct eu_plan *plan)
{
	return plan->size;
}

size_t eu_plan_min_size(const struct eu_plan *plan)
{
	return plan->min_size;
}

size_t eu_plan_field_count(const struct eu_plan *plan)
{
	return plan->ops[0].count;
}

const struct eu_field_info *eu_plan_field(const struct eu_plan *plan, size_t i)
{
	if (i >= plan->ops[0].count)
		return NULL;
	return &plan->fields[i];
}

int eu_plan_find_field(const struct eu_plan *plan, const char *name)
{
	for (uint32_t i = 0; i < plan->ops[0].count; i++)
		if (strcmp(plan->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

unsigned eu_plan_text_width(const struct eu_plan *plan, size_t i)
{
	if (i >= plan->ops[0].count)
		return 0;
	return plan->widths[i];
}
