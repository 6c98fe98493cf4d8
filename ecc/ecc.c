/* ecc: compiles a libbpf-style x.bpf.c (+ x.h) into an eunomia package.
 *
 *	ecc x.bpf.c [x.h] [-o DIR] [-I DIR]... [-D NAME[=VALUE]]... [--cflags FLAGS] [--mcpu CPU]
 *	    [--vmlinux-h FILE] [--btfgen [--btfhub-archive DIR]] [-v]
 *	ecc --emit-vmlinux-h FILE
 *
 * writes DIR/x.bpf.o, DIR/x.skel.json and DIR/package.json in upstream eunomia-bpf's format
 * (and DIR/x.tar with minimal BTFs for kernels without BTF under --btfgen, see btfgen.c).
 * The meta is derived from the compiled object by eu_meta_from_object, the same code the
 * runtime uses for bare .bpf.o files, then annotated from the source's `///` comments. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "ecc.h"
#include "eunomia/package.h"

#ifndef EU_ECC_BPF_INCLUDE_DIRS
#define EU_ECC_BPF_INCLUDE_DIRS ""
#endif
#ifndef EU_VERSION
#define EU_VERSION "0"
#endif

#define MAX_INCLUDES 32

struct opts {
	const char *source;
	const char *header;
	const char *out_dir;
	const char *vmlinux_h;
	bool btfgen;                /* --btfgen: also write DIR/x.tar with minimal BTFs */
	const char *btfhub_archive; /* --btfhub-archive DIR: the kernels for --btfgen */
	const char *includes[MAX_INCLUDES];
	size_t n_includes;
	char **cflags; /* -D, -U, --cflags, -a: passed to clang after ecc's own flags */
	size_t n_cflags;
	const char *mcpu;        /* --mcpu: clang's -mcpu (default: ecc_default_mcpu()) */
	const char *kernel_btf;  /* --kernel-btf: the BTF vmlinux.h is generated from */
	const char *emit_vmlinux; /* --emit-vmlinux-h FILE: only write that vmlinux.h */
	bool verbose;
	bool wasm_header; /* --wasm-header (wasm_header.c) */
};

/* Paths and names derived from the source file name. */
struct names {
	char src_abs[PATH_MAX];
	char src_dir[PATH_MAX];
	char base[NAME_MAX + 1];      /* "kprobe-link" for kprobe-link.bpf.c */
	char obj_file[NAME_MAX + 16]; /* "kprobe-link.bpf.o" */
	char obj_name[NAME_MAX + 16]; /* "kprobe_link_bpf": libbpf's object name, as bpftool makes it */
};

static bool g_verbose;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ecc: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

static void warn_cb(void *ctx, const char *msg)
{
	fprintf(stderr, "ecc: warning: %s\n", msg);
}

static int libbpf_print_cb(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!g_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ecc SOURCE.bpf.c [HEADER.h] [-o DIR] [-I DIR]... [-D NAME[=VALUE]]...\n"
		"           [--cflags FLAGS] [--mcpu CPU] [--vmlinux-h FILE]\n"
		"           [--btfgen [--btfhub-archive DIR]] [-v]\n"
		"       ecc --emit-vmlinux-h FILE [--kernel-btf BTF]\n"
		"\n"
		"Compiles a libbpf-style BPF program into an eunomia package: writes DIR/NAME.bpf.o,\n"
		"DIR/NAME.skel.json and DIR/package.json (DIR defaults to the source's directory).\n"
		"The exported event structs are those defined in HEADER.h (default: NAME.h beside\n"
		"the source, when it exists).\n"
		"\n"
		"  -o, --output DIR      where to write the outputs (created if missing)\n"
		"  -I, --include DIR     extra include directory for clang (repeatable)\n"
		"  -D NAME[=VALUE]       define a macro for the source (repeatable); -U NAME undefines\n"
		"      --cflags FLAGS    more clang flags, split at blanks ('...' and \"...\" group);\n"
		"                        repeatable, after ecc's own flags so they can override them\n"
		"  -a, --additional-cflags FLAGS  the same (upstream ecc's spelling)\n"
		"      --mcpu CPU        BPF instruction set for clang's -mcpu (v1, v2, v3, v4,\n"
		"                        generic, probe); default: v3 on kernels 5.1 and later (the\n"
		"                        one running ecc), v2 from 4.14, else v1\n"
		"      --vmlinux-h FILE  use this vmlinux.h as it is, instead of generating one from\n"
		"                        the kernel BTF (types and the kernel's kfuncs)\n"
		"      --kernel-btf FILE the BTF vmlinux.h is generated from\n"
		"                        (default /sys/kernel/btf/vmlinux)\n"
		"      --emit-vmlinux-h FILE  only write the generated vmlinux.h to FILE\n"
		"      --btfgen          also write DIR/x.tar: package.json and, for kernels without\n"
		"                        BTF, btfhub-archive/<ID>/<VERSION_ID>/<machine>/<release>.btf\n"
		"                        minimal BTFs (this machine's kernel unless --btfhub-archive)\n"
		"      --btfhub-archive DIR  with --btfgen: a minimal BTF for every kernel under DIR\n"
		"                        (.btf or btfhub's .btf.tar.xz files)\n"
		"      --wasm-header     also write DIR/NAME.wasm.h: the export and map structs laid\n"
		"                        out for a wasm32 module; given a compiled NAME.bpf.o instead\n"
		"                        of a source, only that header is written\n"
		"  -v, --verbose         show the commands run and libbpf's messages\n"
		"  -h, --help            this text\n"
		"      --version         print the version\n"
		"\n"
		"Environment: CLANG, LLVM_STRIP name the tools to use.\n");
}

static bool has_suffix(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a >= b && strcmp(s + a - b, sfx) == 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		OPT_VMLINUX = 256,
		OPT_VERSION,
		OPT_BTFGEN,
		OPT_BTFHUB,
		OPT_WASM_HEADER,
		OPT_CFLAGS,
		OPT_MCPU,
		OPT_KERNEL_BTF,
		OPT_EMIT_VMLINUX,
	};
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"include", required_argument, NULL, 'I'},
		{"vmlinux-h", required_argument, NULL, OPT_VMLINUX},
		{"btfgen", no_argument, NULL, OPT_BTFGEN},
		{"btfhub-archive", required_argument, NULL, OPT_BTFHUB},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"wasm-header", no_argument, NULL, OPT_WASM_HEADER},
		{"cflags", required_argument, NULL, OPT_CFLAGS},
		{"additional-cflags", required_argument, NULL, 'a'},
		{"mcpu", required_argument, NULL, OPT_MCPU},
		{"kernel-btf", required_argument, NULL, OPT_KERNEL_BTF},
		{"emit-vmlinux-h", required_argument, NULL, OPT_EMIT_VMLINUX},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "o:I:D:U:a:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out_dir = optarg;
			break;
		case 'I':
			if (o->n_includes == MAX_INCLUDES)
				return fail("too many -I directories (at most %d)", MAX_INCLUDES);
			o->includes[o->n_includes++] = optarg;
			break;
		case OPT_VMLINUX:
			o->vmlinux_h = optarg;
			break;
		case OPT_BTFGEN:
			o->btfgen = true;
			break;
		case OPT_BTFHUB:
			o->btfhub_archive = optarg;
			break;
		case OPT_WASM_HEADER:
			o->wasm_header = true;
			break;
		case 'D':
		case 'U': {
			char flag[4096];
			if (!optarg[0] || snprintf(flag, sizeof(flag), "-%c%s", c, optarg) >=
						  (int)sizeof(flag))
				return fail("-%c: expected a macro name", c);
			if (ecc_argv_add(&o->cflags, &o->n_cflags, flag, strlen(flag)))
				return fail("out of memory");
			break;
		}
		case OPT_CFLAGS:
		case 'a':
			if (ecc_split_flags(optarg, &o->cflags, &o->n_cflags))
				return fail("--cflags '%s': unterminated quote", optarg);
			break;
		case OPT_MCPU:
			o->mcpu = optarg;
			break;
		case OPT_KERNEL_BTF:
			o->kernel_btf = optarg;
			break;
		case OPT_EMIT_VMLINUX:
			o->emit_vmlinux = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("ecc (eunomia-agent) %s, writes eunomia-bpf package format 0.3.4\n",
			       EU_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		const char *a = argv[i];
		if (has_suffix(a, ".h") && !o->header) {
			o->header = a;
		} else if (!o->source && !has_suffix(a, ".h")) {
			o->source = a;
		} else {
			fail("unexpected argument '%s'", a);
			usage(stderr);
			return 2;
		}
	}
	if (o->btfhub_archive && !o->btfgen)
		return fail("--btfhub-archive needs --btfgen");
	if (o->emit_vmlinux && !o->source)
		return 0;
	if (!o->source) {
		fail("no source file given");
		usage(stderr);
		return 2;
	}
	return 0;
}

static int derive_names(const struct opts *o, struct names *n)
{
	if (!realpath(o->source, n->src_abs))
		return fail("cannot read %s: %s", o->source, strerror(errno));
	struct stat st;
	if (stat(n->src_abs, &st) || !S_ISREG(st.st_mode))
		return fail("%s is not a regular file", o->source);
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", n->src_abs);
	snprintf(n->src_dir, sizeof(n->src_dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", n->src_abs);
	const char *file = basename(tmp);
	size_t len = strlen(file);
	if (has_suffix(file, ".bpf.c")) {
		snprintf(n->base, sizeof(n->base), "%.*s", (int)(len - 6), file);
		snprintf(n->obj_file, sizeof(n->obj_file), "%s.bpf.o", n->base);
		snprintf(n->obj_name, sizeof(n->obj_name), "%s.bpf", n->base);
	} else if (has_suffix(file, ".c")) {
		snprintf(n->base, sizeof(n->base), "%.*s", (int)(len - 2), file);
		snprintf(n->obj_file, sizeof(n->obj_file), "%s.o", n->base);
		snprintf(n->obj_name, sizeof(n->obj_name), "%s", n->base);
	} else {
		return fail("%s: expected a C source file (NAME.bpf.c)", o->source);
	}
	if (!n->base[0])
		return fail("%s: empty program name", o->source);
	/* bpftool's object name rule: every non-identifier character becomes '_' */
	for (char *c = n->obj_name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			*c = '_';
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* __TARGET_ARCH_xxx as bpf_tracing.h spells the build machine's architecture. */
static const char *target_arch(char *buf, size_t size)
{
	struct utsname u;
	if (uname(&u))
		return "x86";
	const char *m = u.machine;
	if (!strcmp(m, "x86_64") || (m[0] == 'i' && !strcmp(m + 2, "86")))
		return "x86";
	if (!strcmp(m, "aarch64") || !strncmp(m, "arm64", 5))
		return "arm64";
	if (!strncmp(m, "arm", 3))
		return "arm";
	if (!strcmp(m, "s390x"))
		return "s390";
	if (!strncmp(m, "ppc", 3))
		return "powerpc";
	if (!strncmp(m, "riscv", 5))
		return "riscv";
	if (!strncmp(m, "loongarch", 9))
		return "loongarch";
	if (!strncmp(m, "mips", 4))
		return "mips";
	snprintf(buf, size, "%.32s", m);
	return buf;
}

/* Temporary files live in one directory removed at the end. */
struct workdir {
	char path[PATH_MAX];
};

static void workdir_remove(struct workdir *w)
{
	static const char *const files[] = {"vmlinux.h", "wrapper.bpf.c", "object.bpf.o"};
	if (!w->path[0])
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/%s", w->path, files[i]);
		unlink(p);
	}
	rmdir(w->path);
}

/* vmlinux.h with the kfunc declarations, from the kernel BTF (vmlinux_gen.c). */
static int emit_vmlinux(const struct opts *o, const char *dst)
{
	const char *btf = o->kernel_btf ? o->kernel_btf : "/sys/kernel/btf/vmlinux";
	if (access(btf, R_OK))
		return fail("no vmlinux.h given and %s is not readable (%s): pass --vmlinux-h FILE "
			    "or --kernel-btf FILE",
			    btf, strerror(errno));
	eu_error err = {0};
	size_t n_kfuncs = 0;
	if (ecc_write_vmlinux_h(btf, dst, &n_kfuncs, &err))
		return fail("%s", err.msg);
	if (o->verbose || o->emit_vmlinux)
		fprintf(stderr, "ecc: %s generated from %s with %zu kfunc declaration(s)%s\n", dst,
			btf, n_kfuncs,
			n_kfuncs ? "" : " (the BTF tags no kfuncs: pahole older than 1.25 built it)");
	return 0;
}

static int prepare_vmlinux(const struct opts *o, const struct workdir *w)
{
	char dst[PATH_MAX + 16];
	snprintf(dst, sizeof(dst), "%s/vmlinux.h", w->path);
	if (o->vmlinux_h) {
		char abs[PATH_MAX];
		if (!realpath(o->vmlinux_h, abs))
			return fail("--vmlinux-h %s: %s", o->vmlinux_h, strerror(errno));
		if (symlink(abs, dst))
			return fail("cannot link %s: %s", dst, strerror(errno));
		return 0;
	}
	return emit_vmlinux(o, dst);
}

/* The wrapper compiled instead of the source: it includes the source (and the header when
 * the source does not), then keeps every header struct in BTF with an unused pointer. */
static int write_wrapper(const struct opts *o, const struct names *n, const struct workdir *w,
			 const char *src_text)
{
	char hdr_abs[PATH_MAX] = "";
	char **structs = NULL;
	size_t n_structs = 0;
	if (o->header) {
		if (!realpath(o->header, hdr_abs))
			return fail("cannot read header %s: %s", o->header, strerror(errno));
	} else {
		char guess[PATH_MAX + NAME_MAX + 8];
		snprintf(guess, sizeof(guess), "%s/%s.h", n->src_dir, n->base);
		if (access(guess, R_OK) == 0 && !realpath(guess, hdr_abs))
			hdr_abs[0] = '\0';
	}
	bool include_header = false;
	if (hdr_abs[0]) {
		char *text = ecc_read_file(hdr_abs, NULL);
		if (!text)
			return fail("cannot read header %s: %s", hdr_abs, strerror(errno));
		int r = ecc_header_structs(text, &structs, &n_structs);
		free(text);
		if (r)
			return fail("out of memory scanning %s", hdr_abs);
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", hdr_abs);
		const char *hbase = basename(tmp);
		char q1[NAME_MAX + 4], q2[NAME_MAX + 4];
		snprintf(q1, sizeof(q1), "\"%s\"", hbase);
		snprintf(q2, sizeof(q2), "<%s>", hbase);
		include_header = !strstr(src_text, q1) && !strstr(src_text, q2);
		if (o->verbose)
			fprintf(stderr, "ecc: header %s: %zu struct(s) exported\n", hdr_abs, n_structs);
	}

	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/wrapper.bpf.c", w->path);
	FILE *f = fopen(path, "w");
	if (!f) {
		ecc_free_names(structs, n_structs);
		return fail("cannot create %s: %s", path, strerror(errno));
	}
	fprintf(f, "/* generated by ecc: the source, then one pointer per exported struct so\n"
		   " * clang keeps the struct in BTF */\n");
	fprintf(f, "#include \"%s\"\n", n->src_abs);
	if (include_header)
		fprintf(f, "#include \"%s\"\n", hdr_abs);
	for (size_t i = 0; i < n_structs; i++)
		fprintf(f, "struct %s *__eunomia_dummy_%s_ptr __attribute__((unused));\n",
			structs[i], structs[i]);
	ecc_free_names(structs, n_structs);
	if (fclose(f))
		return fail("cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int compile(const struct opts *o, const struct names *n, const struct workdir *w)
{
	char *clang = ecc_find_tool("CLANG", (const char *const[]){"clang", "clang-14", "clang-15",
								    "clang-16", NULL});
	if (!clang)
		return fail("clang not found: install clang (or set CLANG=/path/to/clang)");
	char *strip = ecc_find_tool("LLVM_STRIP", (const char *const[]){"llvm-strip",
									"llvm-strip-14",
									"llvm-strip-15",
									"llvm-strip-16", NULL});
	if (!strip) {
		free(clang);
		return fail("llvm-strip not found: install llvm (or set LLVM_STRIP)");
	}

	char arch_def[64], arch_buf[40], inc_work[PATH_MAX + 8], inc_src[PATH_MAX + 8];
	char wrapper[PATH_MAX + 32], object[PATH_MAX + 32], mcpu[64];
	snprintf(arch_def, sizeof(arch_def), "-D__TARGET_ARCH_%s",
		 target_arch(arch_buf, sizeof(arch_buf)));
	snprintf(inc_work, sizeof(inc_work), "-I%s", w->path);
	snprintf(inc_src, sizeof(inc_src), "-I%s", n->src_dir);
	snprintf(wrapper, sizeof(wrapper), "%s/wrapper.bpf.c", w->path);
	snprintf(object, sizeof(object), "%s/object.bpf.o", w->path);
	snprintf(mcpu, sizeof(mcpu), "-mcpu=%s", o->mcpu ? o->mcpu : ecc_default_mcpu());

	char **argv = NULL;
	size_t a = 0;
	int oom = 0;
#define ARG(s) (oom |= ecc_argv_add(&argv, &a, (s), strlen(s)))
	ARG(clang);
	ARG("-g");
	ARG("-O2");
	ARG("-target");
	ARG("bpf");
	ARG(mcpu);
	ARG(arch_def);
	for (size_t i = 0; i < o->n_includes; i++) {
		ARG("-I");
		ARG(o->includes[i]);
	}
	ARG(inc_src);
	ARG(inc_work);
	/* our BPF-side headers (eu_bpf.h, and the <bpf/...> shadows that add what newer libbpf
	 * versions define), from the source tree or the install prefix */
	char *builtin_dirs = strdup(EU_ECC_BPF_INCLUDE_DIRS);
	for (char *save = NULL, *d = builtin_dirs ? strtok_r(builtin_dirs, ":", &save) : NULL; d;
	     d = strtok_r(NULL, ":", &save)) {
		if (access(d, R_OK) == 0) {
			ARG("-I");
			ARG(d);
		}
	}
	free(builtin_dirs);
	/* <asm/types.h> and friends for sources that include uapi headers instead of vmlinux.h
	 * (clang -target bpf does not search the multiarch directory by itself) */
	char multiarch[PATH_MAX];
	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(multiarch, sizeof(multiarch), "/usr/include/%s-linux-gnu", u.machine);
		if (access(multiarch, R_OK) == 0) {
			ARG("-idirafter");
			ARG(multiarch);
		}
	}
	/* the user's flags last: a later -O or -mcpu overrides ours */
	for (size_t i = 0; i < o->n_cflags; i++)
		ARG(o->cflags[i]);
	ARG("-c");
	ARG(wrapper);
	ARG("-o");
	ARG(object);
#undef ARG
	if (oom) {
		ecc_argv_free(argv, a);
		free(clang);
		free(strip);
		return fail("out of memory");
	}

	char *errout = NULL;
	int r = ecc_run((const char *const *)argv, NULL, &errout, o->verbose);
	int rc = 0;
	if (r) {
		rc = fail("clang failed to compile %s (%s %d):\n%s", o->source,
			  r < 0 ? "cannot run clang:" : "exit status", r < 0 ? -r : r,
			  errout && errout[0] ? errout : "(clang printed nothing)\n");
	} else if (errout && errout[0]) {
		fputs(errout, stderr);  /* warnings */
	}
	free(errout);
	errout = NULL;
	if (!rc) {
		/* DWARF goes; .BTF and .BTF.ext stay: they are what CO-RE and the decoder use */
		const char *sargv[] = {strip, "-g", object, NULL};
		r = ecc_run(sargv, NULL, &errout, o->verbose);
		if (r)
			rc = fail("%s -g %s failed (%d):\n%s", strip, object, r, errout ? errout : "");
		free(errout);
	}
	ecc_argv_free(argv, a);
	free(clang);
	free(strip);
	return rc;
}

static int write_outputs(const struct opts *o, const struct names *n, struct eu_package *pkg,
			 const char *out_dir)
{
	eu_error err = {0};
	char *meta = eu_package_meta_json(pkg, &err);
	char *env = meta ? eu_package_envelope_json(pkg, &err) : NULL;
	if (!meta || !env) {
		free(meta);
		return fail("%s", err.msg);
	}
	char p_obj[PATH_MAX + NAME_MAX + 32], p_skel[PATH_MAX + NAME_MAX + 32],
		p_pkg[PATH_MAX + 16];
	snprintf(p_obj, sizeof(p_obj), "%s/%s", out_dir, n->obj_file);
	snprintf(p_skel, sizeof(p_skel), "%s/%s.skel.json", out_dir, n->base);
	snprintf(p_pkg, sizeof(p_pkg), "%s/package.json", out_dir);
	int rc = 0;
	if (ecc_write_file(p_obj, pkg->object, pkg->object_size, &err) ||
	    ecc_write_file(p_skel, meta, strlen(meta), &err) ||
	    ecc_write_file(p_pkg, env, strlen(env), &err))
		rc = fail("%s", err.msg);
	else if (o->verbose)
		fprintf(stderr, "ecc: wrote %s, %s, %s\n", p_obj, p_skel, p_pkg);
	if (!rc && o->btfgen) {
		char p_tar[PATH_MAX + NAME_MAX + 16];
		snprintf(p_tar, sizeof(p_tar), "%s/%s.tar", out_dir, n->base);
		rc = ecc_btfgen(p_tar, env, pkg->object, pkg->object_size, o->btfhub_archive,
				o->verbose);
	}
	free(meta);
	free(env);
	return rc;
}

static int build(const struct opts *o)
{
	struct names n;
	memset(&n, 0, sizeof(n));
	if (derive_names(o, &n))
		return 1;
	char *src_text = ecc_read_file(n.src_abs, NULL);
	if (!src_text)
		return fail("cannot read %s: %s", o->source, strerror(errno));
	const char *out_dir = o->out_dir ? o->out_dir : n.src_dir;
	int r = mkdir_p(out_dir);
	if (r) {
		free(src_text);
		return fail("cannot create output directory %s: %s", out_dir, strerror(-r));
	}

	struct workdir w = {{0}};
	const char *tmp = getenv("TMPDIR");
	snprintf(w.path, sizeof(w.path), "%s/ecc-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(w.path)) {
		free(src_text);
		return fail("cannot create a temporary directory %s: %s", w.path, strerror(errno));
	}

	int rc = prepare_vmlinux(o, &w);
	if (!rc)
		rc = write_wrapper(o, &n, &w, src_text);
	if (!rc)
		rc = compile(o, &n, &w);

	struct eu_package *pkg = NULL;
	if (!rc) {
		char object[PATH_MAX + 32];
		snprintf(object, sizeof(object), "%s/object.bpf.o", w.path);
		size_t size = 0;
		void *data = ecc_read_file(object, &size);
		pkg = calloc(1, sizeof(*pkg));
		eu_error err = {0};
		if (!data || !pkg) {
			free(data);
			rc = fail("cannot read the compiled object %s: %s", object, strerror(errno));
		} else {
			pkg->object = data;
			pkg->object_size = size;
			if (eu_meta_from_object(pkg, data, size, n.obj_name, &err) ||
			    ecc_apply_comments(pkg, src_text, o->source, warn_cb, NULL, &err))
				rc = fail("%s", err.msg);
		}
	}
	if (!rc)
		rc = write_outputs(o, &n, pkg, out_dir);
	if (!rc && o->wasm_header)
		rc = ecc_write_wasm_header(pkg->object, pkg->object_size, o->source, out_dir);
	if (!rc) {
		eu_buf what;
		eu_buf_init(&what);
		ecc_summary(pkg, &what);
		printf("ecc: %s -> %s/package.json (%s)\n", o->source, out_dir,
		       what.oom || !what.data ? pkg->obj_name : what.data);
		eu_buf_free(&what);
	}
	eu_package_free(pkg);
	workdir_remove(&w);
	free(src_text);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	memset(&o, 0, sizeof(o));
	int r = parse_args(argc, argv, &o);
	if (r)
		return r;
	g_verbose = o.verbose;
	libbpf_set_print(libbpf_print_cb);
	if (o.emit_vmlinux && !o.source) {
		r = emit_vmlinux(&o, o.emit_vmlinux);
		ecc_argv_free(o.cflags, o.n_cflags);
		return r;
	}
	if (o.wasm_header && has_suffix(o.source, ".o")) {
		size_t size = 0;
		void *elf = ecc_read_file(o.source, &size);
		if (!elf)
			return fail("cannot read %s: %s", o.source, strerror(errno));
		r = ecc_write_wasm_header(elf, size, o.source, o.out_dir);
		free(elf);
		return r;
	}
	r = build(&o);
	ecc_argv_free(o.cflags, o.n_cflags);
	return r;
}
