/* Stacks in what the programs send, found by field name and type the way libbpf-tools write
 * them, looked up and printed as function names:
 *   - stack ids: an integer field named *stack_id / *stackid, an id into the object's
 *     BPF_MAP_TYPE_STACK_TRACE map (bpf_get_stackid); printed as the id and, beside it, the
 *     frames under the name without the id suffix ("kern_stack_id" -> "kern_stack");
 *   - inline stacks: a __u64 array whose name contains "stack" (bpf_get_stack into the
 *     record), cut at its size field when there is one (<name>_sz/_size/_bytes: bytes, as
 *     bpf_get_stack returns; <name>_len/_depth/_cnt: frames) and at the first zero address.
 * The process of user frames is the record's tgid/pid field. Samples whose key carries stack
 * ids (profile/offcputime's {pid, kern_stack_id, user_stack_id, comm} -> count) print as
 * folded lines, `comm;user frames outermost first;kernel frames outermost first count`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "consumer_priv.h"
#include "eunomia/decoder.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/program.h"
#include "eunomia/record.h"
#include "symbols/symbols.h"

#define MAX_DEPTH 1024

struct stack_field {
	int size_field;       /* inline: the size field, or -1 */
	bool size_in_bytes;
	struct bpf_map *map;  /* id: the stack-trace map */
};

struct eu_stacks {
	const struct eu_plan *plan; /* the events' plan, or the samples' key plan */
	struct eu_record_stacks layout; /* what the records' formatters need (record.h) */
	struct stack_field f[EU_RECORD_STACKS_MAX];
	bool with_names;
	uint64_t frames[MAX_DEPTH];
	uint64_t *idbuf;      /* one stack-trace map value */
	size_t idbuf_len;     /* in frames */
	eu_buf blob;          /* the last record's named frames */
};

static bool ends_with_ci(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a >= b && !strcasecmp(s + a - b, sfx);
}

static bool contains_ci(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (; *s; s++)
		if (!strncasecmp(s, w, n))
			return true;
	return false;
}

static int find_field(const struct eu_plan *plan, const char *const *names, bool chars)
{
	for (size_t k = 0; names[k]; k++) {
		int i = eu_plan_find_field(plan, names[k]);
		if (i < 0)
			continue;
		enum eu_field_kind kind = eu_plan_field(plan, (size_t)i)->kind;
		if (chars ? kind == EU_FIELD_CHAR_ARRAY : kind == EU_FIELD_INT)
			return i;
	}
	return -1;
}

/* The size field of inline stack `name`, and whether it counts bytes. */
static int size_field_of(const struct eu_plan *plan, const char *name, bool *bytes)
{
	static const char *const byte_sfx[] = {"_sz", "_size", "_bytes", "sz", NULL};
	static const char *const frame_sfx[] = {"_len", "_depth", "_cnt", "_count", "_frames",
						NULL};
	char cand[256 + 16];
	for (int pass = 0; pass < 2; pass++) {
		const char *const *sfx = pass ? frame_sfx : byte_sfx;
		for (size_t k = 0; sfx[k]; k++) {
			snprintf(cand, sizeof(cand), "%s%s", name, sfx[k]);
			int i = eu_plan_find_field(plan, cand);
			if (i >= 0 && eu_plan_field(plan, (size_t)i)->kind == EU_FIELD_INT) {
				*bytes = !pass;
				return i;
			}
		}
	}
	return -1;
}

/* The stack-trace map an id field points into: the only one, else the one whose name shares
 * the field's side (k/kern vs u/user), else the first. */
static struct bpf_map *stack_map_for(struct bpf_object *obj, const char *field)
{
	struct bpf_map *m, *first = NULL, *match = NULL;
	bool user = contains_ci(field, "user") || field[0] == 'u' || field[0] == 'U';
	size_t n = 0;
	bpf_object__for_each_map(m, obj) {
		if (bpf_map__type(m) != BPF_MAP_TYPE_STACK_TRACE)
			continue;
		n++;
		if (!first)
			first = m;
		const char *mn = bpf_map__name(m);
		bool muser = contains_ci(mn, "user") || mn[0] == 'u';
		bool mkern = contains_ci(mn, "kern") || mn[0] == 'k';
		if (!match && ((user && muser) || (!user && mkern)))
			match = m;
	}
	return n > 1 && match ? match : first;
}

static bool is_user_name(const char *n)
{
	return contains_ci(n, "user") || n[0] == 'u' || n[0] == 'U';
}

static void detect(struct eu_export *exp, const struct eu_plan *plan, struct eu_stacks **out)
{
	*out = NULL;
	struct eu_stacks s = {.plan = plan, .with_names = true};
	struct eu_record_stacks *L = &s.layout;
	L->pid_field = L->comm_field = -1;
	struct bpf_object *obj = eu_program_object(exp->owner->prog);
	for (size_t i = 0; i < eu_plan_field_count(plan) && L->n < EU_RECORD_STACKS_MAX; i++) {
		const struct eu_field_info *f = eu_plan_field(plan, i);
		struct stack_field *sf = &s.f[L->n];
		memset(sf, 0, sizeof(*sf));
		memset(&L->f[L->n], 0, sizeof(L->f[L->n]));
		L->f[L->n].field = (int16_t)i;
		L->f[L->n].user = is_user_name(f->name);
		sf->size_field = -1;
		if (f->kind == EU_FIELD_INT && (f->size == 4 || f->size == 8) &&
		    (ends_with_ci(f->name, "stack_id") || ends_with_ci(f->name, "stackid"))) {
			sf->map = stack_map_for(obj, f->name);
			if (!sf->map) {
				eu_log(EU_LOG_WARN, "%s: field %s looks like a stack id but the object "
				       "has no stack-trace map: printed as a number",
				       exp->map_name, f->name);
				continue;
			}
			size_t len = strlen(f->name) - (ends_with_ci(f->name, "_id") ? 3 : 2);
			snprintf(L->f[L->n].name, sizeof(L->f[L->n].name), "%.*s", (int)len,
				 f->name);
			L->n++;
		} else if (f->kind == EU_FIELD_ARRAY && f->elems && f->size == f->elems * 8 &&
			   contains_ci(f->name, "stack")) {
			L->f[L->n].is_inline = true;
			sf->size_field = size_field_of(plan, f->name, &sf->size_in_bytes);
			L->n++;
		}
	}
	if (!L->n) {
		if (exp->meta && exp->meta->stack_trace)
			eu_log(EU_LOG_WARN, "%s: the stack_trace interpreter is set but the records "
			       "have no stack field (an integer *stack_id, or a __u64 array named "
			       "*stack*): printed as they are", exp->map_name);
		return;
	}
	L->pid_field = (int16_t)find_field(plan, (const char *const[]){"tgid", "pid", "tid", NULL},
					   false);
	L->comm_field = (int16_t)find_field(plan, (const char *const[]){"comm", "task", "name",
									"command", NULL},
					    true);
	if (exp->meta && exp->meta->stack_trace)
		s.with_names = exp->meta->stack_trace_symbols;
	struct eu_stacks *heap = malloc(sizeof(*heap));
	if (!heap)
		return;
	*heap = s;
	eu_buf_init(&heap->blob);
	for (size_t i = 0; i < L->n; i++)
		eu_log(EU_LOG_DEBUG, "%s: field %s is a %s stack%s", exp->map_name,
		       eu_plan_field(plan, (size_t)L->f[i].field)->name,
		       L->f[i].is_inline ? "inline" : "stack-trace map id of a",
		       heap->f[i].size_field >= 0 ? ", cut at its size field" : "");
	*out = heap;
}

static struct eu_stacks *stacks_of(const struct eu_export *cexp)
{
	struct eu_export *exp = (struct eu_export *)cexp; /* lazily filled cache */
	if (!exp->stacks_checked) {
		const struct eu_plan *plan = exp->kind == EU_EXPORT_SAMPLE ? exp->key_plan
									   : exp->plan;
		if (!plan || (exp->kind == EU_EXPORT_SAMPLE && exp->key_scalar))
			return NULL;
		exp->stacks_checked = true;
		detect(exp, plan, &exp->stacks);
	}
	return exp->stacks;
}

bool eu_export_has_stacks(const struct eu_export *exp)
{
	return stacks_of(exp) != NULL;
}

const struct eu_record_stacks *eu_export_stacks(const struct eu_export *exp)
{
	struct eu_stacks *s = stacks_of(exp);
	return s ? &s->layout : NULL;
}

void eu_stacks_free(struct eu_stacks *s)
{
	if (s) {
		free(s->idbuf);
		eu_buf_free(&s->blob);
	}
	free(s);
}

static int64_t int_field(const struct eu_plan *plan, int i, const void *data, size_t size,
			 int64_t dflt)
{
	int64_t v;
	if (i < 0 || eu_plan_field_i64(plan, (size_t)i, data, size, &v))
		return dflt;
	return v;
}

/* The frames of stack k, innermost first, into s->frames; their number (0 when the stack is
 * missing). *missing is set for a negative id other than -EFAULT (no user stack). */
static size_t frames_of(struct eu_stacks *s, size_t k, const void *data, size_t size,
			bool *missing)
{
	*missing = false;
	const struct stack_field *sf = &s->f[k];
	const struct eu_field_info *f = eu_plan_field(s->plan, (size_t)s->layout.f[k].field);
	size_t n = 0;
	if (s->layout.f[k].is_inline) {
		if (f->offset >= size)
			return 0;
		size_t have = (size - f->offset) / 8;
		n = f->elems < have ? f->elems : have;
		if (sf->size_field >= 0) {
			int64_t v = int_field(s->plan, sf->size_field, data, size, -1);
			int64_t frames = v < 0 ? 0 : sf->size_in_bytes ? v / 8 : v;
			if ((uint64_t)frames < n)
				n = (size_t)frames;
		}
		if (n > MAX_DEPTH)
			n = MAX_DEPTH;
		memcpy(s->frames, (const uint8_t *)data + f->offset, n * 8);
	} else {
		int64_t id = int_field(s->plan, s->layout.f[k].field, data, size, -1);
		if (f->size == 4)
			id = (int32_t)id;
		if (id < 0) {
			*missing = id != -EFAULT;
			return 0;
		}
		size_t depth = bpf_map__value_size(sf->map) / 8;
		if (depth > MAX_DEPTH)
			depth = MAX_DEPTH;
		if (s->idbuf_len < depth) {
			uint64_t *b = realloc(s->idbuf, depth * 8);
			if (!b)
				return 0;
			s->idbuf = b;
			s->idbuf_len = depth;
		}
		uint32_t key = (uint32_t)id;
		if (bpf_map_lookup_elem(bpf_map__fd(sf->map), &key, s->idbuf)) {
			*missing = true;
			return 0;
		}
		n = depth;
		memcpy(s->frames, s->idbuf, n * 8);
	}
	for (size_t i = 0; i < n; i++)
		if (!s->frames[i])
			return i;
	return n;
}

static struct eu_stack_syms *syms_of(const struct eu_export *exp)
{
	struct eu_consumer *c = exp->owner;
	if (!c->syms && !c->syms_failed)
		c->syms_failed = eu_stack_syms_new(&c->syms) != 0;
	return c->syms;
}

/* Every stack of a record looked up and named into s->blob. */
static int name_stacks(const struct eu_export *exp, struct eu_stacks *s, const void *data,
		       size_t size)
{
	if (size < eu_plan_min_size(s->plan))
		return -EINVAL;
	eu_buf_reset(&s->blob);
	struct eu_stack_syms *syms = syms_of(exp);
	uint32_t pid = (uint32_t)int_field(s->plan, s->layout.pid_field, data, size, 0);
	for (size_t k = 0; k < s->layout.n; k++) {
		bool missing;
		size_t n = frames_of(s, k, data, size, &missing);
		size_t at = eu_record_stack_begin(&s->blob);
		for (size_t i = 0; i < n; i++)
			eu_record_stack_frame(&s->blob, syms ? eu_stack_syms_name(syms, pid,
										 s->frames[i],
										 s->with_names)
							     : "[unknown]");
		eu_record_stack_end(&s->blob, at, missing);
	}
	return s->blob.oom ? -ENOMEM : 0;
}

int eu_export_stacks_name(const struct eu_export *exp, const void *data, size_t size,
			  const void **blob, size_t *blob_size)
{
	struct eu_stacks *s = stacks_of(exp);
	if (!s)
		return -EINVAL;
	int rc = name_stacks(exp, s, data, size);
	*blob = rc ? NULL : s->blob.data;
	*blob_size = rc ? 0 : s->blob.len;
	return rc;
}

static bool is_inline_field(const struct eu_stacks *s, size_t i)
{
	for (size_t k = 0; k < s->layout.n; k++)
		if ((size_t)s->layout.f[k].field == i)
			return s->layout.f[k].is_inline;
	return false;
}

int eu_export_format_stacks_event(const struct eu_export *exp, const void *data, size_t size,
				  bool json, const char *time_str, eu_buf *out)
{
	struct eu_stacks *s = stacks_of(exp);
	if (!s)
		return -EINVAL;
	int rc = name_stacks(exp, s, data, size);
	if (rc)
		return rc;
	size_t start = out->len;
	if (json) {
		eu_buf_putc(out, '{');
		rc = eu_record_stacks_json(&s->layout, s->plan, data, size, s->blob.data,
					   s->blob.len, out);
		if (rc) {
			out->len = start;
			return rc;
		}
		eu_buf_puts(out, "}\n");
		return out->oom ? -ENOMEM : 0;
	}
	/* the row without the inline stacks, then each stack's frames below it */
	eu_buf_puts(out, time_str);
	for (size_t i = 0; i < eu_plan_field_count(s->plan); i++) {
		if (is_inline_field(s, i))
			continue;
		eu_buf_putc(out, ' ');
		size_t at = out->len;
		eu_plan_format_field_text(s->plan, i, data, size, out);
		for (size_t w = out->len - at; w < eu_plan_text_width(s->plan, i); w++)
			eu_buf_putc(out, ' ');
	}
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->len--;
	eu_buf_putc(out, '\n');
	eu_record_stacks_text(&s->layout, s->plan, s->blob.data, s->blob.len, out);
	return out->oom ? -ENOMEM : 0;
}

void eu_export_stacks_text_header(const struct eu_export *exp, eu_buf *out)
{
	struct eu_stacks *s = stacks_of(exp);
	if (!s)
		return;
	size_t start = out->len;
	eu_buf_puts(out, "TIME    ");
	for (size_t i = 0; i < eu_plan_field_count(s->plan); i++) {
		if (is_inline_field(s, i))
			continue;
		const char *name = eu_plan_field(s->plan, i)->name;
		eu_buf_putc(out, ' ');
		size_t w = strlen(name);
		for (const char *c = name; *c; c++)
			eu_buf_putc(out, (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c));
		for (; w < eu_plan_text_width(s->plan, i); w++)
			eu_buf_putc(out, ' ');
	}
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->len--;
	eu_buf_putc(out, '\n');
}

/* The count a stack-count map holds for a key: a scalar value, else its first integer. */
static bool sample_count(const struct eu_export *exp, const void *value, size_t vs,
			 int64_t *count)
{
	for (size_t i = 0; i < eu_plan_field_count(exp->plan); i++)
		if (eu_plan_field(exp->plan, i)->kind == EU_FIELD_INT &&
		    !eu_plan_field_i64(exp->plan, i, value, vs, count))
			return true;
	return false;
}

int eu_export_format_stacks_sample(const struct eu_export *exp, const void *key, size_t ks,
				   const void *value, size_t vs, bool json, eu_buf *out)
{
	struct eu_stacks *s = stacks_of(exp);
	if (!s)
		return -EINVAL;
	int rc = name_stacks(exp, s, key, ks);
	if (rc)
		return rc;
	size_t start = out->len;
	eu_buf folded;
	eu_buf_init(&folded);
	eu_record_stacks_folded(&s->layout, s->plan, key, ks, s->blob.data, s->blob.len,
				&folded);
	int64_t count = 0;
	bool counted = sample_count(exp, value, vs, &count);
	if (json) {
		eu_buf_putc(out, '{');
		rc = eu_record_stacks_json(&s->layout, s->plan, key, ks, s->blob.data, s->blob.len,
					   out);
		eu_buf_puts(out, ",\"value\":");
		if (!rc)
			rc = exp->value_scalar ? eu_plan_format_field_json(exp->plan, 0, value, vs, out)
					       : eu_plan_format_json(exp->plan, value, vs, out);
		eu_buf_puts(out, ",\"folded\":");
		eu_buf_json_string(out, folded.data ? folded.data : "", folded.len);
		eu_buf_puts(out, "}\n");
	} else {
		eu_buf_append(out, folded.data ? folded.data : "", folded.len);
		eu_buf_printf(out, " %lld\n", (long long)(counted ? count : 0));
	}
	bool oom = folded.oom;
	eu_buf_free(&folded);
	if (rc || oom) {
		out->len = start;
		return rc ? rc : -ENOMEM;
	}
	return out->oom ? -ENOMEM : 0;
}
