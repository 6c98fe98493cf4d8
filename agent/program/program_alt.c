/* Alternatives: `<base>__alt<N>` programs, one of each group loaded (see program.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "program_priv.h"

#define ALT_MARK "__alt"

/* Splits "handle__alt2" into base length and N; false when the name is not an alternative. */
static bool alt_parse(const char *name, size_t *base_len, unsigned long *n)
{
	const char *hit = NULL;
	for (const char *s = name; (s = strstr(s, ALT_MARK)); s++)
		hit = s;
	if (!hit || hit == name)
		return false;
	const char *digits = hit + strlen(ALT_MARK);
	if (!*digits)
		return false;
	for (const char *d = digits; *d; d++)
		if (!isdigit((unsigned char)*d))
			return false;
	*base_len = (size_t)(hit - name);
	*n = strtoul(digits, NULL, 10);
	return true;
}

bool program_is_alternative(const char *name)
{
	size_t base_len;
	unsigned long n;
	return alt_parse(name, &base_len, &n);
}

struct alt_member {
	struct bpf_program *prog;
	size_t base_len;
	unsigned long n;
	bool grouped;
};

static int alt_cmp(const void *a, const void *b)
{
	const struct alt_member *x = a, *y = b;
	int c = (x->base_len > y->base_len) - (x->base_len < y->base_len);
	if (!c)
		c = strncmp(bpf_program__name(x->prog), bpf_program__name(y->prog), x->base_len);
	if (!c)
		c = (x->n > y->n) - (x->n < y->n);
	return c;
}

static bool same_group(const struct alt_member *a, const struct alt_member *b)
{
	return a->base_len == b->base_len &&
	       !strncmp(bpf_program__name(a->prog), bpf_program__name(b->prog), a->base_len);
}

/* Picks one member of members[0..count): the first supported one. Each member passed over
 * is named at the default log level with its reason and the program used instead, so a user
 * who wrote an fentry handler sees why the tracepoint one runs. */
static int choose_in_group(struct eu_program *p, struct alt_member *m, size_t count,
			   eu_error *err)
{
	char reasons[EU_ERROR_MSG_MAX];
	char (*whys)[200] = calloc(count, sizeof(*whys));
	if (!whys)
		return eu_error_set(err, -ENOMEM, "out of memory");
	size_t used = 0;
	reasons[0] = '\0';
	size_t chosen = count;
	for (size_t i = 0; i < count && chosen == count; i++) {
		const char *name = bpf_program__name(m[i].prog);
		const char *sec = bpf_program__section_name(m[i].prog);
		if (program_section_supported(p, sec, whys[i], sizeof(whys[i]))) {
			chosen = i;
			break;
		}
		bpf_program__set_autoload(m[i].prog, false);
		int w = snprintf(reasons + used, sizeof(reasons) - used, "%s%s (%s): %s",
				 used ? "; " : "", name, sec, whys[i]);
		if (w > 0 && (size_t)w < sizeof(reasons) - used)
			used += (size_t)w;
	}
	if (chosen == count) {
		free(whys);
		return eu_error_set(err, -EOPNOTSUPP,
				    "no alternative of %.*s can run on this kernel: %s",
				    (int)m[0].base_len, bpf_program__name(m[0].prog), reasons);
	}
	const char *use = bpf_program__name(m[chosen].prog);
	const char *use_sec = bpf_program__section_name(m[chosen].prog);
	for (size_t i = 0; i < chosen; i++)
		program_note_choice(p, m[i].prog, false, EU_LOG_INFO,
				    "program %s (%s): %s; using %s (%s) instead",
				    bpf_program__name(m[i].prog), bpf_program__section_name(m[i].prog),
				    whys[i], use, use_sec);
	free(whys);
	/* one line per choice: after a fallback the lines above already name the program used,
	 * so its own entry (the API's choices list it) is logged only at -v */
	if (chosen > 0 || count > 1)
		program_note_choice(p, m[chosen].prog, true, chosen ? EU_LOG_DEBUG : EU_LOG_INFO,
				    "using %s (%s) for %.*s", use, use_sec, (int)m[0].base_len,
				    bpf_program__name(m[0].prog));
	for (size_t i = chosen + 1; i < count; i++) {
		bpf_program__set_autoload(m[i].prog, false);
		program_note_choice(p, m[i].prog, false, EU_LOG_DEBUG,
				    "%s (%s) left out: %s (%s) ranks first for %.*s",
				    bpf_program__name(m[i].prog), bpf_program__section_name(m[i].prog),
				    use, use_sec, (int)m[0].base_len, bpf_program__name(m[0].prog));
	}
	return 0;
}

int program_choose_alternatives(struct eu_program *p, eu_error *err)
{
	size_t count = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, p->obj)
		count++;
	if (!count)
		return 0;
	struct alt_member *m = calloc(count, sizeof(*m));
	if (!m)
		return eu_error_set(err, -ENOMEM, "out of memory");
	size_t n = 0;
	bpf_object__for_each_program(prog, p->obj) {
		size_t base_len;
		unsigned long num;
		if (!bpf_program__autoload(prog) || !alt_parse(bpf_program__name(prog), &base_len, &num))
			continue;
		m[n++] = (struct alt_member){.prog = prog, .base_len = base_len, .n = num};
	}
	qsort(m, n, sizeof(*m), alt_cmp);
	int ret = 0;
	for (size_t i = 0; i < n && !ret;) {
		size_t j = i + 1;
		while (j < n && same_group(&m[i], &m[j]))
			j++;
		ret = choose_in_group(p, m + i, j - i, err);
		i = j;
	}
	free(m);
	return ret;
}
