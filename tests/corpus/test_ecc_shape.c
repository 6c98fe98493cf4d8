/* Our ecc, run on our counterparts of upstream's examples, writes metadata of the same shape
 * as upstream's ecc did for the originals (the .meta.json files of the compatibility corpus, EU_COMPAT_DIR): same keys
 * at every level, same maps (names, idents, mmaped), programs, variables and exported members.
 * The one intended difference: plugins that use ring buffers carry the eu_rb_drops counter
 * map, which the comparison skips. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eu_test.h"
#include "core/codec.h"
#include "eunomia/package.h"

#define DROPS_MAP "eu_rb_drops"

static cJSON *load_json(const char *path)
{
	char *text = eu_test_read_file(path, NULL);
	cr_assert(text, "cannot read %s (is the build complete?)", path);
	cJSON *j = cJSON_Parse(text);
	free(text);
	cr_assert(j, "%s is not JSON", path);
	return j;
}

/* Sorted, comma-joined keys of an object, for comparing key sets with one message. */
static void key_set(const cJSON *obj, char *out, size_t size)
{
	const char *keys[64];
	size_t n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		if (n < 64)
			keys[n++] = it->string;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i], "_note") == 0)
			continue;
		strncat(out, keys[i], size - strlen(out) - 2);
		strncat(out, ",", size - strlen(out) - 1);
	}
}

static void same_keys(const cJSON *ours, const cJSON *theirs, const char *where)
{
	char a[1024], b[1024];
	key_set(ours, a, sizeof(a));
	key_set(theirs, b, sizeof(b));
	cr_expect_str_eq(a, b, "%s: keys differ: ours {%s} upstream {%s}", where, a, b);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static bool is_true(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(get(o, k));
}

/* the element of an array of objects whose "name" is name */
static const cJSON *by_name(const cJSON *arr, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		if (strcmp(str(it, "name"), name) == 0)
			return it;
	}
	return NULL;
}

static void compare_maps(const cJSON *ours, const cJSON *theirs, const char *what)
{
	const cJSON *o = ours ? ours->child : NULL;
	const cJSON *t = theirs ? theirs->child : NULL;
	for (;;) {
		while (o && strcmp(str(o, "name"), DROPS_MAP) == 0)
			o = o->next;
		if (!o || !t)
			break;
		char where[128];
		snprintf(where, sizeof(where), "%s: map %s", what, str(t, "name"));
		cr_expect_str_eq(str(o, "name"), str(t, "name"), "%s: name", where);
		cr_expect_str_eq(str(o, "ident"), str(t, "ident"), "%s: ident", where);
		cr_expect_eq(is_true(o, "mmaped"), is_true(t, "mmaped"), "%s: mmaped", where);
		same_keys(o, t, where);
		const cJSON *os = get(o, "sample"), *ts = get(t, "sample");
		if (ts) {
			cr_expect(os, "%s: no sample", where);
			if (os) {
				same_keys(os, ts, where);
				cr_expect_eq(get(os, "interval")->valuedouble,
					     get(ts, "interval")->valuedouble, "%s: interval", where);
				cr_expect_str_eq(str(os, "type"), str(ts, "type"), "%s: type", where);
			}
		}
		o = o->next;
		t = t->next;
	}
	cr_expect(!o && !t, "%s: map count differs (extra %s %s)", what, o ? "ours" : "upstream",
		  o ? str(o, "name") : t ? str(t, "name") : "");
}

static void compare_progs(const cJSON *ours, const cJSON *theirs, const char *what)
{
	cr_assert_eq(cJSON_GetArraySize(ours), cJSON_GetArraySize(theirs), "%s: program count",
		     what);
	const cJSON *o = ours->child, *t = theirs->child;
	for (; o && t; o = o->next, t = t->next) {
		char where[128];
		snprintf(where, sizeof(where), "%s: program %s", what, str(t, "name"));
		cr_expect_str_eq(str(o, "name"), str(t, "name"), "%s: name", where);
		cr_expect_str_eq(str(o, "attach"), str(t, "attach"), "%s: attach", where);
		cr_expect(is_true(o, "link"), "%s: link", where);
		same_keys(o, t, where);
		const char *sub[] = {"tchook", "tcopts", "xdpopts"};
		for (size_t i = 0; i < 3; i++) {
			const cJSON *os = get(o, sub[i]), *ts = get(t, sub[i]);
			if (ts && os) {
				same_keys(os, ts, where);
				cr_expect(cJSON_Compare(os, ts, true), "%s: %s differs", where, sub[i]);
			}
		}
		if (get(t, "ifindex"))
			cr_expect_eq(get(o, "ifindex")->valueint, get(t, "ifindex")->valueint,
				     "%s: ifindex", where);
	}
}

static void compare_sections(const cJSON *ours, const cJSON *theirs, const char *what)
{
	cr_assert_eq(cJSON_GetArraySize(ours), cJSON_GetArraySize(theirs),
		     "%s: data section count", what);
	const cJSON *o = ours->child, *t = theirs->child;
	for (; o && t; o = o->next, t = t->next) {
		char where[128];
		snprintf(where, sizeof(where), "%s: section %s", what, str(t, "name"));
		cr_expect_str_eq(str(o, "name"), str(t, "name"), "%s", where);
		same_keys(o, t, where);
		const cJSON *ov = get(o, "variables"), *tv = get(t, "variables");
		cr_assert_eq(cJSON_GetArraySize(ov), cJSON_GetArraySize(tv), "%s: variables",
			     where);
		for (const cJSON *a = ov->child, *b = tv->child; a && b; a = a->next, b = b->next) {
			char w2[192];
			snprintf(w2, sizeof(w2), "%s: variable %s", where, str(b, "name"));
			cr_expect_str_eq(str(a, "name"), str(b, "name"), "%s", w2);
			cr_expect_str_eq(str(a, "type"), str(b, "type"), "%s: type", w2);
			same_keys(a, b, w2);
			const cJSON *ac = get(a, "cmdarg"), *bc = get(b, "cmdarg");
			if (bc && ac)
				cr_expect(cJSON_Compare(ac, bc, true), "%s: cmdarg differs", w2);
		}
	}
}

static void compare_exports(const cJSON *ours, const cJSON *theirs, const char *what)
{
	cr_assert_eq(cJSON_GetArraySize(ours), cJSON_GetArraySize(theirs), "%s: export types",
		     what);
	if (!theirs)
		return;
	const cJSON *o = ours->child, *t = theirs->child;
	for (; o && t; o = o->next, t = t->next) {
		char where[128];
		snprintf(where, sizeof(where), "%s: export %s", what, str(t, "name"));
		cr_expect_str_eq(str(o, "name"), str(t, "name"), "%s", where);
		cr_expect_eq(get(o, "size")->valueint, get(t, "size")->valueint, "%s: size", where);
		cr_expect(get(o, "type_id")->valueint > 0, "%s: type_id", where);
		same_keys(o, t, where);
		const cJSON *om = get(o, "members"), *tm = get(t, "members");
		cr_assert_eq(cJSON_GetArraySize(om), cJSON_GetArraySize(tm), "%s: members", where);
		for (const cJSON *a = om->child, *b = tm->child; a && b; a = a->next, b = b->next) {
			cr_expect_str_eq(str(a, "name"), str(b, "name"), "%s: member", where);
			cr_expect_str_eq(str(a, "type"), str(b, "type"), "%s: member %s type", where,
					 str(b, "name"));
			same_keys(a, b, where);
		}
	}
}

/* ours: a skel.json path; upstream: a compat *.meta.json ({"meta": ...}) */
static void compare(const char *ours_path, const char *compat_name)
{
	char theirs_path[1024];
	snprintf(theirs_path, sizeof(theirs_path), "%s/%s.meta.json", EU_COMPAT_DIR,
		 compat_name);
	cJSON *ours = load_json(ours_path);
	cJSON *file = load_json(theirs_path);
	const cJSON *theirs = get(file, "meta");
	cr_assert(theirs, "%s has no meta", theirs_path);

	same_keys(ours, theirs, compat_name);
	const cJSON *os = get(ours, "bpf_skel"), *ts = get(theirs, "bpf_skel");
	same_keys(os, ts, compat_name);
	cr_expect_str_eq(str(os, "obj_name"), str(ts, "obj_name"), "%s: obj_name", compat_name);
	compare_maps(get(os, "maps"), get(ts, "maps"), compat_name);
	compare_progs(get(os, "progs"), get(ts, "progs"), compat_name);
	compare_sections(get(os, "data_sections"), get(ts, "data_sections"), compat_name);
	compare_exports(get(ours, "export_types"), get(theirs, "export_types"), compat_name);
	if (get(ts, "doc")) {
		same_keys(get(os, "doc"), get(ts, "doc"), compat_name);
		cr_expect(cJSON_Compare(get(os, "doc"), get(ts, "doc"), true), "%s: doc differs",
			  compat_name);
	}
	cJSON_Delete(ours);
	cJSON_Delete(file);
}

Test(ecc_shape, bootstrap)
{
	compare(EU_PLUGIN_BUILD_DIR "/bootstrap/bootstrap.skel.json", "bootstrap");
}

Test(ecc_shape, opensnoop)
{
	compare(EU_PLUGIN_BUILD_DIR "/opensnoop/opensnoop.skel.json", "opensnoop");
}

Test(ecc_shape, runqlat)
{
	compare(EU_PLUGIN_BUILD_DIR "/runqlat/runqlat.skel.json", "runqlat");
}

Test(ecc_shape, sigsnoop)
{
	compare(EU_PLUGIN_BUILD_DIR "/sigsnoop/sigsnoop.skel.json", "sigsnoop");
}

Test(ecc_shape, minimal)
{
	compare(EU_TESTBPF_BUILD_DIR "/minimal/minimal.skel.json", "minimal");
}

Test(ecc_shape, tc)
{
	compare(EU_TESTBPF_BUILD_DIR "/tc/tc.skel.json", "tc");
}

Test(ecc_shape, xdp)
{
	compare(EU_TESTBPF_BUILD_DIR "/xdp/xdp.skel.json", "xdp");
}

Test(ecc_shape, kprobe_link)
{
	compare(EU_TESTBPF_BUILD_DIR "/kprobe_link/kprobe-link.skel.json", "kprobe-link");
}

/* package.json = {bpf_object: base64(zlib(x.bpf.o)), bpf_object_size, meta = x.skel.json} */
static void check_envelope(const char *dir, const char *base)
{
	char p_pkg[1024], p_obj[1024], p_skel[1024];
	snprintf(p_pkg, sizeof(p_pkg), "%s/package.json", dir);
	snprintf(p_obj, sizeof(p_obj), "%s/%s.bpf.o", dir, base);
	snprintf(p_skel, sizeof(p_skel), "%s/%s.skel.json", dir, base);
	cJSON *pkg = load_json(p_pkg);
	cJSON *skel = load_json(p_skel);
	size_t obj_size = 0;
	char *obj = eu_test_read_file(p_obj, &obj_size);
	cr_assert(obj, "cannot read %s", p_obj);

	const cJSON *b64 = get(pkg, "bpf_object");
	cr_assert(cJSON_IsString(b64), "%s: bpf_object", p_pkg);
	cr_expect_eq(strncmp(b64->valuestring, "eJ", 2), 0, "%s: not zlib+base64", p_pkg);
	cr_assert_eq((size_t)get(pkg, "bpf_object_size")->valuedouble, obj_size,
		     "%s: bpf_object_size", p_pkg);
	eu_error err = {0};
	uint8_t *z = NULL;
	size_t zlen = 0;
	cr_assert_eq(eu_base64_decode(b64->valuestring, strlen(b64->valuestring), &z, &zlen, &err),
		     0, "%s", err.msg);
	void *elf = NULL;
	size_t elf_len = 0;
	cr_assert_eq(eu_zlib_inflate(z, zlen, 64u << 20, obj_size, &elf, &elf_len, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(elf_len, obj_size);
	cr_expect_eq(memcmp(elf, obj, obj_size), 0, "%s: object differs from %s", p_pkg, p_obj);
	cr_expect(cJSON_Compare(get(pkg, "meta"), skel, true), "%s: meta differs from %s", p_pkg,
		  p_skel);
	free(z);
	free(elf);
	free(obj);
	cJSON_Delete(pkg);
	cJSON_Delete(skel);
}

Test(ecc_shape, envelope_holds_the_object)
{
	check_envelope(EU_PLUGIN_BUILD_DIR "/bootstrap", "bootstrap");
	check_envelope(EU_TESTBPF_BUILD_DIR "/minimal", "minimal");
	check_envelope(EU_TESTBPF_BUILD_DIR "/kprobe_link", "kprobe-link");
}

/* The kinds program's export spells every kind of member type as upstream's ecc would. */
Test(ecc_shape, member_type_spelling)
{
	cJSON *j = load_json(EU_TESTBPF_BUILD_DIR "/kinds/kinds.skel.json");
	const cJSON *et = get(j, "export_types");
	cr_assert_eq(cJSON_GetArraySize(et), 1, "the nested struct kinds_inner is not an export");
	const cJSON *t = et->child;
	cr_expect_str_eq(str(t, "name"), "kinds_event");
	static const char *const want[][2] = {
		{"pid", "int"},         {"i8", "__s8"},
		{"u8v", "__u8"},        {"i64", "__s64"},
		{"i128", "__int128"},   {"u128", "unsigned __int128"},
		{"flag", "bool"},       {"name", "char[16]"},
		{"bytes", "__u8[4]"},   {"grid", "int[2][3]"},
		{"color", "enum kinds_color"}, {"inner", "struct kinds_inner"},
		{"", "union {...}"},    {"ptr", "void *"},
		{"bf_a", "unsigned int"}, {"bf_c", "int"},
		{"f32", "float"},       {"f64", "double"},
		{"ip4", "eu_ip_t"},     {"v4", "eu_ipv4_t"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const cJSON *m = by_name(get(t, "members"), want[i][0]);
		cr_expect(m, "member %s missing", want[i][0]);
		if (m)
			cr_expect_str_eq(str(m, "type"), want[i][1], "member %s", want[i][0]);
	}
	const cJSON *bss = by_name(get(get(j, "bpf_skel"), "data_sections"), ".bss");
	cr_assert(bss);
	cr_expect(by_name(get(bss, "variables"), "__eunomia_dummy_kinds_event_ptr"));
	cJSON_Delete(j);
}

/* What we write, the package reader reads back to the same meta. */
static void round_trip(const char *pkg_path)
{
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(pkg_path, &pkg, &err), 0, "%s", err.msg);
	cr_expect_eq(pkg->format, EU_PKG_JSON);
	char *again = eu_package_meta_json(pkg, &err);
	cr_assert(again, "%s", err.msg);
	cJSON *a = cJSON_Parse(again);
	cJSON *file = load_json(pkg_path);
	cr_expect(cJSON_Compare(a, get(file, "meta"), true),
		  "%s: the meta written back differs:\n%s", pkg_path, again);
	free(again);
	cJSON_Delete(a);
	cJSON_Delete(file);
	eu_package_free(pkg);
}

Test(ecc_shape, round_trip_through_the_reader)
{
	static const char *const plugins[] = {"bootstrap", "opensnoop", "runqlat", "sigsnoop",
					      "tcpstates", "bashreadline", "unlinksnoop"};
	for (size_t i = 0; i < sizeof(plugins) / sizeof(plugins[0]); i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s/package.json", EU_PLUGIN_BUILD_DIR, plugins[i]);
		round_trip(path);
	}
	static const char *const tests[] = {"minimal", "tc", "xdp", "kprobe_link", "kinds"};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s/package.json", EU_TESTBPF_BUILD_DIR, tests[i]);
		round_trip(path);
	}
}
