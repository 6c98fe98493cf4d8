/* Plans that do not come from one BTF struct (the 2022 legacy metadata, upstream's
 * custom_members), and the errors and limits of plan building. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_fixture.h"
#include "eunomia/buf.h"
#include "eunomia/package.h"

DECODER_SUITE(decoder_plans);

/* Plans type_id expecting failure with code; the message must contain needle. */
static void expect_plan_error(int type_id, int code, const char *needle)
{
	struct eu_plan *plan = (struct eu_plan *)1;
	eu_error err = {0};
	int ret = eu_plan_new(B, (uint32_t)type_id, &plan, &err);
	cr_expect_eq(ret, code, "got %d (%s)", ret, err.msg);
	cr_expect_null(plan);
	cr_expect_eq(err.code, code);
	cr_expect(strstr(err.msg, needle) != NULL, "message \"%s\" lacks \"%s\"", err.msg, needle);
}

/* legacy-v0.1.eunomia-otel-tests.meta.json: Struct Name "event", Size 2368 bits (296 bytes) */
Test(decoder_plans, legacy_export_type_from_2022_metadata)
{
	struct eu_member_meta m[] = {
		{.name = "ts", .type = "unsigned long long", .bit_offset = 0, .has_offset = true},
		{.name = "pid", .type = "int", .bit_offset = 64, .has_offset = true},
		{.name = "uid", .type = "int", .bit_offset = 96, .has_offset = true},
		{.name = "ret", .type = "int", .bit_offset = 128, .has_offset = true},
		{.name = "flags", .type = "int", .bit_offset = 160, .has_offset = true},
		{.name = "comm", .type = "char [16]", .bit_offset = 192, .has_offset = true},
		{.name = "fname", .type = "char [255]", .bit_offset = 320, .has_offset = true},
	};
	struct eu_export_type t = {.name = "event", .size = 296, .members = m, .n_members = 7};
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new_legacy(&t, &plan, &err), 0, "%s", err.msg);
	cr_expect_str_eq(eu_plan_name(plan), "event");
	cr_expect_eq(eu_plan_size(plan), 296);
	cr_expect_eq(eu_plan_field(plan, 5)->kind, EU_FIELD_CHAR_ARRAY);
	cr_expect_eq(eu_plan_field(plan, 6)->offset, 40);
	uint8_t rec[296] = {0};
	memcpy(rec, &(uint64_t){1700000000123456789ull}, 8);
	memcpy(rec + 8, &(int32_t){4242}, 4);
	memcpy(rec + 12, &(int32_t){1000}, 4);
	memcpy(rec + 16, &(int32_t){-2}, 4);
	memcpy(rec + 20, &(int32_t){0x80000}, 4);
	memcpy(rec + 24, "cat", 4);
	memcpy(rec + 40, "/etc/passwd", 12);
	char *s = format(plan, rec, sizeof(rec));
	cr_expect_str_eq(s, "{\"ts\":1700000000123456789,\"pid\":4242,\"uid\":1000,\"ret\":-2,"
			    "\"flags\":524288,\"comm\":\"cat\",\"fname\":\"/etc/passwd\"}");
	free(s);
	eu_buf b;
	eu_buf_init(&b);
	/* the trailing fname may be cut (a variable-length tail); before it, nothing decodes */
	cr_expect_eq(eu_plan_min_size(plan), 40);
	cr_expect_eq(eu_plan_format_json(plan, rec, 39, &b), -EINVAL);
	cr_expect_eq(b.len, 0);
	cr_expect_eq(eu_plan_format_json(plan, rec, 40 + 4, &b), 0);
	cr_expect_str_eq(b.data, "{\"ts\":1700000000123456789,\"pid\":4242,\"uid\":1000,\"ret\":-2,"
				 "\"flags\":524288,\"comm\":\"cat\",\"fname\":\"/etc\"}");
	eu_buf_free(&b);
	eu_plan_free(plan);
}

Test(decoder_plans, legacy_type_spellings)
{
	struct eu_member_meta m[] = {
		{.name = "slots", .type = "__u32[4]", .bit_offset = 0, .has_offset = true},
		{.name = "grid", .type = "int [2][2]", .bit_offset = 128, .has_offset = true},
		{.name = "ok", .type = "bool", .bit_offset = 256, .has_offset = true},
		{.name = "c", .type = "char", .bit_offset = 264, .has_offset = true},
		{.name = "mac", .type = "unsigned char [2]", .bit_offset = 272, .has_offset = true},
		{.name = "pid", .type = "pid_t", .bit_offset = 288, .has_offset = true},
		{.name = "p", .type = "const char *", .bit_offset = 320, .has_offset = true},
		{.name = "big", .type = "__uint128_t", .bit_offset = 384, .has_offset = true},
		{.name = "d", .type = "double", .bit_offset = 512, .has_offset = true},
		{.name = "n", .type = "  long   long  ", .bit_offset = 576, .has_offset = true},
	};
	struct eu_export_type t = {.name = "x", .size = 80, .members = m, .n_members = 10};
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new_legacy(&t, &plan, &err), 0, "%s", err.msg);
	uint8_t rec[80] = {0};
	for (uint32_t i = 0; i < 4; i++)
		memcpy(rec + 4 * i, &(uint32_t){i * 10}, 4);
	for (int32_t i = 0; i < 4; i++)
		memcpy(rec + 16 + 4 * (size_t)i, &(int32_t){-i}, 4);
	rec[32] = 1;
	rec[33] = (uint8_t)-5;
	rec[34] = 0xaa;
	rec[35] = 0xbb;
	memcpy(rec + 36, &(int32_t){77}, 4);
	memcpy(rec + 40, &(uint64_t){0xabc}, 8);
	rec[48] = 9;
	memcpy(rec + 64, &(double){2.5}, 8);
	memcpy(rec + 72, &(int64_t){-1}, 8);
	char *s = format(plan, rec, sizeof(rec));
	cr_expect_str_eq(s, "{\"slots\":[0,10,20,30],\"grid\":[[0,-1],[-2,-3]],\"ok\":true,"
			    "\"c\":-5,\"mac\":[170,187],\"pid\":77,\"p\":\"0xabc\",\"big\":\"9\","
			    "\"d\":2.5,\"n\":-1}");
	free(s);
	eu_plan_free(plan);
}

Test(decoder_plans, legacy_errors_name_the_member)
{
	struct eu_member_meta m = {.name = "s", .type = "struct foo", .has_offset = true};
	struct eu_export_type t = {.name = "ev", .size = 8, .members = &m, .n_members = 1};
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_expect_eq(eu_plan_new_legacy(&t, &plan, &err), -EOPNOTSUPP);
	cr_expect(strstr(err.msg, "legacy export type ev: member s: unsupported type \"struct foo\""),
		  "%s", err.msg);
	m.type = "int [x]";
	cr_expect_eq(eu_plan_new_legacy(&t, &plan, &err), -EINVAL);
	cr_expect(strstr(err.msg, "malformed"), "%s", err.msg);
	m.type = "int";
	m.bit_offset = 3;
	cr_expect_eq(eu_plan_new_legacy(&t, &plan, &err), -EINVAL);
	cr_expect(strstr(err.msg, "byte boundary"), "%s", err.msg);
	m.bit_offset = 64; /* bytes 8..12 of an 8-byte struct */
	cr_expect_eq(eu_plan_new_legacy(&t, &plan, &err), -EINVAL);
	cr_expect(strstr(err.msg, "outside"), "%s", err.msg);
	m.has_offset = false;
	m.bit_offset = 0;
	cr_expect_eq(eu_plan_new_legacy(&t, &plan, &err), -EINVAL);
	cr_expect(strstr(err.msg, "FieldOffset"), "%s", err.msg);
	m.has_offset = true;
	m.type = "char [4294967295]";
	cr_expect_lt(eu_plan_new_legacy(&t, &plan, &err), 0);
	cr_expect_null(plan);
}

/* multiple_export_ringbuf.multiple-custom-struct.json: members out of offset order */
Test(decoder_plans, custom_members)
{
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int ch = add_int("char", 1, BTF_INT_SIGNED);
	int comm = add_array(ch, 16), fname = add_array(ch, 127);
	struct eu_custom_member m[] = {
		{.name = "comm?", .offset = 8, .btf_type_id = (uint32_t)comm},
		{.name = "ppid", .offset = 4, .btf_type_id = (uint32_t)s32},
		{.name = "fname", .offset = 24, .btf_type_id = (uint32_t)fname},
		{.name = "pid", .offset = 0, .btf_type_id = (uint32_t)s32},
	};
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new_custom(B, "rb_exec", m, 4, &plan, &err), 0, "%s", err.msg);
	cr_expect_str_eq(eu_plan_name(plan), "rb_exec");
	cr_expect_eq(eu_plan_size(plan), 24 + 127);
	cr_expect_eq(eu_plan_find_field(plan, "comm?"), 0);
	uint8_t rec[151] = {0};
	memcpy(rec, &(int32_t){42}, 4);
	memcpy(rec + 4, &(int32_t){1}, 4);
	memcpy(rec + 8, "bash", 5);
	memcpy(rec + 24, "/bin/ls", 8);
	char *s = format(plan, rec, sizeof(rec));
	cr_expect_str_eq(s, "{\"comm?\":\"bash\",\"ppid\":1,\"fname\":\"/bin/ls\",\"pid\":42}");
	free(s);
	eu_buf b;
	eu_buf_init(&b);
	cr_expect_eq(eu_plan_format_json(plan, rec, 23, &b), -EINVAL);
	cr_expect_eq(eu_plan_format_json(plan, rec, 24 + 4, &b), 0);
	cr_expect_str_eq(b.data, "{\"comm?\":\"bash\",\"ppid\":1,\"fname\":\"/bin\",\"pid\":42}");
	eu_buf_reset(&b);
	eu_plan_text_header(plan, &b);
	cr_expect_str_eq(b.data, "TIME     COMM?            PPID       FNAME            PID");
	eu_buf_free(&b);
	eu_plan_free(plan);

	m[2].btf_type_id = 9999;
	cr_expect_eq(eu_plan_new_custom(B, "rb_exec", m, 4, &plan, &err), -EINVAL);
	cr_expect(strstr(err.msg, "custom export rb_exec: field fname: type id 9999 does not exist"),
		  "%s", err.msg);
}

Test(decoder_plans, root_must_be_struct_or_union)
{
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	expect_plan_error(s32, -EINVAL, "is a int, not a struct or union");
	expect_plan_error(12345, -EINVAL, "type id 12345 does not exist");
}

Test(decoder_plans, hostile_types_are_refused)
{
	int u64 = add_int("unsigned long long", 8, 0);
	/* typedef loop: a -> b -> a (forward references are legal in raw BTF) */
	int a = btf__add_typedef(B, "a", 0);
	cr_assert_gt(a, 0);
	int b = btf__add_typedef(B, "b", a);
	struct btf_type *ta = (struct btf_type *)btf__type_by_id(B, (uint32_t)a);
	ta->type = (uint32_t)b;
	int loop = btf__add_struct(B, "loop", 8);
	field("x", a, 0, 0);
	expect_plan_error(loop, -ELOOP, "field x: type");

	/* a struct that contains itself */
	int self = btf__add_struct(B, "self", 8);
	field("me", self, 0, 0);
	expect_plan_error(self, -E2BIG, "deeper than 32");

	/* a member past the end of its struct */
	int small = btf__add_struct(B, "small", 4);
	field("v", u64, 0, 0);
	expect_plan_error(small, -EINVAL, "field v: lies outside its parent");

	/* a billion empty structs: no bytes, but a billion values to print */
	int empty = btf__add_struct(B, "empty", 0);
	int many = add_array(empty, 1u << 30);
	int bomb = btf__add_struct(B, "bomb", 0);
	field("e", many, 0, 0);
	expect_plan_error(bomb, -E2BIG, "values per record");

	/* an array far bigger than any record */
	int huge = add_array(u64, 1u << 28);
	int whale = btf__add_struct(B, "whale", 0);
	field("h", huge, 0, 0);
	expect_plan_error(whale, -E2BIG, "field h: array of");

	/* a function prototype has no value */
	int fp = btf__add_func_proto(B, 0);
	int fs = btf__add_struct(B, "fs", 8);
	field("f", fp, 0, 0);
	expect_plan_error(fs, -EOPNOTSUPP, "function prototype");

	/* bitfields only of integers and enums */
	int ptr = btf__add_ptr(B, 0);
	int bp = btf__add_struct(B, "bp", 8);
	field("p", ptr, 0, 3);
	expect_plan_error(bp, -EINVAL, "field p: a bitfield of a pointer");

	/* 40 levels of named nesting */
	int inner = btf__add_struct(B, "lvl0", 8);
	field("v", u64, 0, 0);
	for (int i = 1; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "lvl%d", i);
		int outer = btf__add_struct(B, name, 8);
		field("n", inner, 0, 0);
		inner = outer;
	}
	expect_plan_error(inner, -E2BIG, "deeper than 32");

	/* anonymous members fanning out 2^20 ways to nothing but padding */
	int u32 = add_int("unsigned int", 4, 0);
	int fan = btf__add_struct(B, NULL, 4);
	field("", u32, 0, 4);
	for (int i = 0; i < 20; i++) {
		int up = btf__add_struct(B, NULL, 4);
		field("", fan, 0, 0);
		field("", fan, 0, 0);
		fan = up;
	}
	expect_plan_error(fan, -E2BIG, "members in all");
}

Test(decoder_plans, zero_size_struct_and_flexible_array)
{
	int u32 = add_int("unsigned int", 4, 0);
	int flex = add_array(u32, 0);
	int st = btf__add_struct(B, "hdr", 4);
	field("len", u32, 0, 0);
	field("data", flex, 32, 0);
	int empty = btf__add_struct(B, "nothing", 0);
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(B, (uint32_t)st, &plan, &err), 0, "%s", err.msg);
	char *s = format(plan, "\x03\0\0\0", 4);
	cr_expect_str_eq(s, "{\"len\":3,\"data\":[]}");
	free(s);
	cr_expect_eq(eu_plan_field(plan, 1)->kind, EU_FIELD_ARRAY);
	cr_expect_eq(eu_plan_field(plan, 1)->elems, 0);
	eu_plan_free(plan);
	cr_assert_eq(eu_plan_new(B, (uint32_t)empty, &plan, &err), 0, "%s", err.msg);
	s = format(plan, NULL, 0);
	cr_expect_str_eq(s, "{}");
	free(s);
	eu_plan_free(plan);
}

/* Empty arrays at every level of a nested struct: an empty array has no element op, and the
 * plan's output-size estimate once followed its unused index back to the root, walking the
 * tree 4^16 times here (found by fuzz_decoder). The timeout turns that regression into a
 * failure instead of a hung run. */
Test(decoder_plans, empty_arrays_at_every_level, .timeout = 30)
{
	int u32 = add_int("unsigned int", 4, 0);
	int none = add_array(u32, 0);
	int inner = add_struct("lvl0", 4);
	field("v", u32, 0, 0);
	field("a", none, 32, 0);
	field("b", none, 32, 0);
	field("c", none, 32, 0);
	field("d", none, 32, 0);
	const int levels = 8;
	for (int i = 1; i < levels; i++) {
		char name[16];
		snprintf(name, sizeof(name), "lvl%d", i);
		int outer = add_struct(name, 4);
		field("a", none, 0, 0);
		field("b", none, 0, 0);
		field("n", inner, 0, 0);
		field("c", none, 32, 0);
		field("d", none, 32, 0);
		inner = outer;
	}
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(B, (uint32_t)inner, &plan, &err), 0, "%s", err.msg);
	char *s = format(plan, "\x07\0\0\0", 4);
	eu_buf want;
	eu_buf_init(&want);
	for (int i = 1; i < levels; i++)
		eu_buf_puts(&want, "{\"a\":[],\"b\":[],\"n\":");
	eu_buf_puts(&want, "{\"v\":7,\"a\":[],\"b\":[],\"c\":[],\"d\":[]}");
	for (int i = 1; i < levels; i++)
		eu_buf_puts(&want, ",\"c\":[],\"d\":[]}");
	cr_expect_str_eq(s, want.data);
	eu_buf_free(&want);
	free(s);
	eu_plan_free(plan);
}
