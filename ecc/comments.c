/* The `///` documentation comments of a .bpf.c source, as upstream ecc reads them:
 *
 *	/// Process ID to trace                          -> the next variable's description
 *	/// @cmdarg {"short": "p", "long": "pid"}         -> its command-line option
 *	const volatile int pid_target = 0;
 *
 *	/// @sample {"interval": 1000, "type": "log2_hist"}
 *	struct { ... } hists SEC(".maps");               -> the map's sampling
 *
 *	/// @perf_event hw:cache-misses:period=10000
 *	SEC("perf_event")
 *	int on_miss(void *ctx)                            -> the program's event (our tag)
 *
 *	/// Trace open family syscalls.                   (before any code: doc.description)
 *	/// @brief ... / @version ... / @details ...      (anywhere: the file's doc)
 *
 * A block is the run of `///` lines right above a declaration (no blank line between). The
 * scanner is line based: globals and map definitions in libbpf-style sources are written one
 * declaration per line, and anything it does not recognise is simply not annotated. */
#include "ecc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eunomia/buf.h"

#define MAX_BLOCK 64

struct line {
	char *text;  /* after "///", trimmed */
	int lineno;
};

struct scan {
	struct eu_package *pkg;
	const char *path;
	ecc_warn_fn warn;
	void *warn_ctx;
	eu_error *err;
	struct line block[MAX_BLOCK];
	size_t n_block;
	struct line map_block[MAX_BLOCK];  /* a block waiting for its map's name */
	size_t n_map_block;
	bool in_map;
	struct line prog_block[MAX_BLOCK]; /* a block above SEC("..."), waiting for the name */
	size_t n_prog_block;
	bool in_prog_head;
	bool seen_code;
	int depth;
	bool in_comment;
};

static void warnf(struct scan *s, int lineno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warnf(struct scan *s, int lineno, const char *fmt, ...)
{
	if (!s->warn)
		return;
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s:%d: ", s->path, lineno);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	s->warn(s->warn_ctx, msg);
}

static void clear_lines(struct line *l, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(l[i].text);
	*n = 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* `@tag rest` -> tag (in tag, up to size) and rest; false for a plain line. */
static bool split_tag(const char *text, char *tag, size_t size, const char **rest)
{
	if (text[0] != '@')
		return false;
	size_t i = 0;
	const char *p = text + 1;
	while ((isalnum((unsigned char)*p) || *p == '_') && i + 1 < size)
		tag[i++] = *p++;
	tag[i] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	*rest = p;
	return true;
}

static int set_str(char **dst, const char *text)
{
	char *dup = strdup(text);
	if (!dup)
		return -ENOMEM;
	free(*dst);
	*dst = dup;
	return 0;
}

static int append_str(char **dst, const char *text, char sep)
{
	if (!*dst)
		return set_str(dst, text);
	size_t a = strlen(*dst), b = strlen(text);
	char *p = realloc(*dst, a + b + 2);
	if (!p)
		return -ENOMEM;
	p[a] = sep;
	memcpy(p + a + 1, text, b + 1);
	*dst = p;
	return 0;
}

/* Text for a JSON scalar, as the package keeps presets and defaults. */
static char *scalar_text(const cJSON *v)
{
	char buf[64];
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 9.2e18)
			snprintf(buf, sizeof(buf), "%lld", (long long)d);
		else
			snprintf(buf, sizeof(buf), "%.17g", d);
		return strdup(buf);
	}
	return NULL;
}

/* JSON after a tag, which may continue on the block's next lines; *used is how many lines
 * it took. */
static cJSON *parse_json_lines(struct scan *s, struct line *lines, size_t n, size_t start,
			       const char *first, size_t *used, int *code)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, first);
	*code = 0;
	for (size_t i = start;; i++) {
		cJSON *j = b.data ? cJSON_Parse(b.data) : NULL;
		if (j) {
			*used = i - start;
			eu_buf_free(&b);
			return j;
		}
		if (i >= n || b.oom)
			break;
		eu_buf_putc(&b, ' ');
		eu_buf_puts(&b, lines[i].text);
	}
	*code = eu_error_set(s->err, b.oom ? -ENOMEM : -EINVAL, "%s:%d: invalid JSON after the tag: %s",
			     s->path, lines[start - 1].lineno, b.data ? b.data : "");
	eu_buf_free(&b);
	return NULL;
}

static struct eu_var_meta *find_var(struct eu_package *pkg, const char *name)
{
	for (size_t i = 0; i < pkg->n_sections; i++)
		for (size_t j = 0; j < pkg->sections[i].n_vars; j++)
			if (strcmp(pkg->sections[i].vars[j].name, name) == 0)
				return &pkg->sections[i].vars[j];
	return NULL;
}

static struct eu_map_meta *find_map(struct eu_package *pkg, const char *name)
{
	for (size_t i = 0; i < pkg->n_maps; i++)
		if (strcmp(pkg->maps[i].name, name) == 0)
			return &pkg->maps[i];
	return NULL;
}

static struct eu_prog_meta *find_prog(struct eu_package *pkg, const char *name)
{
	for (size_t i = 0; i < pkg->n_progs; i++)
		if (strcmp(pkg->progs[i].name, name) == 0)
			return &pkg->progs[i];
	return NULL;
}

static int fail_at(struct scan *s, int lineno, const char *fmt, const char *what)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, what);
	return eu_error_set(s->err, -EINVAL, "%s:%d: %s", s->path, lineno, msg);
}

static int apply_cmdarg(struct scan *s, struct eu_var_meta *v, const cJSON *j, int lineno)
{
	if (!cJSON_IsObject(j))
		return fail_at(s, lineno, "@cmdarg of %s must be a JSON object", v->name);
	struct eu_cmdarg *c = &v->cmdarg;
	const cJSON *it;
	cJSON_ArrayForEach(it, j) {
		const char *k = it->string;
		if (strcmp(k, "default") == 0) {
			char *t = scalar_text(it);
			if (!t)
				return fail_at(s, lineno, "@cmdarg \"default\" of %s must be a "
					       "boolean, number or string", v->name);
			free(c->default_text);
			c->default_text = t;
			continue;
		}
		char **dst = strcmp(k, "long") == 0    ? &c->long_name
			     : strcmp(k, "short") == 0 ? &c->short_name
			     : strcmp(k, "help") == 0  ? &c->help
						       : NULL;
		if (!dst) {
			warnf(s, lineno, "@cmdarg of %s: unknown key \"%s\" ignored", v->name, k);
			continue;
		}
		if (!cJSON_IsString(it))
			return fail_at(s, lineno, "@cmdarg of %s: \"long\", \"short\" and \"help\" "
				       "must be strings", v->name);
		if (dst == &c->short_name && strlen(it->valuestring) != 1)
			return fail_at(s, lineno, "@cmdarg of %s: \"short\" must be one character",
				       v->name);
		if (set_str(dst, it->valuestring))
			return eu_error_set(s->err, -ENOMEM, "out of memory");
	}
	return 0;
}

static int apply_sample(struct scan *s, struct eu_map_meta *m, const cJSON *j, int lineno)
{
	if (!cJSON_IsObject(j))
		return fail_at(s, lineno, "@sample of map %s must be a JSON object", m->name);
	const cJSON *iv = cJSON_GetObjectItemCaseSensitive(j, "interval");
	const cJSON *ty = cJSON_GetObjectItemCaseSensitive(j, "type");
	const cJSON *unit = cJSON_GetObjectItemCaseSensitive(j, "unit");
	const cJSON *clear = cJSON_GetObjectItemCaseSensitive(j, "clear_map");
	if (!cJSON_IsNumber(iv) || iv->valuedouble < 1 || iv->valuedouble > 86400000 ||
	    iv->valuedouble != floor(iv->valuedouble))
		return fail_at(s, lineno, "@sample of map %s needs \"interval\": milliseconds "
			       "(1 to 86400000)", m->name);
	enum eu_sample_type t = EU_SAMPLE_DEFAULT_KV;
	if (ty) {
		const char *name = cJSON_IsString(ty) ? ty->valuestring : "";
		if (strcmp(name, "log2_hist") == 0)
			t = EU_SAMPLE_LOG2_HIST;
		else if (strcmp(name, "linear_hist") == 0)
			t = EU_SAMPLE_LINEAR_HIST;
		else if (strcmp(name, "default_kv") == 0)
			t = EU_SAMPLE_DEFAULT_KV;
		else
			return fail_at(s, lineno, "@sample of map %s: \"type\" must be \"log2_hist\", "
				       "\"linear_hist\" or \"default_kv\"", m->name);
	}
	if (unit && !cJSON_IsString(unit))
		return fail_at(s, lineno, "@sample of map %s: \"unit\" must be a string", m->name);
	if (clear && !cJSON_IsBool(clear))
		return fail_at(s, lineno, "@sample of map %s: \"clear_map\" must be a boolean",
			       m->name);
	m->sample.type = t;
	m->sample.interval_ms = (uint32_t)iv->valuedouble;
	m->sample.clear_map = clear && cJSON_IsTrue(clear);
	if (unit && set_str(&m->sample.unit, unit->valuestring))
		return eu_error_set(s->err, -ENOMEM, "out of memory");
	return 0;
}

/* A second @export_config on a map replaces the first: its members go first. */
static void clear_export_members(struct eu_map_meta *m)
{
	for (size_t k = 0; k < m->export_config.n_members; k++)
		free(m->export_config.members[k].name);
	free(m->export_config.members);
	m->export_config.members = NULL;
	m->export_config.n_members = 0;
}

static int apply_export_config(struct scan *s, struct eu_map_meta *m, const cJSON *j, int lineno)
{
	clear_export_members(m);
	if (cJSON_IsString(j)) {
		if (strcmp(j->valuestring, "no_export") == 0)
			m->export_config.kind = EU_EXPORT_NO;
		else if (strcmp(j->valuestring, "default") == 0)
			m->export_config.kind = EU_EXPORT_DEFAULT;
		else
			return fail_at(s, lineno, "@export_config of map %s: expected \"no_export\", "
				       "\"default\" or an object", m->name);
		return 0;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "btf_type_id");
	const cJSON *cm = cJSON_GetObjectItemCaseSensitive(j, "custom_members");
	if (cJSON_IsNumber(id) && id->valuedouble >= 1) {
		m->export_config.kind = EU_EXPORT_TYPE_ID;
		m->export_config.btf_type_id = (uint32_t)id->valuedouble;
		return 0;
	}
	if (!cJSON_IsArray(cm) || cJSON_GetArraySize(cm) < 1)
		return fail_at(s, lineno, "@export_config of map %s: expected \"no_export\", "
			       "\"default\", {\"btf_type_id\": N} or {\"custom_members\": [...]}",
			       m->name);
	size_t n = (size_t)cJSON_GetArraySize(cm);
	struct eu_custom_member *mem = calloc(n, sizeof(*mem));
	if (!mem)
		return eu_error_set(s->err, -ENOMEM, "out of memory");
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cm) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "offset");
		const cJSON *tid = cJSON_GetObjectItemCaseSensitive(it, "btf_type_id");
		if (!cJSON_IsString(nm) || !cJSON_IsNumber(off) || off->valuedouble < 0 ||
		    !cJSON_IsNumber(tid) || tid->valuedouble < 1) {
			for (size_t k = 0; k < i; k++)
				free(mem[k].name);
			free(mem);
			return fail_at(s, lineno, "@export_config of map %s: each custom member needs "
				       "\"name\", \"offset\" and \"btf_type_id\"", m->name);
		}
		mem[i].name = strdup(nm->valuestring);
		if (!mem[i].name) {
			for (size_t k = 0; k < i; k++)
				free(mem[k].name);
			free(mem);
			return eu_error_set(s->err, -ENOMEM, "out of memory");
		}
		mem[i].offset = (uint32_t)off->valuedouble;
		mem[i].btf_type_id = (uint32_t)tid->valuedouble;
		i++;
	}
	m->export_config.kind = EU_EXPORT_CUSTOM;
	m->export_config.members = mem;
	m->export_config.n_members = n;
	return 0;
}

/* `@perf_event EVENT[:period=N|:freq=HZ]` (not JSON: perf's own spelling) becomes the
 * program's eu_perf_event. Checked here, so a misspelt event fails the build rather than
 * the run; a tag that cannot be applied is an error too, since the program would otherwise
 * sample the default cpu-clock without a word. */
static int apply_perf_event(struct scan *s, struct eu_prog_meta *p, const char *spec,
			    int lineno)
{
	if (!p)
		return eu_error_set(s->err, -EINVAL, "%s:%d: @perf_event must be right above a "
				    "SEC(\"perf_event\") program", s->path, lineno);
	if (!p->attach || strcmp(p->attach, "perf_event") != 0)
		return eu_error_set(s->err, -EINVAL, "%s:%d: @perf_event of program %s: its section "
				    "is \"%s\", not \"perf_event\"", s->path, lineno, p->name,
				    p->attach ? p->attach : "");
	struct eu_perf_event ev;
	eu_error perr = {0};
	if (eu_perf_event_parse(spec, &ev, &perr))
		return eu_error_set(s->err, -EINVAL, "%s:%d: @perf_event of program %s: %s", s->path,
				    lineno, p->name, perr.msg);
	p->perf_event = ev;
	return 0;
}

enum target { T_NONE, T_VAR, T_MAP, T_PROG };

/* Applies one block. For a variable or map it names the target; else it is file-level. */
static int apply_block(struct scan *s, struct line *lines, size_t n, enum target kind,
		       const char *name, int decl_line)
{
	struct eu_package *pkg = s->pkg;
	struct eu_var_meta *var = kind == T_VAR ? find_var(pkg, name) : NULL;
	struct eu_map_meta *map = kind == T_MAP ? find_map(pkg, name) : NULL;
	struct eu_prog_meta *prog = kind == T_PROG ? find_prog(pkg, name) : NULL;
	if (kind == T_VAR && !var) {
		warnf(s, decl_line, "documented variable %s is not in the object's data sections "
		      "(static, or optimised out?): comment ignored", name);
		kind = T_NONE;
	}
	if (kind == T_MAP && !map) {
		warnf(s, decl_line, "documented map %s is not in the object: comment ignored", name);
		kind = T_NONE;
	}
	if (kind == T_PROG && !prog)
		kind = T_NONE; /* a static function or a name we misread: only @perf_event cares */
	/* where plain lines go: the target's description, or the file's before any code */
	char **plain = kind == T_VAR ? &var->description
		       : (kind == T_NONE || kind == T_PROG) && !s->seen_code ? &pkg->doc.description
							: NULL;
	char sep = kind == T_VAR ? ' ' : '\n';
	int r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		char tag[32];
		const char *rest;
		if (!split_tag(lines[i].text, tag, sizeof(tag), &rest)) {
			if (plain && lines[i].text[0])
				r = append_str(plain, lines[i].text, sep);
			continue;
		}
		int ln = lines[i].lineno;
		if (strcmp(tag, "brief") == 0 || strcmp(tag, "version") == 0 ||
		    strcmp(tag, "details") == 0 ||
		    (strcmp(tag, "description") == 0 && kind != T_VAR)) {
			char **dst = tag[0] == 'b'   ? &pkg->doc.brief
				     : tag[0] == 'v' ? &pkg->doc.version
				     : tag[1] == 'e' ? &pkg->doc.details
						     : &pkg->doc.description;
			free(*dst);
			*dst = NULL;
			r = set_str(dst, rest);
			plain = dst;  /* following plain lines continue the tag's text */
			sep = '\n';
			continue;
		}
		if (strcmp(tag, "description") == 0) {
			free(var->description);
			var->description = NULL;
			r = set_str(&var->description, rest);
			plain = &var->description;
			continue;
		}
		if (strcmp(tag, "value") == 0 && kind == T_VAR) {
			r = set_str(&var->value_text, rest);
			continue;
		}
		if (strcmp(tag, "perf_event") == 0) {
			r = apply_perf_event(s, prog, rest, ln);
			continue;
		}
		bool json_tag = strcmp(tag, "cmdarg") == 0 || strcmp(tag, "sample") == 0 ||
				strcmp(tag, "export_config") == 0;
		if (!json_tag) {
			warnf(s, ln, "unknown tag @%s ignored", tag);
			continue;
		}
		bool wants_var = tag[0] == 'c';
		if ((wants_var && kind != T_VAR) || (!wants_var && kind != T_MAP)) {
			warnf(s, ln, "@%s must be right above a %s: ignored", tag,
			      wants_var ? "const volatile variable" : "map definition");
			continue;
		}
		size_t used = 0;
		cJSON *j = NULL;
		if (tag[0] == 'e' && (strcmp(rest, "no_export") == 0 || strcmp(rest, "default") == 0))
			j = cJSON_CreateString(rest);
		else
			j = parse_json_lines(s, lines, n, i + 1, rest, &used, &r);
		if (!j)
			return r ? r : eu_error_set(s->err, -ENOMEM, "out of memory");
		i += used;
		if (tag[0] == 'c')
			r = apply_cmdarg(s, var, j, ln);
		else if (tag[0] == 's')
			r = apply_sample(s, map, j, ln);
		else
			r = apply_export_config(s, map, j, ln);
		cJSON_Delete(j);
	}
	if (r == -ENOMEM)
		return eu_error_set(s->err, -ENOMEM, "out of memory");
	return r;
}

/* The text of a line with comments removed, and the brace depth updated; the scanner's
 * block-comment state carries across lines. */
static void strip_code(struct scan *s, const char *line, eu_buf *code)
{
	for (const char *p = line; *p;) {
		if (s->in_comment) {
			const char *end = strstr(p, "*/");
			if (!end)
				return;
			s->in_comment = false;
			p = end + 2;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			s->in_comment = true;
			p += 2;
			continue;
		}
		if (p[0] == '/' && p[1] == '/')
			return;
		if (*p == '"' || *p == '\'') {
			char q = *p;
			const char *start = p++;
			while (*p && *p != q) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p)
				p++;
			eu_buf_append(code, start, (size_t)(p - start));
			continue;
		}
		if (*p == '{')
			s->depth++;
		else if (*p == '}' && s->depth > 0)
			s->depth--;
		eu_buf_putc(code, *p++);
	}
}

/* The declared name of `const volatile T name[N] = init;` (and other one-line globals), or
 * false when the line is not such a declaration. */
static bool decl_name(const char *code, char *name, size_t size)
{
	size_t len = strlen(code);
	if (!len || code[len - 1] != ';')
		return false;
	const char *eq = strchr(code, '=');
	const char *end = eq ? eq : code + len - 1;
	for (const char *p = code; p < end; p++)
		if (*p == '(' || *p == '{' || *p == '}')
			return false;
	if (strncmp(code, "typedef", 7) == 0 || strncmp(code, "extern", 6) == 0)
		return false;
	/* back over spaces and [N] dimensions to the identifier */
	const char *p = end;
	for (;;) {
		while (p > code && isspace((unsigned char)p[-1]))
			p--;
		if (p > code && p[-1] == ']') {
			while (p > code && p[-1] != '[')
				p--;
			if (p > code)
				p--;
			continue;
		}
		break;
	}
	const char *e = p;
	while (p > code && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		p--;
	if (p == e || p == code || isdigit((unsigned char)*p))
		return false;  /* a lone word is not a declaration */
	size_t n = (size_t)(e - p);
	if (n >= size)
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

/* The map name of `} NAME SEC(".maps");`. */
static bool map_name(const char *code, char *name, size_t size)
{
	const char *sec = strstr(code, "SEC(\".maps\")");
	if (!sec)
		return false;
	const char *p = sec;
	while (p > code && isspace((unsigned char)p[-1]))
		p--;
	const char *e = p;
	while (p > code && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		p--;
	size_t n = (size_t)(e - p);
	if (!n || n >= size)
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	return true;
}

/* The text after a program's `SEC("...")`, or NULL when code is not one (maps excluded). */
static const char *after_prog_sec(const char *code)
{
	if (strncmp(code, "SEC(\"", 5) != 0 || strstr(code, "SEC(\".maps\")"))
		return NULL;
	const char *close = strchr(code + 5, '"');
	close = close ? strchr(close, ')') : NULL;
	return close ? close + 1 : NULL;
}

/* The function name in a program's head, "int name(void *ctx)" or the first argument of a
 * libbpf macro, "int BPF_PROG(name, ...)"; false when there is no "(" yet. */
static bool prog_name(const char *code, char *name, size_t size)
{
	const char *paren = strchr(code, '(');
	if (!paren)
		return false;
	const char *e = paren;
	while (e > code && isspace((unsigned char)e[-1]))
		e--;
	const char *b = e;
	while (b > code && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
		b--;
	if (e - b > 4 && strncmp(b, "BPF_", 4) == 0) {
		b = paren + 1;
		while (isspace((unsigned char)*b))
			b++;
		e = b;
		while (isalnum((unsigned char)*e) || *e == '_')
			e++;
	}
	size_t n = (size_t)(e - b);
	if (!n || n >= size || isdigit((unsigned char)*b))
		return false;
	memcpy(name, b, n);
	name[n] = '\0';
	return true;
}

static int flush_unattached(struct scan *s)
{
	int r = 0;
	if (s->n_block)
		r = apply_block(s, s->block, s->n_block, T_NONE, NULL, s->block[0].lineno);
	clear_lines(s->block, &s->n_block);
	return r;
}

static int scan_line(struct scan *s, char *line, int lineno)
{
	char *t = trim(line);
	if (!s->in_comment && strncmp(t, "///", 3) == 0 && t[3] != '/') {
		if (s->n_block == MAX_BLOCK)
			return eu_error_set(s->err, -E2BIG, "%s:%d: more than %d `///` lines in one "
					    "block", s->path, lineno, MAX_BLOCK);
		char *text = strdup(trim(t + 3));
		if (!text)
			return eu_error_set(s->err, -ENOMEM, "out of memory");
		s->block[s->n_block++] = (struct line){text, lineno};
		return 0;
	}
	if (!s->in_comment && t[0] == '\0')
		return flush_unattached(s);
	if (!s->in_comment && t[0] == '#')
		return flush_unattached(s);

	int depth_before = s->depth;
	eu_buf code;
	eu_buf_init(&code);
	strip_code(s, t, &code);
	char *c = code.data ? trim(code.data) : (char *)"";
	int r = 0;
	char name[128];
	const char *head = depth_before == 0 ? after_prog_sec(c) : NULL;
	if (head) {
		/* a program: its block waits for the function's name, on this line or a later one */
		clear_lines(s->prog_block, &s->n_prog_block);
		memcpy(s->prog_block, s->block, s->n_block * sizeof(s->block[0]));
		s->n_prog_block = s->n_block;
		s->n_block = 0;
		s->in_prog_head = true;
	}
	if (s->in_prog_head && (head ? *head : c[0])) {
		bool named = prog_name(head ? head : c, name, sizeof(name));
		r = apply_block(s, s->prog_block, s->n_prog_block, named ? T_PROG : T_NONE,
				named ? name : NULL, lineno);
		clear_lines(s->prog_block, &s->n_prog_block);
		s->in_prog_head = false;
		s->seen_code = true;
	} else if (head) {
		s->seen_code = true;
	} else if (!c[0]) {
		/* a comment-only line: keeps the block open */
	} else if (depth_before == 0 && s->depth > 0 && strncmp(c, "struct", 6) == 0) {
		/* a map definition begins: its name comes at the closing line */
		clear_lines(s->map_block, &s->n_map_block);
		memcpy(s->map_block, s->block, s->n_block * sizeof(s->block[0]));
		s->n_map_block = s->n_block;
		s->n_block = 0;
		s->in_map = true;
		s->seen_code = true;
	} else if (depth_before == 0 && s->depth == 0 && map_name(c, name, sizeof(name))) {
		/* a whole map definition on one line */
		r = apply_block(s, s->block, s->n_block, T_MAP, name, lineno);
		clear_lines(s->block, &s->n_block);
		s->seen_code = true;
	} else if (s->in_map && s->depth == 0) {
		if (map_name(c, name, sizeof(name)))
			r = apply_block(s, s->map_block, s->n_map_block, T_MAP, name, lineno);
		else if (s->n_map_block)
			r = apply_block(s, s->map_block, s->n_map_block, T_NONE, NULL, lineno);
		clear_lines(s->map_block, &s->n_map_block);
		s->in_map = false;
	} else if (depth_before == 0 && s->depth == 0 && decl_name(c, name, sizeof(name))) {
		if (s->n_block)
			r = apply_block(s, s->block, s->n_block, T_VAR, name, lineno);
		clear_lines(s->block, &s->n_block);
		s->seen_code = true;
	} else if (depth_before == 0 || s->n_block) {
		r = flush_unattached(s);
		s->seen_code = true;
	}
	eu_buf_free(&code);
	return r;
}

int ecc_apply_comments(struct eu_package *pkg, const char *src, const char *path, ecc_warn_fn warn,
		       void *warn_ctx, eu_error *err)
{
	struct scan *s = calloc(1, sizeof(*s));
	if (!s)
		return eu_error_set(err, -ENOMEM, "out of memory");
	s->pkg = pkg;
	s->path = path;
	s->warn = warn;
	s->warn_ctx = warn_ctx;
	s->err = err;
	int r = 0;
	int lineno = 0;
	const char *p = src;
	while (*p && !r) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		if (!line) {
			r = eu_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		r = scan_line(s, line, ++lineno);
		free(line);
		p = nl ? nl + 1 : p + len;
	}
	if (!r)
		r = flush_unattached(s);
	clear_lines(s->block, &s->n_block);
	clear_lines(s->map_block, &s->n_map_block);
	if (!r && s->n_prog_block)
		r = apply_block(s, s->prog_block, s->n_prog_block, T_NONE, NULL, lineno);
	clear_lines(s->prog_block, &s->n_prog_block);
	free(s);
	return r;
}
