/* The package reader: format detection, the package.json envelope and its skeleton meta,
 * NAME.skel.json + NAME.bpf.o pairs, and freeing. The legacy format is in package_legacy.c,
 * BTF checks in package_btf.c, typed JSON access in package_json.c. */
#include "package_priv.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/codec.h"
#include "core/file.h"
#include "tar_reader.h"

static const char eu_dummy_prefix[] = "__eunomia_dummy";

/* ---- the object inside a package ---- */

int eu_pkg_check_elf(const void *data, size_t size, char *why, size_t why_len)
{
	const unsigned char *p = data;
	if (size < 4 || memcmp(p, ELFMAG, SELFMAG) != 0) {
		snprintf(why, why_len, "not an ELF file");
		return -EINVAL;
	}
	if (size < sizeof(Elf64_Ehdr)) {
		snprintf(why, why_len, "a truncated ELF file (%zu bytes)", size);
		return -EINVAL;
	}
	if (p[EI_CLASS] != ELFCLASS64) {
		snprintf(why, why_len, "a 32-bit ELF file, not a BPF object");
		return -EINVAL;
	}
	unsigned machine;
	if (p[EI_DATA] == ELFDATA2LSB) {
		machine = p[18] | p[19] << 8;
	} else if (p[EI_DATA] == ELFDATA2MSB) {
		machine = p[18] << 8 | p[19];
	} else {
		snprintf(why, why_len, "an ELF file of unknown byte order");
		return -EINVAL;
	}
	if (machine != EM_BPF) {
		snprintf(why, why_len, "an ELF file for machine %u, not BPF (e_machine %u)", machine,
			 EM_BPF);
		return -EINVAL;
	}
	return eu_pkg_check_elf_layout(data, size, why, why_len);
}

static void describe_start(const uint8_t *p, size_t n, char *out, size_t size)
{
	size_t k = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && i < 4 && k + 6 < size; i++)
		k += (size_t)snprintf(out + k, size - k, "%s0x%02x", i ? " " : "", p[i]);
}

int eu_pkg_decode_object(struct eu_pj *c, const char *key, const char *text, size_t len,
			 bool has_declared, uint64_t declared, void **obj, size_t *obj_size)
{
	*obj = NULL;
	*obj_size = 0;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int rc = eu_base64_decode(text, len, &raw, &raw_len, c->err);
	if (rc)
		return eu_pj_fail_key(c, key, rc, "%s", c->err->msg);
	if (raw_len == 0) {
		free(raw);
		return eu_pj_fail_key(c, key, -EINVAL, "the object is empty");
	}

	void *elf = NULL;
	size_t elf_len = 0;
	if (raw_len >= SELFMAG && memcmp(raw, ELFMAG, SELFMAG) == 0) {
		/* plain base64 of the ELF, as the legacy format and some hand-made files have */
		elf = raw;
		elf_len = raw_len;
		if (has_declared && declared != elf_len) {
			free(raw);
			return eu_pj_fail_key(c, key, -EINVAL,
					      "the object is %zu bytes but its declared size is %llu",
					      elf_len, (unsigned long long)declared);
		}
	} else if (eu_zlib_looks_like(raw, raw_len)) {
		if (has_declared && declared == 0) {
			free(raw);
			return eu_pj_fail_key(c, key, -EINVAL, "the declared object size is 0");
		}
		rc = eu_zlib_inflate(raw, raw_len, EU_OBJECT_MAX_BYTES, (size_t)declared, &elf,
				     &elf_len, c->err);
		free(raw);
		if (rc)
			return eu_pj_fail_key(c, key, rc, "zlib: %s", c->err->msg);
	} else {
		char start[40];
		describe_start(raw, raw_len, start, sizeof(start));
		free(raw);
		return eu_pj_fail_key(c, key, -EINVAL,
				      "neither zlib data nor an ELF object after base64 decoding "
				      "(it starts %s)",
				      start);
	}

	char why[96];
	rc = eu_pkg_check_elf(elf, elf_len, why, sizeof(why));
	if (rc) {
		free(elf);
		return eu_pj_fail_key(c, key, rc, "the decoded object is %s", why);
	}
	*obj = elf;
	*obj_size = elf_len;
	return 0;
}

/* ---- the skeleton meta ---- */

static int parse_doc(struct eu_pj *c, const cJSON *skel, struct eu_doc *doc)
{
	const cJSON *d;
	int rc = eu_pj_object(c, skel, "doc", false, &d);
	if (rc || !d)
		return rc;
	size_t mark = eu_pj_push_key(c, "doc");
	if ((rc = eu_pj_string(c, d, "version", false, &doc->version)) ||
	    (rc = eu_pj_string(c, d, "brief", false, &doc->brief)) ||
	    (rc = eu_pj_string(c, d, "details", false, &doc->details)) ||
	    (rc = eu_pj_string(c, d, "description", false, &doc->description)))
		return rc;
	eu_pj_pop(c, mark);
	return 0;
}

static int parse_cmdarg(struct eu_pj *c, const cJSON *v, struct eu_cmdarg *arg)
{
	const cJSON *a;
	int rc = eu_pj_object(c, v, "cmdarg", false, &a);
	if (rc || !a)
		return rc;
	size_t mark = eu_pj_push_key(c, "cmdarg");
	if ((rc = eu_pj_scalar_text(c, a, "default", &arg->default_text)) ||
	    (rc = eu_pj_string(c, a, "long", false, &arg->long_name)) ||
	    (rc = eu_pj_string(c, a, "short", false, &arg->short_name)) ||
	    (rc = eu_pj_string(c, a, "help", false, &arg->help)))
		return rc;
	if (arg->short_name && strlen(arg->short_name) != 1)
		return eu_pj_fail_key(c, "short", -EINVAL, "expected one character, got \"%s\"",
				      arg->short_name);
	eu_pj_pop(c, mark);
	return 0;
}

static int parse_var(struct eu_pj *c, const cJSON *v, void *item)
{
	struct eu_var_meta *var = item;
	int rc;
	if ((rc = eu_pj_expect_object(c, v)) || (rc = eu_pj_string(c, v, "name", true, &var->name)) ||
	    (rc = eu_pj_string(c, v, "type", true, &var->type)) ||
	    (rc = eu_pj_string(c, v, "description", false, &var->description)) ||
	    (rc = eu_pj_scalar_text(c, v, "value", &var->value_text)) ||
	    (rc = parse_cmdarg(c, v, &var->cmdarg)))
		return rc;
	var->dummy = strncmp(var->name, eu_dummy_prefix, sizeof(eu_dummy_prefix) - 1) == 0;
	return 0;
}

static int parse_section(struct eu_pj *c, const cJSON *s, void *item)
{
	struct eu_section_meta *sec = item;
	void *vars = NULL;
	int rc;
	if ((rc = eu_pj_expect_object(c, s)) || (rc = eu_pj_string(c, s, "name", true, &sec->name)))
		return rc;
	rc = eu_pj_parse_array(c, s, "variables", false, sizeof(*sec->vars), &vars, &sec->n_vars,
			 parse_var);
	sec->vars = vars;
	return rc;
}

static int parse_sample(struct eu_pj *c, const cJSON *m, struct eu_map_meta *map)
{
	const cJSON *s;
	int rc = eu_pj_object(c, m, "sample", false, &s);
	if (rc || !s)
		return rc;
	size_t mark = eu_pj_push_key(c, "sample");
	const char *type;
	if ((rc = eu_pj_u32(c, s, "interval", true, 0, &map->sample.interval_ms)) ||
	    (rc = eu_pj_cstr(c, s, "type", false, &type)) ||
	    (rc = eu_pj_string(c, s, "unit", false, &map->sample.unit)) ||
	    (rc = eu_pj_bool(c, s, "clear_map", false, &map->sample.clear_map)))
		return rc;
	if (!type || strcmp(type, "default_kv") == 0)
		map->sample.type = EU_SAMPLE_DEFAULT_KV;
	else if (strcmp(type, "log2_hist") == 0)
		map->sample.type = EU_SAMPLE_LOG2_HIST;
	else if (strcmp(type, "linear_hist") == 0)
		map->sample.type = EU_SAMPLE_LINEAR_HIST;
	else
		return eu_pj_fail_key(c, "type", -EINVAL,
				      "unknown sample type \"%s\" (expected log2_hist, linear_hist "
				      "or default_kv)",
				      type);
	if (!map->sample.unit && !(map->sample.unit = eu_pj_strdup(c, "(unit)")))
		return -ENOMEM;
	eu_pj_pop(c, mark);
	return 0;
}

static int parse_custom_member(struct eu_pj *c, const cJSON *e, void *item)
{
	struct eu_custom_member *cm = item;
	int rc;
	if ((rc = eu_pj_expect_object(c, e)) || (rc = eu_pj_string(c, e, "name", true, &cm->name)) ||
	    (rc = eu_pj_u32(c, e, "offset", true, 0, &cm->offset)) ||
	    (rc = eu_pj_u32(c, e, "btf_type_id", true, 0, &cm->btf_type_id)))
		return rc;
	return 0;
}

static int parse_export_config(struct eu_pj *c, const cJSON *m, struct eu_map_meta *map)
{
	static const char expected[] = "expected \"no_export\", \"default\", {\"btf_type_id\": N} "
				       "or {\"custom_members\": [...]}";
	const cJSON *x = eu_pj_get(m, "export_config");
	if (!x)
		return 0;
	if (cJSON_IsString(x) && x->valuestring) {
		if (strcmp(x->valuestring, "no_export") == 0)
			map->export_config.kind = EU_EXPORT_NO;
		else if (strcmp(x->valuestring, "default") == 0)
			map->export_config.kind = EU_EXPORT_DEFAULT;
		else
			return eu_pj_fail_key(c, "export_config", -EINVAL, "unknown value \"%s\": %s",
					      x->valuestring, expected);
		return 0;
	}
	if (!cJSON_IsObject(x))
		return eu_pj_fail_key(c, "export_config", -EINVAL, "%s, got %s", expected,
				      eu_pj_type_name(x));
	size_t mark = eu_pj_push_key(c, "export_config");
	int rc;
	if (eu_pj_get(x, "btf_type_id")) {
		map->export_config.kind = EU_EXPORT_TYPE_ID;
		rc = eu_pj_u32(c, x, "btf_type_id", true, 0, &map->export_config.btf_type_id);
	} else if (eu_pj_get(x, "custom_members")) {
		void *members = NULL;
		map->export_config.kind = EU_EXPORT_CUSTOM;
		rc = eu_pj_parse_array(c, x, "custom_members", true, sizeof(struct eu_custom_member),
				 &members, &map->export_config.n_members, parse_custom_member);
		map->export_config.members = members;
	} else {
		rc = eu_pj_fail(c, -EINVAL, "%s", expected);
	}
	if (rc)
		return rc;
	eu_pj_pop(c, mark);
	return 0;
}

/* "intepreter" (sic, upstream's spelling; the correct spelling is accepted too) */
static int parse_interpreter(struct eu_pj *c, const cJSON *m, struct eu_map_meta *map)
{
	const char *key = "intepreter";
	const cJSON *x = eu_pj_get(m, key);
	if (!x) {
		key = "interpreter";
		x = eu_pj_get(m, key);
	}
	if (!x)
		return 0;
	if (cJSON_IsString(x) && x->valuestring) {
		if (strcmp(x->valuestring, "default_struct") == 0)
			return 0;
		return eu_pj_fail_key(c, key, -EINVAL,
				      "unknown interpreter \"%s\" (expected \"default_struct\" or "
				      "{\"stack_trace\": {...}})",
				      x->valuestring);
	}
	if (!cJSON_IsObject(x))
		return eu_pj_type_error(c, key, "a string or an object", x);
	size_t mark = eu_pj_push_key(c, key);
	const cJSON *st;
	int rc = eu_pj_object(c, x, "stack_trace", true, &st);
	if (rc)
		return rc;
	map->stack_trace = true;
	size_t smark = eu_pj_push_key(c, "stack_trace");
	if ((rc = eu_pj_bool(c, st, "with_symbols", true, &map->stack_trace_symbols)))
		return rc;
	eu_pj_pop(c, smark);
	eu_pj_pop(c, mark);
	return 0;
}

static int parse_map(struct eu_pj *c, const cJSON *m, void *item)
{
	struct eu_map_meta *map = item;
	int rc;
	if ((rc = eu_pj_expect_object(c, m)) || (rc = eu_pj_string(c, m, "name", true, &map->name)) ||
	    (rc = eu_pj_string(c, m, "ident", false, &map->ident)) ||
	    (rc = eu_pj_bool(c, m, "mmaped", false, &map->mmaped)) ||
	    (rc = parse_sample(c, m, map)) || (rc = parse_export_config(c, m, map)) ||
	    (rc = parse_interpreter(c, m, map)))
		return rc;
	/* upstream requires ident; a hand-written meta without one means the libbpf name */
	if (!map->ident && !(map->ident = eu_pj_strdup(c, map->name)))
		return -ENOMEM;
	return 0;
}

static int parse_tc(struct eu_pj *c, const cJSON *p, struct eu_prog_meta *prog)
{
	const cJSON *hook, *opts;
	int rc;
	if ((rc = eu_pj_object(c, p, "tchook", false, &hook)) ||
	    (rc = eu_pj_object(c, p, "tcopts", false, &opts)))
		return rc;
	if (hook) {
		size_t mark = eu_pj_push_key(c, "tchook");
		const char *point;
		if ((rc = eu_pj_int(c, hook, "ifindex", 1, &prog->tc.ifindex)) ||
		    (rc = eu_pj_cstr(c, hook, "attach_point", false, &point)))
			return rc;
		if (!point || strcmp(point, "BPF_TC_INGRESS") == 0)
			prog->tc.attach_point = BPF_TC_INGRESS;
		else if (strcmp(point, "BPF_TC_EGRESS") == 0)
			prog->tc.attach_point = BPF_TC_EGRESS;
		else if (strcmp(point, "BPF_TC_CUSTOM") == 0)
			return eu_pj_fail_key(c, "attach_point", -ENOTSUP,
					      "BPF_TC_CUSTOM is not supported (use BPF_TC_INGRESS "
					      "or BPF_TC_EGRESS)");
		else
			return eu_pj_fail_key(c, "attach_point", -EINVAL,
					      "unknown attach point \"%s\" (expected BPF_TC_INGRESS "
					      "or BPF_TC_EGRESS)",
					      point);
		eu_pj_pop(c, mark);
	}
	if (opts) {
		size_t mark = eu_pj_push_key(c, "tcopts");
		if ((rc = eu_pj_u32(c, opts, "handle", false, 1, &prog->tc.handle)) ||
		    (rc = eu_pj_u32(c, opts, "priority", false, 1, &prog->tc.priority)))
			return rc;
		eu_pj_pop(c, mark);
	}
	return 0;
}

/* "eu_perf_event": "EVENT[:period=N|:freq=HZ]", ours: the event a perf_event program samples
 * on (upstream always samples cpu-clock and ignores the key). */
static int parse_perf_event(struct eu_pj *c, const cJSON *p, struct eu_prog_meta *prog)
{
	const char *spec;
	int rc = eu_pj_cstr(c, p, "eu_perf_event", false, &spec);
	if (rc || !spec)
		return rc;
	if (prog->attach && strncmp(prog->attach, "perf_event", 10) != 0)
		return eu_pj_fail_key(c, "eu_perf_event", -EINVAL,
				      "program %s is attached as \"%s\": only perf_event programs "
				      "take an event",
				      prog->name, prog->attach);
	eu_error perr = {0};
	if (eu_perf_event_parse(spec, &prog->perf_event, &perr))
		return eu_pj_fail_key(c, "eu_perf_event", perr.code, "%s", perr.msg);
	return 0;
}

static int parse_prog(struct eu_pj *c, const cJSON *p, void *item)
{
	struct eu_prog_meta *prog = item;
	int rc;
	prog->tc.ifindex = 1;
	prog->tc.attach_point = BPF_TC_INGRESS;
	prog->tc.handle = 1;
	prog->tc.priority = 1;
	if ((rc = eu_pj_expect_object(c, p)) || (rc = eu_pj_string(c, p, "name", true, &prog->name)) ||
	    (rc = eu_pj_string(c, p, "attach", true, &prog->attach)) ||
	    (rc = eu_pj_bool(c, p, "link", true, &prog->link)) || (rc = parse_tc(c, p, prog)) ||
	    (rc = eu_pj_int(c, p, "ifindex", 1, &prog->xdp.ifindex)) ||
	    (rc = eu_pj_u32(c, p, "flags", false, 0, &prog->xdp.flags)))
		return rc;
	if ((rc = parse_perf_event(c, p, prog)))
		return rc;
	const cJSON *xo;
	if ((rc = eu_pj_object(c, p, "xdpopts", false, &xo)))
		return rc;
	if (xo) {
		size_t mark = eu_pj_push_key(c, "xdpopts");
		if ((rc = eu_pj_int(c, xo, "old_prog_fd", 0, &prog->xdp.old_prog_fd)))
			return rc;
		eu_pj_pop(c, mark);
	}
	return 0;
}

static int parse_member(struct eu_pj *c, const cJSON *e, void *item)
{
	struct eu_member_meta *mem = item;
	int rc;
	if ((rc = eu_pj_expect_object(c, e)) || (rc = eu_pj_string(c, e, "name", true, &mem->name)) ||
	    (rc = eu_pj_string(c, e, "type", true, &mem->type)))
		return rc;
	return 0;
}

static int parse_export_type(struct eu_pj *c, const cJSON *e, void *item)
{
	struct eu_export_type *t = item;
	void *members = NULL;
	int rc;
	if ((rc = eu_pj_expect_object(c, e)) || (rc = eu_pj_string(c, e, "name", true, &t->name)) ||
	    (rc = eu_pj_u32(c, e, "type_id", true, 0, &t->type_id)) ||
	    (rc = eu_pj_u32(c, e, "size", false, 0, &t->size)))
		return rc;
	rc = eu_pj_parse_array(c, e, "members", true, sizeof(*t->members), &members, &t->n_members,
			 parse_member);
	t->members = members;
	return rc;
}

static char *derive_name(struct eu_pj *c, const char *obj_name)
{
	size_t n = strlen(obj_name);
	if (n > 4 && strcmp(obj_name + n - 4, "_bpf") == 0)
		n -= 4;
	char *s = strndup(obj_name, n);
	if (!s)
		eu_pj_fail(c, -ENOMEM, "out of memory");
	return s;
}

/* meta is the object at the current path: {"bpf_skel": ..., "export_types": ..., ...} */
static int parse_meta(struct eu_pj *c, const cJSON *meta, struct eu_package *pkg)
{
	const cJSON *skel;
	void *items;
	int rc;
	if ((rc = eu_pj_object(c, meta, "bpf_skel", true, &skel)))
		return rc;

	size_t mark = eu_pj_push_key(c, "bpf_skel");
	if ((rc = eu_pj_string(c, skel, "obj_name", true, &pkg->obj_name)) ||
	    (rc = parse_doc(c, skel, &pkg->doc)))
		return rc;
	rc = eu_pj_parse_array(c, skel, "data_sections", false, sizeof(*pkg->sections), &items,
			 &pkg->n_sections, parse_section);
	pkg->sections = items;
	if (rc)
		return rc;
	rc = eu_pj_parse_array(c, skel, "maps", false, sizeof(*pkg->maps), &items, &pkg->n_maps,
			 parse_map);
	pkg->maps = items;
	if (rc)
		return rc;
	rc = eu_pj_parse_array(c, skel, "progs", false, sizeof(*pkg->progs), &items, &pkg->n_progs,
			 parse_prog);
	pkg->progs = items;
	if (rc)
		return rc;
	eu_pj_pop(c, mark);

	rc = eu_pj_parse_array(c, meta, "export_types", false, sizeof(*pkg->export_types), &items,
			 &pkg->n_export_types, parse_export_type);
	pkg->export_types = items;
	if (rc ||
	    (rc = eu_pj_string(c, meta, "eunomia_version", false, &pkg->eunomia_version)) ||
	    (rc = eu_pj_u32(c, meta, "poll_timeout_ms", false, 100, &pkg->poll_timeout_ms)) ||
	    (rc = eu_pj_u32(c, meta, "perf_buffer_pages", false, 64, &pkg->perf_buffer_pages)) ||
	    (rc = eu_pj_u32(c, meta, "perf_buffer_time_ms", false, 10,
			    &pkg->perf_buffer_time_ms)) ||
	    (rc = eu_pj_bool(c, meta, "print_header", true, &pkg->print_header)) ||
	    (rc = eu_pj_bool(c, meta, "debug_verbose", false, &pkg->debug_verbose)) ||
	    (rc = eu_pj_bool(c, meta, "enable_multiple_export_types", false,
			     &pkg->multiple_export)))
		return rc;
	if (!(pkg->name = derive_name(c, pkg->obj_name)))
		return -ENOMEM;
	return 0;
}

/* {"bpf_object": "...", "bpf_object_size": N, "meta": {...}}; an envelope without
 * bpf_object (the compat corpus) is META_ONLY. */
static int parse_envelope(struct eu_pj *c, const cJSON *root, struct eu_package *pkg)
{
	const cJSON *meta;
	const char *text;
	bool has_size;
	int rc;
	if ((rc = eu_pj_size(c, root, "bpf_object_size", EU_OBJECT_MAX_BYTES,
			     &pkg->declared_object_size, &has_size)) ||
	    (rc = eu_pj_cstr(c, root, "bpf_object", false, &text)) ||
	    (rc = eu_pj_object(c, root, "meta", true, &meta)))
		return rc;
	size_t mark = eu_pj_push_key(c, "meta");
	if ((rc = parse_meta(c, meta, pkg)))
		return rc;
	eu_pj_pop(c, mark);
	pkg->format = EU_PKG_META_ONLY;
	if (text) {
		rc = eu_pkg_decode_object(c, "bpf_object", text, strlen(text), has_size,
					  pkg->declared_object_size, &pkg->object, &pkg->object_size);
		if (rc)
			return rc;
		pkg->format = EU_PKG_JSON;
	}
	return 0;
}

static bool json_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int json_syntax_error(struct eu_pj *c, const char *p, size_t n, const char *end)
{
	if (!end || end < p || end > p + n)
		return eu_pj_fail(c, -EINVAL, "invalid JSON");
	unsigned line = 1, col = 1;
	for (const char *q = p; q < end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	size_t rest = (size_t)(p + n - end);
	size_t blank = 0;
	while (blank < rest && json_space(end[blank]))
		blank++;
	if (blank == rest || end[blank] == '\0')
		return eu_pj_fail(c, -EINVAL,
				  "invalid JSON: unexpected end of input at line %u, column %u "
				  "(truncated file?)",
				  line, col);
	if (end > p && end[-1] == '"' && !memchr(end, '"', rest))
		return eu_pj_fail(c, -EINVAL,
				  "invalid JSON: the string at line %u, column %u never ends "
				  "(truncated file?)",
				  line, col - 1);
	char near[24];
	size_t k = 0;
	for (size_t i = 0; i < rest && k < 16 && end[i] != '\n'; i++)
		near[k++] = (end[i] >= 0x20 && end[i] < 0x7f) ? end[i] : '?';
	near[k] = '\0';
	return eu_pj_fail(c, -EINVAL, "invalid JSON at line %u, column %u, near \"%s\"", line, col,
			  near);
}

static int parse_json(struct eu_package *pkg, const char *p, size_t n, const char **meta_path,
		      eu_error *err)
{
	struct eu_pj c;
	eu_pj_init(&c, pkg->origin, err);
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(p, n, &end, 0);
	if (!root)
		return json_syntax_error(&c, p, n, end);
	int rc = 0;
	for (const char *q = end; q && q < p + n; q++) {
		if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q != '\0') {
			rc = json_syntax_error(&c, p, n, q);
			goto out;
		}
	}
	if (!cJSON_IsObject(root)) {
		rc = eu_pj_fail(&c, -EINVAL, "expected a JSON object at the top, got %s",
				eu_pj_type_name(root));
		goto out;
	}
	if (cJSON_HasObjectItem(root, "bpf_object") || cJSON_HasObjectItem(root, "meta")) {
		*meta_path = "meta";
		rc = parse_envelope(&c, root, pkg);
	} else if (cJSON_HasObjectItem(root, "bpf_skel")) {
		*meta_path = "";
		pkg->format = EU_PKG_META_ONLY;
		rc = parse_meta(&c, root, pkg);
	} else if (cJSON_HasObjectItem(root, "maps") &&
		   (cJSON_HasObjectItem(root, "data") || cJSON_HasObjectItem(root, "data_sz"))) {
		*meta_path = NULL;
		pkg->format = EU_PKG_LEGACY;
		rc = eu_pkg_parse_legacy(&c, root, pkg);
	} else {
		rc = eu_pj_fail(&c, -EINVAL,
				"not a package: no \"bpf_object\", \"meta\" or \"bpf_skel\" key (nor "
				"the legacy \"data\" and \"maps\")");
	}
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- a bare BPF object ---- */

/* libbpf-style object name from a path or URL: "dir/x.bpf.o" -> "x_bpf" */
static char *object_name_from_origin(const char *origin)
{
	const char *base = strrchr(origin, '/');
	base = base ? base + 1 : origin;
	size_t n = strcspn(base, "?#");
	if (n > 2 && strncmp(base + n - 2, ".o", 2) == 0)
		n -= 2;
	if (n == 0) {
		base = "object";
		n = 6;
	}
	char *s = strndup(base, n);
	if (!s)
		return NULL;
	for (char *q = s; *q; q++) {
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '_'))
			*q = '_';
	}
	return s;
}

static int parse_object(struct eu_package *pkg, const void *elf, size_t size, eu_error *err)
{
	char why[96];
	int rc = eu_pkg_check_elf(elf, size, why, sizeof(why));
	if (rc)
		return eu_error_set(err, rc, "%s: %s", pkg->origin, why);
	if (size > EU_OBJECT_MAX_BYTES)
		return eu_error_set(err, -EFBIG, "%s: the object is %zu bytes, over the limit of %u",
				    pkg->origin, size, EU_OBJECT_MAX_BYTES);
	pkg->object = malloc(size);
	if (!pkg->object)
		return eu_error_set(err, -ENOMEM, "%s: out of memory", pkg->origin);
	memcpy(pkg->object, elf, size);
	pkg->object_size = size;
	pkg->format = EU_PKG_BPF_OBJECT;
	char *obj_name = object_name_from_origin(pkg->origin);
	if (!obj_name)
		return eu_error_set(err, -ENOMEM, "%s: out of memory", pkg->origin);
	rc = eu_meta_from_object(pkg, pkg->object, size, obj_name, err);
	if (rc) {
		free(obj_name);
		if (strncmp(err->msg, pkg->origin, strlen(pkg->origin)) != 0)
			eu_error_prefix(err, "%s", pkg->origin);
		return rc < 0 ? rc : -EINVAL;
	}
	/* the object and format are ours whatever the deriver did */
	pkg->format = EU_PKG_BPF_OBJECT;
	if (!pkg->obj_name) {
		pkg->obj_name = obj_name;
		obj_name = NULL;
	}
	free(obj_name);
	if (!pkg->name) {
		struct eu_pj c;
		eu_pj_init(&c, pkg->origin, err);
		if (!(pkg->name = derive_name(&c, pkg->obj_name)))
			return -ENOMEM;
	}
	return 0;
}

/* ---- entry points ---- */

int eu_pkg_parse_buffer(struct eu_package *pkg, const void *data, size_t size,
			const char **meta_path, eu_error *err)
{
	const char *p = data;
	size_t n = size;
	*meta_path = NULL;
	if (eu_tar_looks_like(data, size))
		return eu_pkg_parse_tar(pkg, data, size, meta_path, err);
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		n -= 3;
	}
	while (n && json_space(*p)) {
		p++;
		n--;
	}
	if (!n)
		return eu_error_set(err, -EINVAL, "%s: empty package", pkg->origin);
	if (n >= SELFMAG && memcmp(p, ELFMAG, SELFMAG) == 0)
		return parse_object(pkg, p, n, err);
	if (*p != '{') {
		char start[40];
		describe_start((const uint8_t *)p, n, start, sizeof(start));
		return eu_error_set(err, -EINVAL,
				    "%s: not a package: expected a JSON object, a BPF ELF object or a "
				    "tar archive, but it starts %s",
				    pkg->origin, start);
	}
	return parse_json(pkg, p, n, meta_path, err);
}

static struct eu_package *package_new(const char *origin, eu_error *err)
{
	struct eu_package *pkg = calloc(1, sizeof(*pkg));
	if (!pkg || !(pkg->origin = strdup(origin && *origin ? origin : "<memory>"))) {
		free(pkg);
		eu_error_set(err, -ENOMEM, "%s: out of memory", origin ? origin : "<memory>");
		return NULL;
	}
	return pkg;
}

static int finish(struct eu_package *pkg, const char *meta_path, eu_error *err)
{
	if (!pkg->object || pkg->format == EU_PKG_BPF_OBJECT || !meta_path)
		return 0;
	return eu_pkg_check_btf(pkg, meta_path, err);
}

int eu_package_parse(const void *data, size_t size, const char *origin, struct eu_package **out,
		     eu_error *err)
{
	eu_error scratch;  /* messages are built from err->msg: never without one */
	if (!err)
		err = &scratch;
	*out = NULL;
	const char *name = origin && *origin ? origin : "<memory>";
	if (!data && size)
		return eu_error_set(err, -EINVAL, "%s: no data", name);
	if (size > EU_PACKAGE_MAX_BYTES)
		return eu_error_set(err, -EFBIG, "%s: %zu bytes is over the package size limit of %u",
				    name, size, EU_PACKAGE_MAX_BYTES);
	struct eu_package *pkg = package_new(origin, err);
	if (!pkg)
		return -ENOMEM;
	const char *meta_path;
	int rc = eu_sha256(data ? data : "", size, pkg->sha256);
	if (rc)
		rc = eu_error_set(err, rc, "%s: cannot hash the package", name);
	if (!rc)
		rc = eu_pkg_parse_buffer(pkg, data ? data : "", size, &meta_path, err);
	if (!rc)
		rc = finish(pkg, meta_path, err);
	if (rc) {
		eu_package_free(pkg);
		return rc;
	}
	*out = pkg;
	return 0;
}


static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

char *eu_package_pair_object_path(const char *path)
{
	if (!ends_with(path, ".skel.json"))
		return NULL;
	size_t stem = strlen(path) - strlen(".skel.json");
	char *obj_path = malloc(stem + sizeof(".bpf.o"));
	if (!obj_path)
		return NULL;
	memcpy(obj_path, path, stem);
	memcpy(obj_path + stem, ".bpf.o", sizeof(".bpf.o"));
	return obj_path;
}

int eu_package_attach_pair(struct eu_package *pkg, const void *meta, size_t meta_len, void *obj,
			   size_t obj_len, const char *obj_origin, eu_error *err)
{
	eu_error scratch;
	if (!err)
		err = &scratch;
	const char *path = pkg->origin ? pkg->origin : "package";
	int rc = 0;
	if (pkg->format != EU_PKG_META_ONLY)
		rc = eu_error_set(err, -EINVAL, "%s: not a skeleton meta without an object", path);
	else if (obj_len > EU_OBJECT_MAX_BYTES)
		rc = eu_error_set(err, -EFBIG, "%s: larger than %u bytes (the object for %s)",
				  obj_origin, EU_OBJECT_MAX_BYTES, path);
	if (!rc) {
		char why[96];
		rc = eu_pkg_check_elf(obj, obj_len, why, sizeof(why));
		if (rc)
			eu_error_set(err, rc, "%s: %s (the object for %s)", obj_origin, why, path);
	}
	if (rc) {
		free(obj);
		return rc;
	}
	pkg->object = obj;
	pkg->object_size = obj_len;
	pkg->format = EU_PKG_SKEL_PAIR;
	/* the version identity covers both files */
	rc = eu_sha256_2(meta, meta_len, pkg->object, obj_len, pkg->sha256);
	if (rc)
		return eu_error_set(err, rc, "%s: cannot hash the package", path);
	return eu_pkg_check_btf(pkg, "", err); /* a bare meta's path is the root */
}

/* NAME.skel.json -> NAME.bpf.o beside it, attached when it exists. */
static int attach_pair_object(struct eu_package *pkg, const char *path, const char *json,
			      size_t json_len, eu_error *err)
{
	char *obj_path = eu_package_pair_object_path(path);
	if (!obj_path)
		return eu_error_set(err, -ENOMEM, "%s: out of memory", path);
	if (access(obj_path, F_OK) != 0) {
		free(obj_path);
		return 0;  /* no object beside it: stays META_ONLY */
	}
	char *obj;
	size_t obj_len;
	int rc = eu_file_read(obj_path, EU_OBJECT_MAX_BYTES, (void **)&obj, &obj_len, err);
	if (!rc)
		rc = eu_package_attach_pair(pkg, json, json_len, obj, obj_len, obj_path, err);
	free(obj_path);
	return rc;
}

int eu_package_read_file(const char *path, struct eu_package **out, eu_error *err)
{
	eu_error scratch;
	if (!err)
		err = &scratch;
	*out = NULL;
	if (!path || !*path)
		return eu_error_set(err, -EINVAL, "no package path given");
	char *data;
	size_t len;
	int rc = eu_file_read(path, EU_PACKAGE_MAX_BYTES, (void **)&data, &len, err);
	if (rc)
		return rc;
	struct eu_package *pkg = package_new(path, err);
	if (!pkg) {
		free(data);
		return -ENOMEM;
	}
	const char *meta_path = NULL;
	rc = eu_sha256(data, len, pkg->sha256);
	if (rc)
		rc = eu_error_set(err, rc, "%s: cannot hash the package", path);
	if (!rc)
		rc = eu_pkg_parse_buffer(pkg, data, len, &meta_path, err);
	if (!rc && pkg->format == EU_PKG_META_ONLY && ends_with(path, ".skel.json"))
		rc = attach_pair_object(pkg, path, data, len, err); /* checks the pair's BTF */
	else if (!rc)
		rc = finish(pkg, meta_path, err);
	free(data);
	if (rc) {
		eu_package_free(pkg);
		return rc;
	}
	*out = pkg;
	return 0;
}

const struct eu_map_meta *eu_package_find_map(const struct eu_package *pkg, const char *name)
{
	if (!pkg || !name)
		return NULL;
	for (size_t i = 0; i < pkg->n_maps; i++) {
		if (pkg->maps[i].name && strcmp(pkg->maps[i].name, name) == 0)
			return &pkg->maps[i];
	}
	return NULL;
}

void eu_package_free(struct eu_package *pkg)
{
	if (!pkg)
		return;
	free(pkg->origin);
	free(pkg->name);
	free(pkg->object);
	free(pkg->obj_name);
	free(pkg->eunomia_version);
	free(pkg->doc.version);
	free(pkg->doc.brief);
	free(pkg->doc.details);
	free(pkg->doc.description);
	for (size_t i = 0; i < pkg->n_sections; i++) {
		struct eu_section_meta *s = &pkg->sections[i];
		for (size_t j = 0; j < s->n_vars; j++) {
			struct eu_var_meta *v = &s->vars[j];
			free(v->name);
			free(v->type);
			free(v->description);
			free(v->value_text);
			free(v->cmdarg.long_name);
			free(v->cmdarg.short_name);
			free(v->cmdarg.help);
			free(v->cmdarg.default_text);
		}
		free(s->vars);
		free(s->name);
	}
	free(pkg->sections);
	for (size_t i = 0; i < pkg->n_maps; i++) {
		struct eu_map_meta *m = &pkg->maps[i];
		free(m->name);
		free(m->ident);
		free(m->sample.unit);
		for (size_t j = 0; j < m->export_config.n_members; j++)
			free(m->export_config.members[j].name);
		free(m->export_config.members);
		free(m->legacy_type);
	}
	free(pkg->maps);
	for (size_t i = 0; i < pkg->n_progs; i++) {
		free(pkg->progs[i].name);
		free(pkg->progs[i].attach);
	}
	free(pkg->progs);
	for (size_t i = 0; i < pkg->n_export_types; i++) {
		struct eu_export_type *t = &pkg->export_types[i];
		for (size_t j = 0; j < t->n_members; j++) {
			free(t->members[j].name);
			free(t->members[j].type);
		}
		free(t->members);
		free(t->name);
	}
	free(pkg->export_types);
	for (size_t i = 0; i < pkg->n_btf_files; i++) {
		free(pkg->btf_files[i].name);
		free(pkg->btf_files[i].data);
	}
	free(pkg->btf_files);
	free(pkg);
}
