/* Malformed packages: each fails with a message naming the origin, the JSON path and why. */
#include "pkg_fixture.h"

#include <elf.h>
#include <errno.h>

/* A valid zlib envelope of the fixture, for corrupting. */
static char *good_envelope(size_t *obj_size)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *skel = fixture_skel();
	char *text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, (long long)n);
	free(skel);
	free(obj);
	if (obj_size)
		*obj_size = n;
	return text;
}

static void expect_skel_fail(const char *from, const char *to, const char *want)
{
	char *skel = skel_with(from, to);
	expect_fail_str(skel, "event.skel.json", want);
	free(skel);
}

/* The same change inside a full envelope: paths gain the "meta." prefix. */
static void expect_envelope_fail(const char *from, const char *to, const char *want)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *skel = skel_with(from, to);
	char *text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, (long long)n);
	expect_fail_str(text, "bootstrap.json", want);
	free(text);
	free(skel);
	free(obj);
}

Test(package_errors, empty)
{
	expect_fail("", 0, "empty.json", "empty.json: empty package");
	expect_fail_str(" \n\t\r\n", "blank.json", "blank.json: empty package");
	expect_fail(NULL, 0, NULL, "<memory>: empty package");
}

Test(package_errors, not_a_package)
{
	expect_fail_str("hello", "x.txt", "x.txt: not a package: expected a JSON object, a BPF ELF "
					  "object or a tar archive, but it starts 0x68 0x65 0x6c 0x6c");
	expect_fail_str("[1, 2]", "a.json", "a.json: not a package");
	expect_fail_str("{\"foo\": 1}", "b.json",
			"b.json: not a package: no \"bpf_object\", \"meta\" or \"bpf_skel\" key");
	expect_fail_str("{\"bpf_skel\": {\"obj_name\": \"x\"}} [", "c.json",
			"c.json: invalid JSON at line 1, column 33, near \"[\"");
}

Test(package_errors, top_level_array_with_brace_inside)
{
	expect_fail_str("  {\"a\": [1]}  ", "d.json", "d.json: not a package");
}

Test(package_errors, truncated_json)
{
	char *text = good_envelope(NULL);
	size_t len = strlen(text);
	expect_fail(text, len - 1, "trunc.json",
		    "trunc.json: invalid JSON: unexpected end of input at line 51, column 2 (truncated file?)");
	expect_fail(text, len / 2, "trunc.json",
		    "trunc.json: invalid JSON: the string at line 1, column 16 never ends "
		    "(truncated file?)");
	expect_fail(text, 1, "trunc.json", "trunc.json: invalid JSON");
	free(text);

	char *skel = fixture_skel();
	expect_fail(skel, 300, "event.skel.json", "unexpected end of input at line 13, column 4");
	free(skel);
}

Test(package_errors, json_syntax_names_line_and_column)
{
	expect_fail_str("{\n  \"meta\": {\n    \"bpf_skel\": {,}\n  }\n}", "syn.json",
			"syn.json: invalid JSON at line 3, column 19, near \"}\"");
}

Test(package_errors, bad_base64)
{
	char *text = good_envelope(NULL);
	char *b = strstr(text, "\"bpf_object\": \"") + strlen("\"bpf_object\": \"");
	b[10] = '!';
	expect_fail_str(text, "b64.json",
			"b64.json: bpf_object: invalid base64 character '!' at offset 10");
	b[10] = '-';
	expect_fail_str(text, "b64.json", "invalid base64 character '-' at offset 10");
	free(text);
	expect_fail_str("{\"bpf_object\": \"eJxaB\", \"meta\": {\"bpf_skel\": {\"obj_name\": \"x\"}}}",
			"short.json", "short.json: bpf_object: truncated base64");
	expect_fail_str("{\"bpf_object\": \"\", \"meta\": {\"bpf_skel\": {\"obj_name\": \"x\"}}}",
			"e.json", "e.json: bpf_object: the object is empty");
}

Test(package_errors, bad_zlib)
{
	size_t n;
	void *obj = fixture_object(&n);
	void *z;
	size_t zlen;
	eu_error err = {0};
	cr_assert_eq(eu_zlib_deflate(obj, n, -1, &z, &zlen, &err), 0);
	char *skel = fixture_skel();

	/* a flipped byte in the middle of the stream */
	uint8_t *bad = malloc(zlen);
	memcpy(bad, z, zlen);
	for (size_t i = zlen / 2; i < zlen / 2 + 8; i++)
		bad[i] ^= 0xa5;
	char *b64 = eu_base64_encode(bad, zlen, 0, NULL);
	size_t size = strlen(b64) + strlen(skel) + 100;
	char *text = malloc(size);
	snprintf(text, size, "{\"bpf_object\": \"%s\", \"meta\": %s}", b64, skel);
	expect_fail_str(text, "z.json", "z.json: bpf_object: zlib: ");
	expect_fail_str(text, "z.json", "corrupt zlib data");
	free(b64);

	/* cut short */
	b64 = eu_base64_encode(z, zlen - 40, 0, NULL);
	snprintf(text, size, "{\"bpf_object\": \"%s\", \"meta\": %s}", b64, skel);
	expect_fail_str(text, "z.json", "z.json: bpf_object: zlib: truncated zlib stream");
	free(b64);

	/* not zlib, not ELF */
	b64 = eu_base64_encode("PK\x03\x04 a zip file", 17, 0, NULL);
	snprintf(text, size, "{\"bpf_object\": \"%s\", \"meta\": %s}", b64, skel);
	expect_fail_str(text, "zip.json",
			"zip.json: bpf_object: neither zlib data nor an ELF object after base64 "
			"decoding (it starts 0x50 0x4b 0x03 0x04)");
	free(b64);
	free(text);
	free(bad);
	free(skel);
	free(z);
	free(obj);
}

Test(package_errors, wrong_object_size)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *skel = fixture_skel();
	char want[160];

	char *text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, (long long)n - 1);
	snprintf(want, sizeof(want),
		 "size.json: bpf_object: zlib: inflates to %zu bytes but the declared size is %zu "
		 "bytes",
		 n, n - 1);
	expect_fail_str(text, "size.json", want);
	free(text);

	text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, (long long)n + 100);
	snprintf(want, sizeof(want), "inflates to %zu bytes but the declared size is %zu bytes", n,
		 n + 100);
	expect_fail_str(text, "size.json", want);
	free(text);

	text = pkg_envelope(skel, obj, n, PKG_RAW, 0, 1000);
	snprintf(want, sizeof(want),
		 "size.json: bpf_object: the object is %zu bytes but its declared size is 1000", n);
	expect_fail_str(text, "size.json", want);
	free(text);

	text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, 0);
	expect_fail_str(text, "size.json", "size.json: bpf_object: the declared object size is 0");
	free(text);
	free(skel);
	free(obj);
}

Test(package_errors, huge_declared_size)
{
	char *text = good_envelope(NULL);
	char *at = strstr(text, "\"bpf_object_size\": ");
	cr_assert_not_null(at);
	char *num = at + strlen("\"bpf_object_size\": ");
	size_t digits = strspn(num, "0123456789");
	size_t size = strlen(text) + 32;
	char *big = malloc(size);
	snprintf(big, size, "%.*s1000000000000%s", (int)(num - text), text, num + digits);
	expect_fail_str(big, "huge.json",
			"huge.json: bpf_object_size: 1000000000000 bytes exceeds the limit of "
			"67108864 bytes");
	snprintf(big, size, "%.*s-5%s", (int)(num - text), text, num + digits);
	expect_fail_str(big, "neg.json", "neg.json: bpf_object_size: expected a byte count, got -5");
	snprintf(big, size, "%.*s\"4296\"%s", (int)(num - text), text, num + digits);
	expect_fail_str(big, "str.json",
			"str.json: bpf_object_size: expected an integer, got string");
	free(big);
	free(text);
}

Test(package_errors, zip_bomb_refused)
{
	/* 80 MiB of zeros deflate to ~80 KB: over EU_OBJECT_MAX_BYTES once inflated */
	size_t n = 80u << 20;
	uint8_t *zeros = calloc(1, n);
	memcpy(zeros, ELFMAG, SELFMAG);
	void *z;
	size_t zlen;
	eu_error err = {0};
	cr_assert_eq(eu_zlib_deflate(zeros, n, -1, &z, &zlen, &err), 0);
	free(zeros);
	char *b64 = eu_base64_encode(z, zlen, 0, NULL);
	free(z);
	size_t size = strlen(b64) + 200;
	char *text = malloc(size);
	snprintf(text, size, "{\"bpf_object\": \"%s\", \"meta\": {\"bpf_skel\": {\"obj_name\": \"x\"}}}",
		 b64);
	expect_fail_str(text, "bomb.json",
			"bomb.json: bpf_object: zlib: inflates to more than the limit of 67108864 "
			"bytes");
	snprintf(text, size,
		 "{\"bpf_object\": \"%s\", \"bpf_object_size\": 4000, \"meta\": {\"bpf_skel\": "
		 "{\"obj_name\": \"x\"}}}",
		 b64);
	expect_fail_str(text, "bomb.json", "inflates to more than the limit of 67108864 bytes");
	free(text);
	free(b64);
}

Test(package_errors, package_over_the_size_limit)
{
	/* refused before reading a byte of it */
	expect_fail("{", (size_t)EU_PACKAGE_MAX_BYTES + 1, "big.json",
		    "big.json: 67108865 bytes is over the package size limit of 67108864");
}

Test(package_errors, not_a_bpf_elf)
{
	size_t n;
	void *obj = fixture_object(&n);
	char *skel = fixture_skel();

	/* an x86-64 ELF */
	uint8_t *x86 = malloc(n);
	memcpy(x86, obj, n);
	x86[18] = EM_X86_64;
	x86[19] = 0;
	char *text = pkg_envelope(skel, x86, n, PKG_ZLIB, 0, (long long)n);
	expect_fail_str(text, "x86.json",
			"x86.json: bpf_object: the decoded object is an ELF file for machine 62, "
			"not BPF (e_machine 247)");
	free(text);
	/* the same as a bare file */
	expect_fail((const char *)x86, n, "x86.o", "x86.o: an ELF file for machine 62, not BPF");

	/* 32-bit */
	x86[EI_CLASS] = ELFCLASS32;
	text = pkg_envelope(skel, x86, n, PKG_RAW, 0, (long long)n);
	expect_fail_str(text, "c32.json", "the decoded object is a 32-bit ELF file");
	free(text);

	/* zlib of text */
	text = pkg_envelope(skel, "just some text, not an object", 29, PKG_ZLIB, 0, 29);
	expect_fail_str(text, "txt.json",
			"txt.json: bpf_object: the decoded object is not an ELF file");
	free(text);

	/* a truncated ELF header */
	text = pkg_envelope(skel, obj, 40, PKG_RAW, 0, 40);
	expect_fail_str(text, "short.json", "the decoded object is a truncated ELF file (40 bytes)");
	free(text);
	free(x86);
	free(skel);
	free(obj);
}

Test(package_errors, wrong_type_id)
{
	expect_envelope_fail("\"type_id\": 28", "\"type_id\": 2",
			     "bootstrap.json: meta.export_types[0]: type_id 2 is 'int' in the "
			     "object's BTF, expected struct event with 7 members");
	expect_envelope_fail("\"type_id\": 28", "\"type_id\": 5000",
			     "bootstrap.json: meta.export_types[0]: type_id 5000 is not in the "
			     "object's BTF (ids 1 to 41), expected struct event with 7 members");
	expect_envelope_fail("\"type_id\": 28", "\"type_id\": 0",
			     "meta.export_types[0]: type_id 0 is not in the object's BTF");
	expect_envelope_fail("\"type_id\": 28", "\"type_id\": 20",
			     "type_id 20 is the function 'handle_exec' in the object's BTF");
}

Test(package_errors, wrong_type_name)
{
	expect_envelope_fail("\"type_id\": 28", "\"type_id\": 35",
			     "bootstrap.json: meta.export_types[0]: type_id 35 is 'struct pair' in "
			     "the object's BTF, expected struct event with 7 members");
	expect_envelope_fail("\"name\": \"event\"", "\"name\": \"evnt\"",
			     "meta.export_types[0]: type_id 28 is 'struct event' in the object's "
			     "BTF, expected struct evnt with 7 members");
}

Test(package_errors, wrong_member_count)
{
	expect_envelope_fail("{\"name\": \"exit_event\", \"type\": \"unsigned char\"}",
			     "{\"name\": \"exit_event\", \"type\": \"unsigned char\"}, "
			     "{\"name\": \"extra\", \"type\": \"int\"}",
			     "bootstrap.json: meta.export_types[0]: type_id 28 is 'struct event' "
			     "with 7 members in the object's BTF, expected struct event with 8 "
			     "members");
}

Test(package_errors, object_without_btf)
{
	size_t n;
	uint8_t *obj = fixture_object(&n);
	/* rename the .BTF section so the object has none */
	uint8_t *at = memmem(obj, n, ".BTF\0", 5);
	cr_assert_not_null(at);
	at[1] = 'X';
	char *skel = fixture_skel();
	char *text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, (long long)n);
	expect_fail_str(text, "nobtf.json",
			"nobtf.json: the object has no .BTF section (compile it with clang -g)");
	free(text);

	/* a .BTF section that is not BTF */
	at[1] = 'B';
	uint8_t *magic = memmem(obj, n, "\x9f\xeb\x01", 3);
	cr_assert_not_null(magic);
	magic[0] = 0;
	text = pkg_envelope(skel, obj, n, PKG_ZLIB, 0, (long long)n);
	expect_fail_str(text, "badbtf.json", "badbtf.json: the object's .BTF section is invalid");
	free(text);
	free(skel);
	free(obj);
}

Test(package_errors, missing_fields)
{
	expect_fail_str("{\"bpf_object_size\": 10}", "m.json", "m.json: not a package");
	expect_fail_str("{\"bpf_object_size\": 10, \"meta\": null}", "m.json",
			"m.json: meta: missing (required: an object)");
	expect_fail_str("{\"meta\": {}}", "m.json", "m.json: meta.bpf_skel: missing (required: an "
						    "object)");
	expect_skel_fail("\"obj_name\": \"event_bpf\",", "",
			 "event.skel.json: bpf_skel.obj_name: missing (required: a string)");
	expect_skel_fail("{\"ident\": \"rb\", \"name\": \"rb\"}", "{\"ident\": \"rb\"}",
			 "event.skel.json: bpf_skel.maps[1].name: missing (required: a string)");
	expect_skel_fail("{\"attach\": \"tp/sched/sched_process_exec\", \"link\": true, ",
			 "{\"link\": true, ",
			 "event.skel.json: bpf_skel.progs[0].attach: missing (required: a string)");
	expect_skel_fail("\"link\": true, \"name\": \"handle_exec\"", "\"link\": true",
			 "event.skel.json: bpf_skel.progs[0].name: missing");
	expect_skel_fail("\"name\": \"event\",", "", "export_types[0].name: missing");
	expect_skel_fail("\"type_id\": 28", "\"typeid\": 28",
			 "event.skel.json: export_types[0].type_id: missing (required: an integer)");
	expect_skel_fail("\"members\": [", "\"member\": [",
			 "event.skel.json: export_types[0].members: missing (required: an array)");
	expect_skel_fail("{\"name\": \"ppid\", \"type\": \"int\"}", "{\"name\": \"ppid\"}",
			 "export_types[0].members[1].type: missing (required: a string)");
	expect_skel_fail("\"name\": \"min_duration_ns\",", "",
			 "bpf_skel.data_sections[0].variables[0].name: missing");
	expect_skel_fail("{\"ident\": \"rb\", \"name\": \"rb\"}",
			 "{\"ident\": \"rb\", \"name\": \"rb\", \"sample\": {\"type\": "
			 "\"log2_hist\"}}",
			 "event.skel.json: bpf_skel.maps[1].sample.interval: missing (required: an "
			 "integer)");
	expect_envelope_fail("\"obj_name\": \"event_bpf\",", "",
			     "bootstrap.json: meta.bpf_skel.obj_name: missing (required: a string)");
}

Test(package_errors, wrong_json_types)
{
	expect_envelope_fail("{\"ident\": \"rb\", \"name\": \"rb\"}", "{\"ident\": \"rb\", \"name\": 7}",
			     "bootstrap.json: meta.bpf_skel.maps[1].name: expected a string, got "
			     "number");
	expect_skel_fail("\"mmaped\": true, \"name\": \"event_bp.rodata\"",
			 "\"mmaped\": \"yes\", \"name\": \"event_bp.rodata\"",
			 "event.skel.json: bpf_skel.maps[2].mmaped: expected a boolean, got string");
	expect_skel_fail("\"progs\": [", "\"progs\": {\"x\": 1}, \"progs2\": [",
			 "event.skel.json: bpf_skel.progs: expected an array, got object");
	expect_skel_fail("\"maps\": [", "\"maps\": [1, ",
			 "event.skel.json: bpf_skel.maps[0]: expected an object, got number");
	expect_skel_fail("\"bpf_skel\": {", "\"bpf_skel\": [], \"x\": {",
			 "event.skel.json: bpf_skel: expected an object, got array");
	expect_skel_fail("\"type_id\": 28", "\"type_id\": 28.5",
			 "export_types[0].type_id: expected an integer from 0 to 4294967295, got 28.5");
	expect_skel_fail("\"type_id\": 28", "\"type_id\": -1",
			 "export_types[0].type_id: expected an integer from 0 to 4294967295, got -1");
	expect_skel_fail("\"type_id\": 28", "\"type_id\": \"28\"",
			 "export_types[0].type_id: expected an integer, got string");
	expect_skel_fail("\"eunomia_version\": \"0.3.4\"", "\"eunomia_version\": \"0.3.4\", "
							   "\"poll_timeout_ms\": true",
			 "event.skel.json: poll_timeout_ms: expected an integer, got boolean");
	expect_skel_fail("\"default\": 0,", "\"default\": [0],",
			 "bpf_skel.data_sections[0].variables[0].cmdarg.default: expected a "
			 "boolean, number or string, got array");
	expect_skel_fail("\"short\": \"d\"", "\"short\": \"dd\"",
			 "variables[0].cmdarg.short: expected one character, got \"dd\"");
	expect_skel_fail("\"obj_name\": \"event_bpf\",", "\"obj_name\": \"event_bpf\", \"doc\": \"x\",",
			 "event.skel.json: bpf_skel.doc: expected an object, got string");
	expect_skel_fail("\"obj_name\": \"event_bpf\",",
			 "\"obj_name\": \"event_bpf\", \"doc\": {\"brief\": 1},",
			 "event.skel.json: bpf_skel.doc.brief: expected a string, got number");
	expect_skel_fail("\"type\": \"unsigned long long\",",
			 "\"type\": \"unsigned long long\", \"value\": {},",
			 "variables[0].value: expected a boolean, number or string, got object");
	expect_fail_str("{\"bpf_object\": 5, \"meta\": {\"bpf_skel\": {\"obj_name\": \"x\"}}}",
			"t.json", "t.json: bpf_object: expected a string, got number");
	expect_fail_str("{\"meta\": [1]}", "t.json", "t.json: meta: expected an object, got array");
}

Test(package_errors, bad_enumerations)
{
	const char *rb = "{\"ident\": \"rb\", \"name\": \"rb\"}";
	expect_skel_fail(rb,
			 "{\"ident\": \"rb\", \"name\": \"rb\", \"sample\": {\"interval\": 10, "
			 "\"type\": \"log3_hist\"}}",
			 "event.skel.json: bpf_skel.maps[1].sample.type: unknown sample type "
			 "\"log3_hist\" (expected log2_hist, linear_hist or default_kv)");
	expect_skel_fail(rb, "{\"ident\": \"rb\", \"name\": \"rb\", \"export_config\": \"all\"}",
			 "bpf_skel.maps[1].export_config: unknown value \"all\": expected "
			 "\"no_export\", \"default\"");
	expect_skel_fail(rb, "{\"ident\": \"rb\", \"name\": \"rb\", \"export_config\": {}}",
			 "bpf_skel.maps[1].export_config: expected \"no_export\"");
	expect_skel_fail(rb, "{\"ident\": \"rb\", \"name\": \"rb\", \"export_config\": 3}",
			 "bpf_skel.maps[1].export_config: expected \"no_export\", \"default\", "
			 "{\"btf_type_id\": N} or {\"custom_members\": [...]}, got number");
	expect_skel_fail(rb,
			 "{\"ident\": \"rb\", \"name\": \"rb\", \"export_config\": "
			 "{\"custom_members\": [{\"name\": \"a\", \"offset\": 0}]}}",
			 "bpf_skel.maps[1].export_config.custom_members[0].btf_type_id: missing");
	expect_skel_fail(rb, "{\"ident\": \"rb\", \"name\": \"rb\", \"intepreter\": \"magic\"}",
			 "bpf_skel.maps[1].intepreter: unknown interpreter \"magic\"");
	expect_skel_fail(rb, "{\"ident\": \"rb\", \"name\": \"rb\", \"intepreter\": {}}",
			 "bpf_skel.maps[1].intepreter.stack_trace: missing (required: an object)");
	expect_skel_fail(rb,
			 "{\"ident\": \"rb\", \"name\": \"rb\", \"intepreter\": {\"stack_trace\": "
			 "{\"with_symbols\": 1}}}",
			 "bpf_skel.maps[1].intepreter.stack_trace.with_symbols: expected a boolean, "
			 "got number");

	const char *prog = "\"link\": true, \"name\": \"handle_exec\"";
	expect_skel_fail(prog,
			 "\"link\": true, \"name\": \"handle_exec\", \"tchook\": {\"attach_point\": "
			 "\"BPF_TC_CUSTOM\"}",
			 "event.skel.json: bpf_skel.progs[0].tchook.attach_point: BPF_TC_CUSTOM is "
			 "not supported");
	expect_skel_fail(prog,
			 "\"link\": true, \"name\": \"handle_exec\", \"tchook\": {\"attach_point\": "
			 "\"sideways\"}",
			 "bpf_skel.progs[0].tchook.attach_point: unknown attach point \"sideways\"");
	expect_skel_fail(prog,
			 "\"link\": true, \"name\": \"handle_exec\", \"tcopts\": {\"handle\": -2}",
			 "bpf_skel.progs[0].tcopts.handle: expected an integer from 0 to 4294967295, "
			 "got -2");
	expect_skel_fail(prog,
			 "\"link\": true, \"name\": \"handle_exec\", \"ifindex\": 3000000000",
			 "bpf_skel.progs[0].ifindex: expected an integer from -2147483648 to "
			 "2147483647, got 3000000000");
	expect_skel_fail(prog,
			 "\"link\": true, \"name\": \"handle_exec\", \"xdpopts\": {\"old_prog_fd\": "
			 "\"3\"}",
			 "bpf_skel.progs[0].xdpopts.old_prog_fd: expected an integer, got string");
}

Test(package_errors, legacy_malformed)
{
	expect_fail_str("{\"data\": \"f0VMRg==\", \"maps\": 3}", "l.json",
			"l.json: maps: expected an array, got number");
	expect_fail_str("{\"data_sz\": 10, \"maps\": [{\"type\": \"BPF_MAP_TYPE_HASH\"}]}", "l.json",
			"l.json: maps[0].name: missing (required: a string)");
	expect_fail_str("{\"data_sz\": 10, \"maps\": [{\"name\": \"e\", \"export_data_types\": "
			"{\"Struct Name\": \"event\", \"Fields\": [{\"Name\": \"a\", \"Type\": "
			"\"int\", \"FieldOffset\": \"0\"}]}}]}",
			"l.json",
			"l.json: maps[0].export_data_types.Fields[0].FieldOffset: expected an "
			"integer, got string");
	expect_fail_str("{\"data_sz\": 10, \"maps\": [{\"name\": \"e\", \"export_data_types\": "
			"{\"Fields\": []}}]}",
			"l.json", "l.json: maps[0].export_data_types.Struct Name: missing");
	expect_fail_str("{\"data\": \"f0VMRg==\", \"maps\": []}", "l.json",
			"l.json: data: the decoded object is a truncated ELF file (4 bytes)");
	expect_fail_str("{\"data\": \"f0VMRg==\", \"maps\": [], \"progs\": [{}]}", "l.json",
			"l.json: progs[0].name: missing");
}

Test(package_errors, null_error_pointer_is_allowed)
{
	struct eu_package *pkg = (struct eu_package *)1;
	const char *bad = "{\"bpf_object\": \"e!\", \"meta\": {\"bpf_skel\": {\"obj_name\": \"x\"}}}";
	cr_assert_eq(eu_package_parse(bad, strlen(bad), "n.json", &pkg, NULL), -EINVAL);
	cr_assert_null(pkg);
	cr_assert_lt(eu_package_read_file("/nonexistent/x.json", &pkg, NULL), 0);
	cr_assert_null(pkg);
}

Test(package_errors, unreadable_files)
{
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file("/nonexistent/x.json", &pkg, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "/nonexistent/x.json: cannot open: No such file or directory");
	cr_assert_eq(eu_package_read_file(EU_TEST_DATA_DIR, &pkg, &err), -EISDIR);
	cr_assert_not_null(strstr(err.msg, ": is a directory"), "%s", err.msg);
	cr_assert_null(pkg);
}

/* Objects that crashed Debian's libbpf 1.1 inside bpf_object__open_mem (found by fuzzing):
 * they are refused with a message, and this process survives. */
Test(package_errors, objects_that_crash_libbpf_are_refused)
{
	const char *files[] = {"libbpf-crash-1.elf", "libbpf-crash-2.elf"};
	for (size_t i = 0; i < 2; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/packages/%s", EU_TEST_DATA_DIR, files[i]);
		size_t n;
		char *obj = eu_test_read_file(path, &n);
		cr_assert_not_null(obj, "%s", path);
		expect_fail(obj, n, "crash.bpf.o", "crash.bpf.o: not loadable: libbpf crashed");
		free(obj);
	}
}

/* A relocation naming a symbol past the end of the symbol table: refused by our own checks
 * before libbpf indexes through it. */
Test(package_errors, relocation_with_missing_symbol_is_refused)
{
	size_t n;
	uint8_t *obj = fixture_object(&n);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)obj;
	Elf64_Shdr *sh = (Elf64_Shdr *)(obj + eh->e_shoff);
	bool corrupted = false;
	for (int i = 0; i < eh->e_shnum && !corrupted; i++) {
		if (sh[i].sh_type != SHT_REL || sh[i].sh_size < sizeof(Elf64_Rel))
			continue;
		Elf64_Rel *rel = (Elf64_Rel *)(obj + sh[i].sh_offset);
		rel->r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(rel->r_info));
		corrupted = true;
	}
	cr_assert(corrupted, "the fixture has a relocation section");
	expect_fail((const char *)obj, n, "rel.bpf.o", "names a missing symbol");
	free(obj);
}

/* JSON numbers go through a double: past 2^53 neighbouring integers read the same, so a
 * 64-bit preset like 9007199254740993 would silently become ...992. Such values must be
 * quoted; unquoted ones are refused rather than rounded. */
Test(package_errors, integers_past_2_pow_53_must_be_quoted)
{
	const char *var = "\"type\": \"unsigned long long\",";
	expect_skel_fail(var, "\"type\": \"unsigned long long\", \"value\": 9007199254740993,",
			 "variables[0].value: 9007199254740992 is past 2^53, where JSON numbers "
			 "lose digits: write it as a string");
	expect_skel_fail(var, "\"type\": \"unsigned long long\", \"value\": -18446744073709551615,",
			 "variables[0].value: -18446744073709551616 is past 2^53");
	expect_skel_fail("\"default\": 0,", "\"default\": 18446744073709551615,",
			 "cmdarg.default: 18446744073709551616 is past 2^53");

	/* quoted, every digit is kept; 2^53 - 1 and fractions are still fine as numbers */
	const char *ok[][2] = {
		{"\"value\": \"18446744073709551615\",", "18446744073709551615"},
		{"\"value\": 9007199254740991,", "9007199254740991"},
		{"\"value\": -9007199254740991,", "-9007199254740991"},
		{"\"value\": 1.5,", "1.5"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char to[128];
		snprintf(to, sizeof(to), "\"type\": \"unsigned long long\", %s", ok[i][0]);
		char *skel = skel_with(var, to);
		struct eu_package *pkg = expect_parse(skel, strlen(skel), "event.skel.json");
		cr_expect_str_eq(pkg->sections[0].vars[0].value_text, ok[i][1]);
		eu_package_free(pkg);
		free(skel);
	}
}
