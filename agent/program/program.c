#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/params.h"
#include "program_priv.h"
#include "privileges.h"

/* How much of libbpf's warnings a load keeps: the verifier's verdict is at the end. */
#define LOAD_LOG_TAIL (16 * 1024)

const char *program_errno_text(int e, char *buf, size_t n)
{
	if (e < 0)
		e = -e;
	const char *name = strerrorname_np(e);
	snprintf(buf, n, "%s (%s)", strerror(e), name ? name : "?");
	return buf;
}

void program_section_kind(const char *sec, char *kind, size_t n)
{
	size_t len = strcspn(sec, "/");
	if (len >= n)
		len = n - 1;
	memcpy(kind, sec, len);
	kind[len] = '\0';
}

int eu_program_section_feature(const char *sec)
{
	static const struct {
		const char *kind;
		enum eu_feature feature;
	} kinds[] = {
		{"fentry", EU_FEATURE_FENTRY},     {"fexit", EU_FEATURE_FENTRY},
		{"fmod_ret", EU_FEATURE_FENTRY},   {"fentry.s", EU_FEATURE_FENTRY},
		{"fexit.s", EU_FEATURE_FENTRY},    {"fmod_ret.s", EU_FEATURE_FENTRY},
		{"lsm", EU_FEATURE_LSM},           {"lsm.s", EU_FEATURE_LSM},
		{"lsm_cgroup", EU_FEATURE_LSM},    {"kprobe", EU_FEATURE_KPROBES},
		{"kretprobe", EU_FEATURE_KPROBES}, {"kprobe.multi", EU_FEATURE_KPROBES},
		{"kretprobe.multi", EU_FEATURE_KPROBES}, {"ksyscall", EU_FEATURE_KPROBES},
		{"kretsyscall", EU_FEATURE_KPROBES}, {"uprobe", EU_FEATURE_UPROBES},
		{"uretprobe", EU_FEATURE_UPROBES}, {"uprobe.s", EU_FEATURE_UPROBES},
		{"uretprobe.s", EU_FEATURE_UPROBES}, {"usdt", EU_FEATURE_UPROBES},
		{"tp", EU_FEATURE_TRACEFS},        {"tracepoint", EU_FEATURE_TRACEFS},
		{"tp_btf", EU_FEATURE_TP_BTF},
	};
	if (!sec)
		return -1;
	char kind[32];
	program_section_kind(sec, kind, sizeof(kind));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i].kind))
			return (int)kinds[i].feature;
	return -1;
}

/* The internal map holding section sec (".rodata"): libbpf names it "<obj prefix><sec>". */
static struct bpf_map *section_map(struct bpf_object *obj, const char *sec)
{
	size_t sl = strlen(sec);
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		if (!bpf_map__is_internal(map))
			continue;
		const char *name = bpf_map__name(map);
		size_t nl = strlen(name);
		if (nl >= sl && !strcmp(name + nl - sl, sec))
			return map;
	}
	return NULL;
}

static const void *section_initial_data(void *ctx, const char *sec, size_t *size)
{
	struct bpf_map *map = section_map(ctx, sec);
	return map ? bpf_map__initial_value(map, size) : NULL;
}

/* The last line of captured libbpf output, without the "libbpf: " prefix. */
static void last_libbpf_line(const char *log, char *out, size_t n)
{
	out[0] = '\0';
	if (!log || !*log)
		return;
	size_t len = strlen(log);
	while (len && (log[len - 1] == '\n' || log[len - 1] == ' '))
		len--;
	size_t start = len;
	while (start && log[start - 1] != '\n')
		start--;
	const char *line = log + start;
	size_t ll = len - start;
	if (ll >= 8 && !strncmp(line, "libbpf: ", 8)) {
		line += 8;
		ll -= 8;
	}
	if (ll >= n)
		ll = n - 1;
	memcpy(out, line, ll);
	out[ll] = '\0';
}

static int copy_map_sizes(struct eu_program *p, const struct eu_program_opts *o)
{
	if (!o->n_map_sizes)
		return 0;
	p->map_sizes = calloc(o->n_map_sizes, sizeof(*p->map_sizes));
	if (!p->map_sizes)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_map_sizes; i++) {
		char *name = strdup(o->map_sizes[i].map ? o->map_sizes[i].map : "");
		if (!name)
			return -ENOMEM;
		p->map_sizes[p->n_map_sizes++] =
			(struct eu_map_size){.map = name, .max_entries = o->map_sizes[i].max_entries};
	}
	return 0;
}

static int copy_attach_specs(struct eu_program *p, const struct eu_program_opts *o)
{
	if (!o->n_attach_specs)
		return 0;
	p->attach_specs = calloc(o->n_attach_specs, sizeof(char *));
	if (!p->attach_specs)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_attach_specs; i++)
		if (!(p->attach_specs[p->n_attach_specs++] = strdup(o->attach_specs[i])))
			return -ENOMEM;
	return 0;
}

static void free_specs(struct eu_program *p)
{
	for (size_t i = 0; i < p->n_attach_specs; i++)
		free(p->attach_specs[i]);
	free(p->attach_specs);
	p->attach_specs = NULL;
	p->n_attach_specs = 0;
	for (size_t i = 0; i < p->n_map_sizes; i++)
		free((char *)p->map_sizes[i].map);
	free(p->map_sizes);
	p->map_sizes = NULL;
	p->n_map_sizes = 0;
	program_perf_release(p);
}

int eu_program_open(const struct eu_package *pkg, const struct eu_program_opts *opts_in,
		    struct eu_program **out, eu_error *err)
{
	struct eu_program_opts opts = {0};
	if (opts_in)
		memcpy(&opts, opts_in, opts_in->sz < sizeof(opts) ? opts_in->sz : sizeof(opts));
	*out = NULL;
	const char *pname = pkg->name ? pkg->name : pkg->origin ? pkg->origin : "package";
	if (!pkg->object || !pkg->object_size)
		return eu_error_set(err, -EINVAL,
				    "%s: the package carries no BPF object (metadata only)", pname);

	struct eu_program *p = calloc(1, sizeof(*p));
	if (!p)
		return eu_error_set(err, -ENOMEM, "out of memory");
	p->pkg = pkg;
	eu_features_init(&p->own_features);
	p->features = opts.features ? opts.features : &p->own_features;
	p->perf_freq = opts.perf_sample_freq ? opts.perf_sample_freq : 49;
	if (copy_map_sizes(p, &opts) || copy_attach_specs(p, &opts)) {
		free_specs(p);
		free(p);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}

	/* libbpf must never print on its own: route it before the first call */
	eu_log_route_libbpf();

	struct eu_kbtf_request kreq = {.explicit_path = opts.btf_custom_path,
				       .archive_dir = opts.btf_archive_dir, .cache = opts.kbtf_cache};
	int kret = eu_kbtf_choose(pkg, &kreq, &p->btf_target, err);
	if (kret) {
		eu_error_prefix(err, "%s", pname);
		free_specs(p);
		free(p);
		return kret;
	}
	eu_log(EU_LOG_DEBUG, "%s: CO-RE target: %s%s%s", pname,
	       p->btf_target.source ? p->btf_target.source : "libbpf",
	       p->btf_target.path ? " " : "", p->btf_target.path ? p->btf_target.path : "");
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = pkg->obj_name ? pkg->obj_name : pkg->name,
		    .btf_custom_path = p->btf_target.path);
	char tail[1024];
	struct eu_log_capture cap;
	eu_log_capture_begin(&cap, tail, sizeof(tail));
	p->obj = bpf_object__open_mem(pkg->object, pkg->object_size, &oo);
	int e = p->obj ? 0 : -errno;
	eu_log_capture_end(&cap);
	if (!p->obj) {
		char why[256], line[300];
		last_libbpf_line(tail, line, sizeof(line));
		eu_error_set(err, e ? e : -EINVAL, "%s: cannot open the BPF object: %s%s%s", pname,
			     program_errno_text(e ? e : EINVAL, why, sizeof(why)), *line ? ": " : "",
			     line);
		free_specs(p);
		eu_kbtf_choice_release(&p->btf_target);
		free(p);
		return err ? err->code : -EINVAL;
	}

	int ret = program_check_attach_specs(p, err);
	if (!ret)
		ret = program_perf_specs(p, opts.perf_event_specs, opts.n_perf_event_specs, err);
	if (ret) {
		eu_error_prefix(err, "%s", pname);
		bpf_object__close(p->obj);
		free_specs(p);
		eu_kbtf_choice_release(&p->btf_target);
		free(p);
		return ret;
	}
	const struct btf *btf = bpf_object__btf(p->obj);
	struct eu_params_opts po = {.sz = sizeof(po), .section_data = section_initial_data,
				    .ctx = p->obj};
	ret = eu_params_new(pkg, btf, &po, &p->params, err);
	if (ret) {
		eu_error_prefix(err, "%s", pname);
		bpf_object__close(p->obj);
		free_specs(p);
		eu_kbtf_choice_release(&p->btf_target);
		free(p);
		return ret;
	}
	*out = p;
	return 0;
}

struct eu_params *eu_program_params(struct eu_program *prog)
{
	return prog->params;
}

static int apply_params(struct eu_program *p, eu_error *err)
{
	size_t n = eu_params_count(p->params);
	for (size_t i = 0; i < n; i++) {
		const struct eu_param *prm = eu_params_at(p->params, i);
		if (!prm->set)
			continue;
		/* one pass per section: skip sections an earlier option already wrote */
		bool done = false;
		for (size_t k = 0; k < i && !done; k++) {
			const struct eu_param *q = eu_params_at(p->params, k);
			done = q->set && !strcmp(q->section, prm->section);
		}
		if (done)
			continue;
		struct bpf_map *map = section_map(p->obj, prm->section);
		if (!map)
			return eu_error_set(err, -ENOENT,
					    "option --%s: the object has no %s map for section %s",
					    prm->long_name, prm->section, prm->section);
		size_t size = 0;
		const void *init = bpf_map__initial_value(map, &size);
		if (!init)
			return eu_error_set(err, -EINVAL, "option --%s: section %s cannot be preset",
					    prm->long_name, prm->section);
		void *copy = malloc(size ? size : 1);
		if (!copy)
			return eu_error_set(err, -ENOMEM, "out of memory");
		memcpy(copy, init, size);
		int ret = eu_params_patch_section(p->params, prm->section, copy, size, err);
		if (!ret) {
			ret = bpf_map__set_initial_value(map, copy, size);
			if (ret)
				eu_error_set(err, ret, "section %s: cannot set its initial value",
					     prm->section);
		}
		free(copy);
		if (ret)
			return ret;
	}
	return 0;
}

/* The verifier's log between libbpf's BEGIN/END markers, or NULL. */
static char *extract_verifier_log(const char *log)
{
	static const char begin[] = "-- BEGIN PROG LOAD LOG --";
	static const char end[] = "-- END PROG LOAD LOG --";
	const char *b = NULL;
	for (const char *s = log; (s = strstr(s, begin)); s++)
		b = s;
	if (!b)
		return NULL;
	b += sizeof(begin) - 1;
	if (*b == '\n')
		b++;
	const char *e = strstr(b, end);
	size_t len = e ? (size_t)(e - b) : strlen(b);
	return strndup(b, len);
}

/* The verifier's verdict: its last meaningful lines (not the statistics), joined by " | ". */
static void verifier_reason(const char *vlog, char *out, size_t n)
{
	const char *lines[3] = {0};
	size_t lens[3] = {0};
	size_t count = 0;
	const char *s = vlog + strlen(vlog);
	while (s > vlog && count < 3) {
		const char *end = s;
		while (end > vlog && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		const char *start = end;
		while (start > vlog && start[-1] != '\n')
			start--;
		s = start;
		size_t len = (size_t)(end - start);
		if (!len)
			continue;
		if (!strncmp(start, "processed ", 10) || !strncmp(start, "verification time", 17) ||
		    !strncmp(start, "stack depth", 11) || !strncmp(start, "mark_precise", 12))
			continue;
		lines[count] = start;
		lens[count] = len;
		count++;
		if (start[0] != ' ' && count >= 1 && strchr("0123456789;", start[0]) == NULL)
			break; /* a message line, not an instruction dump: that is the verdict */
	}
	out[0] = '\0';
	size_t used = 0;
	for (size_t i = count; i-- > 0;) {
		int w = snprintf(out + used, n - used, "%s%.*s", used ? " | " : "", (int)lens[i],
				 lines[i]);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
}

bool program_log_last_name(const char *log, const char *prefix, const char *on_line,
			   char *name, size_t n)
{
	const char *hit = NULL;
	size_t pl = strlen(prefix);
	for (const char *s = log; (s = strstr(s, prefix)); s++) {
		size_t line = strcspn(s, "\n");
		const char *m = on_line ? strstr(s, on_line) : s;
		if (m && m < s + line)
			hit = s;
	}
	if (!hit)
		return false;
	hit += pl;
	const char *q = strchr(hit, '\'');
	if (!q || (size_t)(q - hit) >= n)
		return false;
	memcpy(name, hit, (size_t)(q - hit));
	name[q - hit] = '\0';
	return true;
}

/* The program libbpf complained about last ("prog 'NAME': ..."). */
static struct bpf_program *blamed_program(struct bpf_object *obj, const char *log)
{
	char name[128];
	if (!program_log_last_name(log, "prog '", NULL, name, sizeof(name)))
		return NULL;
	return bpf_object__find_program_by_name(obj, name);
}

static int load_error(struct eu_program *p, int e, const char *log, eu_error *err)
{
	char why[128], line[320];
	program_errno_text(e, why, sizeof(why));
	struct bpf_program *bp = blamed_program(p->obj, log);
	const char *pname = bp ? bpf_program__name(bp) : NULL;
	const char *sec = bp ? bpf_program__section_name(bp) : NULL;
	char *vlog = extract_verifier_log(log);
	if (vlog) {
		free(p->load_log);
		p->load_log = vlog;
	}
	if (program_map_error(p, e, log, err))
		return e;
	int feature = eu_program_section_feature(sec);
	if (bp && (e == -EPERM || e == -EOPNOTSUPP) &&
	    (feature == EU_FEATURE_FENTRY || feature == EU_FEATURE_LSM)) {
		char kind[32];
		program_section_kind(sec, kind, sizeof(kind));
		return eu_error_set(err, e, "program %s (%s): %s programs are not permitted on this kernel (%s)",
				    pname, sec, kind, strerrorname_np(-e));
	}
	if (vlog && *vlog) {
		char reason[300];
		verifier_reason(vlog, reason, sizeof(reason));
		if (bp)
			return eu_error_set(err, e, "program %s (%s): rejected by the verifier (%s): %s",
					    pname, sec, why, reason);
		return eu_error_set(err, e, "a program was rejected by the verifier (%s): %s", why,
				    reason);
	}
	last_libbpf_line(log, line, sizeof(line));
	if (bp)
		return eu_error_set(err, e, "program %s (%s): cannot load: %s%s%s", pname, sec, why,
				    *line ? "; libbpf: " : "", line);
	return eu_error_set(err, e, "cannot load the BPF object: %s%s%s", why,
			    *line ? "; libbpf: " : "", line);
}

static void clear_choices(struct eu_program *p)
{
	for (size_t i = 0; i < p->n_choices; i++)
		free((char *)p->choices[i].reason);
	p->n_choices = 0;
}

int eu_program_load(struct eu_program *p, eu_error *err)
{
	if (p->loaded)
		return 0;
	clear_choices(p);
	/* before anything touches tracefs or the kernel: say which capability is missing */
	struct eu_privileges priv;
	eu_privileges_current(&priv);
	int ret = eu_privileges_check(&priv, eu_privileges_needed(p->obj), err);
	if (ret)
		return ret;
	ret = program_choose_alternatives(p, err);
	if (!ret)
		ret = program_choose_hooks(p, err);
	program_target_release(p);
	if (!ret)
		ret = program_size_maps(p, err);
	if (!ret)
		ret = apply_params(p, err);
	if (ret)
		return ret;
	char *tail = malloc(LOAD_LOG_TAIL);
	if (!tail)
		return eu_error_set(err, -ENOMEM, "out of memory");
	struct eu_log_capture cap;
	eu_log_capture_begin(&cap, tail, LOAD_LOG_TAIL);
	ret = bpf_object__load(p->obj);
	eu_log_capture_end(&cap);
	if (ret) {
		if (ret > 0)
			ret = -ret;
		load_error(p, ret, tail, err);
		free(tail);
		return err ? err->code : ret;
	}
	free(tail);
	eu_kbtf_choice_release(&p->btf_target);
	p->loaded = true;
	return 0;
}

struct bpf_object *eu_program_object(const struct eu_program *prog)
{
	return prog->obj;
}

const struct eu_package *eu_program_package(const struct eu_program *prog)
{
	return prog->pkg;
}

const char *eu_program_name(const struct eu_program *prog)
{
	const struct eu_package *pkg = prog->pkg;
	return pkg->name ? pkg->name : pkg->obj_name ? pkg->obj_name : "package";
}

size_t eu_program_attached_count(const struct eu_program *prog)
{
	return prog->attached_programs;
}

const char *eu_program_load_log(const struct eu_program *prog)
{
	return prog->load_log ? prog->load_log : "";
}

void eu_program_close(struct eu_program *prog)
{
	if (!prog)
		return;
	eu_program_detach(prog);
	free(prog->att);
	eu_params_free(prog->params);
	bpf_object__close(prog->obj);
	eu_kbtf_choice_release(&prog->btf_target);
	free(prog->load_log);
	clear_choices(prog);
	free(prog->choices);
	free_specs(prog);
	program_target_release(prog);
	free(prog);
}
