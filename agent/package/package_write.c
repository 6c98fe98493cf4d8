/* Writing packages in upstream's shape: the skeleton meta ({"bpf_skel": ..., "export_types":
 * ...}) and the envelope around the zlib+base64 object. Keys go in upstream's (sorted) order
 * and optional keys appear only when set, so our files diff cleanly against upstream's. */
#include "eunomia/package.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "core/codec.h"

#define EU_META_VERSION "0.3.4"

/* True when s is a JSON number literal (so it can be written raw, keeping 64-bit values
 * exact instead of going through a double). */
static bool is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	if (*s == '0' && isdigit((unsigned char)s[1]))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* True for an integer literal a double holds exactly (|v| <= 2^53 - 1): readers keep JSON
 * numbers as doubles, so larger ones must travel as strings to keep their digits. */
static bool fits_double(const char *s)
{
	if (*s == '-')
		s++;
	if (strpbrk(s, ".eE"))
		return true; /* not an integer: it was written as a fraction */
	while (*s == '0' && s[1])
		s++;
	size_t n = strlen(s);
	return n < 16 || (n == 16 && strcmp(s, "9007199254740991") <= 0);
}

/* A preset or default kept as text in the package, as the JSON value it came from: strings
 * for char arrays, booleans for bool, numbers where the text is one (and a double keeps it
 * exactly), else a string. */
static cJSON *scalar_from_text(const char *text, const char *type)
{
	bool is_char_array = type && strncmp(type, "char[", 5) == 0;
	if (!is_char_array) {
		if (strcmp(text, "true") == 0)
			return cJSON_CreateTrue();
		if (strcmp(text, "false") == 0)
			return cJSON_CreateFalse();
		if (is_json_number(text) && fits_double(text))
			return cJSON_CreateRaw(text);
	}
	return cJSON_CreateString(text);
}

/* cJSON reports allocation failure by returning NULL from every constructor; we collect
 * that in one flag instead of checking each call. */
struct writer {
	bool oom;
};

static cJSON *add_obj(struct writer *w, cJSON *parent, const char *key)
{
	cJSON *o = cJSON_AddObjectToObject(parent, key);
	w->oom |= !o;
	return o;
}

static cJSON *add_arr(struct writer *w, cJSON *parent, const char *key)
{
	cJSON *a = cJSON_AddArrayToObject(parent, key);
	w->oom |= !a;
	return a;
}

static void add_str(struct writer *w, cJSON *o, const char *key, const char *s)
{
	if (o && s)
		w->oom |= !cJSON_AddStringToObject(o, key, s);
}

static void add_num(struct writer *w, cJSON *o, const char *key, double v)
{
	if (o)
		w->oom |= !cJSON_AddNumberToObject(o, key, v);
}

static void add_bool(struct writer *w, cJSON *o, const char *key, bool v)
{
	if (o)
		w->oom |= !cJSON_AddBoolToObject(o, key, v);
}

static void add_item(struct writer *w, cJSON *o, const char *key, cJSON *item)
{
	if (!item) {
		w->oom = true;
		return;
	}
	if (!o || !cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		w->oom = true;
	}
}

static cJSON *push_obj(struct writer *w, cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !arr || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		w->oom = true;
		return NULL;
	}
	return o;
}

static void write_var(struct writer *w, cJSON *vars, const struct eu_var_meta *v)
{
	cJSON *o = push_obj(w, vars);
	const struct eu_cmdarg *ca = &v->cmdarg;
	if (ca->long_name || ca->short_name || ca->help || ca->default_text) {
		cJSON *c = add_obj(w, o, "cmdarg");
		if (ca->default_text)
			add_item(w, c, "default", scalar_from_text(ca->default_text, v->type));
		add_str(w, c, "help", ca->help);
		add_str(w, c, "long", ca->long_name);
		add_str(w, c, "short", ca->short_name);
	}
	add_str(w, o, "description", v->description);
	add_str(w, o, "name", v->name);
	add_str(w, o, "type", v->type);
	if (v->value_text)
		add_item(w, o, "value", scalar_from_text(v->value_text, v->type));
}

static const char *sample_type_name(enum eu_sample_type t)
{
	switch (t) {
	case EU_SAMPLE_LOG2_HIST:
		return "log2_hist";
	case EU_SAMPLE_LINEAR_HIST:
		return "linear_hist";
	case EU_SAMPLE_DEFAULT_KV:
		return "default_kv";
	default:
		return NULL;
	}
}

static void write_export_config(struct writer *w, cJSON *o, const struct eu_map_meta *m)
{
	switch (m->export_config.kind) {
	case EU_EXPORT_NO:
		add_str(w, o, "export_config", "no_export");
		break;
	case EU_EXPORT_DEFAULT:
		add_str(w, o, "export_config", "default");
		break;
	case EU_EXPORT_TYPE_ID: {
		cJSON *c = add_obj(w, o, "export_config");
		add_num(w, c, "btf_type_id", m->export_config.btf_type_id);
		break;
	}
	case EU_EXPORT_CUSTOM: {
		cJSON *c = add_obj(w, o, "export_config");
		cJSON *arr = add_arr(w, c, "custom_members");
		for (size_t i = 0; i < m->export_config.n_members; i++) {
			const struct eu_custom_member *cm = &m->export_config.members[i];
			cJSON *e = push_obj(w, arr);
			add_num(w, e, "btf_type_id", cm->btf_type_id);
			add_str(w, e, "name", cm->name);
			add_num(w, e, "offset", cm->offset);
		}
		break;
	}
	default:
		break;
	}
}

static void write_map(struct writer *w, cJSON *maps, const struct eu_map_meta *m)
{
	cJSON *o = push_obj(w, maps);
	write_export_config(w, o, m);
	add_str(w, o, "ident", m->ident);
	if (m->stack_trace) {
		cJSON *in = add_obj(w, o, "intepreter");
		cJSON *st = add_obj(w, in, "stack_trace");
		add_bool(w, st, "with_symbols", m->stack_trace_symbols);
	}
	if (m->mmaped)
		add_bool(w, o, "mmaped", true);
	add_str(w, o, "name", m->name);
	const char *st = sample_type_name(m->sample.type);
	if (st) {
		cJSON *s = add_obj(w, o, "sample");
		if (m->sample.clear_map)
			add_bool(w, s, "clear_map", true);
		add_num(w, s, "interval", m->sample.interval_ms);
		add_str(w, s, "type", st);
		if (m->sample.unit && strcmp(m->sample.unit, "(unit)") != 0)
			add_str(w, s, "unit", m->sample.unit);
	}
}

static bool attach_is(const char *attach, const char *kind)
{
	size_t n = strlen(kind);
	return strncmp(attach, kind, n) == 0 &&
	       (attach[n] == '\0' || attach[n] == '/' || attach[n] == '.');
}

static void write_prog(struct writer *w, cJSON *progs, const struct eu_prog_meta *p)
{
	cJSON *o = push_obj(w, progs);
	const char *a = p->attach ? p->attach : "";
	bool tc = attach_is(a, "tc") || attach_is(a, "classifier");
	bool xdp = attach_is(a, "xdp");
	add_str(w, o, "attach", p->attach);
	if (p->perf_event.set) {
		char spec[EU_PERF_EVENT_SPEC_MAX + 1];
		add_str(w, o, "eu_perf_event", eu_perf_event_format(&p->perf_event, spec, sizeof(spec)));
	}
	if (xdp) {
		add_num(w, o, "flags", p->xdp.flags);
		add_num(w, o, "ifindex", p->xdp.ifindex);
	}
	add_bool(w, o, "link", p->link);
	add_str(w, o, "name", p->name);
	if (tc) {
		cJSON *h = add_obj(w, o, "tchook");
		add_str(w, h, "attach_point",
			p->tc.attach_point == BPF_TC_EGRESS ? "BPF_TC_EGRESS" : "BPF_TC_INGRESS");
		add_num(w, h, "ifindex", p->tc.ifindex);
		cJSON *t = add_obj(w, o, "tcopts");
		add_num(w, t, "handle", p->tc.handle);
		add_num(w, t, "priority", p->tc.priority);
	}
	if (xdp) {
		cJSON *x = add_obj(w, o, "xdpopts");
		add_num(w, x, "old_prog_fd", p->xdp.old_prog_fd);
	}
}

static void write_doc(struct writer *w, cJSON *skel, const struct eu_doc *d)
{
	if (!d->brief && !d->description && !d->details && !d->version)
		return;
	cJSON *o = add_obj(w, skel, "doc");
	add_str(w, o, "brief", d->brief);
	add_str(w, o, "description", d->description);
	add_str(w, o, "details", d->details);
	add_str(w, o, "version", d->version);
}

static void write_export_type(struct writer *w, cJSON *arr, const struct eu_export_type *t)
{
	cJSON *o = push_obj(w, arr);
	cJSON *members = add_arr(w, o, "members");
	for (size_t i = 0; i < t->n_members; i++) {
		cJSON *m = push_obj(w, members);
		add_str(w, m, "name", t->members[i].name);
		add_str(w, m, "type", t->members[i].type);
	}
	add_str(w, o, "name", t->name);
	add_num(w, o, "size", t->size);
	add_num(w, o, "type_id", t->type_id);
}

static cJSON *build_meta(const struct eu_package *pkg, struct writer *w)
{
	cJSON *root = cJSON_CreateObject();
	if (!root) {
		w->oom = true;
		return NULL;
	}
	cJSON *skel = add_obj(w, root, "bpf_skel");

	cJSON *secs = add_arr(w, skel, "data_sections");
	for (size_t i = 0; i < pkg->n_sections; i++) {
		const struct eu_section_meta *s = &pkg->sections[i];
		cJSON *so = push_obj(w, secs);
		add_str(w, so, "name", s->name);
		cJSON *vars = add_arr(w, so, "variables");
		for (size_t j = 0; j < s->n_vars; j++)
			write_var(w, vars, &s->vars[j]);
	}
	write_doc(w, skel, &pkg->doc);
	cJSON *maps = add_arr(w, skel, "maps");
	for (size_t i = 0; i < pkg->n_maps; i++)
		write_map(w, maps, &pkg->maps[i]);
	add_str(w, skel, "obj_name", pkg->obj_name);
	cJSON *progs = add_arr(w, skel, "progs");
	for (size_t i = 0; i < pkg->n_progs; i++)
		write_prog(w, progs, &pkg->progs[i]);

	if (!pkg->print_header)
		add_bool(w, root, "print_header", false);
	if (pkg->debug_verbose)
		add_bool(w, root, "debug_verbose", true);
	if (pkg->multiple_export)
		add_bool(w, root, "enable_multiple_export_types", true);
	add_str(w, root, "eunomia_version",
		pkg->eunomia_version ? pkg->eunomia_version : EU_META_VERSION);
	if (pkg->n_export_types) {
		cJSON *et = add_arr(w, root, "export_types");
		for (size_t i = 0; i < pkg->n_export_types; i++)
			write_export_type(w, et, &pkg->export_types[i]);
	}
	if (pkg->perf_buffer_pages && pkg->perf_buffer_pages != 64)
		add_num(w, root, "perf_buffer_pages", pkg->perf_buffer_pages);
	if (pkg->perf_buffer_time_ms && pkg->perf_buffer_time_ms != 10)
		add_num(w, root, "perf_buffer_time_ms", pkg->perf_buffer_time_ms);
	if (pkg->poll_timeout_ms && pkg->poll_timeout_ms != 100)
		add_num(w, root, "poll_timeout_ms", pkg->poll_timeout_ms);
	return root;
}

static char *print_json(cJSON *root, struct writer *w, eu_error *err, const char *what)
{
	char *text = (root && !w->oom) ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text)
		eu_error_set(err, -ENOMEM, "out of memory writing the %s", what);
	return text;
}

char *eu_package_meta_json(const struct eu_package *pkg, eu_error *err)
{
	if (!pkg || !pkg->obj_name) {
		eu_error_set(err, -EINVAL, "cannot write a meta without obj_name");
		return NULL;
	}
	struct writer w = {0};
	cJSON *root = build_meta(pkg, &w);
	return print_json(root, &w, err, "skeleton meta");
}

char *eu_package_envelope_json(const struct eu_package *pkg, eu_error *err)
{
	if (!pkg || !pkg->obj_name) {
		eu_error_set(err, -EINVAL, "cannot write a package without obj_name");
		return NULL;
	}
	if (!pkg->object || !pkg->object_size) {
		eu_error_set(err, -EINVAL, "%s: cannot write a package without its BPF object",
			     pkg->obj_name);
		return NULL;
	}
	void *z = NULL;
	size_t zlen = 0;
	/* zlib's default level, as upstream: its base64 then starts "eJ", which readers sniff */
	if (eu_zlib_deflate(pkg->object, pkg->object_size, -1, &z, &zlen, err) < 0) {
		eu_error_prefix(err, "%s: compressing the BPF object", pkg->obj_name);
		return NULL;
	}
	char *b64 = eu_base64_encode(z, zlen, 0, NULL);
	free(z);
	if (!b64) {
		eu_error_set(err, -ENOMEM, "out of memory encoding the BPF object");
		return NULL;
	}

	struct writer w = {0};
	cJSON *root = cJSON_CreateObject();
	w.oom |= !root;
	add_str(&w, root, "bpf_object", b64);
	free(b64);
	add_num(&w, root, "bpf_object_size", (double)pkg->object_size);
	cJSON *meta = build_meta(pkg, &w);
	add_item(&w, root, "meta", meta);
	return print_json(root, &w, err, "package");
}
