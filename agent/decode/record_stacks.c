/* A record's stacks as their frames' names (record.h): the blob they are kept in and the
 * three ways they print (JSON members, lines below a text row, folded). `run` and every sink
 * of the daemon print stacks through these, so both say the same. */
#include <errno.h>
#include <string.h>

#include "eunomia/decoder.h"
#include "eunomia/record.h"

#define HEAD 5 /* u32 frame count, u8 missing */

const char *eu_record_stack_title(const struct eu_record_stacks *s, const struct eu_plan *plan,
				  size_t k)
{
	if (!s->f[k].is_inline)
		return s->f[k].name;
	const char *n = eu_plan_field(plan, (size_t)s->f[k].field)->name;
	return n ? n : "stack";
}

size_t eu_record_stack_begin(eu_buf *blob)
{
	size_t at = blob->len;
	static const char zero[HEAD];
	eu_buf_append(blob, zero, HEAD);
	return at;
}

void eu_record_stack_frame(eu_buf *blob, const char *name)
{
	eu_buf_append(blob, name, strlen(name) + 1);
}

void eu_record_stack_end(eu_buf *blob, size_t at, bool missing)
{
	if (blob->oom || blob->len < at + HEAD)
		return;
	uint32_t n = 0;
	for (size_t i = at + HEAD; i < blob->len; i++)
		n += blob->data[i] == '\0';
	memcpy(blob->data + at, &n, 4);
	blob->data[at + 4] = (char)missing;
}

/* The start of stack k, and the blob's end; NULL when it is not there whole. */
static const char *stack_at(const void *blob, size_t size, size_t k, uint32_t *n,
			    bool *missing)
{
	const char *p = blob, *end = p ? p + size : NULL;
	if (!p)
		return NULL;
	for (size_t i = 0;; i++) {
		if ((size_t)(end - p) < HEAD)
			return NULL;
		memcpy(n, p, 4);
		*missing = p[4] != 0;
		p += HEAD;
		if (i == k)
			break;
		for (uint32_t f = 0; f < *n; f++) {
			const char *nul = memchr(p, '\0', (size_t)(end - p));
			if (!nul)
				return NULL;
			p = nul + 1;
		}
	}
	/* every name of stack k must end inside the blob */
	const char *q = p;
	for (uint32_t f = 0; f < *n; f++) {
		const char *nul = memchr(q, '\0', (size_t)(end - q));
		if (!nul)
			return NULL;
		q = nul + 1;
	}
	return p;
}

bool eu_record_stack_frames(const void *blob, size_t size, size_t k, uint32_t *n,
			    bool *missing, const char **first)
{
	*n = 0;
	*missing = false;
	*first = stack_at(blob, size, k, n, missing);
	if (!*first) {
		*n = 0;
		*missing = false;
	}
	return *first != NULL;
}

static int stack_of_field(const struct eu_record_stacks *s, size_t field)
{
	for (size_t k = 0; k < s->n; k++)
		if ((size_t)s->f[k].field == field)
			return (int)k;
	return -1;
}

static void json_frames(const void *blob, size_t size, size_t k, eu_buf *out)
{
	uint32_t n;
	bool missing;
	const char *p;
	eu_record_stack_frames(blob, size, k, &n, &missing, &p);
	eu_buf_putc(out, '[');
	for (uint32_t i = 0; i < n; i++) {
		size_t len = strlen(p);
		if (i)
			eu_buf_putc(out, ',');
		eu_buf_json_string(out, p, len);
		p += len + 1;
	}
	if (missing)
		eu_buf_puts(out, n ? ",\"[missing]\"" : "\"[missing]\"");
	eu_buf_putc(out, ']');
}

static void json_key(eu_buf *out, const char *name)
{
	eu_buf_json_string(out, name, strlen(name));
	eu_buf_putc(out, ':');
}

int eu_record_stacks_json(const struct eu_record_stacks *s, const struct eu_plan *plan,
			  const void *data, size_t size, const void *blob, size_t blob_size,
			  eu_buf *out)
{
	if (size < eu_plan_min_size(plan))
		return -EINVAL;
	for (size_t i = 0; i < eu_plan_field_count(plan); i++) {
		int k = stack_of_field(s, i);
		if (i)
			eu_buf_putc(out, ',');
		const char *name = eu_plan_field(plan, i)->name;
		json_key(out, name ? name : "");
		if (k >= 0 && s->f[k].is_inline) {
			json_frames(blob, blob_size, (size_t)k, out);
			continue;
		}
		int rc = eu_plan_format_field_json(plan, i, data, size, out);
		if (rc)
			return rc;
		if (k >= 0) {
			eu_buf_putc(out, ',');
			json_key(out, s->f[k].name);
			json_frames(blob, blob_size, (size_t)k, out);
		}
	}
	return out->oom ? -ENOMEM : 0;
}

void eu_record_stacks_text(const struct eu_record_stacks *s, const struct eu_plan *plan,
			   const void *blob, size_t blob_size, eu_buf *out)
{
	for (size_t k = 0; k < s->n; k++) {
		uint32_t n;
		bool missing;
		const char *p;
		eu_record_stack_frames(blob, blob_size, k, &n, &missing, &p);
		eu_buf_printf(out, "    %s:\n", eu_record_stack_title(s, plan, k));
		for (uint32_t i = 0; i < n; i++) {
			eu_buf_puts(out, "      ");
			eu_buf_puts(out, p);
			eu_buf_putc(out, '\n');
			p += strlen(p) + 1;
		}
		if (missing)
			eu_buf_puts(out, "      [missing]\n");
	}
}

static void folded_name(eu_buf *out, const char *name)
{
	eu_buf_putc(out, ';');
	/* ';' and ' ' separate frames and the count in folded lines */
	for (const char *c = name; *c; c++)
		eu_buf_putc(out, *c == ';' || *c == ' ' ? '_' : *c);
}

void eu_record_stacks_folded(const struct eu_record_stacks *s, const struct eu_plan *plan,
			     const void *key, size_t key_size, const void *blob,
			     size_t blob_size, eu_buf *out)
{
	int64_t pid = 0;
	if (s->comm_field >= 0)
		eu_plan_format_field_text(plan, (size_t)s->comm_field, key, key_size, out);
	else if (s->pid_field < 0 ||
		 eu_plan_field_i64(plan, (size_t)s->pid_field, key, key_size, &pid))
		eu_buf_puts(out, "0");
	else
		eu_buf_printf(out, "%u", (unsigned)pid);
	/* user frames first (the process's outermost call at the left), then the kernel's */
	for (int user = 1; user >= 0; user--) {
		for (size_t k = 0; k < s->n; k++) {
			if (s->f[k].user != (bool)user)
				continue;
			uint32_t n;
			bool missing;
			const char *p;
			eu_record_stack_frames(blob, blob_size, k, &n, &missing, &p);
			if (missing)
				folded_name(out, "[missing]");
			/* innermost first in the blob: the outermost is the last */
			const char *names[1024];
			uint32_t m = n < 1024 ? n : 1024;
			for (uint32_t i = 0; i < m; i++) {
				names[i] = p;
				p += strlen(p) + 1;
			}
			while (m--)
				folded_name(out, names[m]);
		}
	}
}
