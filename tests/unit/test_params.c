/* Package options: value parsing for every type, ranges, bool rules, char[N], floats,
 * enums, cmdarg names, presets, section patching and --help, over a BTF built here with
 * libbpf's btf__add_* (the same DATASEC/VAR shapes clang emits). */
#include <bpf/btf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "eunomia/package.h"
#include "eunomia/params.h"

/* ---- a BTF with a .rodata and a .bss --------------------------------------------------- */

struct fixture {
	struct btf *btf;
	int t_u64, t_int, t_u32, t_pid, t_bool, t_u8, t_s8, t_s16, t_u16, t_s64, t_s128, t_u128;
	int t_float, t_double, t_enum, t_chars16, t_ints4, t_ptr, t_cv_u64, t_ports3, t_grid;
};

static int add_var(struct btf *btf, const char *name, int type)
{
	int id = btf__add_var(btf, name, BTF_VAR_GLOBAL_ALLOCATED, type);
	cr_assert_gt(id, 0, "btf__add_var %s", name);
	return id;
}

/* .rodata layout (offset: var): every settable kind once, plus non-settable ones */
enum {
	OFF_MIN_DURATION = 0,   /* const volatile unsigned long long */
	OFF_PID = 8,            /* pid_t */
	OFF_U32 = 12,           /* __u32 */
	OFF_FLAG = 16,          /* bool, false */
	OFF_FLAG_ON = 17,       /* bool, true in the ELF */
	OFF_U8 = 18,
	OFF_S8 = 19,
	OFF_S16 = 20,
	OFF_U16 = 22,
	OFF_INT = 24,
	OFF_S64 = 32,
	OFF_S128 = 48,
	OFF_U128 = 64,
	OFF_FLOAT = 80,
	OFF_DOUBLE = 88,
	OFF_COLOR = 96,
	OFF_NAME = 100,         /* char[16] */
	OFF_INTS = 116,         /* int[4] */
	OFF_INTS_CNT = 132,     /* int: the length companion of ints */
	OFF_PTR = 136,          /* pointer: not an option */
	OFF_CV1 = 144,          /* int with cmdarg long cv1, short 1, default 12345 */
	OFF_PORTS = 148,        /* unsigned short[3] */
	OFF_GRID = 156,         /* int[2][2]: arrays of arrays are not options */
	RODATA_SIZE = 172,
};

static struct fixture fx;

static void build_btf(void)
{
	struct btf *b = btf__new_empty();
	cr_assert_not_null(b);
	fx.btf = b;
	fx.t_u64 = btf__add_int(b, "unsigned long long", 8, 0);
	fx.t_int = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int uint = btf__add_int(b, "unsigned int", 4, 0);
	fx.t_u32 = btf__add_typedef(b, "__u32", uint);
	int kpid = btf__add_typedef(b, "__kernel_pid_t", fx.t_int);
	fx.t_pid = btf__add_typedef(b, "pid_t", kpid);
	fx.t_bool = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
	fx.t_u8 = btf__add_int(b, "unsigned char", 1, 0);
	fx.t_s8 = btf__add_int(b, "signed char", 1, BTF_INT_SIGNED);
	fx.t_s16 = btf__add_int(b, "short", 2, BTF_INT_SIGNED);
	fx.t_u16 = btf__add_int(b, "unsigned short", 2, 0);
	fx.t_s64 = btf__add_int(b, "long long", 8, BTF_INT_SIGNED);
	fx.t_s128 = btf__add_int(b, "__int128", 16, BTF_INT_SIGNED);
	fx.t_u128 = btf__add_int(b, "unsigned __int128", 16, 0);
	fx.t_float = btf__add_float(b, "float", 4);
	fx.t_double = btf__add_float(b, "double", 8);
	fx.t_enum = btf__add_enum(b, "color", 4);
	btf__add_enum_value(b, "RED", 0);
	btf__add_enum_value(b, "GREEN", 1);
	btf__add_enum_value(b, "BLUE", 5);
	int t_char = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	fx.t_chars16 = btf__add_array(b, fx.t_int, t_char, 16);
	fx.t_ints4 = btf__add_array(b, fx.t_int, fx.t_int, 4);
	fx.t_ports3 = btf__add_array(b, fx.t_int, fx.t_u16, 3);
	fx.t_grid = btf__add_array(b, fx.t_int, btf__add_array(b, fx.t_int, fx.t_int, 2), 2);
	fx.t_ptr = btf__add_ptr(b, fx.t_int);
	fx.t_cv_u64 = btf__add_const(b, btf__add_volatile(b, fx.t_u64));

	struct {
		const char *name;
		int type;
		int off;
		int size;
	} ro[] = {
		{"min_duration_ns", fx.t_cv_u64, OFF_MIN_DURATION, 8},
		{"targ_pid", btf__add_const(b, btf__add_volatile(b, fx.t_pid)), OFF_PID, 4},
		{"mask", fx.t_u32, OFF_U32, 4},
		{"flag", fx.t_bool, OFF_FLAG, 1},
		{"flag_on", fx.t_bool, OFF_FLAG_ON, 1},
		{"v_u8", fx.t_u8, OFF_U8, 1},
		{"v_s8", fx.t_s8, OFF_S8, 1},
		{"v_s16", fx.t_s16, OFF_S16, 2},
		{"v_u16", fx.t_u16, OFF_U16, 2},
		{"v_int", fx.t_int, OFF_INT, 4},
		{"v_s64", fx.t_s64, OFF_S64, 8},
		{"v_s128", fx.t_s128, OFF_S128, 16},
		{"v_u128", fx.t_u128, OFF_U128, 16},
		{"ratio", fx.t_float, OFF_FLOAT, 4},
		{"scale", fx.t_double, OFF_DOUBLE, 8},
		{"color", fx.t_enum, OFF_COLOR, 4},
		{"name", fx.t_chars16, OFF_NAME, 16},
		{"ints", fx.t_ints4, OFF_INTS, 16},
		{"ints_cnt", fx.t_int, OFF_INTS_CNT, 4},
		{"ptr", fx.t_ptr, OFF_PTR, 8},
		{"const_val_1", fx.t_int, OFF_CV1, 4},
		{"ports", fx.t_ports3, OFF_PORTS, 6},
		{"grid", fx.t_grid, OFF_GRID, 16},
	};
	int ids[sizeof(ro) / sizeof(ro[0])];
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		ids[i] = add_var(b, ro[i].name, ro[i].type);
	cr_assert_gt(btf__add_datasec(b, ".rodata", RODATA_SIZE), 0);
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		cr_assert_eq(btf__add_datasec_var_info(b, ids[i], ro[i].off, ro[i].size), 0);

	int bss_val = add_var(b, "bss_val", fx.t_int);
	int dummy = add_var(b, "__eunomia_dummy_event_ptr", fx.t_ptr);
	cr_assert_gt(btf__add_datasec(b, ".bss", 16), 0);
	cr_assert_eq(btf__add_datasec_var_info(b, bss_val, 0, 4), 0);
	cr_assert_eq(btf__add_datasec_var_info(b, dummy, 8, 8), 0);
}

/* The package meta: what ecc writes for these variables. */
static struct eu_var_meta ro_vars[] = {
	{.name = "min_duration_ns", .type = "unsigned long long",
	 .description = "Minimum process duration (ns) to report"},
	{.name = "targ_pid", .type = "pid_t"},
	{.name = "mask", .type = "__u32"},
	{.name = "flag", .type = "bool", .cmdarg = {.long_name = "failed", .short_name = "f"}},
	{.name = "flag_on", .type = "bool"},
	{.name = "v_u8", .type = "unsigned char"},
	{.name = "v_s8", .type = "signed char"},
	{.name = "v_s16", .type = "short"},
	{.name = "v_u16", .type = "unsigned short"},
	{.name = "v_int", .type = "int"},
	{.name = "v_s64", .type = "long long"},
	{.name = "v_s128", .type = "__int128"},
	{.name = "v_u128", .type = "unsigned __int128"},
	{.name = "ratio", .type = "float"},
	{.name = "scale", .type = "double"},
	{.name = "color", .type = "enum color"},
	{.name = "name", .type = "char[16]"},
	{.name = "ints", .type = "int[4]"},
	{.name = "ints_cnt", .type = "int"},
	{.name = "ptr", .type = "int *"},
	{.name = "const_val_1", .type = "int",
	 .cmdarg = {.long_name = "cv1", .short_name = "1", .help = "This is a help message",
		    .default_text = "12345"}},
	{.name = "ports", .type = "unsigned short[3]"},
	{.name = "grid", .type = "int[2][2]"},
};
static struct eu_var_meta bss_vars[] = {
	{.name = "bss_val", .type = "int", .value_text = "7"},
	{.name = "__eunomia_dummy_event_ptr", .type = "struct event *", .dummy = true},
	{.name = "not_in_btf", .type = "int"},
};
static struct eu_section_meta sections[] = {
	{.name = ".rodata", .vars = ro_vars, .n_vars = sizeof(ro_vars) / sizeof(ro_vars[0])},
	{.name = ".bss", .vars = bss_vars, .n_vars = sizeof(bss_vars) / sizeof(bss_vars[0])},
};
static struct eu_package pkg = {
	.name = "test",
	.sections = sections,
	.n_sections = 2,
};

/* The ELF's initial .rodata: flag_on true, min_duration_ns 1000. */
static uint8_t rodata_init[RODATA_SIZE];

static const void *section_data(void *ctx, const char *section, size_t *size)
{
	(void)ctx;
	if (!strcmp(section, ".rodata")) {
		*size = sizeof(rodata_init);
		return rodata_init;
	}
	return NULL;
}

static struct eu_params *params;
static eu_error err;

static void setup(void)
{
	build_btf();
	memset(rodata_init, 0, sizeof(rodata_init));
	rodata_init[OFF_FLAG_ON] = 1;
	uint64_t d = 1000;
	memcpy(rodata_init + OFF_MIN_DURATION, &d, 8);
	struct eu_params_opts opts = {.sz = sizeof(opts), .section_data = section_data};
	eu_error_clear(&err);
	int ret = eu_params_new(&pkg, fx.btf, &opts, &params, &err);
	cr_assert_eq(ret, 0, "eu_params_new: %s", err.msg);
}

static void teardown(void)
{
	eu_params_free(params);
	btf__free(fx.btf);
	params = NULL;
}

TestSuite(params, .init = setup, .fini = teardown);

static size_t idx(const char *long_name)
{
	int i = eu_params_find(params, long_name);
	cr_assert_geq(i, 0, "option --%s is missing", long_name);
	return (size_t)i;
}

static int set(const char *long_name, const char *text)
{
	eu_error_clear(&err);
	return eu_params_set(params, idx(long_name), text, &err);
}

static uint64_t value_u(const char *long_name)
{
	const struct eu_param *p = eu_params_at(params, idx(long_name));
	uint64_t v = 0;
	memcpy(&v, eu_params_value(params, idx(long_name)), p->type.size > 8 ? 8 : p->type.size);
	return v;
}

static int64_t value_s(const char *long_name)
{
	const struct eu_param *p = eu_params_at(params, idx(long_name));
	const void *v = eu_params_value(params, idx(long_name));
	switch (p->type.size) {
	case 1: return *(const int8_t *)v;
	case 2: { int16_t x; memcpy(&x, v, 2); return x; }
	case 4: { int32_t x; memcpy(&x, v, 4); return x; }
	default: { int64_t x; memcpy(&x, v, 8); return x; }
	}
}

static int parse_argv(const char **argv, int argc)
{
	eu_error_clear(&err);
	return eu_params_parse_argv(params, argc, (char *const *)argv, &err);
}

/* ---- the table ------------------------------------------------------------------------ */

Test(params, table_has_settable_variables_only)
{
	const char *expect[] = {"min_duration_ns", "targ_pid", "mask", "failed", "flag_on", "v_u8",
				"v_s8", "v_s16", "v_u16", "v_int", "v_s64", "v_s128", "v_u128",
				"ratio", "scale", "color", "name", "ints", "ints_cnt", "cv1",
				"ports", "bss_val"};
	cr_assert_eq(eu_params_count(params), sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		cr_assert_str_eq(eu_params_at(params, i)->long_name, expect[i]);
	cr_assert_lt(eu_params_find(params, "grid"), 0, "arrays of arrays are not settable");
	cr_assert_lt(eu_params_find(params, "ptr"), 0, "pointers are not settable");
	cr_assert_lt(eu_params_find(params, "__eunomia_dummy_event_ptr"), 0);
	cr_assert_lt(eu_params_find(params, "not_in_btf"), 0);
}

Test(params, types_offsets_and_names)
{
	const struct eu_param *p = eu_params_at(params, idx("min_duration_ns"));
	cr_assert_eq(p->type.kind, EU_PARAM_INT);
	cr_assert_eq(p->type.size, 8);
	cr_assert_not(p->type.is_signed);
	cr_assert_str_eq(p->type.name, "unsigned long long");
	cr_assert_str_eq(p->section, ".rodata");
	cr_assert_eq(p->offset, OFF_MIN_DURATION);
	p = eu_params_at(params, idx("targ_pid"));
	cr_assert_eq(p->type.kind, EU_PARAM_INT);
	cr_assert(p->type.is_signed, "pid_t resolves to int through two typedefs");
	cr_assert_eq(p->offset, OFF_PID);
	p = eu_params_at(params, idx("mask"));
	cr_assert_str_eq(p->type.name, "__u32");
	cr_assert_not(p->type.is_signed);
	p = eu_params_at(params, idx("name"));
	cr_assert_eq(p->type.kind, EU_PARAM_CHARS);
	cr_assert_eq(p->type.size, 16);
	cr_assert_str_eq(p->type.name, "char[16]");
	p = eu_params_at(params, idx("color"));
	cr_assert_eq(p->type.kind, EU_PARAM_ENUM);
	cr_assert_str_eq(p->type.name, "enum color");
	p = eu_params_at(params, idx("bss_val"));
	cr_assert_str_eq(p->section, ".bss");
}

/* ---- integers ------------------------------------------------------------------------- */

Test(params, integers_decimal_and_hex)
{
	cr_assert_eq(set("min_duration_ns", "1000000"), 0, "%s", err.msg);
	cr_assert_eq(value_u("min_duration_ns"), 1000000);
	cr_assert_eq(set("min_duration_ns", "0xFFfF"), 0, "%s", err.msg);
	cr_assert_eq(value_u("min_duration_ns"), 0xffff);
	cr_assert_eq(set("min_duration_ns", "18446744073709551615"), 0, "%s", err.msg);
	cr_assert_eq(value_u("min_duration_ns"), UINT64_MAX);
	cr_assert_eq(set("mask", "4294967295"), 0, "__u32 typed values are accepted: %s", err.msg);
	cr_assert_eq(value_u("mask"), 4294967295u);
	cr_assert_eq(set("targ_pid", "-1"), 0, "%s", err.msg);
	cr_assert_eq(value_s("targ_pid"), -1);
	cr_assert_eq(set("v_int", "+42"), 0, "%s", err.msg);
	cr_assert_eq(value_s("v_int"), 42);
	cr_assert_eq(set("v_int", "-0x10"), 0, "%s", err.msg);
	cr_assert_eq(value_s("v_int"), -16);
	cr_assert_eq(set("min_duration_ns", "-0"), 0, "minus zero is zero: %s", err.msg);
	cr_assert_eq(value_u("min_duration_ns"), 0);
}

Test(params, integer_ranges_every_width)
{
	struct {
		const char *opt, *min, *max, *below, *above;
	} cases[] = {
		{"v_u8", "0", "255", "-1", "256"},
		{"v_s8", "-128", "127", "-129", "128"},
		{"v_s16", "-32768", "32767", "-32769", "32768"},
		{"v_u16", "0", "65535", "-1", "65536"},
		{"v_int", "-2147483648", "2147483647", "-2147483649", "2147483648"},
		{"mask", "0", "4294967295", "-1", "4294967296"},
		{"v_s64", "-9223372036854775808", "9223372036854775807", "-9223372036854775809",
		 "9223372036854775808"},
		{"min_duration_ns", "0", "18446744073709551615", "-1", "18446744073709551616"},
		{"v_s128", "-170141183460469231731687303715884105728",
		 "170141183460469231731687303715884105727", "-170141183460469231731687303715884105729",
		 "170141183460469231731687303715884105728"},
		{"v_u128", "0", "340282366920938463463374607431768211455", "-1",
		 "340282366920938463463374607431768211456"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(set(cases[i].opt, cases[i].min), 0, "%s min: %s", cases[i].opt, err.msg);
		cr_assert_eq(set(cases[i].opt, cases[i].max), 0, "%s max: %s", cases[i].opt, err.msg);
		cr_assert_eq(set(cases[i].opt, cases[i].below), -ERANGE, "%s below", cases[i].opt);
		char range[128];
		snprintf(range, sizeof(range), "(%s..%s)", cases[i].min, cases[i].max);
		cr_assert(strstr(err.msg, range), "message names the range %s: %s", range, err.msg);
		cr_assert_eq(set(cases[i].opt, cases[i].above), -ERANGE, "%s above", cases[i].opt);
	}
	/* the 128-bit extremes are stored exactly */
	set("v_u128", "340282366920938463463374607431768211455");
	const uint8_t *v = eu_params_value(params, idx("v_u128"));
	for (int i = 0; i < 16; i++)
		cr_assert_eq(v[i], 0xff);
	set("v_s128", "-170141183460469231731687303715884105728");
	v = eu_params_value(params, idx("v_s128"));
	for (int i = 0; i < 15; i++)
		cr_assert_eq(v[i], 0);
	cr_assert_eq(v[15], 0x80);
}

Test(params, negative_unsigned_message)
{
	cr_assert_eq(set("min_duration_ns", "-5"), -ERANGE);
	cr_assert_str_eq(err.msg, "--min_duration_ns: '-5' is out of range for unsigned long long "
				  "(0..18446744073709551615)");
}

Test(params, bad_integer_syntax)
{
	const char *bad[] = {"", "abc", "12abc", "0x", "1.5", " 1", "1 ", "--1", "0xg", "1e3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(set("v_int", bad[i]), -EINVAL, "'%s' must be refused", bad[i]);
		cr_assert(strstr(err.msg, "--v_int: '"), "names the option: %s", err.msg);
		cr_assert(strstr(err.msg, "is not a valid int"), "%s", err.msg);
	}
	/* a failed set keeps the previous value */
	cr_assert_eq(set("v_int", "9"), 0);
	set("v_int", "nine");
	cr_assert_eq(value_s("v_int"), 9);
}

/* ---- bools ---------------------------------------------------------------------------- */

Test(params, bool_rules)
{
	cr_assert_eq(value_u("failed"), 0);
	cr_assert_eq(value_u("flag_on"), 1, "initial value comes from the ELF section");
	const char *a1[] = {"--failed"};
	cr_assert_eq(parse_argv(a1, 1), 0, "%s", err.msg);
	cr_assert_eq(value_u("failed"), 1);
	const char *a2[] = {"--failed=false"};
	cr_assert_eq(parse_argv(a2, 1), 0, "%s", err.msg);
	cr_assert_eq(value_u("failed"), 0);
	const char *a3[] = {"--enable-failed"};
	cr_assert_eq(parse_argv(a3, 1), 0, "%s", err.msg);
	cr_assert_eq(value_u("failed"), 1);
	const char *a4[] = {"--disable-flag_on"};
	cr_assert_eq(parse_argv(a4, 1), 0, "%s", err.msg);
	cr_assert_eq(value_u("flag_on"), 0);
	const char *a5[] = {"--flag_on=TRUE", "-f=0"};
	cr_assert_eq(parse_argv(a5, 2), 0, "%s", err.msg);
	cr_assert_eq(value_u("flag_on"), 1);
	cr_assert_eq(value_u("failed"), 0);
	const char *a6[] = {"-f"};
	cr_assert_eq(parse_argv(a6, 1), 0, "%s", err.msg);
	cr_assert_eq(value_u("failed"), 1);
	/* a bool takes no separate value: the next word is not consumed */
	const char *a7[] = {"--failed", "false"};
	cr_assert_neq(parse_argv(a7, 2), 0);
	cr_assert(strstr(err.msg, "unexpected argument 'false'"), "%s", err.msg);
	cr_assert_eq(set("failed", "maybe"), -EINVAL);
	cr_assert_str_eq(err.msg, "--failed: 'maybe' is not a valid bool (true or false)");
	const char *a8[] = {"--enable-failed=yes"};
	cr_assert_neq(parse_argv(a8, 1), 0);
	cr_assert(strstr(err.msg, "--enable-failed takes no value"), "%s", err.msg);
	const char *a9[] = {"--enable-v_int"};
	cr_assert_neq(parse_argv(a9, 1), 0, "--enable- is only for bools");
}

/* ---- char[N], floats, enums ----------------------------------------------------------- */

Test(params, char_array_must_fit_with_nul)
{
	cr_assert_eq(set("name", "hello"), 0, "%s", err.msg);
	const char *v = eu_params_value(params, idx("name"));
	cr_assert_str_eq(v, "hello");
	for (int i = 5; i < 16; i++)
		cr_assert_eq(v[i], 0, "the rest is zeroed");
	cr_assert_eq(set("name", "123456789012345"), 0, "15 bytes + NUL fit: %s", err.msg);
	cr_assert_eq(set("name", "1234567890123456"), -ERANGE);
	cr_assert_str_eq(err.msg, "--name: value is 16 bytes; char[16] holds at most 15 plus the NUL");
	cr_assert_eq(set("name", ""), 0, "empty strings are fine");
	cr_assert_eq(((const char *)eu_params_value(params, idx("name")))[0], 0);
}

Test(params, floats_little_endian)
{
	cr_assert_eq(set("ratio", "1.5"), 0, "%s", err.msg);
	const uint8_t *f = eu_params_value(params, idx("ratio"));
	/* 1.5f = 0x3fc00000, stored least significant byte first */
	cr_assert_eq(f[0], 0x00);
	cr_assert_eq(f[1], 0x00);
	cr_assert_eq(f[2], 0xc0);
	cr_assert_eq(f[3], 0x3f);
	cr_assert_eq(set("scale", "-2.25e3"), 0, "%s", err.msg);
	double d;
	memcpy(&d, eu_params_value(params, idx("scale")), 8);
	cr_assert_float_eq(d, -2250.0, 1e-9);
	const uint8_t *db = eu_params_value(params, idx("scale"));
	/* -2250.0 = 0xc0a1940000000000 */
	cr_assert_eq(db[7], 0xc0);
	cr_assert_eq(db[6], 0xa1);
	cr_assert_eq(db[5], 0x94);
	cr_assert_eq(db[0], 0x00);
	cr_assert_eq(set("ratio", "1e39"), -ERANGE, "too big for a float");
	cr_assert(strstr(err.msg, "--ratio: '1e39' is out of range for float"), "%s", err.msg);
	cr_assert_eq(set("scale", "x"), -EINVAL);
	cr_assert_str_eq(err.msg, "--scale: 'x' is not a valid double");
	cr_assert_eq(set("scale", "1.0junk"), -EINVAL);
}

Test(params, enums_by_name_or_number)
{
	cr_assert_eq(set("color", "BLUE"), 0, "%s", err.msg);
	cr_assert_eq(value_u("color"), 5);
	cr_assert_eq(set("color", "1"), 0, "%s", err.msg);
	cr_assert_eq(value_u("color"), 1);
	cr_assert_eq(set("color", "PURPLE"), -EINVAL);
	cr_assert_str_eq(err.msg,
			 "--color: 'PURPLE' is not a value of enum color (RED, GREEN, BLUE, or a number)");
	eu_buf b;
	eu_buf_init(&b);
	set("color", "GREEN");
	const struct eu_param *p = eu_params_at(params, idx("color"));
	eu_param_format_value(&p->type, eu_params_value(params, idx("color")), &b);
	cr_assert_str_eq(b.data, "GREEN");
	eu_buf_free(&b);
}

/* ---- names, presets, argv ------------------------------------------------------------- */

Test(params, cmdarg_long_short_and_default)
{
	const struct eu_param *p = eu_params_at(params, idx("cv1"));
	cr_assert_str_eq(p->name, "const_val_1");
	cr_assert_eq(p->short_name, '1');
	cr_assert_str_eq(p->help, "This is a help message");
	cr_assert_str_eq(p->default_text, "12345", "cmdarg.default is applied");
	cr_assert(p->set);
	cr_assert_eq(value_s("cv1"), 12345);
	cr_assert_lt(eu_params_find(params, "const_val_1"), 0, "the long name replaces the var name");
	const char *a1[] = {"-1", "42"};
	cr_assert_eq(parse_argv(a1, 2), 0, "%s", err.msg);
	cr_assert_eq(value_s("cv1"), 42);
	const char *a2[] = {"-143"};
	cr_assert_eq(parse_argv(a2, 1), 0, "%s", err.msg);
	cr_assert_eq(value_s("cv1"), 43);
	const char *a3[] = {"--cv1=-44", "--v_int", "-7"};
	cr_assert_eq(parse_argv(a3, 3), 0, "%s", err.msg);
	cr_assert_eq(value_s("cv1"), -44);
	cr_assert_eq(value_s("v_int"), -7, "a negative value is taken as the value");
	const char *a4[] = {"--v_int"};
	cr_assert_neq(parse_argv(a4, 1), 0);
	cr_assert_str_eq(err.msg, "--v_int needs a value (int)");
	const char *a5[] = {"--const_val_1", "1"};
	cr_assert_neq(parse_argv(a5, 2), 0);
	cr_assert_str_eq(err.msg, "unknown option '--const_val_1'");
	const char *a6[] = {"-z"};
	cr_assert_neq(parse_argv(a6, 1), 0);
	cr_assert_str_eq(err.msg, "unknown option '-z'");
	const char *a7[] = {"--min_duration_ns", "-5"};
	cr_assert_eq(parse_argv(a7, 2), -ERANGE);
	cr_assert(strstr(err.msg, "--min_duration_ns: '-5' is out of range"), "%s", err.msg);
}

Test(params, presets_and_elf_defaults)
{
	const struct eu_param *p = eu_params_at(params, idx("bss_val"));
	cr_assert(p->set, "a `value` preset counts as set");
	cr_assert_eq(value_s("bss_val"), 7);
	p = eu_params_at(params, idx("min_duration_ns"));
	cr_assert_not(p->set, "untouched options keep the ELF value");
	cr_assert_str_eq(p->default_text, "1000");
	p = eu_params_at(params, idx("flag_on"));
	cr_assert_str_eq(p->default_text, "true");
}

Test(params, bad_preset_fails_the_table)
{
	struct eu_var_meta vars[] = {{.name = "v_u8", .type = "unsigned char", .value_text = "300"}};
	struct eu_section_meta sec = {.name = ".rodata", .vars = vars, .n_vars = 1};
	struct eu_package bad = {.name = "bad", .sections = &sec, .n_sections = 1};
	struct eu_params *p2 = NULL;
	eu_error_clear(&err);
	cr_assert_eq(eu_params_new(&bad, fx.btf, NULL, &p2, &err), -ERANGE);
	cr_assert_null(p2);
	cr_assert(strstr(err.msg, "preset value of v_u8: '300' is out of range"), "%s", err.msg);
}

Test(params, patch_section_writes_at_offsets)
{
	const char *argv[] = {"--min_duration_ns", "0x1122334455667788", "--failed", "--name",
			      "abc", "--color", "BLUE", "--targ_pid", "-2"};
	cr_assert_eq(parse_argv(argv, 9), 0, "%s", err.msg);
	uint8_t sec[RODATA_SIZE];
	memset(sec, 0xee, sizeof(sec));
	cr_assert_eq(eu_params_patch_section(params, ".rodata", sec, sizeof(sec), &err), 0, "%s",
		     err.msg);
	cr_assert_eq(sec[OFF_MIN_DURATION], 0x88);
	cr_assert_eq(sec[OFF_MIN_DURATION + 7], 0x11);
	cr_assert_eq(sec[OFF_FLAG], 1);
	cr_assert_eq(sec[OFF_FLAG_ON], 0xee, "unset options are not written");
	cr_assert_str_eq((const char *)sec + OFF_NAME, "abc");
	uint32_t color;
	memcpy(&color, sec + OFF_COLOR, 4);
	cr_assert_eq(color, 5);
	int32_t pid;
	memcpy(&pid, sec + OFF_PID, 4);
	cr_assert_eq(pid, -2);
	int32_t cv1;
	memcpy(&cv1, sec + OFF_CV1, 4);
	cr_assert_eq(cv1, 12345, "cmdarg.default presets are written");
	cr_assert_eq(sec[OFF_U8], 0xee);
	uint8_t bss[16];
	memset(bss, 0, sizeof(bss));
	cr_assert_eq(eu_params_patch_section(params, ".bss", bss, sizeof(bss), &err), 0);
	cr_assert_eq(bss[0], 7);
	/* a section smaller than the layout is refused, naming the variable */
	cr_assert_eq(eu_params_patch_section(params, ".rodata", sec, 10, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "variable targ_pid at .rodata+8 (4 bytes) is outside the 10-byte section");
}

Test(params, help_lists_types_defaults_and_text)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_params_help(params, &b);
	cr_assert(strstr(b.data, "--min_duration_ns <unsigned long long>  (default: 1000)"), "%s",
		  b.data);
	cr_assert(strstr(b.data, "Minimum process duration (ns) to report"), "%s", b.data);
	cr_assert(strstr(b.data, "-f, --failed, --enable-failed  (bool, default: false)"), "%s",
		  b.data);
	cr_assert(strstr(b.data, "--disable-flag_on, --flag_on=false  (bool, default: true)"), "%s",
		  b.data);
	cr_assert(strstr(b.data, "-1, --cv1 <int>  (default: 12345)"), "%s", b.data);
	cr_assert(strstr(b.data, "--mask <__u32>"), "%s", b.data);
	cr_assert(strstr(b.data, "--name <char[16]>  (default: \"\")"), "%s", b.data);
	cr_assert(strstr(b.data, "--color <enum color>  (default: RED)"), "%s", b.data);
	cr_assert_null(strstr(b.data, "dummy"));
	eu_buf_free(&b);
}

Test(params, bare_object_takes_every_global)
{
	struct eu_package bare = {.name = "bare"};
	struct eu_params *p2 = NULL;
	cr_assert_eq(eu_params_new(&bare, fx.btf, NULL, &p2, &err), 0, "%s", err.msg);
	/* every settable .rodata var by its own name, plus bss_val; no dummy, grid, ptr */
	cr_assert_eq(eu_params_count(p2), 22);
	cr_assert_geq(eu_params_find(p2, "flag"), 0);
	cr_assert_geq(eu_params_find(p2, "const_val_1"), 0);
	cr_assert_geq(eu_params_find(p2, "bss_val"), 0);
	cr_assert_lt(eu_params_find(p2, "__eunomia_dummy_event_ptr"), 0);
	eu_params_free(p2);
}

/* ---- arrays --------------------------------------------------------------------------- */

Test(params, arrays_take_comma_separated_values_checked_each)
{
	cr_assert_eq(set("ports", "80,443"), 0, "%s", err.msg);
	const uint16_t *ports = eu_params_value(params, idx("ports"));
	cr_expect_eq(ports[0], 80);
	cr_expect_eq(ports[1], 443);
	cr_expect_eq(ports[2], 0, "elements not given are zero");

	cr_assert_eq(set("ports", "1,70000"), -ERANGE);
	cr_expect(strstr(err.msg, "--ports value 2: '70000' is out of range"), "%s", err.msg);
	cr_expect(strstr(err.msg, "0..65535"), "%s", err.msg);
	cr_expect_eq(((const uint16_t *)eu_params_value(params, idx("ports")))[1], 443,
		     "a failed set changes nothing");
	cr_assert_eq(set("ports", "1,2,3,4"), -ERANGE);
	cr_expect(strstr(err.msg, "4 values given; unsigned short[3] holds at most 3"), "%s",
		  err.msg);
	cr_assert_eq(set("ports", "1,,3"), -EINVAL);
	cr_expect(strstr(err.msg, "--ports value 2"), "%s", err.msg);
	cr_assert_eq(set("ints", "-1,0x10"), 0, "%s", err.msg);
	const int32_t *ints = eu_params_value(params, idx("ints"));
	cr_expect_eq(ints[0], -1);
	cr_expect_eq(ints[1], 16);
}

Test(params, array_length_companion_follows_unless_set)
{
	const char *argv[] = {"--ints", "5,6,7"};
	cr_assert_eq(parse_argv(argv, 2), 0, "%s", err.msg);
	cr_expect_eq(value_s("ints_cnt"), 3);
	const char *argv2[] = {"--ints_cnt", "1", "--ints", "9,9"};
	cr_assert_eq(parse_argv(argv2, 4), 0, "%s", err.msg);
	cr_expect_eq(value_s("ints_cnt"), 1, "an explicit length wins");
}

Test(params, array_help_and_patch)
{
	cr_assert_eq(set("ports", "22,8080"), 0, "%s", err.msg);
	eu_buf b;
	eu_buf_init(&b);
	eu_params_help(params, &b);
	cr_expect(strstr(b.data, "--ports <unsigned short[3], comma-separated>  (default: 0)"), "%s",
		  b.data);
	eu_buf_free(&b);
	uint8_t data[RODATA_SIZE];
	memset(data, 0xee, sizeof(data));
	cr_assert_eq(eu_params_patch_section(params, ".rodata", data, sizeof(data), &err), 0);
	uint16_t got[3];
	memcpy(got, data + OFF_PORTS, 6);
	cr_expect_eq(got[0], 22);
	cr_expect_eq(got[1], 8080);
	cr_expect_eq(got[2], 0);
	eu_buf buf;
	eu_buf_init(&buf);
	const struct eu_param *prm = eu_params_at(params, idx("ports"));
	eu_param_format_value(&prm->type, eu_params_value(params, idx("ports")), &buf);
	cr_expect_str_eq(buf.data, "22,8080");
	eu_buf_free(&buf);
}
