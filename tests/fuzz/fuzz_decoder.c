/* Fuzzes the event decoder. The first input byte picks a mode:
 *   0: the rest is a record, formatted (JSON, text row, every field) with a fixed plan that
 *      has every kind of field; the JSON must parse and all output must be valid UTF-8;
 *   1: the rest is raw BTF: btf__new, then a plan for every type id (and a custom plan over
 *      the first few ids), each formatted over bytes taken from the input;
 *   2: the rest is a legacy C type spelling, planned and formatted. */
#include <bpf/btf.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/decoder.h"
#include "eunomia/package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TYPES 256
#define REC_MAX (1u << 16)

static struct eu_plan *rich;
static uint8_t record[REC_MAX];

static int add_array(struct btf *b, int idx, int elem, unsigned n)
{
	return btf__add_array(b, idx, elem, n);
}

/* One struct with every kind the planner knows, built once. */
static struct eu_plan *rich_plan(void)
{
	struct btf *b = btf__new_empty();
	if (!b)
		abort();
	int s8 = btf__add_int(b, "signed char", 1, BTF_INT_SIGNED);
	int u16 = btf__add_int(b, "unsigned short", 2, 0);
	int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int s64 = btf__add_int(b, "long long", 8, BTF_INT_SIGNED);
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int s128 = btf__add_int(b, "__int128", 16, BTF_INT_SIGNED);
	int u128 = btf__add_int(b, "unsigned __int128", 16, 0);
	int bl = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
	int ch = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int u8 = btf__add_int(b, "unsigned char", 1, 0);
	int f32 = btf__add_float(b, "float", 4);
	int f64 = btf__add_float(b, "double", 8);
	int f128 = btf__add_float(b, "long double", 16);
	int ptr = btf__add_ptr(b, 0);
	int en = btf__add_enum(b, "e", 4);
	btf__add_enum_value(b, "A", 0);
	btf__add_enum_value(b, "B", -1);
	btf__add_enum_value(b, "C\x01\xff", 7);
	int e64 = btf__add_enum64(b, "e64", 8, true);
	btf__add_enum64_value(b, "BIG", 1ull << 63);
	int v4 = btf__add_typedef(b, "eu_ipv4_t", u32);
	int u8t = btf__add_typedef(b, "__u8", u8);
	int ip = btf__add_typedef(b, "eu_ip_t", add_array(b, u32, u8t, 16));
	int str = add_array(b, u32, ch, 16);
	int grid = add_array(b, u32, add_array(b, u32, s8, 3), 2);
	int strs = add_array(b, u32, add_array(b, u32, ch, 4), 2);
	int flex = add_array(b, u32, u64, 0);
	int inner = btf__add_struct(b, "inner", 8);
	btf__add_field(b, "x", s32, 0, 0);
	btf__add_field(b, "y", u16, 32, 0);
	int inners = add_array(b, u32, inner, 2);
	int au = btf__add_union(b, NULL, 8);
	btf__add_field(b, "ua", u64, 0, 0);
	btf__add_field(b, "ub", f64, 0, 0);
	int st = btf__add_struct(b, "rich", 200);
	btf__add_field(b, "s8", s8, 0, 0);
	btf__add_field(b, "u16", u16, 16, 0);
	btf__add_field(b, "s32", s32, 32, 0);
	btf__add_field(b, "s64", s64, 64, 0);
	btf__add_field(b, "u64", u64, 128, 0);
	btf__add_field(b, "s128", s128, 192, 0);
	btf__add_field(b, "u128", u128, 320, 0);
	btf__add_field(b, "b", bl, 448, 0);
	btf__add_field(b, "bits", s32, 449, 5);
	btf__add_field(b, "ubits", u64, 454, 61);
	btf__add_field(b, "ebits", en, 515, 3);
	btf__add_field(b, "e", en, 544, 0);
	btf__add_field(b, "e64", e64, 576, 0);
	btf__add_field(b, "f", f32, 640, 0);
	btf__add_field(b, "d", f64, 704, 0);
	btf__add_field(b, "ld", f128, 768, 0);
	btf__add_field(b, "p", ptr, 896, 0);
	btf__add_field(b, "v4", v4, 960, 0);
	btf__add_field(b, "ip", ip, 992, 0);
	btf__add_field(b, "str", str, 1120, 0);
	btf__add_field(b, "grid", grid, 1248, 0);
	btf__add_field(b, "strs", strs, 1296, 0);
	btf__add_field(b, "in", inners, 1376, 0);
	btf__add_field(b, "", au, 1504, 0);
	btf__add_field(b, "flex", flex, 1600, 0);
	struct eu_plan *plan = NULL;
	if (st < 0 || eu_plan_new(b, (uint32_t)st, &plan, NULL))
		abort();
	btf__free(b);
	return plan;
}

static void check_utf8(const eu_buf *out)
{
	if (out->oom)
		return;
	if (eu_utf8_valid_prefix(out->data ? out->data : "", out->len) != out->len)
		abort();
}

static void check_json(const eu_buf *out, size_t from)
{
	if (out->oom || out->len == from)
		return;
	cJSON *j = cJSON_ParseWithLength(out->data + from, out->len - from);
	if (!j)
		abort();
	cJSON_Delete(j);
}

/* Output bytes one input may still have checked. The decoder lets a record print millions
 * of values (an array of 10^6 empty arrays is zero bytes); formatting is linear, but
 * re-checking such output with cJSON, field by field, for up to MAX_TYPES plans would take
 * longer than libFuzzer's timeout without finding anything the first megabytes do not. */
#define CHECK_BUDGET (4u << 20)
static size_t check_budget;

static void format_all(const struct eu_plan *plan, const uint8_t *rec, size_t n)
{
	if (check_budget == 0)
		return;
	eu_buf out;
	eu_buf_init(&out);
	int ret = eu_plan_format_json(plan, rec, n, &out);
	if (n < eu_plan_min_size(plan)) {
		if (ret != -22 || out.len)
			abort();
		eu_buf_free(&out);
		return;
	}
	check_budget = out.len >= check_budget ? 0 : check_budget - out.len;
	if (check_budget == 0) {
		check_utf8(&out);
		eu_buf_free(&out);
		return;
	}
	if (ret == 0)
		check_json(&out, 0);
	eu_plan_text_header(plan, &out);
	eu_plan_text_row(plan, "00:00:00", rec, n, &out);
	for (size_t i = 0; i < eu_plan_field_count(plan); i++) {
		int64_t v;
		size_t from = out.len;
		if (eu_plan_format_field_json(plan, i, rec, n, &out) == 0)
			check_json(&out, from);
		eu_plan_format_field_text(plan, i, rec, n, &out);
		eu_plan_field_i64(plan, i, rec, n, &v);
	}
	check_utf8(&out);
	eu_buf_free(&out);
}

static void fill_record(const uint8_t *data, size_t size, size_t n)
{
	for (size_t i = 0; i < n; i++)
		record[i] = size ? data[i % size] : 0;
}

static void fuzz_btf(const uint8_t *data, size_t size)
{
	struct btf *btf = btf__new(data, (uint32_t)size);
	if (!btf)
		return;
	uint32_t n = btf__type_cnt(btf);
	if (n > MAX_TYPES)
		n = MAX_TYPES;
	for (uint32_t id = 0; id < n; id++) {
		struct eu_plan *plan = NULL;
		eu_error err;
		if (eu_plan_new(btf, id, &plan, &err))
			continue;
		/* every other plan with the readings from field names (both kinds of hooks) */
		if (id & 1)
			eu_plan_read_for_people(plan, EU_READ_RETURNS | EU_READ_TCP);
		size_t ps = eu_plan_size(plan);
		if (ps <= REC_MAX) {
			fill_record(data, size, ps);
			format_all(plan, record, ps);
			/* cut inside the trailing array, and just before it */
			size_t ms = eu_plan_min_size(plan);
			if (ms < ps) {
				format_all(plan, record, ms + (size ? data[0] : 0) % (ps - ms));
				if (ms)
					format_all(plan, record, ms - 1);
			}
		}
		eu_plan_free(plan);
	}
	/* a custom plan over the first few types at overlapping offsets */
	struct eu_custom_member m[4];
	char *names[4] = {"a", "b", "c", "d"};
	for (uint32_t i = 0; i < 4; i++)
		m[i] = (struct eu_custom_member){.name = names[i], .offset = i * 3,
						 .btf_type_id = 1 + i};
	struct eu_plan *plan = NULL;
	if (eu_plan_new_custom(btf, "fuzz", m, n > 4 ? 4 : 0, &plan, NULL) == 0) {
		size_t ps = eu_plan_size(plan);
		if (ps <= REC_MAX) {
			fill_record(data, size, ps);
			format_all(plan, record, ps);
		}
		eu_plan_free(plan);
	}
	btf__free(btf);
}

static void fuzz_legacy(const uint8_t *data, size_t size)
{
	char type[128];
	size_t n = size < sizeof(type) - 1 ? size : sizeof(type) - 1;
	memcpy(type, data, n);
	type[n] = '\0';
	struct eu_member_meta m[2] = {
		{.name = "x", .type = type, .bit_offset = 0, .has_offset = true},
		{.name = "y", .type = "int", .bit_offset = 8 * (uint32_t)(size % 64), .has_offset = true},
	};
	struct eu_export_type t = {.name = "fz", .size = (uint32_t)(size * 7 % 4096), .members = m,
				   .n_members = 2};
	struct eu_plan *plan = NULL;
	if (eu_plan_new_legacy(&t, &plan, NULL))
		return;
	size_t ps = eu_plan_size(plan);
	if (ps <= REC_MAX) {
		fill_record(data, size, ps);
		format_all(plan, record, ps);
	}
	eu_plan_free(plan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rich)
		rich = rich_plan();
	if (size < 1)
		return 0;
	check_budget = CHECK_BUDGET;
	const uint8_t *rest = data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0:
		format_all(rich, rest, n);
		break;
	case 1:
		fuzz_btf(rest, n);
		break;
	default:
		fuzz_legacy(rest, n);
		break;
	}
	return 0;
}
