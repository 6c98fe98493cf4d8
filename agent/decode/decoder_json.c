/* JSON output of a record, and the output cursor the formatters share. */
#include "decoder_priv.h"

#include <errno.h>

/* a zero-size plan may be given no data; formatting still needs a valid base pointer */
static const uint8_t no_data[1];

int eu_wr_begin(struct eu_wr *w, eu_buf *b, size_t hint)
{
	w->b = b;
	w->start = b->len;
	if (!eu_buf_reserve(b, hint))
		return -ENOMEM;
	w->p = b->data + b->len;
	w->end = b->data + b->cap - 1; /* keep room for the terminating NUL */
	return 0;
}

bool eu_wr_grow(struct eu_wr *w, size_t n)
{
	eu_buf *b = w->b;
	b->len = (size_t)(w->p - b->data);
	if (!eu_buf_reserve(b, n)) {
		/* leave the cursor where it was: later writes fail the room check too, unless
		 * small enough to fit, which is harmless since eu_wr_end discards everything */
		return false;
	}
	w->p = b->data + b->len;
	w->end = b->data + b->cap - 1;
	return (size_t)(w->end - w->p) >= n;
}

void eu_wr_sync(struct eu_wr *w)
{
	w->b->len = (size_t)(w->p - w->b->data);
}

void eu_wr_resync(struct eu_wr *w)
{
	eu_buf *b = w->b;
	w->p = b->data + b->len;
	w->end = b->oom ? w->p : b->data + b->cap - 1;
}

int eu_wr_end(struct eu_wr *w)
{
	eu_buf *b = w->b;
	if (b->oom) {
		b->len = w->start;
		if (b->data)
			b->data[b->len] = '\0';
		return -ENOMEM;
	}
	b->len = (size_t)(w->p - b->data);
	b->data[b->len] = '\0';
	return 0;
}

int eu_plan_format_json(const struct eu_plan *plan, const void *data, size_t size, eu_buf *out)
{
	if (size < plan->min_size || (!data && plan->size))
		return -EINVAL;
	struct eu_wr w;
	if (eu_wr_begin(&w, out, plan->json_hint))
		return -ENOMEM;
	eu_wr_root(&w, plan, data ? data : no_data, size);
	return eu_wr_end(&w);
}

int eu_plan_format_field(const struct eu_plan *plan, size_t i, const void *data, size_t size,
			 eu_buf *out, bool text)
{
	struct eu_plan_op tmp;
	const struct eu_plan_op *op;
	if (i >= plan->ops[0].count || (!data && plan->size) ||
	    !(op = eu_plan_field_op(plan, i, size, &tmp)))
		return -EINVAL;
	struct eu_wr w;
	if (eu_wr_begin(&w, out, 64))
		return -ENOMEM;
	eu_wr_value(&w, plan, op, data ? data : no_data, text);
	return eu_wr_end(&w);
}

int eu_plan_format_field_json(const struct eu_plan *plan, size_t i, const void *data,
			      size_t size, eu_buf *out)
{
	return eu_plan_format_field(plan, i, data, size, out, false);
}
