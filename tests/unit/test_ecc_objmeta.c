/* eu_meta_from_object on objects compiled here with plain clang (no ecc): which struct a bare
 * .bpf.o exports (the convention in package.h), internal map names and flags, and the errors
 * for files that are not usable BPF objects. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_test.h"
#include "eunomia/package.h"

#define PRELUDE                                                              \
	"#define SEC(n) __attribute__((section(n), used))\n"                 \
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/eu-objmeta-test-%d-XXXXXX", getpid());
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char *out = NULL;
	eu_run_capture((const char *const[]){"/bin/rm", "-rf", dir, NULL}, 10000, &out);
	free(out);
}

TestSuite(objmeta, .init = setup, .fini = teardown);

static const char *clang_path(void)
{
	static const char *const c[] = {"/usr/bin/clang", "/usr/bin/clang-14",
					"/usr/local/bin/clang"};
	for (size_t i = 0; i < 3; i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	cr_assert_fail("clang not found (scripts/install-deps.sh installs it)");
	return NULL;
}

/* Compiles source into dir/name.bpf.o (with -g unless no_btf); returns the object bytes. */
static char *compile(const char *name, const char *source, bool no_btf, size_t *size)
{
	char src[512], obj[512];
	snprintf(src, sizeof(src), "%s/%s.bpf.c", dir, name);
	snprintf(obj, sizeof(obj), "%s/%s.bpf.o", dir, name);
	FILE *f = fopen(src, "w");
	cr_assert(f);
	fputs(source, f);
	fclose(f);
	const char *argv[] = {clang_path(), "-O2", "-target", "bpf", no_btf ? "-O2" : "-g",
			      "-c", src, "-o", obj, NULL};
	char *out = NULL;
	int rc = eu_run_capture(argv, 60000, &out);
	cr_assert_eq(rc, 0, "clang failed: %s", out);
	free(out);
	char *data = eu_test_read_file(obj, size);
	cr_assert(data);
	return data;
}

static struct eu_package *derive(const char *name, const char *source)
{
	size_t size;
	char *elf = compile(name, source, false, &size);
	struct eu_package *pkg = calloc(1, sizeof(*pkg));
	char obj_name[64];
	snprintf(obj_name, sizeof(obj_name), "%s_bpf", name);
	eu_error err = {0};
	int rc = eu_meta_from_object(pkg, elf, size, obj_name, &err);
	free(elf);
	cr_assert_eq(rc, 0, "%s", err.msg);
	return pkg;
}

#define PROG "SEC(\"tp/syscalls/sys_enter_getpid\") int p(void *ctx) { return 0; }\n"

Test(objmeta, dummy_pointer_names_the_export)
{
	struct eu_package *pkg = derive(
		"dummy", PRELUDE "struct a { int x; }; struct b { long y; };\n"
			 "struct b *global_b;\n"
			 "struct a *__eunomia_dummy_a_ptr __attribute__((unused));\n" PROG);
	cr_assert_eq(pkg->n_export_types, 1, "the dummy wins over the plain .bss pointer");
	cr_expect_str_eq(pkg->export_types[0].name, "a");
	cr_expect_eq(pkg->export_types[0].size, 4);
	cr_expect_str_eq(pkg->export_types[0].members[0].name, "x");
	cr_expect_str_eq(pkg->export_types[0].members[0].type, "int");
	cr_expect_str_eq(pkg->obj_name, "dummy_bpf");
	cr_expect_str_eq(pkg->name, "dummy");
	cr_expect_eq(pkg->format, EU_PKG_BPF_OBJECT);
	cr_expect_eq(pkg->poll_timeout_ms, 100);
	cr_expect_eq(pkg->perf_buffer_pages, 64);
	cr_expect(pkg->print_header);
	/* the dummy is kept as a variable (upstream keeps it), flagged as such */
	cr_assert_eq(pkg->n_sections, 1);
	cr_expect_str_eq(pkg->sections[0].name, ".bss");
	bool found = false;
	for (size_t i = 0; i < pkg->sections[0].n_vars; i++)
		if (!strcmp(pkg->sections[0].vars[i].name, "__eunomia_dummy_a_ptr")) {
			found = true;
			cr_expect(pkg->sections[0].vars[i].dummy);
			cr_expect_str_eq(pkg->sections[0].vars[i].type, "struct a *");
		}
	cr_expect(found);
	eu_package_free(pkg);
}

Test(objmeta, bss_struct_pointer_names_the_export)
{
	struct eu_package *pkg = derive("bssptr", PRELUDE "struct rec { int pid; char comm[16]; };\n"
							  "struct rec *exported;\n" PROG);
	cr_assert_eq(pkg->n_export_types, 1);
	cr_expect_str_eq(pkg->export_types[0].name, "rec");
	cr_expect_eq(pkg->export_types[0].size, 20);
	cr_expect_str_eq(pkg->export_types[0].members[1].type, "char[16]");
	eu_package_free(pkg);
}

Test(objmeta, struct_event_is_the_fallback)
{
	struct eu_package *pkg = derive("ev", PRELUDE "struct event { unsigned long long ts; };\n"
						      "struct event last_event;\n" PROG);
	cr_assert_eq(pkg->n_export_types, 1);
	cr_expect_str_eq(pkg->export_types[0].name, "event");
	cr_expect_str_eq(pkg->export_types[0].members[0].type, "unsigned long long");
	eu_package_free(pkg);
}

Test(objmeta, no_export_without_a_candidate)
{
	struct eu_package *pkg = derive("none", PRELUDE "struct other { int a; };\n"
							"struct other value;\n" PROG);
	cr_expect_eq(pkg->n_export_types, 0);
	eu_package_free(pkg);
}

Test(objmeta, internal_maps_and_sections)
{
	struct eu_package *pkg = derive(
		"secs", PRELUDE "const volatile int param = 3;\n"
				"int counter = 1;\n"
				"static int hidden_static;\n"
				"int zeroed;\n"
				"SEC(\"tp/syscalls/sys_enter_getpid\") int p(void *ctx)\n"
				"{ hidden_static++; counter++; zeroed++; return param; }\n");
	/* libbpf's internal map names carry the first 8 bytes of obj_name */
	const char *want[][3] = {{"secs_bpf.data", "data", "1"},
				 {"secs_bpf.rodata", "rodata", "1"},
				 {"secs_bpf.bss", "bss", "1"}};
	for (size_t i = 0; i < 3; i++) {
		const struct eu_map_meta *m = eu_package_find_map(pkg, want[i][0]);
		cr_assert(m, "map %s missing", want[i][0]);
		cr_expect_str_eq(m->ident, want[i][1]);
		cr_expect(m->mmaped, "%s: a section with globals is mmapable", want[i][0]);
	}
	cr_assert_eq(pkg->n_sections, 3);
	/* libbpf's map order: .rodata before .bss */
	int ro = -1, bss = -1;
	for (size_t i = 0; i < pkg->n_sections; i++) {
		if (!strcmp(pkg->sections[i].name, ".rodata"))
			ro = (int)i;
		if (!strcmp(pkg->sections[i].name, ".bss"))
			bss = (int)i;
		for (size_t j = 0; j < pkg->sections[i].n_vars; j++)
			cr_expect_str_neq(pkg->sections[i].vars[j].name, "hidden_static",
					  "static variables are not parameters");
	}
	cr_expect(ro >= 0 && bss > ro);
	cr_assert_eq(pkg->n_progs, 1);
	cr_expect_str_eq(pkg->progs[0].name, "p");
	cr_expect_str_eq(pkg->progs[0].attach, "tp/syscalls/sys_enter_getpid");
	cr_expect(pkg->progs[0].link);
	eu_package_free(pkg);
}

Test(objmeta, tc_and_xdp_defaults)
{
	struct eu_package *pkg = derive("net", PRELUDE "SEC(\"tc\") int t(void *ctx) { return 0; }\n"
						       "SEC(\"xdp\") int x(void *ctx) { return 2; }\n");
	cr_assert_eq(pkg->n_progs, 2);
	cr_expect_eq(pkg->progs[0].tc.ifindex, 1);
	cr_expect_eq(pkg->progs[0].tc.handle, 1);
	cr_expect_eq(pkg->progs[0].tc.priority, 1);
	cr_expect_eq(pkg->progs[1].xdp.ifindex, 1);
	char *json = eu_package_meta_json(pkg, NULL);
	cr_assert(json);
	cr_expect(strstr(json, "\"attach_point\":\t\"BPF_TC_INGRESS\""), "%s", json);
	cr_expect(strstr(json, "\"xdpopts\""), "%s", json);
	free(json);
	eu_package_free(pkg);
}

Test(objmeta, not_an_elf)
{
	struct eu_package pkg;
	memset(&pkg, 0, sizeof(pkg));
	eu_error err = {0};
	static const char text[] = "{\"this is\": \"json, not an object file at all......\"}";
	int rc = eu_meta_from_object(&pkg, text, sizeof(text), "x_bpf", &err);
	cr_expect_eq(rc, -ENOEXEC);
	cr_expect(strstr(err.msg, "x_bpf") && strstr(err.msg, "not an ELF"), "%s", err.msg);
}

Test(objmeta, elf_for_another_machine)
{
	size_t size;
	char *elf = eu_test_read_file("/bin/true", &size);
	cr_assert(elf);
	struct eu_package pkg;
	memset(&pkg, 0, sizeof(pkg));
	eu_error err = {0};
	int rc = eu_meta_from_object(&pkg, elf, size, "true_bpf", &err);
	free(elf);
	cr_expect_eq(rc, -ENOEXEC);
	cr_expect(strstr(err.msg, "not for BPF"), "%s", err.msg);
}

Test(objmeta, object_without_btf)
{
	size_t size;
	char *elf = compile("nobtf", PRELUDE PROG, true, &size);
	struct eu_package pkg;
	memset(&pkg, 0, sizeof(pkg));
	eu_error err = {0};
	int rc = eu_meta_from_object(&pkg, elf, size, "nobtf_bpf", &err);
	free(elf);
	cr_expect_eq(rc, -ENODATA);
	cr_expect(strstr(err.msg, "no BTF") && strstr(err.msg, "clang -g"), "%s", err.msg);
}

/* The same derivation serves bare .bpf.o files given to the reader. */
Test(objmeta, reader_accepts_a_bare_object)
{
	size_t size;
	char *elf = compile("bare", PRELUDE "struct event { int pid; };\n"
					    "struct event *last;\n" PROG,
			    false, &size);
	free(elf);
	char p[512];
	snprintf(p, sizeof(p), "%s/bare.bpf.o", dir);
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(p, &pkg, &err), 0, "%s", err.msg);
	cr_expect_eq(pkg->format, EU_PKG_BPF_OBJECT);
	cr_expect_str_eq(pkg->obj_name, "bare_bpf");
	cr_assert_eq(pkg->n_export_types, 1);
	cr_expect_str_eq(pkg->export_types[0].name, "event");
	eu_package_free(pkg);
}
