/* A typed, read-only walk over a planned record, for encoders that keep types (OTLP). */
#include <errno.h>
#include <string.h>

#include "decoder_priv.h"

struct walk {
	const struct eu_plan *plan;
	eu_value_fn fn;
	void *ctx;
	eu_buf *text; /* scratch for values that only have a text form */
	const char *label; /* the name of the named value being walked, for its eu_value */
};

static int walk_op(struct walk *wk, const struct eu_plan_op *op, const uint8_t *base,
		   const char *name);

static int emit_text(struct walk *wk, const struct eu_plan_op *op, const uint8_t *base,
		     struct eu_value *v)
{
	struct eu_wr w;
	eu_buf_reset(wk->text);
	if (eu_wr_begin(&w, wk->text, 64))
		return -ENOMEM;
	eu_wr_value(&w, wk->plan, op, base, true);
	if (eu_wr_end(&w))
		return -ENOMEM;
	v->kind = EU_VALUE_TEXT;
	v->s = wk->text->data ? wk->text->data : "";
	v->len = wk->text->len;
	return wk->fn(wk->ctx, v);
}

static int walk_children(struct walk *wk, const struct eu_plan_op *op, const uint8_t *p)
{
	if (op->kind == EU_OP_ARRAY) {
		const struct eu_plan_op *elem = &wk->plan->ops[op->first];
		for (uint32_t i = 0; i < op->count; i++) {
			int ret = walk_op(wk, elem, p + (size_t)i * op->stride, NULL);
			if (ret)
				return ret;
		}
		return 0;
	}
	const struct eu_plan_op *c = &wk->plan->ops[op->first];
	for (uint32_t i = 0; i < op->count; i++, c++) {
		int ret = walk_op(wk, c, p, wk->plan->pool + c->name_off);
		if (ret)
			return ret;
	}
	return 0;
}

static int walk_op(struct walk *wk, const struct eu_plan_op *op, const uint8_t *base,
		   const char *name)
{
	const uint8_t *p = base + op->offset;
	struct eu_value v = {.name = name, .label = wk->label};
	wk->label = NULL;
	switch ((enum eu_op_kind)op->kind) {
	case EU_OP_U8:
	case EU_OP_U16:
	case EU_OP_U32:
	case EU_OP_U64:
		v.kind = EU_VALUE_UINT;
		v.u = eu_load_uint(p, op->size);
		break;
	case EU_OP_S8:
	case EU_OP_S16:
	case EU_OP_S32:
	case EU_OP_S64:
		v.kind = EU_VALUE_INT;
		v.i = eu_op_sign_extend(op, eu_load_uint(p, op->size));
		break;
	case EU_OP_BITS: {
		uint64_t bits = eu_op_load_bits(op, p);
		if (op->is_signed) {
			v.kind = EU_VALUE_INT;
			v.i = eu_op_sign_extend(op, bits);
		} else {
			v.kind = EU_VALUE_UINT;
			v.u = bits;
		}
		break;
	}
	case EU_OP_BOOL: {
		v.kind = EU_VALUE_BOOL;
		if (op->bit_size) {
			v.b = eu_op_load_bits(op, p) != 0;
		} else {
			v.b = false;
			for (uint32_t i = 0; i < op->size; i++)
				v.b |= p[i] != 0;
		}
		break;
	}
	case EU_OP_CHARS: {
		const void *nul = memchr(p, 0, op->count);
		v.kind = EU_VALUE_STRING;
		v.s = (const char *)p;
		v.len = nul ? (size_t)((const uint8_t *)nul - p) : op->count;
		break;
	}
	case EU_OP_F32: {
		float f;
		memcpy(&f, p, 4);
		v.kind = EU_VALUE_DOUBLE;
		v.d = f;
		break;
	}
	case EU_OP_F64:
		v.kind = EU_VALUE_DOUBLE;
		memcpy(&v.d, p, 8);
		break;
	case EU_OP_BE:
		v.kind = EU_VALUE_UINT;
		v.u = eu_op_load_be(op, p);
		break;
	case EU_OP_NAMED: {
		/* the number, with its name beside it (as JSON has KEY_name) */
		char nm[40];
		struct eu_plan_op tmp = *op;
		tmp.kind = op->base_kind;
		wk->label = eu_named_value(op, p, nm, sizeof(nm));
		return walk_op(wk, &tmp, base, name);
	}
	case EU_OP_AF_ADDR:
		if (eu_af_addr_form(wk->plan, op, base) < 0) {
			struct eu_plan_op tmp = *op;
			tmp.kind = op->base_kind;
			return walk_op(wk, &tmp, base, name);
		}
		return emit_text(wk, op, base, &v);
	case EU_OP_U128:
	case EU_OP_S128:
	case EU_OP_ENUM:
	case EU_OP_FBYTES:
	case EU_OP_PTR:
	case EU_OP_IPV4:
	case EU_OP_IP:
		return emit_text(wk, op, base, &v);
	case EU_OP_ARRAY: {
		const struct eu_plan_op *elem = &wk->plan->ops[op->first];
		/* byte arrays that are not `char` strings: the bytes themselves */
		if ((elem->kind == EU_OP_U8 || elem->kind == EU_OP_S8) && op->stride == 1) {
			v.kind = EU_VALUE_BYTES;
			v.s = (const char *)p;
			v.len = op->count;
			break;
		}
		v.kind = EU_VALUE_ARRAY_BEGIN;
		v.count = op->count;
		goto nested;
	}
	case EU_OP_STRUCT:
	case EU_OP_UNION:
		v.kind = EU_VALUE_MAP_BEGIN;
		v.count = op->count;
		goto nested;
	}
	return wk->fn(wk->ctx, &v);
nested: {
	int ret = wk->fn(wk->ctx, &v);
	if (!ret)
		ret = walk_children(wk, op, p);
	if (ret)
		return ret;
	struct eu_value end = {.kind = EU_VALUE_END, .name = name};
	return wk->fn(wk->ctx, &end);
}
}

int eu_plan_walk_field(const struct eu_plan *plan, size_t i, const void *data, size_t size,
		       eu_buf *scratch, eu_value_fn fn, void *ctx)
{
	static const uint8_t no_data[1];
	struct eu_plan_op tmp;
	const struct eu_plan_op *op;
	if (i >= plan->ops[0].count || (!data && plan->size) ||
	    !(op = eu_plan_field_op(plan, i, size, &tmp)))
		return -EINVAL;
	eu_buf own;
	eu_buf_init(&own);
	struct walk wk = {.plan = plan, .fn = fn, .ctx = ctx, .text = scratch ? scratch : &own};
	int ret = walk_op(&wk, op, data ? data : no_data, plan->pool + op->name_off);
	eu_buf_free(&own);
	return ret;
}
