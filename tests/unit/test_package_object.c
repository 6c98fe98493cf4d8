/* Packages carrying a real BPF object (the committed fixture event.bpf.o): every encoding of
 * the envelope, skeleton pairs, bare objects, legacy data, BTF checks and parse speed. */
#include "pkg_fixture.h"

#include <bpf/btf.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void check_fixture_package(struct eu_package *pkg, const void *obj, size_t n)
{
	cr_assert_not_null(pkg->object);
	cr_assert_eq(pkg->object_size, n);
	cr_assert_arr_eq(pkg->object, obj, n, "object bytes do not round-trip");
	cr_assert_str_eq(pkg->obj_name, "event_bpf");
	cr_assert_str_eq(pkg->name, "event");
	cr_assert_eq(pkg->n_export_types, 1);
	cr_assert_eq(pkg->export_types[0].type_id, FIXTURE_EVENT_ID);
	cr_assert_eq(pkg->n_maps, 4);
	cr_assert_str_eq(pkg->maps[2].name, "event_bp.rodata");
	cr_assert_str_eq(pkg->sections[0].vars[0].cmdarg.default_text, "0");
	cr_assert_str_eq(pkg->sections[0].vars[0].cmdarg.long_name, "min-duration");
}

static void check_encoding(enum pkg_enc enc, size_t wrap, long long declared)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *skel = fixture_skel();
	char *text = pkg_envelope(skel, obj, n, enc, wrap, declared == 0 ? (long long)n : declared);
	if (enc == PKG_ZLIB)
		cr_assert_not_null(strstr(text, "\"bpf_object\": \"eJ"), "zlib base64 starts eJ");
	else
		cr_assert_not_null(strstr(text, "\"bpf_object\": \"f0VMRg"), "ELF base64 starts f0VMRg");
	struct eu_package *pkg = expect_parse(text, strlen(text), "event.json");
	cr_assert_eq(pkg->format, EU_PKG_JSON);
	cr_assert_str_eq(pkg->origin, "event.json");
	cr_assert_eq(pkg->declared_object_size, declared < 0 ? 0 : (uint64_t)n);
	check_fixture_package(pkg, obj, n);
	uint8_t digest[EU_SHA256_LEN];
	eu_sha256(text, strlen(text), digest);
	cr_assert_arr_eq(pkg->sha256, digest, EU_SHA256_LEN);
	eu_package_free(pkg);
	free(text);
	free(skel);
	free(obj);
}

Test(package_object, zlib_base64)
{
	check_encoding(PKG_ZLIB, 0, 0);
}

Test(package_object, raw_base64)
{
	check_encoding(PKG_RAW, 0, 0);
}

Test(package_object, zlib_base64_wrapped_76)
{
	check_encoding(PKG_ZLIB, 76, 0);
}

Test(package_object, raw_base64_wrapped_76)
{
	check_encoding(PKG_RAW, 76, 0);
}

Test(package_object, without_declared_size)
{
	check_encoding(PKG_ZLIB, 0, -1);
	check_encoding(PKG_RAW, 0, -1);
}

Test(package_object, leading_whitespace_and_bom)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *skel = fixture_skel();
	char *text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, (long long)n);
	size_t len = strlen(text);
	char *padded = malloc(len + 16);
	memcpy(padded, "\xef\xbb\xbf \n\t\r ", 8);
	memcpy(padded + 8, text, len);
	memcpy(padded + 8 + len, "\n\n", 2);
	struct eu_package *pkg = expect_parse(padded, len + 10, "padded.json");
	check_fixture_package(pkg, obj, n);
	eu_package_free(pkg);
	free(padded);
	free(text);
	free(skel);
	free(obj);
}

Test(package_object, skel_pair_from_files)
{
	size_t n;
	void *obj = fixture_object(&n);
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(FIXTURE_SKEL, &pkg, &err), 0, "%s", err.msg);
	cr_assert_eq(pkg->format, EU_PKG_SKEL_PAIR);
	check_fixture_package(pkg, obj, n);
	/* the version identity covers the meta and the object */
	size_t skel_len;
	char *skel = eu_test_read_file(FIXTURE_SKEL, &skel_len);
	uint8_t digest[EU_SHA256_LEN];
	eu_sha256_2(skel, skel_len, obj, n, digest);
	cr_assert_arr_eq(pkg->sha256, digest, EU_SHA256_LEN);
	eu_package_free(pkg);
	free(skel);
	free(obj);
}

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/eu-pkg-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, n, f), n);
	fclose(f);
}

Test(package_object, skel_json_alone_is_meta_only)
{
	char *dir = temp_dir();
	char path[256];
	snprintf(path, sizeof(path), "%s/alone.skel.json", dir);
	char *skel = fixture_skel();
	write_file(path, skel, strlen(skel));
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(path, &pkg, &err), 0, "%s", err.msg);
	cr_assert_eq(pkg->format, EU_PKG_META_ONLY);
	cr_assert_null(pkg->object);
	cr_assert_str_eq(pkg->origin, path);
	eu_package_free(pkg);

	/* a NAME.bpf.o beside it that is not a BPF object is an error naming that file */
	char obj_path[256];
	snprintf(obj_path, sizeof(obj_path), "%s/alone.bpf.o", dir);
	write_file(obj_path, "\x7f" "ELF junk", 8);
	pkg = (struct eu_package *)1;
	cr_assert_lt(eu_package_read_file(path, &pkg, &err), 0);
	cr_assert_null(pkg);
	cr_assert_not_null(strstr(err.msg, obj_path), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "truncated ELF"), "%s", err.msg);

	/* a real object with different BTF: the meta's type id is checked against it */
	unlink(obj_path);
	snprintf(path, sizeof(path), "%s/pair.skel.json", dir);
	char *bad = skel_with("\"type_id\": 28", "\"type_id\": 35");
	write_file(path, bad, strlen(bad));
	size_t n;
	void *obj = fixture_object(&n);
	snprintf(obj_path, sizeof(obj_path), "%s/pair.bpf.o", dir);
	write_file(obj_path, obj, n);
	cr_assert_lt(eu_package_read_file(path, &pkg, &err), 0);
	cr_assert_not_null(strstr(err.msg, "pair.skel.json: export_types[0]: type_id 35 is "
					   "'struct pair' in the object's BTF, expected struct "
					   "event with 7 members"),
			   "%s", err.msg);
	unlink(obj_path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/alone.skel.json", dir);
	unlink(path);
	rmdir(dir);
	free(obj);
	free(bad);
	free(skel);
	free(dir);
}

Test(package_object, bare_object_file)
{
	size_t n;
	void *obj = fixture_object(&n);
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(FIXTURE_OBJ, &pkg, &err), 0, "%s", err.msg);
	cr_assert_eq(pkg->format, EU_PKG_BPF_OBJECT);
	cr_assert_str_eq(pkg->origin, FIXTURE_OBJ);
	cr_assert_eq(pkg->object_size, n);
	cr_assert_arr_eq(pkg->object, obj, n);
	cr_assert_str_eq(pkg->obj_name, "event_bpf");
	cr_assert_str_eq(pkg->name, "event");
	uint8_t digest[EU_SHA256_LEN];
	eu_sha256(obj, n, digest);
	cr_assert_arr_eq(pkg->sha256, digest, EU_SHA256_LEN);
	/* the meta derived from BTF: __eunomia_dummy_event_ptr names the export struct */
	cr_assert_geq(pkg->n_export_types, 1);
	cr_assert_str_eq(pkg->export_types[0].name, "event");
	cr_assert_eq(pkg->export_types[0].type_id, FIXTURE_EVENT_ID);
	cr_assert_eq(pkg->export_types[0].n_members, 7);
	cr_assert_not_null(eu_package_find_map(pkg, "rb"));
	eu_package_free(pkg);

	/* from memory the object name comes from the origin's file name */
	pkg = expect_parse(obj, n, "https://example.com/dl/my-tool.bpf.o?x=1");
	cr_assert_eq(pkg->format, EU_PKG_BPF_OBJECT);
	cr_assert_str_eq(pkg->obj_name, "my_tool_bpf");
	cr_assert_str_eq(pkg->name, "my_tool");
	eu_package_free(pkg);
	free(obj);
}

Test(package_object, object_btf)
{
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(FIXTURE_SKEL, &pkg, &err), 0, "%s", err.msg);
	struct btf *btf = NULL;
	cr_assert_eq(eu_package_object_btf(pkg, &btf, &err), 0, "%s", err.msg);
	const struct btf_type *t = btf__type_by_id(btf, FIXTURE_EVENT_ID);
	cr_assert(btf_is_struct(t));
	cr_assert_str_eq(btf__name_by_offset(btf, t->name_off), "event");
	cr_assert_eq(btf_vlen(t), 7);
	cr_assert_eq(t->size, 168);
	cr_assert_eq(btf__find_by_name_kind(btf, "pair", BTF_KIND_STRUCT), FIXTURE_PAIR_ID);
	btf__free(btf);
	eu_package_free(pkg);

	/* a meta-only package has no BTF to give */
	cr_assert_eq(eu_package_read_file(EU_TEST_DATA_DIR "/upstream/meta-only-tc.json", &pkg, &err), 0);
	btf = (struct btf *)1;
	cr_assert_lt(eu_package_object_btf(pkg, &btf, &err), 0);
	cr_assert_null(btf);
	cr_assert_not_null(strstr(err.msg, "has no BPF object"), "%s", err.msg);
	eu_package_free(pkg);
}

Test(package_object, legacy_with_data)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *b64 = pkg_base64(obj, n, PKG_RAW, 76);
	size_t size = strlen(b64) + 1024;
	char *text = malloc(size);
	snprintf(text, size,
		 "{\"name\": \"template\", \"data\": \"%s\", \"data_sz\": %zu, \"maps\": ["
		 "{\"name\": \"rb\", \"type\": \"BPF_MAP_TYPE_RINGBUF\", \"export_data_types\": "
		 "{\"Struct Name\": \"event\", \"Size\": 1344, \"Fields\": ["
		 "{\"Name\": \"pid\", \"Type\": \"int\", \"FieldOffset\": 0},"
		 "{\"Name\": \"ppid\", \"Type\": \"int\", \"FieldOffset\": 32}]}}],"
		 "\"progs\": [{\"name\": \"handle_exec\"}]}",
		 b64, n);
	struct eu_package *pkg = expect_parse(text, strlen(text), "legacy.json");
	cr_assert_eq(pkg->format, EU_PKG_LEGACY);
	cr_assert_eq(pkg->object_size, n);
	cr_assert_arr_eq(pkg->object, obj, n);
	cr_assert_str_eq(pkg->obj_name, "template");
	cr_assert_eq(pkg->export_types[0].size, 168);
	cr_assert_eq(pkg->export_types[0].members[1].bit_offset, 32);
	cr_assert_str_eq(pkg->maps[0].legacy_type, "BPF_MAP_TYPE_RINGBUF");
	cr_assert_str_eq(pkg->progs[0].name, "handle_exec");
	cr_assert_null(pkg->progs[0].attach);
	eu_package_free(pkg);

	/* data_sz is checked like bpf_object_size */
	snprintf(text, size, "{\"name\": \"t\", \"data\": \"%s\", \"data_sz\": 100, \"maps\": []}",
		 b64);
	expect_fail_str(text, "legacy.json",
			"legacy.json: data: the object is 4296 bytes but its declared size is 100");
	free(text);
	free(b64);
	free(obj);
}

Test(package_object, meta_only_skips_btf_checks)
{
	/* no object, nothing to check the ids against: a wrong id is not an error */
	char *skel = skel_with("\"type_id\": 28", "\"type_id\": 9999");
	struct eu_package *pkg = expect_parse(skel, strlen(skel), "meta.json");
	cr_assert_eq(pkg->format, EU_PKG_META_ONLY);
	cr_assert_eq(pkg->export_types[0].type_id, 9999);
	eu_package_free(pkg);
	free(skel);
}

Test(package_object, multiple_export_config_ids_checked)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *good = skel_with("{\"ident\": \"rb\", \"name\": \"rb\"}",
			       "{\"ident\": \"rb\", \"name\": \"rb\", \"export_config\": "
			       "{\"btf_type_id\": 35}}");
	char *meta = malloc(strlen(good) + 64);
	/* enable_multiple_export_types: export_types is then ignored, even a wrong id */
	char *brace = strrchr(good, '}');
	sprintf(meta, "%.*s, \"enable_multiple_export_types\": true}", (int)(brace - good), good);
	char *text = pkg_envelope(meta, obj, n, PKG_ZLIB, 0, (long long)n);
	struct eu_package *pkg = expect_parse(text, strlen(text), "multi.json");
	cr_assert(pkg->multiple_export);
	const struct eu_map_meta *rb = eu_package_find_map(pkg, "rb");
	cr_assert_eq(rb->export_config.kind, EU_EXPORT_TYPE_ID);
	cr_assert_eq(rb->export_config.btf_type_id, FIXTURE_PAIR_ID);
	eu_package_free(pkg);
	free(text);
	free(meta);
	free(good);

	char *bad = skel_with("{\"ident\": \"rb\", \"name\": \"rb\"}",
			      "{\"ident\": \"rb\", \"name\": \"rb\", \"export_config\": "
			      "{\"custom_members\": [{\"name\": \"pid\", \"offset\": 0, "
			      "\"btf_type_id\": 2}, {\"name\": \"x\", \"offset\": 4, "
			      "\"btf_type_id\": 4000}]}}");
	text = pkg_envelope(bad, obj, n, PKG_ZLIB, 0, (long long)n);
	expect_fail_str(text, "multi.json",
			"multi.json: meta.bpf_skel.maps[1].export_config.custom_members[1]."
			"btf_type_id: type 4000 is not in the object's BTF (ids 1 to");
	free(text);
	free(bad);
	free(obj);
}


/* A bootstrap-size package (30 KB object, ~17 KB of JSON) parses, BTF check included. The
 * fixture is padded after its last section to that size: ELF readers ignore trailing bytes.
 * (How long it takes is measured in bench/, not asserted here.) */
Test(package_object, bootstrap_size_package_parses)
{
	size_t n;
	void *obj = fixture_object(&n);
	size_t big = 30800;
	uint8_t *padded = calloc(1, big);
	memcpy(padded, obj, n);
	uint32_t x = 1;
	for (size_t i = n; i < big; i++) {
		x = x * 1103515245u + 12345u;
		padded[i] = (x >> 16) % 7 == 0 ? (uint8_t)(x >> 24) : 0;
	}
	char *skel = fixture_skel();
	char *text = pkg_envelope(skel, padded, big, PKG_ZLIB, 0, (long long)big);
	size_t len = strlen(text);
	cr_assert_gt(len, 8000);

	struct eu_package *pkg = expect_parse(text, len, "bootstrap-size.json");
	cr_assert_eq(pkg->object_size, big);
	cr_assert_eq(memcmp(pkg->object, padded, big), 0);
	eu_package_free(pkg);
	free(text);
	free(skel);
	free(padded);
	free(obj);
}

/* Presets and defaults survive writing and reading back digit for digit: 64-bit values past
 * 2^53 are written as strings (a JSON number would lose digits on the way back). */
Test(package_object, written_meta_keeps_64bit_presets)
{
	char *skel = skel_with("\"cmdarg\": {\"default\": 0,",
			       "\"value\": \"18446744073709551615\", "
			       "\"cmdarg\": {\"default\": \"-9223372036854775807\",");
	struct eu_package *pkg = expect_parse(skel, strlen(skel), "event.skel.json");
	free(skel);
	char *json = eu_package_meta_json(pkg, NULL);
	cr_assert_not_null(json);
	eu_package_free(pkg);
	pkg = expect_parse(json, strlen(json), "written.skel.json");
	const struct eu_var_meta *v = &pkg->sections[0].vars[0];
	cr_expect_str_eq(v->name, "min_duration_ns");
	cr_expect_str_eq(v->value_text, "18446744073709551615", "%s", json);
	cr_expect_str_eq(v->cmdarg.default_text, "-9223372036854775807", "%s", json);
	eu_package_free(pkg);
	free(json);

	/* small ones stay JSON numbers, as upstream writes them */
	skel = skel_with("\"cmdarg\": {\"default\": 0,", "\"value\": 42, \"cmdarg\": {\"default\": 0,");
	pkg = expect_parse(skel, strlen(skel), "event.skel.json");
	free(skel);
	json = eu_package_meta_json(pkg, NULL);
	cr_assert_not_null(json);
	cr_expect(strstr(json, "\"value\":\t42"), "%s", json);
	cr_expect(strstr(json, "\"default\":\t0"), "%s", json);
	eu_package_free(pkg);
	free(json);
}
