/* Twins: programs of different kinds on the same hook (tp_btf/X, raw_tp/X and tp/CAT/X;
 * fentry/F and kprobe/F; fexit/F and kretprobe/F). libbpf-tools ship them side by side and
 * their user space keeps one; loading both would count every event twice. We keep the best
 * kind this kernel runs, as their user space would, and leave the rest out. Programs whose
 * tracepoint or function this kernel lacks are left out too, while others remain. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program_priv.h"

enum hook_class {
	HOOK_NONE = 0,
	HOOK_TRACEPOINT,
	HOOK_ENTRY,
	HOOK_EXIT,
};

/* Lower rank is preferred: BTF-typed and trampoline kinds first, as libbpf-tools choose. */
static const struct {
	const char *kind;
	enum hook_class cls;
	int rank;
} hook_kinds[] = {
	{"tp_btf", HOOK_TRACEPOINT, 0},     {"raw_tp", HOOK_TRACEPOINT, 1},
	{"raw_tracepoint", HOOK_TRACEPOINT, 1}, {"raw_tp.w", HOOK_TRACEPOINT, 1},
	{"raw_tracepoint.w", HOOK_TRACEPOINT, 1}, {"tp", HOOK_TRACEPOINT, 2},
	{"tracepoint", HOOK_TRACEPOINT, 2}, {"fentry", HOOK_ENTRY, 0},
	{"kprobe", HOOK_ENTRY, 1},          {"fexit", HOOK_EXIT, 0},
	{"kretprobe", HOOK_EXIT, 1},
};

struct hook_member {
	struct bpf_program *prog;
	enum hook_class cls;
	int rank;
	char kind[32];
	char hook[128];
};

void program_note_choice(struct eu_program *p, struct bpf_program *prog, bool loaded,
			 enum eu_log_level level, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	eu_log(level, "%s: %s", eu_program_name(p), reason);
	if (p->n_choices == p->cap_choices) {
		size_t cap = p->cap_choices ? p->cap_choices * 2 : 8;
		struct eu_program_choice *c = realloc(p->choices, cap * sizeof(*c));
		if (!c)
			return; /* the log line above still says it */
		p->choices = c;
		p->cap_choices = cap;
	}
	char *r = strdup(reason);
	if (!r)
		return;
	p->choices[p->n_choices++] = (struct eu_program_choice){
		.program = bpf_program__name(prog),
		.section = bpf_program__section_name(prog),
		.loaded = loaded,
		.reason = r,
	};
}

size_t eu_program_choice_count(const struct eu_program *prog)
{
	return prog->n_choices;
}

const struct eu_program_choice *eu_program_choice_at(const struct eu_program *prog, size_t i)
{
	return i < prog->n_choices ? &prog->choices[i] : NULL;
}

/* The hook a section names: "sched_switch" for tp/sched/sched_switch and tp_btf/sched_switch,
 * "vfs_read" for fentry/vfs_read and kprobe/vfs_read. */
static bool hook_of(const char *sec, struct hook_member *m)
{
	program_section_kind(sec, m->kind, sizeof(m->kind));
	for (size_t i = 0; i < sizeof(hook_kinds) / sizeof(hook_kinds[0]); i++) {
		if (strcmp(m->kind, hook_kinds[i].kind))
			continue;
		m->cls = hook_kinds[i].cls;
		m->rank = hook_kinds[i].rank;
		const char *target = m->cls == HOOK_TRACEPOINT ? strrchr(sec, '/') : strchr(sec, '/');
		if (!target || !target[1])
			return false;
		snprintf(m->hook, sizeof(m->hook), "%s", target + 1);
		return true;
	}
	return false;
}

static int member_cmp(const void *a, const void *b)
{
	const struct hook_member *x = a, *y = b;
	if (x->cls != y->cls)
		return (int)x->cls - (int)y->cls;
	int c = strcmp(x->hook, y->hook);
	return c ? c : x->rank - y->rank;
}

static const char *class_name(enum hook_class cls)
{
	return cls == HOOK_TRACEPOINT ? "tracepoint" : cls == HOOK_ENTRY ? "entry of" : "return of";
}

/* Keeps the members of the best rank that can all run; the group is m[0..n). */
static int choose_twin(struct eu_program *p, struct hook_member *m, size_t n, eu_error *err)
{
	char reasons[EU_ERROR_MSG_MAX] = "";
	size_t used = 0;
	int best = -1;
	for (size_t i = 0; i < n && best < 0;) {
		size_t j = i;
		bool all = true;
		char why[200] = "";
		for (; j < n && m[j].rank == m[i].rank; j++) {
			if (all && !program_section_supported(p, bpf_program__section_name(m[j].prog),
							      why, sizeof(why))) {
				all = false;
				int w = snprintf(reasons + used, sizeof(reasons) - used, "%s%s (%s): %s",
						 used ? "; " : "", bpf_program__name(m[j].prog),
						 bpf_program__section_name(m[j].prog), why);
				if (w > 0 && (size_t)w < sizeof(reasons) - used)
					used += (size_t)w;
			}
		}
		if (all)
			best = m[i].rank;
		i = j;
	}
	if (best < 0)
		return eu_error_set(err, -EOPNOTSUPP,
				    "no program for the %s %s can run on this kernel: %s",
				    class_name(m[0].cls), m[0].hook, reasons);
	const struct hook_member *chosen = NULL;
	for (size_t i = 0; i < n && !chosen; i++)
		if (m[i].rank == best)
			chosen = &m[i];
	for (size_t i = 0; i < n; i++) {
		struct bpf_program *prog = m[i].prog;
		if (m[i].rank == best) {
			program_note_choice(p, prog, true, EU_LOG_INFO,
					    "using %s (%s) for the %s %s%s%s", bpf_program__name(prog),
					    bpf_program__section_name(prog), class_name(m[i].cls),
					    m[i].hook, used ? "; not usable: " : "", used ? reasons : "");
			continue;
		}
		bpf_program__set_autoload(prog, false);
		program_note_choice(p, prog, false, EU_LOG_DEBUG,
				    "%s (%s) left out: its twin %s (%s) is used for the %s %s",
				    bpf_program__name(prog), bpf_program__section_name(prog),
				    bpf_program__name(chosen->prog),
				    bpf_program__section_name(chosen->prog), class_name(m[i].cls),
				    m[i].hook);
	}
	return 0;
}

static int choose_twins(struct eu_program *p, eu_error *err)
{
	size_t count = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, p->obj)
		count++;
	struct hook_member *m = calloc(count ? count : 1, sizeof(*m));
	if (!m)
		return eu_error_set(err, -ENOMEM, "out of memory");
	size_t n = 0;
	bpf_object__for_each_program(prog, p->obj) {
		if (!bpf_program__autoload(prog) || program_is_alternative(bpf_program__name(prog)))
			continue;
		m[n].prog = prog;
		if (hook_of(bpf_program__section_name(prog), &m[n]))
			n++;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	int ret = 0;
	for (size_t i = 0; i < n && !ret;) {
		size_t j = i + 1;
		while (j < n && m[j].cls == m[i].cls && !strcmp(m[j].hook, m[i].hook))
			j++;
		if (m[j - 1].rank != m[i].rank) /* kinds differ: twins */
			ret = choose_twin(p, m + i, j - i, err);
		i = j;
	}
	free(m);
	return ret;
}

/* A program whose tracepoint or function is absent cannot run; with others left the
 * package still can (architecture-specific tracepoints, functions of other kernel versions),
 * so it is left out with a warning. The last one standing fails the load instead. */
static int drop_missing_targets(struct eu_program *p, eu_error *err)
{
	struct bpf_program *prog, *first_missing = NULL;
	size_t running = 0;
	char why[200], first_why[200] = "";
	bpf_object__for_each_program(prog, p->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (program_target_exists(p, bpf_program__section_name(prog), why, sizeof(why))) {
			running++;
		} else if (!first_missing) {
			first_missing = prog;
			snprintf(first_why, sizeof(first_why), "%s", why);
		}
	}
	if (!first_missing)
		return 0;
	if (!running)
		return eu_error_set(err, -ENOENT, "program %s (%s): %s, and the package has no other "
				    "program to run", bpf_program__name(first_missing),
				    bpf_program__section_name(first_missing), first_why);
	bpf_object__for_each_program(prog, p->obj) {
		if (!bpf_program__autoload(prog) ||
		    program_target_exists(p, bpf_program__section_name(prog), why, sizeof(why)))
			continue;
		bpf_program__set_autoload(prog, false);
		program_note_choice(p, prog, false, EU_LOG_WARN,
				    "%s (%s) left out: %s; the other programs run without it",
				    bpf_program__name(prog), bpf_program__section_name(prog), why);
	}
	return 0;
}

int program_choose_hooks(struct eu_program *p, eu_error *err)
{
	int ret = choose_twins(p, err);
	return ret ? ret : drop_missing_targets(p, err);
}
