/* Record formatting (schema in record.h): written straight into the output buffer, no
 * intermediate JSON tree on the hot path. */
#include "eunomia/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eunomia/decoder.h"
#include "decoder_priv.h"

void eu_record_clock_sync(struct eu_record_clock *c)
{
	struct timespec m, r;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	c->mono_now_ns = (uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec;
	c->real_now_ns = (uint64_t)r.tv_sec * 1000000000u + (uint64_t)r.tv_nsec;
	c->mono_to_real_ns = (int64_t)(c->real_now_ns - c->mono_now_ns);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && !strcmp(s + n - k, suffix);
}

static bool time_candidate(const struct eu_field_info *f)
{
	return (f->kind == EU_FIELD_INT) && f->size == 8 && f->bit_size == 0;
}

int eu_record_time_field(const struct eu_plan *plan)
{
	static const char *const exact[] = {"ts", "timestamp", "time_ns", "ts_ns", "timestamp_ns"};
	size_t n = eu_plan_field_count(plan);
	for (size_t k = 0; k < sizeof(exact) / sizeof(exact[0]); k++) {
		int i = eu_plan_find_field(plan, exact[k]);
		if (i >= 0 && time_candidate(eu_plan_field(plan, (size_t)i)))
			return i;
	}
	for (size_t i = 0; i < n; i++) {
		const struct eu_field_info *f = eu_plan_field(plan, i);
		if (f->name && time_candidate(f) && (ends_with(f->name, "_ts") ||
						     ends_with(f->name, "_ts_ns")))
			return (int)i;
	}
	return -1;
}

uint64_t eu_record_event_time(const struct eu_plan *plan, int ts_field, const void *data,
			      size_t size, const struct eu_record_clock *c)
{
	if (ts_field < 0)
		return c->real_now_ns;
	uint64_t mono;
	const struct eu_plan_op *op = (size_t)ts_field < plan->ops[0].count
					      ? &plan->ops[plan->ops[0].first + (size_t)ts_field]
					      : NULL;
	if (op && data && size >= plan->size && op->size == 8 &&
	    (op->kind == EU_OP_U64 || op->kind == EU_OP_S64)) {
		/* the usual case, read per event: a plain 8-byte integer at a fixed place */
		memcpy(&mono, (const uint8_t *)data + op->offset, 8);
	} else {
		int64_t v;
		if (eu_plan_field_i64(plan, (size_t)ts_field, data, size, &v))
			return c->real_now_ns;
		mono = (uint64_t)v;
	}
	if (mono == 0 || mono > c->mono_now_ns + 60000000000ull)
		return c->real_now_ns;
	return mono + (uint64_t)c->mono_to_real_ns;
}

void eu_record_version(const uint8_t sha256[32], char out[13])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 6; i++) {
		out[2 * i] = hex[sha256[i] >> 4];
		out[2 * i + 1] = hex[sha256[i] & 15];
	}
	out[12] = '\0';
}

static void put_str(eu_buf *out, const char *s)
{
	s = s ? s : "";
	eu_buf_json_string(out, s, strlen(s));
}

/* Everything of the header after the times: the same for every record of a source. */
static void put_head(eu_buf *out, const struct eu_record_meta *m)
{
	eu_buf_puts(out, ",\"package\":");
	put_str(out, m->package);
	eu_buf_puts(out, ",\"version\":");
	put_str(out, m->version);
	eu_buf_puts(out, ",\"event\":");
	put_str(out, m->event);
	eu_buf_puts(out, ",\"host\":");
	put_str(out, m->host);
	eu_buf_puts(out, ",\"fields\":");
}

/* The record's opening for one second: `{"time":"DATE.#########Z","time_unix_nano":SECS#########`
 * with its two nine-digit fraction slots. Records come in bursts within one second: the
 * text is made once per thread and second, then each record copies it whole (a fixed-size
 * move) and writes the fraction's digits into both slots. */
#define TIMES_ROOM 128u
struct times_tmpl {
	uint64_t sec;
	size_t len, frac_at, nano_frac_at;
	char text[TIMES_ROOM];
};

static void times_tmpl_make(struct times_tmpl *t, uint64_t sec)
{
	time_t tt = (time_t)sec;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	gmtime_r(&tt, &tm);
	char date[40];
	size_t date_n = strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	static const char k_time[] = "{\"time\":\"", k_nano[] = "Z\",\"time_unix_nano\":";
	char *p = t->text;
	memcpy(p, k_time, sizeof(k_time) - 1);
	p += sizeof(k_time) - 1;
	memcpy(p, date, date_n);
	p += date_n;
	*p++ = '.';
	t->frac_at = (size_t)(p - t->text);
	p += 9;
	memcpy(p, k_nano, sizeof(k_nano) - 1);
	p += sizeof(k_nano) - 1;
	p += snprintf(p, 24, "%llu", (unsigned long long)sec);
	t->nano_frac_at = (size_t)(p - t->text);
	p += 9;
	t->len = (size_t)(p - t->text);
	t->sec = sec;
}

/* `{"time":"...Z","time_unix_nano":N` and then head[0..head_len) with one room check. */
static void put_opening(eu_buf *out, uint64_t ns, const char *head, size_t head_len)
{
	static _Thread_local struct times_tmpl tmpl = {.sec = UINT64_MAX};
	uint64_t sec = ns / 1000000000u;
	uint32_t frac = (uint32_t)(ns % 1000000000u);
	if (sec != tmpl.sec)
		times_tmpl_make(&tmpl, sec);
	if (!sec) {
		/* the epoch's first second (a clock far off): time_unix_nano has no leading
		 * digits of its own, so no zeros either; the plain, slower form */
		eu_buf_append(out, tmpl.text, tmpl.frac_at);
		char tail[48];
		int n = snprintf(tail, sizeof(tail), "%09uZ\",\"time_unix_nano\":%u", frac, frac);
		eu_buf_append(out, tail, (size_t)n);
		if (head_len)
			eu_buf_append(out, head, head_len);
		return;
	}
	if (!eu_buf_reserve(out, TIMES_ROOM + head_len))
		return;
	char *p = out->data + out->len;
	memcpy(p, tmpl.text, TIMES_ROOM);
	eu_digits9(p + tmpl.frac_at, frac);
	memcpy(p + tmpl.nano_frac_at, p + tmpl.frac_at, 9);
	p += tmpl.len;
	if (head_len)
		memcpy(p, head, head_len);
	p += head_len;
	*p = '\0';
	out->len = (size_t)(p - out->data);
}

void eu_record_begin(eu_buf *out, const struct eu_record_meta *m, uint64_t time_ns)
{
	put_opening(out, time_ns, NULL, 0);
	put_head(out, m);
}

void eu_record_end(eu_buf *out)
{
	if (out->cap - out->len >= 3 && !out->oom) {
		/* the room was reserved with the record's opening or its fields */
		memcpy(out->data + out->len, "}\n", 3);
		out->len += 2;
		return;
	}
	eu_buf_append(out, "}\n", 2);
}

/* Closes the record begun at mark when its body was written (ret 0), else takes all of it
 * back, so a failed record leaves out as it was: no half line for the caller to send. */
static int finish_record(eu_buf *out, size_t mark, int ret)
{
	if (!ret) {
		eu_record_end(out);
		if (out->oom)
			ret = -ENOMEM;
	}
	if (ret) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	return ret;
}

int eu_record_format_event(eu_buf *out, const struct eu_record_meta *m,
			   const struct eu_plan *plan, int ts_field, const void *data, size_t size,
			   const struct eu_record_clock *c)
{
	if (size < eu_plan_min_size(plan))
		return -EINVAL;
	size_t mark = out->len;
	eu_record_begin(out, m, eu_record_event_time(plan, ts_field, data, size, c));
	int ret = eu_plan_format_json(plan, data, size, out);
	return finish_record(out, mark, ret);
}

/* ---- typed records ---- */

/* The record's header from its source's pre-rendered part. */
static void begin_from(eu_buf *out, const struct eu_record_source *src, uint64_t time_ns)
{
	put_opening(out, time_ns, src->json_head_, src->json_head_len_);
}

static int put_folded(eu_buf *out, const struct eu_record_source *src,
		      const struct eu_record *r)
{
	eu_buf line;
	eu_buf_init(&line);
	eu_record_stacks_folded(&src->stacks, src->key_plan, r->key, r->key_size, r->stacks,
				r->stacks_size, &line);
	eu_buf_json_string(out, line.data ? line.data : "", line.len);
	int ret = line.oom ? -ENOMEM : 0;
	eu_buf_free(&line);
	return ret;
}

int eu_record_format(eu_buf *out, const struct eu_record *r)
{
	const struct eu_record_source *src = r->src;
	size_t mark = out->len;
	int ret = 0;
	if (!src->json_head_)
		return -EINVAL; /* not made by eu_record_source_new: no header to write */
	if (src->kind == EU_RECORD_LINE || src->kind == EU_RECORD_OBJECT) {
		begin_from(out, src, r->time_ns);
		if (src->kind == EU_RECORD_OBJECT) {
			eu_buf_append(out, r->data, r->size);
		} else {
			eu_buf_puts(out, "{\"line\":");
			eu_buf_json_string(out, r->data, r->size);
			eu_buf_putc(out, '}');
		}
	} else if (src->kind == EU_RECORD_EVENT) {
		if (r->size < eu_plan_min_size(src->plan))
			return -EINVAL;
		begin_from(out, src, r->time_ns);
		if (src->stacks.n && r->stacks) {
			eu_buf_putc(out, '{');
			ret = eu_record_stacks_json(&src->stacks, src->plan, r->data, r->size,
						    r->stacks, r->stacks_size, out);
			eu_buf_putc(out, '}');
		} else {
			ret = eu_plan_format_json(src->plan, r->data, r->size, out);
		}
	} else {
		const struct eu_plan *kp = src->key_plan, *vp = src->plan;
		if (r->key_size < (kp ? eu_plan_size(kp) : 0) || r->size < eu_plan_size(vp))
			return -EINVAL;
		begin_from(out, src, r->time_ns);
		eu_buf_puts(out, "{\"key\":");
		bool stacks = kp && src->stacks.n && r->stacks;
		if (!kp) {
			eu_buf_puts(out, "null");
		} else if (stacks) {
			eu_buf_putc(out, '{');
			ret = eu_record_stacks_json(&src->stacks, kp, r->key, r->key_size, r->stacks,
						    r->stacks_size, out);
			eu_buf_putc(out, '}');
		} else if (src->key_scalar) {
			ret = eu_plan_format_field_json(kp, 0, r->key, r->key_size, out);
		} else {
			ret = eu_plan_format_json(kp, r->key, r->key_size, out);
		}
		eu_buf_puts(out, ",\"value\":");
		if (!ret && src->value_scalar)
			ret = eu_plan_format_field_json(vp, 0, r->data, r->size, out);
		else if (!ret)
			ret = eu_plan_format_json(vp, r->data, r->size, out);
		if (!ret && stacks) {
			/* a stack-count map's entry as a flame graph's input line */
			eu_buf_puts(out, ",\"folded\":");
			ret = put_folded(out, src, r);
		}
		eu_buf_putc(out, '}');
	}
	return finish_record(out, mark, ret);
}

int eu_record_source_new(const struct eu_record_source *tmpl, struct eu_record_source **out)
{
	static uint64_t next_id;
	*out = NULL;
	const char *strs[4] = {tmpl->package, tmpl->version, tmpl->event, tmpl->host};
	size_t need = 0;
	for (int i = 0; i < 4; i++)
		need += strlen(strs[i] ? strs[i] : "") + 1;
	eu_buf head;
	eu_buf_init(&head);
	struct eu_record_meta m = {strs[0], strs[1], strs[2], strs[3]};
	put_head(&head, &m);
	if (head.oom) {
		eu_buf_free(&head);
		return -ENOMEM;
	}
	/* one allocation: the struct, its strings, its JSON header */
	struct eu_record_source *s = malloc(sizeof(*s) + need + head.len + 1);
	if (!s) {
		eu_buf_free(&head);
		return -ENOMEM;
	}
	*s = *tmpl;
	char *p = (char *)(s + 1);
	const char **dst[4] = {&s->package, &s->version, &s->event, &s->host};
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(strs[i] ? strs[i] : "") + 1;
		memcpy(p, strs[i] ? strs[i] : "", n);
		*dst[i] = p;
		p += n;
	}
	memcpy(p, head.data, head.len + 1);
	s->json_head_ = p;
	s->json_head_len_ = head.len;
	eu_buf_free(&head);
	s->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	s->plan = eu_plan_ref(tmpl->plan);
	s->key_plan = eu_plan_ref(tmpl->key_plan);
	s->refs_ = 1;
	*out = s;
	return 0;
}

struct eu_record_source *eu_record_source_ref(struct eu_record_source *src)
{
	if (src)
		__atomic_add_fetch(&src->refs_, 1, __ATOMIC_RELAXED);
	return src;
}

void eu_record_source_unref(struct eu_record_source *src)
{
	if (!src || __atomic_sub_fetch(&src->refs_, 1, __ATOMIC_ACQ_REL))
		return;
	eu_plan_free(src->plan);
	eu_plan_free(src->key_plan);
	free(src);
}
