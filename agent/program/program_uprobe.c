/* User-space probes whose target the section does not fully name: SEC("uprobe") with no
 * binary, SEC("uretprobe/readline") with a bare function, SEC("usdt") with no probe. Their
 * user space used to decide; here `--attach NAME=BINARY:FUNCTION[@PID]` (usdt:
 * BINARY:PROVIDER:PROBE) does, or a bare function is looked up in the usual binaries and
 * libraries, saying which one was used. */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "program_priv.h"
#include "symbols/symbols.h"

/* Where a bare library name ("libc.so.6") and a bare function are looked for, in order. */
static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
};
/* Tried first for a bare function: where the functions libbpf-tools probe usually live. */
static const char *const usual_files[] = {
	"/usr/bin/bash", "/bin/bash", "libc.so.6", "libreadline.so.8", "libssl.so.3",
	"libcrypto.so.3", "libpthread.so.0", "libstdc++.so.6", "libm.so.6",
};

struct user_target {
	char binary[PATH_MAX];
	char function[256]; /* uprobe: function; usdt: "PROVIDER:PROBE" */
	int pid;            /* -1: every process */
};

static bool is_usdt(const char *sec)
{
	char kind[32];
	program_section_kind(sec, kind, sizeof(kind));
	return !strcmp(kind, "usdt");
}

static bool is_retprobe(const char *sec)
{
	return !strncmp(sec, "uretprobe", 9);
}

bool program_is_user_probe(const char *sec)
{
	return eu_program_section_feature(sec) == EU_FEATURE_UPROBES;
}

/* A library name or relative path as a full path: PATH for executables, the library
 * directories for names with ".so". */
static bool resolve_path(const char *name, char *out, size_t n)
{
	if (strchr(name, '/')) {
		snprintf(out, n, "%s", name);
		return access(out, R_OK) == 0;
	}
	if (strstr(name, ".so")) {
		for (size_t i = 0; i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++) {
			snprintf(out, n, "%s/%s", lib_dirs[i], name);
			if (access(out, R_OK) == 0)
				return true;
		}
		return false;
	}
	const char *path = getenv("PATH");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *save = NULL, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, n, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

static bool file_defines(const char *path, const char *func)
{
	return eu_elf_defines_function(path, func);
}

/* Library directories are often the same directory twice (/lib -> usr/lib). */
static bool seen_dir(const char *dir, dev_t *devs, ino_t *inos, size_t *n)
{
	struct stat st;
	if (stat(dir, &st))
		return true;
	for (size_t i = 0; i < *n; i++)
		if (devs[i] == st.st_dev && inos[i] == st.st_ino)
			return true;
	devs[*n] = st.st_dev;
	inos[(*n)++] = st.st_ino;
	return false;
}

/* Every lib*.so* in the library directories, after the usual files: the first that defines
 * func. */
static bool find_function(const char *func, char *out, size_t n)
{
	for (size_t i = 0; i < sizeof(usual_files) / sizeof(usual_files[0]); i++)
		if (resolve_path(usual_files[i], out, n) && file_defines(out, func))
			return true;
	dev_t devs[sizeof(lib_dirs) / sizeof(lib_dirs[0])];
	ino_t inos[sizeof(lib_dirs) / sizeof(lib_dirs[0])];
	size_t n_seen = 0;
	for (size_t i = 0; i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++) {
		if (seen_dir(lib_dirs[i], devs, inos, &n_seen))
			continue;
		DIR *d = opendir(lib_dirs[i]);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (strncmp(de->d_name, "lib", 3) || !strstr(de->d_name, ".so"))
				continue;
			snprintf(out, n, "%s/%s", lib_dirs[i], de->d_name);
			struct stat st;
			if (!stat(out, &st) && S_ISREG(st.st_mode) && file_defines(out, func)) {
				closedir(d);
				return true;
			}
		}
		if (d)
			closedir(d);
	}
	return false;
}

/* "BINARY:FUNCTION[@PID]" (usdt: "BINARY:PROVIDER:PROBE[@PID]"). */
static int parse_target(const char *spec, bool usdt, struct user_target *t, const char *what,
			eu_error *err)
{
	const char *usage = usdt ? "BINARY:PROVIDER:PROBE[@PID]" : "BINARY:FUNCTION[@PID]";
	memset(t, 0, sizeof(*t));
	t->pid = -1;
	const char *at = strrchr(spec, '@');
	size_t len = at ? (size_t)(at - spec) : strlen(spec);
	if (at) {
		char *end = NULL;
		long pid = strtol(at + 1, &end, 10);
		if (!at[1] || *end || pid <= 0 || pid > INT_MAX)
			return eu_error_set(err, -EINVAL, "%s: '%s' is not a process id (%s)", what,
					    at + 1, usage);
		t->pid = (int)pid;
	}
	const char *colon = memchr(spec, ':', len);
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(t->binary) ||
	    colon + 1 == spec + len || len - (size_t)(colon + 1 - spec) >= sizeof(t->function))
		return eu_error_set(err, -EINVAL, "%s: expected %s, got '%s'", what, usage, spec);
	snprintf(t->binary, sizeof(t->binary), "%.*s", (int)(colon - spec), spec);
	snprintf(t->function, sizeof(t->function), "%.*s", (int)(len - (size_t)(colon + 1 - spec)),
		 colon + 1);
	if (usdt && !strchr(t->function, ':'))
		return eu_error_set(err, -EINVAL, "%s: expected %s, got '%s'", what, usage, spec);
	return 0;
}

/* The --attach spec given for program name, or NULL. */
static const char *spec_for(const struct eu_program *p, const char *name, size_t *name_len)
{
	for (size_t i = 0; i < p->n_attach_specs; i++) {
		const char *s = p->attach_specs[i];
		const char *eq = strchr(s, '=');
		if (eq && (size_t)(eq - s) == strlen(name) && !strncmp(s, name, (size_t)(eq - s))) {
			if (name_len)
				*name_len = (size_t)(eq - s);
			return eq + 1;
		}
	}
	return NULL;
}

int program_check_attach_specs(struct eu_program *p, eu_error *err)
{
	for (size_t i = 0; i < p->n_attach_specs; i++) {
		const char *s = p->attach_specs[i];
		const char *eq = strchr(s, '=');
		char name[128];
		if (!eq || eq == s || (size_t)(eq - s) >= sizeof(name))
			return eu_error_set(err, -EINVAL, "--attach %s: expected PROGRAM=BINARY:FUNCTION"
					    "[@PID]", s);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - s), s);
		struct bpf_program *prog = bpf_object__find_program_by_name(p->obj, name);
		if (!prog || !program_is_user_probe(bpf_program__section_name(prog))) {
			char names[512] = "";
			size_t used = 0;
			struct bpf_program *q;
			bpf_object__for_each_program(q, p->obj) {
				if (!program_is_user_probe(bpf_program__section_name(q)))
					continue;
				int w = snprintf(names + used, sizeof(names) - used, "%s%s",
						 used ? ", " : "", bpf_program__name(q));
				if (w > 0 && (size_t)w < sizeof(names) - used)
					used += (size_t)w;
			}
			return eu_error_set(err, -ENOENT, "--attach %s: the package has no uprobe, "
					    "uretprobe or usdt program %s (%s%s)", s, name,
					    used ? "its user-space probes: " : "it has none",
					    names);
		}
		struct user_target t;
		char what[160];
		snprintf(what, sizeof(what), "--attach %s", name);
		int ret = parse_target(eq + 1, is_usdt(bpf_program__section_name(prog)), &t, what,
				       err);
		if (ret)
			return ret;
	}
	return 0;
}

/* The target of a section that names one only partly, or of the --attach spec. Returns 1
 * when libbpf's own attach can do it (the section is complete and nothing overrides it). */
static int find_target(struct eu_program *p, struct bpf_program *prog, struct user_target *t,
		       eu_error *err)
{
	const char *name = bpf_program__name(prog);
	const char *sec = bpf_program__section_name(prog);
	bool usdt = is_usdt(sec);
	char what[200];
	snprintf(what, sizeof(what), "program %s (%s): --attach", name, sec);
	const char *spec = spec_for(p, name, NULL);
	if (spec)
		return parse_target(spec, usdt, t, what, err);
	const char *slash = strchr(sec, '/');
	const char *rest = slash ? slash + 1 : "";
	if (*rest && strchr(rest, ':'))
		return 1; /* uprobe/PATH:FUNC, usdt/PATH:PROVIDER:NAME: libbpf's format */
	if (!*rest || usdt)
		return eu_error_set(err, -EINVAL, "program %s (%s): the section names no %s to attach "
				    "to: give it with --attach %s=%s[@PID]", name, sec,
				    usdt ? "binary and probe" : "binary and function", name,
				    usdt ? "BINARY:PROVIDER:PROBE" : "BINARY:FUNCTION");
	/* a bare function: where does it live? */
	memset(t, 0, sizeof(*t));
	t->pid = -1;
	snprintf(t->function, sizeof(t->function), "%s", rest);
	if (!find_function(rest, t->binary, sizeof(t->binary)))
		return eu_error_set(err, -ENOENT, "program %s (%s): no binary or library defines "
				    "function %s (looked in bash, libc and the libraries in the "
				    "system library directories): give it with --attach "
				    "%s=BINARY:%s[@PID]", name, sec, rest, name, rest);
	program_note_choice(p, prog, true, EU_LOG_INFO,
			    "%s (%s): function %s found in %s (--attach %s=BINARY:%s to choose)",
			    name, sec, rest, t->binary, name, rest);
	return 0;
}

struct bpf_link *program_attach_user(struct eu_program *p, struct bpf_program *prog,
				     eu_error *err, int *handled)
{
	struct user_target t;
	*handled = 0;
	int ret = find_target(p, prog, &t, err);
	if (ret == 1)
		return NULL; /* libbpf's auto-attach */
	*handled = 1;
	if (ret < 0)
		return NULL;
	const char *name = bpf_program__name(prog);
	const char *sec = bpf_program__section_name(prog);
	char path[PATH_MAX];
	if (!resolve_path(t.binary, path, sizeof(path))) {
		eu_error_set(err, -ENOENT, "program %s (%s): binary %s does not exist%s", name, sec,
			     t.binary, strchr(t.binary, '/') ? "" : " (not on PATH nor in the library "
			     "directories)");
		return NULL;
	}
	if (t.pid > 0 && kill(t.pid, 0) && errno == ESRCH) {
		eu_error_set(err, -ESRCH, "program %s (%s): process %d does not exist", name, sec,
			     t.pid);
		return NULL;
	}
	struct bpf_link *link;
	char ebuf[128];
	if (is_usdt(sec)) {
		char provider[128];
		const char *colon = strchr(t.function, ':');
		snprintf(provider, sizeof(provider), "%.*s", (int)(colon - t.function), t.function);
		link = bpf_program__attach_usdt(prog, t.pid, path, provider, colon + 1, NULL);
		if (!link) {
			int e = -errno;
			eu_error_set(err, e, "program %s (%s): cannot attach to USDT probe %s:%s in %s: %s",
				     name, sec, provider, colon + 1, path,
				     e == -ENOENT ? "the binary has no such probe"
						  : program_errno_text(e, ebuf, sizeof(ebuf)));
		}
		return link;
	}
	if (!file_defines(path, t.function)) {
		eu_error_set(err, -ENOENT, "program %s (%s): function %s is not in the symbol tables "
			     "of %s", name, sec, t.function, path);
		return NULL;
	}
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = t.function, .retprobe = is_retprobe(sec));
	link = bpf_program__attach_uprobe_opts(prog, t.pid, path, 0, &uo);
	if (!link) {
		int e = -errno;
		eu_error_set(err, e, "program %s (%s): cannot attach to %s:%s%s: %s", name, sec, path,
			     t.function, t.pid > 0 ? " in that process" : "",
			     program_errno_text(e, ebuf, sizeof(ebuf)));
	}
	return link;
}
