/* Records cut inside their trailing array (`offsetof(struct event, buf) + len` bytes): the
 * part that did not arrive is absent from the output, never read; a record that stops before
 * the array is refused. */
#include "decoder_fixture.h"

#include <errno.h>

DECODER_SUITE(decoder_tail);

/* struct { u32 pid; u32 len; u64 data[4]; } and struct { u32 pid; char comm[8]; char buf[16]; } */
static int u64_tail(void)
{
	int u32 = add_int("unsigned int", 4, 0);
	int u64 = add_int("unsigned long long", 8, 0);
	int arr = add_array(u64, 4);
	int st = add_struct("stack_event", 40);
	field("pid", u32, 0, 0);
	field("len", u32, 32, 0);
	field("data", arr, 64, 0);
	return st;
}

static int char_tail(void)
{
	int u32 = add_int("unsigned int", 4, 0);
	int chr = add_int("char", 1, BTF_INT_SIGNED);
	int a8 = add_array(chr, 8);
	int a16 = add_array(chr, 16);
	int st = add_struct("event", 28);
	field("pid", u32, 0, 0);
	field("comm", a8, 32, 0);
	field("buf", a16, 96, 0);
	return st;
}

Test(decoder_tail, char_array_cut_at_what_arrived)
{
	struct eu_plan *plan = plan_of(char_tail());
	cr_expect_eq(eu_plan_size(plan), 28);
	cr_expect_eq(eu_plan_min_size(plan), 12);
	uint8_t rec[28];
	memset(rec, 'Z', sizeof(rec)); /* what did not arrive must never show */
	put(rec, 0, &(uint32_t){7}, 4);
	put(rec, 4, "cat\0\0\0\0\0", 8);
	put(rec, 12, "hello", 5);
	char *s = format(plan, rec, 12 + 5);
	cr_expect_str_eq(s, "{\"pid\":7,\"comm\":\"cat\",\"buf\":\"hello\"}");
	free(s);
	s = format(plan, rec, 12);
	cr_expect_str_eq(s, "{\"pid\":7,\"comm\":\"cat\",\"buf\":\"\"}");
	free(s);
	eu_buf b;
	eu_buf_init(&b);
	cr_expect_eq(eu_plan_format_json(plan, rec, 11, &b), -EINVAL);
	cr_expect_eq(b.len, 0);
	cr_expect_eq(eu_plan_text_row(plan, "00:00:00", rec, 14, &b), 0);
	cr_expect_str_eq(b.data, "00:00:00 7          cat      he");
	eu_buf_reset(&b);
	cr_expect_eq(eu_plan_format_field_text(plan, 2, rec, 15, &b), 0);
	cr_expect_str_eq(b.data, "hel");
	int64_t v = 0;
	cr_expect_eq(eu_plan_field_i64(plan, 0, rec, 12, &v), 0);
	cr_expect_eq(v, 7);
	eu_buf_free(&b);
	eu_plan_free(plan);
}

Test(decoder_tail, number_array_keeps_whole_elements)
{
	struct eu_plan *plan = plan_of(u64_tail());
	cr_expect_eq(eu_plan_min_size(plan), 8);
	uint8_t rec[40];
	memset(rec, 0xee, sizeof(rec));
	put(rec, 0, &(uint32_t){1}, 4);
	put(rec, 4, &(uint32_t){2}, 4);
	put(rec, 8, &(uint64_t){10}, 8);
	put(rec, 16, &(uint64_t){20}, 8);
	/* two whole elements and half of a third: the half is dropped */
	char *s = format(plan, rec, 8 + 2 * 8 + 4);
	cr_expect_str_eq(s, "{\"pid\":1,\"len\":2,\"data\":[10,20]}");
	free(s);
	s = format(plan, rec, 8);
	cr_expect_str_eq(s, "{\"pid\":1,\"len\":2,\"data\":[]}");
	free(s);
	eu_plan_free(plan);
}

Test(decoder_tail, only_a_last_array_is_a_tail)
{
	/* struct { char name[8]; u32 pid; }: the array is not last, nothing may be cut */
	int u32 = add_int("unsigned int", 4, 0);
	int chr = add_int("char", 1, BTF_INT_SIGNED);
	int a8 = add_array(chr, 8);
	int st = add_struct("ev", 12);
	field("name", a8, 0, 0);
	field("pid", u32, 64, 0);
	struct eu_plan *plan = plan_of(st);
	cr_expect_eq(eu_plan_min_size(plan), 12);
	uint8_t rec[12] = {0};
	eu_buf b;
	eu_buf_init(&b);
	cr_expect_eq(eu_plan_format_json(plan, rec, 11, &b), -EINVAL);
	eu_buf_free(&b);
	eu_plan_free(plan);
}
