/* The in-process minimal BTF (kbtf_trim.c) against libbpf itself: for every BPF object the
 * build has (plugins and test programs, corerelo.bpf.c with every relocation kind), libbpf's
 * CO-RE results against the trimmed BTF are exactly those against the whole kernel BTF; a
 * load through the daemon's cache decodes corerelo's values right; a relocation of a type the
 * kernel lacks falls back (module types), and is counted. */
#include <criterion/criterion.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"
#include "eu_test.h"
#include "eunomia/package.h"
#include "eunomia/params.h"
#include "eunomia/program.h"
#include "kbtf/kbtf.h"
#include "kbtf/kbtf_cache.h"
#include "kbtf/kbtf_trim.h"
#include "../bpf/corerelo/corerelo.h"

#define CORERELO EU_TESTBPF_BUILD_DIR "/corerelo/package.json"

static char *g_log;
static size_t g_len, g_cap;

static int capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	char line[2048];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	size_t k = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (g_len + k + 1 > g_cap) {
		g_cap = (g_len + k + 1) * 2;
		g_log = realloc(g_log, g_cap);
	}
	memcpy(g_log + g_len, line, k);
	g_len += k;
	g_log[g_len] = '\0';
	return 0;
}

/* libbpf's verdict on every CO-RE relocation of obj: its "relo #N: patched insn ..." and
 * "substituting insn" (poisoned) lines, which carry no type ids, only results. */
static char *relo_results(const char *obj_path, const char *btf_path, size_t *count)
{
	g_len = 0;
	if (g_log)
		g_log[0] = '\0';
	libbpf_set_print(capture);
	LIBBPF_OPTS(bpf_object_open_opts, o, .btf_custom_path = btf_path);
	struct bpf_object *obj = bpf_object__open_file(obj_path, &o);
	cr_assert(obj, "%s: cannot open", obj_path);
	(void)bpf_object__load(obj); /* relocation runs before any program load can fail */
	bpf_object__close(obj);
	libbpf_set_print(NULL);
	size_t cap = g_len + 1, used = 0;
	char *out = calloc(1, cap);
	*count = 0;
	for (char *line = g_log; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (memmem(line, len, "relo #", 6) &&
		    (memmem(line, len, "patched insn", 12) || memmem(line, len, "substituting", 12) ||
		     memmem(line, len, "failed", 6))) {
			memcpy(out + used, line, len);
			used += len;
			out[used++] = '\n';
			(*count)++;
		}
		line = nl ? nl + 1 : NULL;
	}
	out[used] = '\0';
	return out;
}

Test(kbtf_trim, libbpf_relocates_every_object_the_same)
{
	struct btf *kernel = btf__load_vmlinux_btf();
	cr_assert(kernel, "this machine has no kernel BTF");
	struct eu_kbtf_index *idx;
	eu_error err = {0};
	cr_assert_eq(eu_kbtf_index_new(kernel, &idx, &err), 0, "%s", err.msg);
	uint32_t kernel_size;
	btf__raw_data(kernel, &kernel_size);

	glob_t g;
	cr_assert_eq(glob(EU_PLUGIN_BUILD_DIR "/*/*.bpf.o", 0, NULL, &g), 0);
	cr_assert_eq(glob(EU_TESTBPF_BUILD_DIR "/*/*.bpf.o", GLOB_APPEND, NULL, &g), 0);
	cr_assert_geq(g.gl_pathc, 8, "only %zu objects built", g.gl_pathc);
	char *dir = eu_tmpdir("kbtf");
	size_t total = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *obj = g.gl_pathv[i];
		size_t size;
		char *image = eu_test_read_file(obj, &size);
		cr_assert(image, "%s", obj);
		void *min;
		size_t min_size;
		int rc = eu_kbtf_trim_object(kernel, idx, image, size, true, &min, &min_size, &err);
		cr_assert_eq(rc, 0, "%s: %s", obj, err.msg);
		cr_assert_lt(min_size * 50, kernel_size, "%s: %zu bytes is not minimal", obj, min_size);
		char path[600];
		snprintf(path, sizeof(path), "%s/%zu.btf", dir, i);
		cr_assert_eq(eu_write_file(path, min, min_size), 0);

		size_t n_full, n_min;
		char *full = relo_results(obj, NULL, &n_full);
		char *trimmed = relo_results(obj, path, &n_min);
		cr_assert_str_eq(trimmed, full, "%s: against the minimal BTF:\n%s\nagainst vmlinux:\n%s",
				 obj, trimmed, full);
		total += n_full;
		if (strstr(obj, "corerelo")) {
			cr_assert_geq(n_full, 14, "corerelo: only %zu relocations seen", n_full);
			/* the custom path is in effect: an empty BTF gives other answers */
			struct btf *empty = btf__new_empty();
			uint32_t esize;
			const void *raw = btf__raw_data(empty, &esize);
			snprintf(path, sizeof(path), "%s/empty.btf", dir);
			cr_assert_eq(eu_write_file(path, raw, esize), 0);
			btf__free(empty);
			size_t n_empty;
			char *none = relo_results(obj, path, &n_empty);
			cr_assert_str_neq(none, full, "an empty target BTF changed nothing");
			free(none);
		}
		free(full);
		free(trimmed);
		free(min);
		free(image);
	}
	cr_assert_gt(total, 30, "only %zu relocations in all objects", total);
	eu_tmpdir_remove(dir);
	free(dir);
	globfree(&g);
	eu_kbtf_index_free(idx);
	btf__free(kernel);
}

static int on_event(void *ctx, void *data, size_t size)
{
	cr_assert_eq(size, sizeof(struct corerelo_event));
	memcpy(ctx, data, size);
	return 1;
}

/* libbpf's own answer for a type or enumerator of the kernel, to compare with */
static int kernel_type_size(const char *name, int kind)
{
	struct btf *k = btf__load_vmlinux_btf();
	int id = btf__find_by_name_kind(k, name, (uint32_t)kind);
	int size = id > 0 ? (int)btf__resolve_size(k, (uint32_t)id) : -1;
	btf__free(k);
	return size;
}

static long long kernel_enum_value(const char *type, const char *value)
{
	struct btf *k = btf__load_vmlinux_btf();
	int id = btf__find_by_name_kind(k, type, BTF_KIND_ENUM);
	long long v = -1;
	const struct btf_type *t = id > 0 ? btf__type_by_id(k, (uint32_t)id) : NULL;
	for (int i = 0; t && i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(k, btf_enum(t)[i].name_off), value))
			v = btf_enum(t)[i].val;
	btf__free(k);
	return v;
}

Test(kbtf_trim, cached_trimmed_load_decodes_by_value)
{
	struct eu_package *pkg;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(CORERELO, &pkg, &err), 0, "%s", err.msg);
	/* a store of this test's own, empty: what a first load on this boot sees */
	char *store = eu_tmpdir("kbtfs");
	cr_assert_eq(setenv("EUNOMIA_BTF_CACHE_DIR", store, 1), 0);
	struct eu_kbtf_cache *cache;
	cr_assert_eq(eu_kbtf_cache_new(&cache, &err), 0);
	/* rounds 0 and 1 in one cache (a daemon); round 2 in a new one (the next process) */
	for (int round = 0; round < 3; round++) {
		if (round == 2) {
			struct eu_kbtf_stats s;
			eu_kbtf_cache_stats(cache, &s);
			cr_assert_eq(s.kernel_parses, 1);
			cr_assert_eq(s.trims, 1);
			cr_assert_eq(s.hits, 1, "the second load of the same package must come "
				     "from the cache");
			cr_assert_eq(s.store_hits, 0);
			for (int f = 0; f < EU_KBTF_FB_COUNT; f++)
				cr_assert_eq(s.fallbacks[f], 0, "fallback %s",
					     eu_kbtf_fallback_name(f));
			eu_kbtf_cache_free(cache);
			cr_assert_eq(eu_kbtf_cache_new(&cache, &err), 0);
		}
		struct eu_program_opts po = {.sz = sizeof(po), .kbtf_cache = cache};
		struct eu_program *prog;
		cr_assert_eq(eu_program_open(pkg, &po, &prog, &err), 0, "%s", err.msg);
		struct eu_params *params = eu_program_params(prog);
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", getpid());
		cr_assert_eq(eu_params_set(params, (size_t)eu_params_find(params, "target_pid"), pid,
					   &err), 0, "%s", err.msg);
		cr_assert_eq(eu_program_load(prog, &err), 0, "%s", err.msg);
		cr_assert_eq(eu_program_attach(prog, &err), 0, "%s", err.msg);
		struct bpf_map *map = bpf_object__find_map_by_name(eu_program_object(prog), "events");
		struct corerelo_event ev = {0};
		struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(map), on_event, &ev, NULL);
		cr_assert(rb);
		for (int i = 0; i < 50 && !ev.pid; i++) {
			syscall(SYS_getppid);
			ring_buffer__poll(rb, 100);
		}
		ring_buffer__free(rb);
		eu_program_close(prog);

		cr_assert_eq(ev.pid, getpid());
		cr_assert_eq(ev.ppid, getppid());
		cr_assert_eq(ev.flavor_tgid, getpid());
		cr_assert_eq(ev.has_pid, 1);
		cr_assert_eq(ev.has_missing, 0);
		cr_assert_eq(ev.pid_size, 4);
		cr_assert_eq(ev.task_exists, 1);
		cr_assert_eq(ev.task_size, kernel_type_size("task_struct", BTF_KIND_STRUCT));
		cr_assert_eq(ev.tgid_enum, kernel_enum_value("pid_type", "PIDTYPE_TGID"));
		cr_assert_eq(ev.sid_exists, 1);
		cr_assert_geq(ev.mm_count, 1);
		cr_assert_eq(ev.reset_on_fork, 0);
		char comm[16];
		cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
		cr_assert_str_eq(ev.comm, comm);
		cr_assert_eq(ev.comm3, comm[3]);
	}
	struct eu_kbtf_stats s;
	eu_kbtf_cache_stats(cache, &s);
	cr_assert_eq(s.kernel_parses, 0, "the next process must not parse the kernel BTF");
	cr_assert_eq(s.trims, 0);
	cr_assert_eq(s.store_hits, 1, "the next process must load from the store");
	eu_kbtf_cache_free(cache);
	eu_package_free(pkg);
	unsetenv("EUNOMIA_BTF_CACHE_DIR");
	eu_tmpdir_remove(store);
	free(store);
}

static const char missing_src[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"#include <bpf/bpf_core_read.h>\n"
	"struct eu_type_no_kernel_has { int x; } __attribute__((preserve_access_index));\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"
	"int found;\n"
	"SEC(\"tracepoint/syscalls/sys_enter_getppid\")\n"
	"int probe(void *ctx) { found = bpf_core_type_exists(struct eu_type_no_kernel_has); "
	"return 0; }\n";

Test(kbtf_trim, a_type_vmlinux_lacks_falls_back_and_is_counted)
{
	char *dir = eu_tmpdir("kbtfm");
	char src[300], obj[300];
	snprintf(src, sizeof(src), "%s/missing.bpf.c", dir);
	snprintf(obj, sizeof(obj), "%s/missing.bpf.o", dir);
	cr_assert_eq(eu_write_file(src, missing_src, strlen(missing_src)), 0);
	char *log = NULL;
	cr_assert_eq(eu_compile_bpf(src, obj, &log), 0, "%s", log ? log : "");
	free(log);

	struct eu_package *pkg;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(obj, &pkg, &err), 0, "%s", err.msg);
	struct eu_kbtf_cache *cache;
	cr_assert_eq(eu_kbtf_cache_new(&cache, &err), 0);
	struct eu_program_opts po = {.sz = sizeof(po), .kbtf_cache = cache};
	struct eu_program *prog;
	cr_assert_eq(eu_program_open(pkg, &po, &prog, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_program_load(prog, &err), 0, "a load libbpf alone manages: %s", err.msg);
	eu_program_close(prog);
	struct eu_kbtf_stats s;
	eu_kbtf_cache_stats(cache, &s);
	cr_assert_eq(s.fallbacks[EU_KBTF_FB_MODULE], 1);
	cr_assert_eq(s.trims, 0);

	/* ecc --btfgen's mode keeps going: no candidate is an answer there */
	struct btf *kernel = btf__load_vmlinux_btf();
	struct eu_kbtf_index *idx;
	cr_assert_eq(eu_kbtf_index_new(kernel, &idx, &err), 0);
	void *min;
	size_t min_size;
	cr_assert_eq(eu_kbtf_trim_object(kernel, idx, pkg->object, pkg->object_size, false, &min,
					 &min_size, &err), 0, "%s", err.msg);
	free(min);
	eu_kbtf_index_free(idx);
	btf__free(kernel);
	eu_kbtf_cache_free(cache);
	eu_package_free(pkg);
	eu_tmpdir_remove(dir);
	free(dir);
}
