/* The ecc command: its outputs, what `///` comments and headers put in the meta, and its
 * errors (missing file, clang's own message, bad comment JSON). Sources here are
 * self-contained (no vmlinux.h or libbpf headers needed). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "eu_agent.h"
#include "eu_test.h"

/* What bpf_helpers.h would give, so the sources need no include path. */
#define PRELUDE                                                              \
	"#define SEC(n) __attribute__((section(n), used))\n"                 \
	"#define __uint(name, val) int (*name)[val]\n"                       \
	"#define __type(name, val) typeof(val) *name\n"                      \
	"typedef unsigned int __u32;\n"                                      \
	"typedef unsigned long long __u64;\n"                                \
	"typedef _Bool bool;\n"                                              \
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n"

static char dir[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/eu-ecc-test-%d-XXXXXX", getpid());
	cr_assert(mkdtemp(dir));
	char p[512];
	snprintf(p, sizeof(p), "%s/vmlinux.h", dir);
	FILE *f = fopen(p, "w");
	cr_assert(f);
	fputs("/* unused by these sources */\n", f);
	fclose(f);
}

static void teardown(void)
{
	char *out = NULL;
	eu_run_capture((const char *const[]){"/bin/rm", "-rf", dir, NULL}, 10000, &out);
	free(out);
}

TestSuite(ecc_cli, .init = setup, .fini = teardown);

static void write_text(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert(f, "cannot write %s", p);
	fputs(text, f);
	fclose(f);
}

/* Runs ecc on dir/src (extra args appended); returns the exit code, *out its output. */
static int run_ecc(const char *src, const char *out_dir, const char *extra, char **out)
{
	char s[512], v[512], o[512];
	snprintf(s, sizeof(s), "%s/%s", dir, src);
	snprintf(v, sizeof(v), "%s/vmlinux.h", dir);
	snprintf(o, sizeof(o), "%s/%s", dir, out_dir ? out_dir : ".");
	const char *argv[] = {EU_ECC_BIN, s, "-o", o, "--vmlinux-h", v, extra, NULL};
	return eu_run_capture(argv, 60000, out);
}

static cJSON *load(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	char *text = eu_test_read_file(p, NULL);
	cr_assert(text, "%s was not written", p);
	cJSON *j = cJSON_Parse(text);
	free(text);
	cr_assert(j, "%s is not JSON", p);
	return j;
}

static const cJSON *path(const cJSON *j, const char *const *keys)
{
	for (size_t i = 0; keys[i] && j; i++) {
		const char *k = keys[i];
		if (k[0] == '#')
			j = cJSON_GetArrayItem(j, atoi(k + 1));
		else
			j = cJSON_GetObjectItemCaseSensitive(j, k);
	}
	return j;
}

#define AT(j, ...) path(j, (const char *const[]){__VA_ARGS__, NULL})

static const char *s_at(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : "(not a string)";
}

Test(ecc_cli, comments_and_header_fill_the_meta)
{
	write_text("doc.h", "/* a \"struct fake {\" in a comment */\n"
			    "struct part { int x; };\n"
			    "struct rec { struct part p; char name[8]; __u64 when; };\n");
	write_text("doc.bpf.c",
		   "// SPDX-License-Identifier: GPL-2.0\n"
		   "/// Counts things.\n"
		   "/// @brief one-line summary\n"
		   "/// @version 1.2.3\n"
		   "/// @details longer text\n"
		   PRELUDE
		   "/// Process to trace\n"
		   "/// @cmdarg {\"default\": 42, \"short\": \"p\", \"long\": \"pid\",\n"
		   "///          \"help\": \"the pid\"}\n"
		   "const volatile int targ_pid = 0;\n"
		   "/// @description only failures\n"
		   "/// @value true\n"
		   "const volatile bool only_failed = 0;\n"
		   "const volatile char label[8] = \"x\";\n"
		   "/// @sample {\"interval\": 500, \"type\": \"linear_hist\", \"unit\": \"ms\",\n"
		   "///          \"clear_map\": true}\n"
		   "struct {\n"
		   "\t__uint(type, 1);\n"
		   "\t__uint(max_entries, 16);\n"
		   "\t__type(key, __u32);\n"
		   "\t__type(value, __u64);\n"
		   "} counts SEC(\".maps\");\n"
		   "/// @export_config no_export\n"
		   "struct { __uint(type, 1); __uint(max_entries, 4); __type(key, __u32); "
		   "__type(value, __u32); } quiet SEC(\".maps\");\n"
		   "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
		   "int count_getpid(void *ctx)\n"
		   "{\n"
		   "\t/// a comment inside code documents nothing\n"
		   "\treturn targ_pid + only_failed + label[0];\n"
		   "}\n");
	char *out = NULL;
	int rc = run_ecc("doc.bpf.c", "out/nested", "-v", &out);
	cr_assert_eq(rc, 0, "ecc failed:\n%s", out);
	free(out);

	cJSON *m = load("out/nested/doc.skel.json");
	cJSON *pkg = load("out/nested/package.json");
	struct stat st;
	char obj[512];
	snprintf(obj, sizeof(obj), "%s/out/nested/doc.bpf.o", dir);
	cr_assert_eq(stat(obj, &st), 0, "doc.bpf.o not written");
	cr_expect(cJSON_Compare(AT(pkg, "meta"), m, true));

	cr_expect_str_eq(s_at(AT(m, "bpf_skel", "obj_name")), "doc_bpf");
	cr_expect_str_eq(s_at(AT(m, "bpf_skel", "doc", "description")), "Counts things.");
	cr_expect_str_eq(s_at(AT(m, "bpf_skel", "doc", "brief")), "one-line summary");
	cr_expect_str_eq(s_at(AT(m, "bpf_skel", "doc", "version")), "1.2.3");
	cr_expect_str_eq(s_at(AT(m, "bpf_skel", "doc", "details")), "longer text");

	const cJSON *ro = AT(m, "bpf_skel", "data_sections", "#0");
	cr_expect_str_eq(s_at(AT(ro, "name")), ".rodata");
	const cJSON *v0 = AT(ro, "variables", "#0");
	cr_expect_str_eq(s_at(AT(v0, "name")), "targ_pid");
	cr_expect_str_eq(s_at(AT(v0, "description")), "Process to trace");
	cr_expect_eq(AT(v0, "cmdarg", "default")->valuedouble, 42);
	cr_expect_str_eq(s_at(AT(v0, "cmdarg", "short")), "p");
	cr_expect_str_eq(s_at(AT(v0, "cmdarg", "long")), "pid");
	cr_expect_str_eq(s_at(AT(v0, "cmdarg", "help")), "the pid");
	const cJSON *v1 = AT(ro, "variables", "#1");
	cr_expect_str_eq(s_at(AT(v1, "name")), "only_failed");
	cr_expect_str_eq(s_at(AT(v1, "type")), "bool");
	cr_expect_str_eq(s_at(AT(v1, "description")), "only failures");
	cr_expect(cJSON_IsTrue(AT(v1, "value")));
	const cJSON *v2 = AT(ro, "variables", "#2");
	cr_expect_str_eq(s_at(AT(v2, "type")), "char[8]");
	cr_expect_null(AT(v2, "description"), "an undocumented variable has no description");

	const cJSON *counts = AT(m, "bpf_skel", "maps", "#0");
	cr_expect_str_eq(s_at(AT(counts, "name")), "counts");
	cr_expect_eq(AT(counts, "sample", "interval")->valuedouble, 500);
	cr_expect_str_eq(s_at(AT(counts, "sample", "type")), "linear_hist");
	cr_expect_str_eq(s_at(AT(counts, "sample", "unit")), "ms");
	cr_expect(cJSON_IsTrue(AT(counts, "sample", "clear_map")));
	const cJSON *quiet = AT(m, "bpf_skel", "maps", "#1");
	cr_expect_str_eq(s_at(AT(quiet, "name")), "quiet");
	cr_expect_str_eq(s_at(AT(quiet, "export_config")), "no_export");

	/* the header's structs are kept in BTF; the embedded one is not an export of its own */
	const cJSON *et = AT(m, "export_types");
	cr_assert_eq(cJSON_GetArraySize(et), 1, "export_types: %s", cJSON_PrintUnformatted(et));
	cr_expect_str_eq(s_at(AT(et, "#0", "name")), "rec");
	cr_expect_str_eq(s_at(AT(et, "#0", "members", "#0", "type")), "struct part");
	cr_expect_str_eq(s_at(AT(et, "#0", "members", "#1", "type")), "char[8]");
	cr_expect_str_eq(s_at(AT(et, "#0", "members", "#2", "type")), "__u64");
	cr_expect_eq(AT(et, "#0", "size")->valueint, 24);
	const cJSON *bss = AT(m, "bpf_skel", "data_sections", "#1");
	cr_expect_str_eq(s_at(AT(bss, "name")), ".bss");
	cr_expect_str_eq(s_at(AT(bss, "variables", "#0", "name")), "__eunomia_dummy_part_ptr");
	cr_expect_str_eq(s_at(AT(bss, "variables", "#1", "name")), "__eunomia_dummy_rec_ptr");
	cr_expect_str_eq(s_at(AT(bss, "variables", "#1", "type")), "struct rec *");
	cJSON_Delete(m);
	cJSON_Delete(pkg);
}

Test(ecc_cli, source_without_a_header_and_default_output_dir)
{
	write_text("plain.bpf.c", PRELUDE "const volatile __u64 limit = 5;\n"
					  "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
					  "int p(void *ctx) { return limit; }\n");
	char s[512], v[512];
	snprintf(s, sizeof(s), "%s/plain.bpf.c", dir);
	snprintf(v, sizeof(v), "%s/vmlinux.h", dir);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_ECC_BIN, s, "--vmlinux-h", v, NULL},
				60000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	cJSON *m = load("plain.skel.json");
	cr_expect_null(AT(m, "export_types"), "no header, no struct event: nothing to export");
	cr_expect_null(AT(m, "bpf_skel", "doc"));
	cr_expect_str_eq(s_at(AT(m, "bpf_skel", "data_sections", "#0", "variables", "#0", "type")),
			 "__u64");
	cr_expect_str_eq(s_at(AT(m, "bpf_skel", "progs", "#0", "attach")),
			 "tp/syscalls/sys_enter_getpid");
	cJSON_Delete(m);
}

Test(ecc_cli, missing_source_fails)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_ECC_BIN, "/nonexistent/x.bpf.c", NULL},
				60000, &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "/nonexistent/x.bpf.c") && strstr(out, "No such file"),
		  "message: %s", out);
	free(out);
}

Test(ecc_cli, usage_errors)
{
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_ECC_BIN, NULL}, 60000, &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "no source file") && strstr(out, "usage:"), "message: %s", out);
	free(out);
	rc = eu_run_capture((const char *const[]){EU_ECC_BIN, "a.bpf.c", "b.bpf.c", NULL}, 60000,
			    &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "unexpected argument 'b.bpf.c'"), "message: %s", out);
	free(out);
}

Test(ecc_cli, clang_errors_are_shown)
{
	write_text("bad.bpf.c", PRELUDE "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
					"int p(void *ctx) { return no_such_thing; }\n");
	char *out = NULL;
	int rc = run_ecc("bad.bpf.c", NULL, NULL, &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "clang failed to compile"), "message: %s", out);
	cr_expect(strstr(out, "bad.bpf.c:") && strstr(out, "no_such_thing"),
		  "clang's own diagnostic is missing: %s", out);
	free(out);
	char p[512];
	snprintf(p, sizeof(p), "%s/package.json", dir);
	cr_expect_neq(access(p, F_OK), 0, "a package was written despite the error");
}

Test(ecc_cli, bad_cmdarg_json_names_the_line)
{
	write_text("badc.bpf.c", PRELUDE "/// @cmdarg {\"short\": \"p\",\n"
					 "const volatile int x = 0;\n"
					 "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
					 "int p(void *ctx) { return x; }\n");
	char *out = NULL;
	int rc = run_ecc("badc.bpf.c", NULL, NULL, &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "badc.bpf.c:8:") && strstr(out, "invalid JSON"), "message: %s", out);
	free(out);
}

Test(ecc_cli, comment_on_a_missing_variable_warns)
{
	write_text("warn.bpf.c", PRELUDE "/// described but static\n"
					 "static volatile int hidden = 0;\n"
					 "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
					 "int p(void *ctx) { return hidden; }\n");
	char *out = NULL;
	int rc = run_ecc("warn.bpf.c", NULL, NULL, &out);
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "warning:") && strstr(out, "hidden"), "no warning: %s", out);
	free(out);
}

/* `/// @perf_event` above a perf_event program (head on one line, or the name inside a
 * libbpf macro on the next) becomes its eu_perf_event, canonical; a bad event, a tag on a
 * program of another section or above no program fails naming the line. */
Test(ecc_cli, perf_event_annotation_sets_the_programs_event)
{
	write_text("perf.bpf.c", PRELUDE "#define BPF_PROG(name, args...) name(void *ctx)\n"
					 "/// @perf_event cache-misses:period=5000\n"
					 "SEC(\"perf_event\") int on_miss(void *ctx) { return 0; }\n"
					 "/// samples the clock\n"
					 "/// @perf_event cpu-clock:freq=99\n"
					 "SEC(\"perf_event\")\n"
					 "int BPF_PROG(on_tick)\n"
					 "{\n"
					 "\treturn 0;\n"
					 "}\n"
					 "SEC(\"perf_event\")\n"
					 "int plain(void *ctx) { return 0; }\n");
	char *out = NULL;
	int rc = run_ecc("perf.bpf.c", "perf", NULL, &out);
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	cJSON *pkg = load("perf/package.json");
	const cJSON *progs = AT(pkg, "meta", "bpf_skel", "progs");
	cr_assert_eq(cJSON_GetArraySize(progs), 3);
	int seen = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, progs) {
		const char *name = s_at(AT(p, "name"));
		const cJSON *ev = AT(p, "eu_perf_event");
		if (!strcmp(name, "on_miss"))
			cr_expect_str_eq(s_at(ev), "hw:cache-misses:period=5000");
		else if (!strcmp(name, "on_tick"))
			cr_expect_str_eq(s_at(ev), "sw:cpu-clock:freq=99");
		else
			cr_expect_null(ev, "%s has an event: %s", name, s_at(ev));
		seen++;
	}
	cr_expect_eq(seen, 3);
	cJSON_Delete(pkg);

	static const struct {
		const char *src, *want;
	} bad[] = {
		{"/// @perf_event cache-mises\nSEC(\"perf_event\") int p(void *ctx) { return 0; }\n",
		 "bad0.bpf.c:8: @perf_event of program p: perf event \"cache-mises\": unknown event"},
		{"/// @perf_event cpu-clock\nSEC(\"tp/syscalls/sys_enter_getpid\")\n"
		 "int p(void *ctx) { return 0; }\n",
		 "bad1.bpf.c:8: @perf_event of program p: its section is "
		 "\"tp/syscalls/sys_enter_getpid\", not \"perf_event\""},
		{"/// @perf_event cpu-clock\nconst volatile int x = 0;\n"
		 "SEC(\"perf_event\") int p(void *ctx) { return x; }\n",
		 "bad2.bpf.c:8: @perf_event must be right above a SEC(\"perf_event\") program"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[32], text[512];
		snprintf(name, sizeof(name), "bad%zu.bpf.c", i);
		snprintf(text, sizeof(text), "%s%s", PRELUDE, bad[i].src);
		write_text(name, text);
		out = NULL;
		rc = run_ecc(name, "bad", NULL, &out);
		cr_expect_eq(rc, 1, "%s: exit %d: %s", name, rc, out);
		cr_expect(strstr(out, bad[i].want), "\"%s\" missing from: %s", bad[i].want, out);
		free(out);
	}
}

/* ecc with extra arguments after the source, -o DIR and --vmlinux-h; returns the exit code. */
static int run_ecc_with(const char *src, const char *const *extra, char **out)
{
	char s[512], v[512], o[512];
	snprintf(s, sizeof(s), "%s/%s", dir, src);
	snprintf(v, sizeof(v), "%s/vmlinux.h", dir);
	snprintf(o, sizeof(o), "%s/out", dir);
	const char *argv[32] = {EU_ECC_BIN, s, "-o", o, "--vmlinux-h", v};
	size_t n = 6;
	for (size_t i = 0; extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	return eu_run_capture(argv, 60000, out);
}

/* The initial value of the object's .rodata: what the flags made of `answer` and `quoted`. */
static void rodata_of(const char *obj_rel, int *answer, char *quoted, size_t qsize)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, obj_rel);
	struct bpf_object *obj = bpf_object__open_file(p, NULL);
	cr_assert(obj, "cannot open %s", p);
	struct bpf_map *m;
	const char *init = NULL;
	size_t size = 0;
	bpf_object__for_each_map(m, obj)
	{
		if (strstr(bpf_map__name(m), ".rodata"))
			init = bpf_map__initial_value(m, &size);
	}
	cr_assert(init && size >= sizeof(int) + qsize, "no .rodata of %zu bytes", size);
	memcpy(answer, init, sizeof(int));
	memcpy(quoted, init + sizeof(int), qsize);
	bpf_object__close(obj);
}

Test(ecc_cli, defines_includes_and_cflags_reach_clang)
{
	char inc[512];
	snprintf(inc, sizeof(inc), "%s/inc", dir);
	cr_assert_eq(mkdir(inc, 0755), 0);
	write_text("inc/extra_answer.h", "#define EXTRA_ANSWER 40\n");
	write_text("flags.bpf.c", PRELUDE "#include \"extra_answer.h\"\n"
					  "#ifndef ANSWER_BIAS\n#error ANSWER_BIAS is not defined\n#endif\n"
					  "#ifdef FORBIDDEN\n#error FORBIDDEN is defined\n#endif\n"
					  "const volatile int answer = EXTRA_ANSWER + ANSWER_BIAS;\n"
					  "const volatile char quoted[4] = LABEL;\n"
					  "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
					  "int p(void *ctx) { return answer + quoted[0]; }\n");
	char *out = NULL;
	/* without -I the header is not found, without -D the source refuses itself */
	int rc = run_ecc_with("flags.bpf.c", (const char *const[]){NULL}, &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "extra_answer.h' file not found"), "clang said: %s", out);
	free(out);
	rc = run_ecc_with("flags.bpf.c", (const char *const[]){"-I", inc, NULL}, &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "ANSWER_BIAS is not defined"), "clang said: %s", out);
	free(out);
	/* --cflags: split at blanks, quotes group, a later -U undoes an earlier -D */
	rc = run_ecc_with("flags.bpf.c",
			  (const char *const[]){"-I", inc, "-D", "ANSWER_BIAS=2", "--cflags",
						"-DFORBIDDEN -UFORBIDDEN '-DLABEL=\"a b\"'", NULL},
			  &out);
	cr_assert_eq(rc, 0, "ecc failed:\n%s", out);
	free(out);
	int answer = 0;
	char quoted[4] = "";
	rodata_of("out/flags.bpf.o", &answer, quoted, sizeof(quoted));
	cr_expect_eq(answer, 42);
	cr_expect_str_eq(quoted, "a b");
	/* -a is upstream's spelling; -U undefines what an earlier -D defined; a -D value is
	 * taken verbatim (no splitting, quotes kept) */
	rc = run_ecc_with("flags.bpf.c",
			  (const char *const[]){"--include", inc, "-a", "-DANSWER_BIAS=-40",
						"-DFORBIDDEN", "-U", "FORBIDDEN", "-D", "LABEL=\"xy\"",
						NULL},
			  &out);
	cr_assert_eq(rc, 0, "ecc failed:\n%s", out);
	free(out);
	rodata_of("out/flags.bpf.o", &answer, quoted, sizeof(quoted));
	cr_expect_eq(answer, 0);
	cr_expect_str_eq(quoted, "xy");
	rc = run_ecc_with("flags.bpf.c", (const char *const[]){"--cflags", "'-DX=1", NULL}, &out);
	cr_expect_neq(rc, 0);
	cr_expect(strstr(out, "unterminated quote"), "message: %s", out);
	free(out);
}

Test(ecc_cli, mcpu_default_and_choice)
{
	write_text("cpu.bpf.c", PRELUDE "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
					"int p(void *ctx) { return 0; }\n");
	char *out = NULL;
	int rc = run_ecc_with("cpu.bpf.c", (const char *const[]){"-v", NULL}, &out);
	cr_assert_eq(rc, 0, "%s", out);
	/* every kernel this runs on (5.1+, it has BTF) gets v3 */
	cr_expect(strstr(out, " -mcpu=v3 "), "clang was not given -mcpu=v3: %s", out);
	free(out);
	rc = run_ecc_with("cpu.bpf.c", (const char *const[]){"-v", "--mcpu", "v2", NULL}, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, " -mcpu=v2 ") && !strstr(out, "-mcpu=v3"), "%s", out);
	free(out);
	rc = run_ecc_with("cpu.bpf.c", (const char *const[]){"--mcpu", "v99", NULL}, &out);
	cr_expect_neq(rc, 0, "clang accepted -mcpu=v99");
	cr_expect(strstr(out, "v99"), "clang's complaint is not shown: %s", out);
	free(out);
}

/* ecc's closing line says what user space gets (the maps counted include the .bss that
 * holds the header structs' dummy pointers): the struct a ring buffer sends, or, for a
 * package without one, its sampled maps and their value types (never "exports struct" for a
 * header struct nothing sends). */
Test(ecc_cli, summary_names_what_the_package_gives)
{
	static const char prog[] = "SEC(\"tp/syscalls/sys_enter_getpid\")\n"
				   "int p(void *ctx) { return 0; }\n";
	write_text("hist.h", "#ifndef HIST_H\n#define HIST_H\n"
			     "struct hist { __u32 slots[4]; };\n#endif\n");
	char src[2048];
	snprintf(src, sizeof(src),
		 PRELUDE "#include \"hist.h\"\n"
		 "/// @sample {\"interval\": 1000, \"type\": \"log2_hist\"}\n"
		 "struct { __uint(type, 1); __uint(max_entries, 4); __type(key, __u32);\n"
		 "\t__type(value, struct hist); } hists SEC(\".maps\");\n"
		 "/// @sample {\"interval\": 1000}\n"
		 "struct { __uint(type, 1); __uint(max_entries, 4); __type(key, __u32);\n"
		 "\t__type(value, __u64); } totals SEC(\".maps\");\n%s",
		 prog);
	write_text("hist.bpf.c", src);
	char *out = NULL;
	cr_assert_eq(run_ecc("hist.bpf.c", "h", NULL, &out), 0, "%s", out);
	cr_expect(strstr(out, "(hist_bpf: 1 program(s), 3 map(s), samples map hists (struct hist), "
			      "map totals (__u64))\n"), "%s", out);
	cr_expect(!strstr(out, "exports"), "%s", out);
	free(out);

	write_text("plain2.h", "struct rec { __u32 x; };\n");
	snprintf(src, sizeof(src),
		 PRELUDE "struct { __uint(type, 1); __uint(max_entries, 4); __type(key, __u32);\n"
		 "\t__type(value, __u64); } seen SEC(\".maps\");\n%s",
		 prog);
	write_text("plain2.bpf.c", src);
	cr_assert_eq(run_ecc("plain2.bpf.c", "p", NULL, &out), 0, "%s", out);
	cr_expect(strstr(out, "(plain2_bpf: 1 program(s), 2 map(s), no events (no ring buffer or "
			      "perf event array): the agent prints the maps and globals its "
			      "programs fill)\n"), "%s", out);
	free(out);

	write_text("ev.h", "struct event { __u32 pid; };\n");
	snprintf(src, sizeof(src),
		 PRELUDE "struct { __uint(type, 27); __uint(max_entries, 4096); } rb "
			 "SEC(\".maps\");\n%s",
		 prog);
	write_text("ev.bpf.c", src);
	cr_assert_eq(run_ecc("ev.bpf.c", "e", NULL, &out), 0, "%s", out);
	cr_expect(strstr(out, "(ev_bpf: 1 program(s), 2 map(s), exports struct event)\n"), "%s",
		  out);
	free(out);
}
