/* Helpers shared by the decoder's tests: one in-memory BTF per test (built with libbpf's
 * btf__add_* API), records filled byte by byte, plans and their JSON.
 * DECODER_SUITE(name) declares the suite whose tests get a fresh BTF in B. */
#ifndef EU_DECODER_FIXTURE_H
#define EU_DECODER_FIXTURE_H

#include <criterion/criterion.h>

#include <bpf/btf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/decoder.h"

static struct btf *B;

static inline void decoder_fixture_setup(void)
{
	B = btf__new_empty();
	cr_assert_not_null(B);
}

static inline void decoder_fixture_teardown(void)
{
	btf__free(B);
	B = NULL;
}

#define DECODER_SUITE(name)                                                                  \
	TestSuite(name, .init = decoder_fixture_setup, .fini = decoder_fixture_teardown)

static inline int add_int(const char *name, int size, int enc)
{
	int id = btf__add_int(B, name, size, enc);
	cr_assert_gt(id, 0, "btf__add_int %s", name ? name : "(anonymous)");
	return id;
}

static inline int add_struct(const char *name, unsigned size)
{
	int id = btf__add_struct(B, name, size);
	cr_assert_gt(id, 0, "btf__add_struct %s", name ? name : "(anonymous)");
	return id;
}

static inline void field(const char *name, int type, unsigned bit_off, unsigned bit_size)
{
	cr_assert_eq(btf__add_field(B, name, type, bit_off, bit_size), 0, "field %s", name);
}

/* Must not be called while a struct is being filled: adding a type ends its field list. */
static inline int add_array(int elem, unsigned n)
{
	int idx = btf__find_by_name(B, "__ARRAY_SIZE_TYPE__");
	if (idx < 0)
		idx = add_int("__ARRAY_SIZE_TYPE__", 4, 0);
	int id = btf__add_array(B, idx, elem, n);
	cr_assert_gt(id, 0);
	return id;
}

static inline void put(uint8_t *rec, size_t off, const void *v, size_t n)
{
	memcpy(rec + off, v, n);
}

/* Sets `bits` bits of value at bit offset off (little-endian bit numbering, as BTF). */
static inline void put_bits(uint8_t *rec, unsigned off, unsigned bits, uint64_t value)
{
	for (unsigned i = 0; i < bits; i++) {
		unsigned b = off + i;
		rec[b / 8] &= (uint8_t)~(1u << (b % 8));
		rec[b / 8] |= (uint8_t)(((value >> i) & 1) << (b % 8));
	}
}

static inline struct eu_plan *plan_of(int type_id)
{
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_plan_new(B, (uint32_t)type_id, &plan, &err), 0, "eu_plan_new: %s",
		     err.msg);
	cr_assert_not_null(plan);
	return plan;
}

/* The record as JSON through plan (malloc'd). */
static inline char *format(const struct eu_plan *plan, const void *rec, size_t size)
{
	eu_buf b;
	eu_buf_init(&b);
	cr_assert_eq(eu_plan_format_json(plan, rec, size, &b), 0);
	cr_assert_not(b.oom);
	char *s = strdup(b.data ? b.data : "");
	eu_buf_free(&b);
	return s;
}

/* Plans type_id and returns the record as JSON (malloc'd). */
static inline char *json_of(int type_id, const void *rec, size_t size)
{
	struct eu_plan *plan = plan_of(type_id);
	char *s = format(plan, rec, size);
	eu_plan_free(plan);
	return s;
}

static inline void expect_json(int type_id, const void *rec, size_t size, const char *want)
{
	char *got = json_of(type_id, rec, size);
	cr_expect_str_eq(got, want);
	free(got);
}

#endif
