/* ecli's plain-text table, single values as text, and fields read as numbers. */
#include "decoder_text.h"
#include "decoder_priv.h"

#include <errno.h>
#include <stdlib.h>

static const uint8_t no_data[1];

size_t eu_text_columns(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

void eu_text_pad(eu_buf *b, size_t used, size_t width)
{
	static const char spaces[] = "                                                                ";
	while (used < width) {
		size_t n = width - used;
		if (n > sizeof(spaces) - 1)
			n = sizeof(spaces) - 1;
		eu_buf_append(b, spaces, n);
		used += n;
	}
}

void eu_plan_text_header(const struct eu_plan *plan, eu_buf *out)
{
	eu_buf_puts(out, "TIME     ");
	uint32_t n = plan->ops[0].count;
	eu_buf up;
	eu_buf_init(&up);
	for (uint32_t i = 0; i < n; i++) {
		const char *name = plan->fields[i].name;
		eu_buf_reset(&up);
		for (const char *c = name; *c; c++)
			eu_buf_putc(&up, *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c);
		size_t start = out->len;
		eu_buf_text_escaped(out, up.data ? up.data : "", up.len);
		if (i + 1 < n) {
			const char *cell = out->data ? out->data + start : "";
			eu_text_pad(out, eu_text_columns(cell, out->len - start), plan->widths[i]);
			eu_buf_putc(out, ' ');
		}
	}
	eu_buf_free(&up);
}

int eu_plan_text_row(const struct eu_plan *plan, const char *time_str, const void *data,
		     size_t size, eu_buf *out)
{
	if (size < plan->min_size || (!data && plan->size))
		return -EINVAL;
	const uint8_t *base = data ? data : no_data;
	struct eu_wr w;
	if (eu_wr_begin(&w, out, plan->text_hint))
		return -ENOMEM;
	if (time_str)
		eu_wr_mem(&w, time_str, strlen(time_str));
	eu_wr_char(&w, ' ');
	const struct eu_plan_op *root = &plan->ops[0];
	uint32_t n = root->count;
	for (uint32_t i = 0; i < n; i++) {
		size_t start = (size_t)(w.p - w.b->data);
		struct eu_plan_op tmp;
		const struct eu_plan_op *op = eu_plan_field_op(plan, i, size, &tmp);
		if (!op)
			break;
		eu_wr_value(&w, plan, op, base, true);
		if (i + 1 == n)
			break;
		size_t used = eu_text_columns(w.b->data + start, (size_t)(w.p - w.b->data) - start);
		size_t width = plan->widths[i];
		size_t fill = used < width ? width - used : 0;
		if (!eu_wr_room(&w, fill + 1))
			break;
		memset(w.p, ' ', fill + 1);
		w.p += fill + 1;
	}
	return eu_wr_end(&w);
}

int eu_plan_format_field_text(const struct eu_plan *plan, size_t i, const void *data,
			      size_t size, eu_buf *out)
{
	return eu_plan_format_field(plan, i, data, size, out, true);
}

int eu_plan_field_i64(const struct eu_plan *plan, size_t i, const void *data, size_t size,
		      int64_t *out)
{
	struct eu_plan_op tmp;
	const struct eu_plan_op *op;
	if (i >= plan->ops[0].count || !data || !(op = eu_plan_field_op(plan, i, size, &tmp)))
		return -EINVAL;
	const uint8_t *p = (const uint8_t *)data + op->offset;
	struct eu_plan_op named;
	if (op->kind == EU_OP_NAMED) {
		named = *op;
		named.kind = op->base_kind;
		op = &named;
	}
	switch ((enum eu_op_kind)op->kind) {
	case EU_OP_BE:
		*out = (int64_t)eu_op_load_be(op, p);
		return 0;
	case EU_OP_U8:
	case EU_OP_U16:
	case EU_OP_U32:
	case EU_OP_U64:
	case EU_OP_IPV4:
	case EU_OP_PTR:
		*out = (int64_t)eu_load_uint(p, op->size);
		return 0;
	case EU_OP_S8:
	case EU_OP_S16:
	case EU_OP_S32:
	case EU_OP_S64:
		*out = eu_op_sign_extend(op, eu_load_uint(p, op->size));
		return 0;
	case EU_OP_U128:
	case EU_OP_S128: {
		unsigned __int128 v;
		memcpy(&v, p, 16);
		if (op->kind == EU_OP_S128) {
			__int128 s = (__int128)v;
			if (s < INT64_MIN || s > INT64_MAX)
				return -ERANGE;
			*out = (int64_t)s;
		} else {
			if (v > UINT64_MAX)
				return -ERANGE;
			*out = (int64_t)(uint64_t)v;
		}
		return 0;
	}
	case EU_OP_BITS:
	case EU_OP_ENUM: {
		uint64_t bits = eu_op_load_bits(op, p);
		*out = op->is_signed ? eu_op_sign_extend(op, bits) : (int64_t)bits;
		return 0;
	}
	case EU_OP_BOOL: {
		bool v = false;
		if (op->bit_size) {
			v = eu_op_load_bits(op, p) != 0;
		} else {
			for (uint32_t k = 0; k < op->size; k++)
				v |= p[k] != 0;
		}
		*out = v;
		return 0;
	}
	default:
		return -EINVAL;
	}
}
