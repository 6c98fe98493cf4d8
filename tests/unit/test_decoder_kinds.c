/* The decoder over BTF-described structs of every kind: exact JSON per kind. BTF is built
 * with libbpf's btf__add_* API, records are filled byte by byte. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_fixture.h"

DECODER_SUITE(decoder_kinds);

/* The `ints` record below: a..j at their natural offsets. */
static void put_ints(uint8_t rec[64], int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e,
		     uint32_t f, int64_t g, uint64_t h, __int128 i, unsigned __int128 j)
{
	put(rec, 0, &a, 1);
	put(rec, 1, &b, 1);
	put(rec, 2, &c, 2);
	put(rec, 4, &d, 2);
	put(rec, 8, &e, 4);
	put(rec, 12, &f, 4);
	put(rec, 16, &g, 8);
	put(rec, 24, &h, 8);
	put(rec, 32, &i, 16);
	put(rec, 48, &j, 16);
}

Test(decoder_kinds, integers_all_widths_min_max)
{
	int s8 = add_int("signed char", 1, BTF_INT_SIGNED);
	int u8 = add_int("unsigned char", 1, 0);
	int s16 = add_int("short", 2, BTF_INT_SIGNED);
	int u16 = add_int("unsigned short", 2, 0);
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int u32 = add_int("unsigned int", 4, 0);
	int s64 = add_int("long long", 8, BTF_INT_SIGNED);
	int u64 = add_int("unsigned long long", 8, 0);
	int s128 = add_int("__int128", 16, BTF_INT_SIGNED);
	int u128 = add_int("unsigned __int128", 16, 0);
	int st = add_struct("ints", 64);
	field("a", s8, 0, 0);
	field("b", u8, 8, 0);
	field("c", s16, 16, 0);
	field("d", u16, 32, 0);
	field("e", s32, 64, 0);
	field("f", u32, 96, 0);
	field("g", s64, 128, 0);
	field("h", u64, 192, 0);
	field("i", s128, 256, 0);
	field("j", u128, 384, 0);

	uint8_t rec[64] = {0};
	int8_t a = INT8_MIN;
	uint8_t b = UINT8_MAX;
	int16_t c = INT16_MIN;
	uint16_t d = UINT16_MAX;
	int32_t e = INT32_MIN;
	uint32_t f = UINT32_MAX;
	int64_t g = INT64_MIN;
	uint64_t h = UINT64_MAX;
	__int128 i = (__int128)((unsigned __int128)1 << 127);
	unsigned __int128 j = ~(unsigned __int128)0;
	put_ints(rec, a, b, c, d, e, f, g, h, i, j);
	expect_json(st, rec, sizeof(rec),
		    "{\"a\":-128,\"b\":255,\"c\":-32768,\"d\":65535,\"e\":-2147483648,"
		    "\"f\":4294967295,\"g\":-9223372036854775808,\"h\":18446744073709551615,"
		    "\"i\":\"-170141183460469231731687303715884105728\","
		    "\"j\":\"340282366920938463463374607431768211455\"}");

	/* the other ends, and 128-bit values that cross the 10^19 chunk boundary */
	a = INT8_MAX, c = INT16_MAX, e = INT32_MAX, g = INT64_MAX;
	b = 0, d = 0, f = 0, h = 0;
	i = (__int128)(((unsigned __int128)1 << 127) - 1);
	j = (unsigned __int128)10000000000000000000ull * 10 + 7; /* 10^20 + 7 */
	put_ints(rec, a, b, c, d, e, f, g, h, i, j);
	expect_json(st, rec, sizeof(rec),
		    "{\"a\":127,\"b\":0,\"c\":32767,\"d\":0,\"e\":2147483647,\"f\":0,"
		    "\"g\":9223372036854775807,\"h\":0,"
		    "\"i\":\"170141183460469231731687303715884105727\","
		    "\"j\":\"100000000000000000007\"}");

	i = -1;
	j = (unsigned __int128)1 << 64;
	put(rec, 32, &i, 16);
	put(rec, 48, &j, 16);
	char *got = json_of(st, rec, sizeof(rec));
	cr_expect(strstr(got, "\"i\":\"-1\",\"j\":\"18446744073709551616\"}") != NULL, "%s", got);
	free(got);
}

Test(decoder_kinds, bools)
{
	int bflag = add_int("bool", 1, BTF_INT_BOOL);
	int bname = add_int("_Bool", 1, 0); /* named _Bool without the flag still is a bool */
	int st = add_struct("b", 2);
	field("x", bflag, 0, 0);
	field("y", bname, 8, 0);
	uint8_t rec[2] = {1, 0};
	expect_json(st, rec, 2, "{\"x\":true,\"y\":false}");
	rec[0] = 0;
	rec[1] = 2;
	expect_json(st, rec, 2, "{\"x\":false,\"y\":true}");
}

Test(decoder_kinds, enums_by_name_unknown_signed_enum64)
{
	int color = btf__add_enum(B, "color", 4);
	cr_assert_gt(color, 0);
	btf__add_enum_value(B, "RED", 0);
	btf__add_enum_value(B, "GREEN", 1);
	btf__add_enum_value(B, "BLUE", 2);
	btf__add_enum_value(B, "AZURE", 2); /* an alias: the first declared name wins */
	int sgn = btf__add_enum(B, "sgn", 4);
	btf__add_enum_value(B, "NEG", -5);
	btf__add_enum_value(B, "ZERO", 0);
	int small = btf__add_enum(B, "small", 1);
	btf__add_enum_value(B, "TOP", 255);
	int big = btf__add_enum64(B, "big", 8, false);
	cr_assert_gt(big, 0);
	btf__add_enum64_value(B, "HUGE", UINT64_MAX);
	btf__add_enum64_value(B, "ONE", 1);
	int st = add_struct("e", 24);
	field("c", color, 0, 0);
	field("s", sgn, 32, 0);
	field("m", small, 64, 0);
	field("b", big, 128, 0);

	uint8_t rec[24] = {0};
	uint32_t c = 2;
	int32_t s = -5;
	uint64_t bg = UINT64_MAX;
	put(rec, 0, &c, 4);
	put(rec, 4, &s, 4);
	rec[8] = 255;
	put(rec, 16, &bg, 8);
	expect_json(st, rec, sizeof(rec), "{\"c\":\"BLUE\",\"s\":\"NEG\",\"m\":\"TOP\",\"b\":\"HUGE\"}");

	c = 7;
	s = -7;
	bg = 5;
	put(rec, 0, &c, 4);
	put(rec, 4, &s, 4);
	rec[8] = 3;
	put(rec, 16, &bg, 8);
	expect_json(st, rec, sizeof(rec), "{\"c\":7,\"s\":-7,\"m\":3,\"b\":5}");
}

Test(decoder_kinds, bitfields_signed_unsigned_bool_enum_wide)
{
	int u32 = add_int("unsigned int", 4, 0);
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int b = add_int("_Bool", 1, BTF_INT_BOOL);
	int u64 = add_int("unsigned long long", 8, 0);
	int s64 = add_int("long long", 8, BTF_INT_SIGNED);
	int e = btf__add_enum(B, "mode", 4);
	btf__add_enum_value(B, "M_OFF", 0);
	btf__add_enum_value(B, "M_ON", 1);
	btf__add_enum_value(B, "M_AUTO", 2);
	int st = add_struct("bf", 32);
	field("a", u32, 0, 3);
	field("s", s32, 3, 5);
	field("flag", b, 8, 1);
	field("mode", e, 9, 2);
	field("unk", e, 11, 2);
	field("wide", u64, 69, 60);  /* spans 9 bytes */
	field("neg", s64, 130, 64);  /* a full-width bitfield at bit shift 2 */
	uint8_t rec[32] = {0};
	put_bits(rec, 0, 3, 5);
	put_bits(rec, 3, 5, (uint64_t)-3);
	put_bits(rec, 8, 1, 1);
	put_bits(rec, 9, 2, 2);
	put_bits(rec, 11, 2, 3);
	put_bits(rec, 69, 60, ((uint64_t)1 << 60) - 1);
	put_bits(rec, 130, 64, (uint64_t)-2);
	expect_json(st, rec, sizeof(rec),
		    "{\"a\":5,\"s\":-3,\"flag\":true,\"mode\":\"M_AUTO\",\"unk\":3,"
		    "\"wide\":1152921504606846975,\"neg\":-2}");

	/* neighbours do not bleed into each other */
	memset(rec, 0, sizeof(rec));
	put_bits(rec, 3, 5, 15);
	expect_json(st, rec, sizeof(rec),
		    "{\"a\":0,\"s\":15,\"flag\":false,\"mode\":\"M_OFF\",\"unk\":\"M_OFF\","
		    "\"wide\":0,\"neg\":0}");
}

Test(decoder_kinds, nested_anon_union_2d_arrays_strings)
{
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int u32 = add_int("unsigned int", 4, 0);
	int s16 = add_int("short", 2, BTF_INT_SIGNED);
	int u16 = add_int("unsigned short", 2, 0);
	int u8 = add_int("unsigned char", 1, 0);
	int ch = add_int("char", 1, BTF_INT_SIGNED);
	int u8t = btf__add_typedef(B, "__u8", u8);

	int tag = add_array(ch, 4);
	int inner = add_struct("inner", 8);
	field("x", s32, 0, 0);
	field("tag", tag, 32, 0);

	int h2 = add_array(u16, 2);
	int au = btf__add_union(B, NULL, 4);
	cr_assert_gt(au, 0);
	field("u", u32, 0, 0);
	field("h", h2, 0, 0);

	int as = add_struct(NULL, 4);
	field("p", s16, 0, 0);
	field("q", s16, 16, 0);

	int nu = btf__add_union(B, "nu", 4);
	field("a", u32, 0, 0);
	field("b", u8, 0, 0);

	int m = add_array(add_array(s32, 3), 2);
	int names = add_array(add_array(ch, 4), 2);
	int raw = add_array(u8t, 4);
	int empty = add_array(s32, 0);

	int st = add_struct("outer", 64);
	field("id", s32, 0, 0);
	field("", au, 32, 0);
	field("in", inner, 64, 0);
	field("", as, 128, 0);
	field("nu", nu, 160, 0);
	field("m", m, 192, 0);
	field("names", names, 384, 0);
	field("raw", raw, 448, 0);
	field("empty", empty, 480, 0);

	uint8_t rec[64] = {0};
	int32_t id = 7, x = -1;
	uint32_t u = 0x01020304, a = 65;
	int16_t p = 1, q = -2;
	put(rec, 0, &id, 4);
	put(rec, 4, &u, 4);
	put(rec, 8, &x, 4);
	put(rec, 12, "ab", 3);
	put(rec, 16, &p, 2);
	put(rec, 18, &q, 2);
	put(rec, 20, &a, 4);
	for (int32_t k = 0; k < 6; k++)
		put(rec, 24 + 4 * (size_t)k, &(int32_t){k + 1}, 4);
	put(rec, 48, "ab\0\0cd\0\0", 8);
	put(rec, 56, "\x01\x02\x03\xff", 4);
	expect_json(st, rec, sizeof(rec),
		    "{\"id\":7,\"u\":16909060,\"h\":[772,258],\"in\":{\"x\":-1,\"tag\":\"ab\"},"
		    "\"p\":1,\"q\":-2,\"nu\":{\"a\":65,\"b\":65},\"m\":[[1,2,3],[4,5,6]],"
		    "\"names\":[\"ab\",\"cd\"],\"raw\":[1,2,3,255],\"empty\":[]}");
}

Test(decoder_kinds, strings_full_invalid_utf8_control)
{
	int ch = add_int("char", 1, BTF_INT_SIGNED);
	int a4 = add_array(ch, 4), a8 = add_array(ch, 8);
	int st = add_struct("s", 28);
	field("full", a4, 0, 0);
	field("bad", a8, 32, 0);
	field("ctl", a8, 96, 0);
	field("utf", a8, 160, 0);
	uint8_t rec[28] = {0};
	put(rec, 0, "abcd", 4); /* no NUL: all four bytes */
	put(rec, 4, "x\xffy", 3);
	put(rec, 12, "a\nb\x01\"\\", 6);
	put(rec, 20, "\xc3\xa9t\xc3", 4); /* é, t, then a truncated sequence */
	expect_json(st, rec, sizeof(rec),
		    "{\"full\":\"abcd\",\"bad\":\"x\\\\xffy\",\"ctl\":\"a\\nb\\u0001\\\"\\\\\","
		    "\"utf\":\"\xc3\xa9t\\\\xc3\"}");
}

Test(decoder_kinds, ip_addresses)
{
	int u32 = add_int("unsigned int", 4, 0);
	int u32t = btf__add_typedef(B, "__u32", u32);
	int v4 = btf__add_typedef(B, "eu_ipv4_t", u32t);
	int u8 = add_int("unsigned char", 1, 0);
	int u8t = btf__add_typedef(B, "__u8", u8);
	int ip = btf__add_typedef(B, "eu_ip_t", add_array(u8t, 16));
	int cip = btf__add_const(B, ip);
	int st = add_struct("net", 4 + 16 * 8);
	field("saddr", v4, 0, 0);
	const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
	for (int i = 0; i < 8; i++)
		field(names[i], i == 7 ? cip : ip, 32 + 128 * (unsigned)i, 0);
	uint8_t rec[4 + 16 * 8] = {0};
	put(rec, 0, "\x7f\x00\x00\x01", 4);
	static const uint8_t addrs[8][16] = {
		{0x20, 0x01, 0x0d, 0xb8, [15] = 1},                          /* 2001:db8::1 */
		{[10] = 0xff, [11] = 0xff, 10, 1, 2, 3},                      /* v4-mapped */
		{0},                                                          /* :: */
		{[15] = 1},                                                   /* ::1 */
		{0x20, 0x01, 0x0d, 0xb8, [9] = 1, [15] = 1},                  /* 2001:db8::1:0:0:1 */
		{0xfe, 0x80, [14] = 0xab, [15] = 0xcd},                       /* fe80::abcd */
		{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, /* one zero group */
		{0, 1, [15] = 0},                                             /* 1:: */
	};
	for (int i = 0; i < 8; i++)
		put(rec, 4 + 16 * (size_t)i, addrs[i], 16);
	expect_json(st, rec, sizeof(rec),
		    "{\"saddr\":\"127.0.0.1\",\"a\":\"2001:db8::1\",\"b\":\"10.1.2.3\",\"c\":\"::\","
		    "\"d\":\"::1\",\"e\":\"2001:db8::1:0:0:1\",\"f\":\"fe80::abcd\","
		    "\"g\":\"2001:db8:0:1:1:1:1:1\",\"h\":\"1::\"}");
}

Test(decoder_kinds, pointers_and_floats)
{
	int vd = btf__add_ptr(B, 0);
	int ch = add_int("char", 1, BTF_INT_SIGNED);
	int cp = btf__add_ptr(B, ch);
	int f32 = btf__add_float(B, "float", 4);
	int f64 = btf__add_float(B, "double", 8);
	int st = add_struct("pf", 64);
	field("p", vd, 0, 0);
	field("q", cp, 64, 0);
	field("f", f32, 128, 0);
	field("g", f32, 160, 0);
	field("d", f64, 192, 0);
	field("e", f64, 256, 0);
	field("n", f64, 320, 0);
	field("i", f64, 384, 0);
	field("k", f32, 448, 0);
	uint8_t rec[64] = {0};
	uint64_t p = 0xffffffff81000000ull;
	float f = 1.5f, g = 0.1f, k = -INFINITY;
	double d = 0.1 + 0.2, e = 1e300, n = NAN, i = INFINITY;
	put(rec, 0, &p, 8);
	put(rec, 16, &f, 4);
	put(rec, 20, &g, 4);
	put(rec, 24, &d, 8);
	put(rec, 32, &e, 8);
	put(rec, 40, &n, 8);
	put(rec, 48, &i, 8);
	put(rec, 56, &k, 4);
	expect_json(st, rec, sizeof(rec),
		    "{\"p\":\"0xffffffff81000000\",\"q\":\"0x0\",\"f\":1.5,\"g\":0.1,"
		    "\"d\":0.30000000000000004,\"e\":1e+300,\"n\":\"NaN\",\"i\":\"Infinity\","
		    "\"k\":\"-Infinity\"}");
	d = -0.0;
	e = 123456789.125;
	put(rec, 24, &d, 8);
	put(rec, 32, &e, 8);
	char *got = json_of(st, rec, sizeof(rec));
	cr_expect(strstr(got, "\"d\":-0,\"e\":123456789.125,") != NULL, "%s", got);
	free(got);
}

Test(decoder_kinds, modifiers_typedefs_and_type_tags_resolve)
{
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int td = btf__add_typedef(B, "pid_t", s32);
	int c = btf__add_const(B, td);
	int v = btf__add_volatile(B, c);
	int tag = btf__add_type_tag(B, "user", v);
	int r = btf__add_restrict(B, btf__add_ptr(B, s32));
	int st = add_struct("m", 16);
	field("pid", tag, 0, 0);
	field("ptr", r, 64, 0);
	/* the root may be reached through a typedef and const too */
	int root = btf__add_const(B, btf__add_typedef(B, "m_t", st));
	uint8_t rec[16] = {0};
	put(rec, 0, &(int32_t){-42}, 4);
	put(rec, 8, &(uint64_t){0x1234}, 8);
	expect_json(root, rec, sizeof(rec), "{\"pid\":-42,\"ptr\":\"0x1234\"}");
}

Test(decoder_kinds, union_root_and_unnamed_padding_bitfield)
{
	int u32 = add_int("unsigned int", 4, 0);
	int u8 = add_int("unsigned char", 1, 0);
	int un = btf__add_union(B, "val", 4);
	field("word", u32, 0, 0);
	field("low", u8, 0, 0);
	int st = add_struct("pad", 4);
	field("a", u32, 0, 4);
	field("", u32, 4, 4); /* `unsigned :4;` is padding, not a field */
	field("b", u32, 8, 8);
	uint8_t rec[4] = {0x2a, 0x01, 0, 0};
	expect_json(un, rec, 4, "{\"word\":298,\"low\":42}");
	expect_json(st, rec, 4, "{\"a\":10,\"b\":1}");
}

/* Before kflag, BTF described a bitfield by an int type whose encoding carries the bit
 * offset and width (BTF_INT_OFFSET / BTF_INT_BITS). */
Test(decoder_kinds, pre_kflag_int_encoded_bitfields)
{
	int u32 = add_int("unsigned int", 4, 0);
	int ubf = add_int("unsigned int", 4, 0);
	int sbf = add_int("int", 4, BTF_INT_SIGNED);
	struct btf_type *t = (struct btf_type *)btf__type_by_id(B, (uint32_t)ubf);
	*(uint32_t *)(t + 1) = (2u << 16) | 5u;                     /* 5 bits at +2 */
	t = (struct btf_type *)btf__type_by_id(B, (uint32_t)sbf);
	*(uint32_t *)(t + 1) = ((uint32_t)BTF_INT_SIGNED << 24) | (7u << 16) | 4u; /* 4 at +7 */
	int st = add_struct("old", 8);
	field("x", ubf, 32, 0);
	field("s", sbf, 32, 0);
	field("y", u32, 0, 0);
	uint8_t rec[8] = {0};
	rec[0] = 7;
	put_bits(rec, 34, 5, 21);
	put_bits(rec, 39, 4, (uint64_t)-3);
	expect_json(st, rec, sizeof(rec), "{\"x\":21,\"s\":-3,\"y\":7}");

	/* an encoding that does not fit its int is refused */
	int bad = add_int("unsigned int", 4, 0);
	t = (struct btf_type *)btf__type_by_id(B, (uint32_t)bad);
	*(uint32_t *)(t + 1) = (30u << 16) | 5u;
	int st2 = add_struct("bad", 4);
	field("z", bad, 0, 0);
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_expect_eq(eu_plan_new(B, (uint32_t)st2, &plan, &err), -EINVAL);
	cr_expect(strstr(err.msg, "field z: integer encoding (5 bits at 30) does not fit 4 bytes"),
		  "%s", err.msg);
}

/* libbpf-tools declare `__u8 comm[16]`: a byte array named as text prints as a string, cut
 * at its NUL; the same bytes under another name (or in a 2-D array) stay numbers. */
Test(decoder_kinds, unsigned_byte_arrays_named_as_text_are_strings)
{
	int u8 = add_int("unsigned char", 1, 0);
	int u8t = btf__add_typedef(B, "__u8", u8);
	int a4 = add_array(u8t, 4);
	int st = add_struct("ev", 20);
	field("comm", a4, 0, 0);
	field("fname", a4, 32, 0);
	field("task", a4, 64, 0);
	field("hash", a4, 96, 0);
	field("namespaces", a4, 128, 0);
	uint8_t rec[20];
	for (int i = 0; i < 5; i++)
		put(rec, 4 * (size_t)i, "ls\0x", 4);
	expect_json(st, rec, sizeof(rec),
		    "{\"comm\":\"ls\",\"fname\":\"ls\",\"task\":\"ls\",\"hash\":[108,115,0,120],"
		    "\"namespaces\":[108,115,0,120]}");
}
