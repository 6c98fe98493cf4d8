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
#include "symbols/symbols.h"

#define MAX_STACK_FIELDS 4
#define MAX_DEPTH 1024

enum stack_kind { STACK_INLINE, STACK_ID };

struct stack_field {
	enum stack_kind kind;
	int field;            /* top-level index in the plan */
	int size_field;       /* inline: the size field, or -1 */
	bool size_in_bytes;
	struct bpf_map *map;  /* id: the stack-trace map */
	char out_name[64];    /* id: the key the frames print under */
};

struct eu_stacks {
	const struct eu_plan *plan; /* the events' plan, or the samples' key plan */
	struct stack_field f[MAX_STACK_FIELDS];
	size_t n;
	int pid_field, comm_field;
	bool with_names;
	uint64_t frames[MAX_DEPTH];
	uint64_t *idbuf;      /* one stack-trace map value */
	size_t idbuf_len;     /* in frames */
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

static void detect(struct eu_export *exp, const struct eu_plan *plan, struct eu_stacks **out)
{
	*out = NULL;
	struct eu_stacks s = {.plan = plan, .pid_field = -1, .comm_field = -1, .with_names = true};
	struct bpf_object *obj = eu_program_object(exp->owner->prog);
	for (size_t i = 0; i < eu_plan_field_count(plan) && s.n < MAX_STACK_FIELDS; i++) {
		const struct eu_field_info *f = eu_plan_field(plan, i);
		struct stack_field *sf = &s.f[s.n];
		memset(sf, 0, sizeof(*sf));
		sf->field = (int)i;
		sf->size_field = -1;
		if (f->kind == EU_FIELD_INT && (f->size == 4 || f->size == 8) &&
		    (ends_with_ci(f->name, "stack_id") || ends_with_ci(f->name, "stackid"))) {
			sf->kind = STACK_ID;
			sf->map = stack_map_for(obj, f->name);
			if (!sf->map) {
				eu_log(EU_LOG_WARN, "%s: field %s looks like a stack id but the object "
				       "has no stack-trace map: printed as a number",
				       exp->map_name, f->name);
				continue;
			}
			size_t len = strlen(f->name) - (ends_with_ci(f->name, "_id") ? 3 : 2);
			snprintf(sf->out_name, sizeof(sf->out_name), "%.*s", (int)len, f->name);
			s.n++;
		} else if (f->kind == EU_FIELD_ARRAY && f->elems && f->size == f->elems * 8 &&
			   contains_ci(f->name, "stack")) {
			sf->kind = STACK_INLINE;
			sf->size_field = size_field_of(plan, f->name, &sf->size_in_bytes);
			s.n++;
		}
	}
	if (!s.n) {
		if (exp->meta && exp->meta->stack_trace)
			eu_log(EU_LOG_WARN, "%s: the stack_trace interpreter is set but the records "
			       "have no stack field (an integer *stack_id, or a __u64 array named "
			       "*stack*): printed as they are", exp->map_name);
		return;
	}
	s.pid_field = find_field(plan, (const char *const[]){"tgid", "pid", "tid", NULL}, false);
	s.comm_field = find_field(plan, (const char *const[]){"comm", "task", "name", "command",
							     NULL},
				  true);
	if (exp->meta && exp->meta->stack_trace)
		s.with_names = exp->meta->stack_trace_symbols;
	struct eu_stacks *heap = malloc(sizeof(*heap));
	if (!heap)
		return;
	*heap = s;
	for (size_t i = 0; i < heap->n; i++)
		eu_log(EU_LOG_DEBUG, "%s: field %s is a %s stack%s", exp->map_name,
		       eu_plan_field(plan, (size_t)heap->f[i].field)->name,
		       heap->f[i].kind == STACK_ID ? "stack-trace map id of a" : "inline",
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

void eu_stacks_free(struct eu_stacks *s)
{
	if (s)
		free(s->idbuf);
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

/* The frames of stack field sf, innermost first, into s->frames; their number (0 when the
 * stack is missing). *missing is set for a negative id other than -EFAULT (no user stack). */
static size_t frames_of(struct eu_stacks *s, const struct stack_field *sf, const void *data,
			size_t size, bool *missing)
{
	*missing = false;
	const struct eu_field_info *f = eu_plan_field(s->plan, (size_t)sf->field);
	size_t n = 0;
	if (sf->kind == STACK_INLINE) {
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
		int64_t id = int_field(s->plan, sf->field, data, size, -1);
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

static const char *frame_name(const struct eu_export *exp, struct eu_stacks *s, uint32_t pid,
			      uint64_t addr)
{
	struct eu_stack_syms *syms = syms_of(exp);
	return syms ? eu_stack_syms_name(syms, pid, addr, s->with_names) : "[unknown]";
}

static void json_frames(const struct eu_export *exp, struct eu_stacks *s, uint32_t pid,
			size_t n, bool missing, eu_buf *out)
{
	eu_buf_putc(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			eu_buf_putc(out, ',');
		const char *name = frame_name(exp, s, pid, s->frames[i]);
		eu_buf_json_string(out, name, strlen(name));
	}
	if (missing)
		eu_buf_puts(out, "\"[missing]\"");
	eu_buf_putc(out, ']');
}

static const struct stack_field *stack_at(const struct eu_stacks *s, size_t i)
{
	for (size_t k = 0; k < s->n; k++)
		if ((size_t)s->f[k].field == i)
			return &s->f[k];
	return NULL;
}

static void json_key(eu_buf *out, const char *name)
{
	eu_buf_json_string(out, name, strlen(name));
	eu_buf_putc(out, ':');
}

/* Every field of the record as JSON members (no braces), the stacks as frame names. */
static int json_members(const struct eu_export *exp, struct eu_stacks *s, const void *data,
			size_t size, eu_buf *out)
{
	uint32_t pid = (uint32_t)int_field(s->plan, s->pid_field, data, size, 0);
	for (size_t i = 0; i < eu_plan_field_count(s->plan); i++) {
		const struct eu_field_info *f = eu_plan_field(s->plan, i);
		const struct stack_field *sf = stack_at(s, i);
		if (i)
			eu_buf_putc(out, ',');
		json_key(out, f->name);
		bool missing;
		if (sf && sf->kind == STACK_INLINE) {
			size_t n = frames_of(s, sf, data, size, &missing);
			json_frames(exp, s, pid, n, missing, out);
			continue;
		}
		int rc = eu_plan_format_field_json(s->plan, i, data, size, out);
		if (rc)
			return rc;
		if (sf) {
			size_t n = frames_of(s, sf, data, size, &missing);
			eu_buf_putc(out, ',');
			json_key(out, sf->out_name);
			json_frames(exp, s, pid, n, missing, out);
		}
	}
	return 0;
}

static void text_frames(const struct eu_export *exp, struct eu_stacks *s, const char *title,
			uint32_t pid, size_t n, bool missing, eu_buf *out)
{
	eu_buf_printf(out, "    %s:\n", title);
	for (size_t i = 0; i < n; i++)
		eu_buf_printf(out, "      %s\n", frame_name(exp, s, pid, s->frames[i]));
	if (missing)
		eu_buf_puts(out, "      [missing]\n");
}

int eu_export_format_stacks_event(const struct eu_export *exp, const void *data, size_t size,
				  bool json, const char *time_str, eu_buf *out)
{
	struct eu_stacks *s = stacks_of(exp);
	if (!s || size < eu_plan_min_size(s->plan))
		return -EINVAL;
	size_t start = out->len;
	if (json) {
		eu_buf_putc(out, '{');
		int rc = json_members(exp, s, data, size, out);
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
		const struct stack_field *sf = stack_at(s, i);
		if (sf && sf->kind == STACK_INLINE)
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
	uint32_t pid = (uint32_t)int_field(s->plan, s->pid_field, data, size, 0);
	for (size_t k = 0; k < s->n; k++) {
		const struct stack_field *sf = &s->f[k];
		bool missing;
		size_t n = frames_of(s, sf, data, size, &missing);
		const char *title = sf->kind == STACK_ID ? sf->out_name
							 : eu_plan_field(s->plan, (size_t)sf->field)->name;
		text_frames(exp, s, title, pid, n, missing, out);
	}
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
		const struct stack_field *sf = stack_at(s, i);
		if (sf && sf->kind == STACK_INLINE)
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

/* Appends `;frame` for each frame of sf, outermost first. */
static void folded_frames(const struct eu_export *exp, struct eu_stacks *s,
			  const struct stack_field *sf, const void *key, size_t ks, uint32_t pid,
			  eu_buf *out)
{
	bool missing;
	size_t n = frames_of(s, sf, key, ks, &missing);
	if (missing)
		eu_buf_puts(out, ";[missing]");
	while (n--) {
		eu_buf_putc(out, ';');
		const char *name = frame_name(exp, s, pid, s->frames[n]);
		/* ';' and ' ' separate frames and the count in folded lines */
		for (const char *c = name; *c; c++)
			eu_buf_putc(out, *c == ';' || *c == ' ' ? '_' : *c);
	}
}

static bool is_user_side(const struct eu_stacks *s, const struct stack_field *sf)
{
	const char *n = eu_plan_field(s->plan, (size_t)sf->field)->name;
	return contains_ci(n, "user") || n[0] == 'u' || n[0] == 'U';
}

int eu_export_format_stacks_sample(const struct eu_export *exp, const void *key, size_t ks,
				   const void *value, size_t vs, bool json, eu_buf *out)
{
	struct eu_stacks *s = stacks_of(exp);
	if (!s || ks < eu_plan_min_size(s->plan))
		return -EINVAL;
	size_t start = out->len;
	uint32_t pid = (uint32_t)int_field(s->plan, s->pid_field, key, ks, 0);
	eu_buf folded;
	eu_buf_init(&folded);
	if (s->comm_field >= 0)
		eu_plan_format_field_text(s->plan, (size_t)s->comm_field, key, ks, &folded);
	else
		eu_buf_printf(&folded, "%u", pid);
	/* user frames first (the process's outermost call at the left), then the kernel's */
	for (int user = 1; user >= 0; user--)
		for (size_t k = 0; k < s->n; k++)
			if (is_user_side(s, &s->f[k]) == (bool)user)
				folded_frames(exp, s, &s->f[k], key, ks, pid, &folded);
	int64_t count = 0;
	bool counted = sample_count(exp, value, vs, &count);
	int rc = 0;
	if (json) {
		eu_buf_putc(out, '{');
		rc = json_members(exp, s, key, ks, out);
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
