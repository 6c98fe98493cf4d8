/* The readable text of a record (record_text.h). */
#include "record_text.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eunomia/decoder.h"
#include "eunomia/hist.h"
#include "decode/decoder_text.h"

#define SGR_DIM "\033[2m"
#define SGR_BOLD "\033[1m"
#define SGR_KEY "\033[36m"
#define SGR_OFF "\033[0m"
#define PKG_WIDTH_MIN 10
#define PKG_WIDTH_MAX 32
#define SLOTS_MAX 256

bool eu_text_color_wanted(int fd)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	return isatty(fd) && !(no && *no) && !(term && !strcmp(term, "dumb"));
}

static void put_styled(eu_buf *out, const struct eu_text_style *st, const char *sgr,
		       const char *s, size_t n)
{
	if (st->color)
		eu_buf_puts(out, sgr);
	eu_buf_append(out, s, n);
	if (st->color)
		eu_buf_puts(out, SGR_OFF);
}

static void put_head(eu_buf *out, struct eu_text_style *st, uint64_t time_ns,
		     const char *package, const char *what)
{
	time_t secs = (time_t)(time_ns / 1000000000u);
	struct tm tm;
	char t[32];
	localtime_r(&secs, &tm);
	size_t n = strftime(t, sizeof(t), "%H:%M:%S", &tm);
	n += (size_t)snprintf(t + n, sizeof(t) - n, ".%03u",
			      (unsigned)(time_ns % 1000000000u / 1000000u));
	put_styled(out, st, SGR_DIM, t, n);
	eu_buf_putc(out, ' ');
	size_t plen = strlen(package), pcols = eu_text_columns(package, plen);
	if (pcols > st->pkg_width)
		st->pkg_width = pcols > PKG_WIDTH_MAX ? PKG_WIDTH_MAX : (unsigned)pcols;
	if (st->pkg_width < PKG_WIDTH_MIN)
		st->pkg_width = PKG_WIDTH_MIN;
	put_styled(out, st, SGR_BOLD, package, plen);
	eu_text_pad(out, pcols, st->pkg_width);
	if (what) {
		eu_buf_putc(out, ' ');
		eu_buf_puts(out, what);
	}
}

static bool needs_quotes(const char *s, size_t n)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '"' || s[i] == '\\' || s[i] == '\t')
			return true;
	return false;
}

/* " key=value", the value quoted when it must be, padded to width columns of value unless
 * it is the line's last. */
static void put_pair(eu_buf *out, const struct eu_text_style *st, const char *key,
		     const char *val, size_t n, size_t width, bool last)
{
	eu_buf_putc(out, ' ');
	put_styled(out, st, SGR_KEY, key, strlen(key));
	eu_buf_putc(out, '=');
	size_t cols;
	if (needs_quotes(val, n)) {
		eu_buf_putc(out, '"');
		for (size_t i = 0; i < n; i++) {
			if (val[i] == '"' || val[i] == '\\')
				eu_buf_putc(out, '\\');
			eu_buf_putc(out, val[i]);
		}
		eu_buf_putc(out, '"');
		cols = eu_text_columns(val, n) + 2;
	} else {
		eu_buf_append(out, val, n);
		cols = eu_text_columns(val, n);
	}
	if (!last)
		eu_text_pad(out, cols, width);
}

/* Whether field i is an inline stack (its frames print below the line, not its addresses). */
static bool inline_stack(const struct eu_record_stacks *stacks, size_t i)
{
	for (size_t k = 0; stacks && k < stacks->n; k++)
		if ((size_t)stacks->f[k].field == i)
			return stacks->f[k].is_inline;
	return false;
}

/* Every top-level field of a plan's record as key=value (skip: a field index left out; so
 * are the inline stacks of stacks, which may be NULL). */
static int put_fields(eu_buf *out, const struct eu_text_style *st, const struct eu_plan *plan,
		      const void *data, size_t size, int skip, const struct eu_record_stacks *stacks,
		      bool ends_line, eu_buf *scratch)
{
	size_t n = eu_plan_field_count(plan), last = n;
	while (last > 0 && ((int)(last - 1) == skip || inline_stack(stacks, last - 1)))
		last--;
	for (size_t i = 0; i < n; i++) {
		if ((int)i == skip || inline_stack(stacks, i))
			continue;
		eu_buf_reset(scratch);
		int ret = eu_plan_format_field_text(plan, i, data, size, scratch);
		if (ret)
			return ret;
		if (scratch->oom)
			return -ENOMEM;
		put_pair(out, st, eu_plan_field(plan, i)->name, scratch->data, scratch->len,
			 eu_plan_text_width(plan, i), ends_line && i + 1 == last);
	}
	return 0;
}

/* A sampled map's key or value: the scalar as name=V, a struct as its members. */
static int put_part(eu_buf *out, const struct eu_text_style *st, const char *name,
		    const struct eu_plan *plan, bool scalar, const void *data, size_t size,
		    const struct eu_record_stacks *stacks, bool ends_line, eu_buf *scratch)
{
	if (!plan) {
		put_pair(out, st, name, "null", 4, 0, ends_line);
		return 0;
	}
	if (!scalar)
		return put_fields(out, st, plan, data, size, -1, stacks, ends_line, scratch);
	eu_buf_reset(scratch);
	int ret = eu_plan_format_field_text(plan, 0, data, size, scratch);
	if (ret)
		return ret;
	put_pair(out, st, name, scratch->data, scratch->len, eu_plan_text_width(plan, 0),
		 ends_line);
	return 0;
}

static uint64_t load_u(const uint8_t *p, uint32_t size)
{
	uint64_t v = 0;
	switch (size) {
	case 1: return *p;
	case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
	case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
	case 8: memcpy(&v, p, 8); return v;
	default: return 0;
	}
}

/* The histogram's `slots` field: an array of 1/2/4/8-byte integers, or -1. */
static int slots_field(const struct eu_plan *plan)
{
	int idx = eu_plan_find_field(plan, "slots");
	if (idx < 0)
		return -1;
	const struct eu_field_info *f = eu_plan_field(plan, (size_t)idx);
	uint32_t es = f->elems ? f->size / f->elems : 0;
	if (f->kind != EU_FIELD_ARRAY || !f->elems || f->size % f->elems ||
	    (es != 1 && es != 2 && es != 4 && es != 8))
		return -1;
	return idx;
}

static uint64_t int_member(const struct eu_plan *plan, const char *name, const char *alt,
			   const void *data, size_t size, uint64_t def)
{
	int idx = eu_plan_find_field(plan, name);
	if (idx < 0 && alt)
		idx = eu_plan_find_field(plan, alt);
	int64_t v;
	if (idx < 0 || eu_plan_field_i64(plan, (size_t)idx, data, size, &v))
		return def;
	return (uint64_t)v;
}

static int put_sample(eu_buf *out, const struct eu_record *r, struct eu_text_style *st,
		      eu_buf *scratch)
{
	const struct eu_record_source *src = r->src;
	bool hist = src->hist != EU_RECORD_HIST_NONE;
	int slots = hist && !src->value_scalar ? slots_field(src->plan) : -1;
	put_head(out, st, r->time_ns, src->package, src->event);
	const struct eu_record_stacks *stacks = r->stacks ? &src->stacks : NULL;
	int ret = put_part(out, st, "key", src->key_plan, src->key_scalar, r->key, r->key_size,
			   stacks, false, scratch);
	if (!ret && slots < 0)
		ret = put_part(out, st, "value", src->plan, src->value_scalar, r->data, r->size,
			       NULL, true, scratch);
	else if (!ret)
		ret = put_fields(out, st, src->plan, r->data, r->size, slots, NULL, true, scratch);
	if (ret)
		return ret;
	eu_buf_putc(out, '\n');
	if (stacks)
		eu_record_stacks_text(stacks, src->key_plan, r->stacks, r->stacks_size, out);
	if (slots < 0)
		return 0;
	const struct eu_field_info *f = eu_plan_field(src->plan, (size_t)slots);
	uint32_t es = f->size / f->elems;
	size_t n = f->elems < SLOTS_MAX ? f->elems : SLOTS_MAX;
	uint64_t v[SLOTS_MAX];
	for (size_t k = 0; k < n; k++)
		v[k] = load_u((const uint8_t *)r->data + f->offset + k * es, es);
	const char *unit = src->unit; /* "" or "(unit)": a blank title (hist.h) */
	if (src->hist == EU_RECORD_HIST_LINEAR) {
		uint64_t base = int_member(src->plan, "base", "min", r->data, r->size, 0);
		uint64_t step = int_member(src->plan, "step", NULL, r->data, r->size, 1);
		eu_hist_linear(out, v, n, base, step ? step : 1, unit);
	} else {
		eu_hist_log2(out, v, n, unit);
	}
	return 0;
}

/* A JSON value as text: strings bare, the rest as compact JSON. */
static void put_json_pair(eu_buf *out, const struct eu_text_style *st, const cJSON *item,
			  bool last, eu_buf *scratch)
{
	char *txt = cJSON_IsString(item) ? NULL : cJSON_PrintUnformatted(item);
	const char *v = cJSON_IsString(item) ? item->valuestring : txt;
	eu_buf_reset(scratch);
	if (v)
		eu_buf_text_escaped(scratch, v, strlen(v));
	put_pair(out, st, item->string ? item->string : "value", scratch->data ? scratch->data : "",
		 scratch->len, 0, last);
	free(txt);
}

/* The members of a JSON object (a module's line that was one) as key=value. */
static void put_json_fields(eu_buf *out, const struct eu_text_style *st, const cJSON *obj,
			    eu_buf *scratch)
{
	for (const cJSON *f = obj->child; f; f = f->next)
		put_json_pair(out, st, f, !f->next, scratch);
}

/* A line from a producer without a plan: line=TEXT, or its JSON object's members. */
static void put_line(eu_buf *out, const struct eu_record *r, struct eu_text_style *st,
		     eu_buf *scratch)
{
	const struct eu_record_source *src = r->src;
	put_head(out, st, r->time_ns, src->package, src->event);
	cJSON *j = src->kind == EU_RECORD_OBJECT ? cJSON_ParseWithLength(r->data, r->size) : NULL;
	if (cJSON_IsObject(j) && j->child) {
		put_json_fields(out, st, j, scratch);
	} else {
		eu_buf_reset(scratch);
		eu_buf_text_escaped(scratch, r->data, r->size);
		put_pair(out, st, "line", scratch->data ? scratch->data : "", scratch->len, 0, true);
	}
	cJSON_Delete(j);
	eu_buf_putc(out, '\n');
}

int eu_record_text(eu_buf *out, const struct eu_record *r, struct eu_text_style *st)
{
	const struct eu_record_source *src = r->src;
	size_t mark = out->len;
	eu_buf scratch;
	eu_buf_init(&scratch);
	int ret;
	if (src->kind == EU_RECORD_EVENT) {
		if (r->size < eu_plan_min_size(src->plan)) {
			eu_buf_free(&scratch);
			return -EINVAL;
		}
		const struct eu_record_stacks *stacks = r->stacks ? &src->stacks : NULL;
		put_head(out, st, r->time_ns, src->package, NULL);
		ret = put_fields(out, st, src->plan, r->data, r->size, src->ts_field, stacks, true,
				 &scratch);
		eu_buf_putc(out, '\n');
		/* as bcc's tools print them: one frame a line below the record, innermost first */
		if (stacks)
			eu_record_stacks_text(stacks, src->plan, r->stacks, r->stacks_size, out);
	} else if (src->kind == EU_RECORD_LINE || src->kind == EU_RECORD_OBJECT) {
		put_line(out, r, st, &scratch);
		ret = 0;
	} else if (r->key_size < (src->key_plan ? eu_plan_size(src->key_plan) : 0) ||
		   r->size < eu_plan_size(src->plan)) {
		ret = -EINVAL;
	} else {
		ret = put_sample(out, r, st, &scratch);
	}
	if (!ret && (out->oom || scratch.oom))
		ret = -ENOMEM;
	eu_buf_free(&scratch);
	if (ret)
		out->len = mark;
	return ret;
}

void eu_record_text_from_json(eu_buf *out, const char *line, size_t len,
			      struct eu_text_style *st)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	cJSON *j = cJSON_ParseWithLength(line, len);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time_unix_nano");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "package");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "event");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(j, "fields");
	if (!cJSON_IsNumber(t) || !cJSON_IsString(p) || !cJSON_IsObject(fields)) {
		eu_buf_append(out, line, len);
		eu_buf_putc(out, '\n');
		cJSON_Delete(j);
		return;
	}
	put_head(out, st, (uint64_t)t->valuedouble, p->valuestring,
		 cJSON_IsString(e) ? e->valuestring : NULL);
	eu_buf scratch;
	eu_buf_init(&scratch);
	put_json_fields(out, st, fields, &scratch);
	eu_buf_free(&scratch);
	eu_buf_putc(out, '\n');
	cJSON_Delete(j);
}
