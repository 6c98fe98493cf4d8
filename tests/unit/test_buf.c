/* eu_buf: appends, numbers, JSON and terminal escaping, UTF-8 validation (RFC 3629 edges). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "eunomia/buf.h"

static eu_buf B;

static void setup(void)
{
	eu_buf_init(&B);
}

static void teardown(void)
{
	eu_buf_free(&B);
}

TestSuite(buf, .init = setup, .fini = teardown);

static const char *json(const char *s, size_t n)
{
	eu_buf_reset(&B);
	eu_buf_json_string(&B, s, n);
	return B.data;
}

static const char *text(const char *s, size_t n)
{
	eu_buf_reset(&B);
	eu_buf_text_escaped(&B, s, n);
	return B.data ? B.data : "";
}

Test(buf, appends_and_numbers)
{
	eu_buf_puts(&B, "a");
	eu_buf_putc(&B, 'b');
	eu_buf_append(&B, "cd", 2);
	eu_buf_printf(&B, "-%d-", 42);
	eu_buf_u64(&B, 0);
	eu_buf_putc(&B, ' ');
	eu_buf_u64(&B, UINT64_MAX);
	eu_buf_putc(&B, ' ');
	eu_buf_i64(&B, INT64_MIN);
	eu_buf_putc(&B, ' ');
	eu_buf_i64(&B, -7);
	cr_expect_str_eq(B.data, "abcd-42-0 18446744073709551615 -9223372036854775808 -7");
	cr_expect_eq(B.len, strlen(B.data));
	cr_expect_not(B.oom);

	/* printf output longer than the small stack buffer */
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	eu_buf_reset(&B);
	eu_buf_printf(&B, "<%s>", big);
	cr_expect_eq(B.len, 301);
	cr_expect_eq(B.data[0], '<');
	cr_expect_eq(B.data[300], '>');
	cr_expect_eq(B.data[301], '\0');

	/* growth keeps the content */
	eu_buf_reset(&B);
	for (int i = 0; i < 10000; i++)
		eu_buf_putc(&B, (char)('a' + i % 26));
	cr_expect_eq(B.len, 10000);
	cr_expect_eq(B.data[9999], (char)('a' + 9999 % 26));
	cr_expect_eq(B.data[10000], '\0');
}

Test(buf, reserve_overflow_sets_oom_and_sticks)
{
	eu_buf_puts(&B, "x");
	cr_expect_not(eu_buf_reserve(&B, SIZE_MAX - 2));
	cr_expect(B.oom);
	eu_buf_puts(&B, "more");
	cr_expect_eq(B.len, 1, "appends after oom are ignored");
	cr_expect_not(eu_buf_reserve(&B, 1));
}

Test(buf, json_escapes)
{
	cr_expect_str_eq(json("plain", 5), "\"plain\"");
	cr_expect_str_eq(json("", 0), "\"\"");
	cr_expect_str_eq(json("q\"b\\s/", 6), "\"q\\\"b\\\\s/\"");
	cr_expect_str_eq(json("\n\r\t", 3), "\"\\n\\r\\t\"");
	cr_expect_str_eq(json("\x01\x08\x0c\x1f", 4), "\"\\u0001\\u0008\\u000c\\u001f\"");
	cr_expect_str_eq(json("a\0b", 3), "\"a\\u0000b\"");
	/* DEL is legal in JSON strings */
	cr_expect_str_eq(json("\x7f", 1), "\"\x7f\"");
	/* valid UTF-8 passes through; invalid bytes become \\xNN (escaped backslash) */
	cr_expect_str_eq(json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
			 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	cr_expect_str_eq(json("\xff", 1), "\"\\\\xff\"");
	cr_expect_str_eq(json("a\xc3", 2), "\"a\\\\xc3\"");
	cr_expect_str_eq(json("\xc0\xaf", 2), "\"\\\\xc0\\\\xaf\"");
	cr_expect_str_eq(json("\xed\xa0\x80", 3), "\"\\\\xed\\\\xa0\\\\x80\"");
}

Test(buf, utf8_valid_prefix_edges)
{
	struct {
		const char *s;
		size_t n, want;
	} cases[] = {
		{"abc", 3, 3},
		{"\xc2\x80", 2, 2},              /* U+0080, smallest 2-byte */
		{"\xc1\xbf", 2, 0},              /* overlong 2-byte */
		{"\xc0\x80", 2, 0},              /* overlong NUL */
		{"\xe0\x9f\xbf", 3, 0},          /* overlong 3-byte */
		{"\xe0\xa0\x80", 3, 3},          /* U+0800 */
		{"\xed\x9f\xbf", 3, 3},          /* U+D7FF */
		{"\xed\xa0\x80", 3, 0},          /* U+D800 surrogate */
		{"\xed\xbf\xbf", 3, 0},          /* U+DFFF surrogate */
		{"\xee\x80\x80", 3, 3},          /* U+E000 */
		{"\xf0\x8f\xbf\xbf", 4, 0},      /* overlong 4-byte */
		{"\xf0\x90\x80\x80", 4, 4},      /* U+10000 */
		{"\xf4\x8f\xbf\xbf", 4, 4},      /* U+10FFFF */
		{"\xf4\x90\x80\x80", 4, 0},      /* above U+10FFFF */
		{"\xf5\x80\x80\x80", 4, 0},
		{"\xff", 1, 0},
		{"\x80", 1, 0},                  /* lone continuation */
		{"a\xe2\x82", 3, 1},             /* truncated 3-byte */
		{"a\xf0\x9f\x98", 4, 1},         /* truncated 4-byte */
		{"\xe2\x28\xa1", 3, 0},          /* bad continuation */
		{"ok\xc3\xa9!\xff tail", 10, 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(eu_utf8_valid_prefix(cases[i].s, cases[i].n), cases[i].want,
			     "case %zu", i);
}

Test(buf, text_escaping)
{
	cr_expect_str_eq(text("plain \"q\" \\", 11), "plain \"q\" \\");
	cr_expect_str_eq(text("a\tb\nc", 5), "a\\x09b\\x0ac");
	cr_expect_str_eq(text("\x1b[31m", 5), "\\x1b[31m");
	cr_expect_str_eq(text("\x7f", 1), "\\x7f");
	cr_expect_str_eq(text("\xc3\xa9", 2), "\xc3\xa9");
	cr_expect_str_eq(text("\xed\xa0\x80", 3), "\\xed\\xa0\\x80");
	cr_expect_str_eq(text("x\xf0\x9f", 3), "x\\xf0\\x9f");
	cr_expect_str_eq(text("", 0), "");
}
