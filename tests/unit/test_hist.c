/* bcc's histogram layouts, compared with the exact text libbpf-tools' print_log2_hist and
 * print_linear_hist produce for the same slots. */
#include <criterion/criterion.h>

#include <string.h>

#include "eunomia/hist.h"

static char *render_log2(const uint64_t *slots, size_t n, const char *unit, eu_buf *b)
{
	eu_buf_reset(b);
	eu_hist_log2(b, slots, n, unit);
	return b->data ? b->data : "";
}

Test(hist, log2_matches_bcc)
{
	uint64_t slots[7] = {1, 0, 3, 10, 2, 0, 0};
	eu_buf b;
	eu_buf_init(&b);
	cr_expect_str_eq(render_log2(slots, 7, "usecs", &b),
			 "     usecs               : count    distribution\n"
			 "         0 -> 1          : 1        |****                                    |\n"
			 "         2 -> 3          : 0        |                                        |\n"
			 "         4 -> 7          : 3        |************                            |\n"
			 "         8 -> 15         : 10       |****************************************|\n"
			 "        16 -> 31         : 2        |********                                |\n");
	eu_buf_free(&b);
}

Test(hist, log2_wide_when_high_slots_used)
{
	uint64_t slots[41] = {0};
	slots[0] = 7;
	slots[40] = 3;
	eu_buf b;
	eu_buf_init(&b);
	const char *s = render_log2(slots, 41, "nsecs", &b);
	const char *head = "               nsecs                         : count    distribution\n"
			   "                   0 -> 1                    : 7        |********************|\n"
			   "                   2 -> 3                    : 0        |                    |\n";
	cr_expect(strncmp(s, head, strlen(head)) == 0, "%s", s);
	const char *last = "       1099511627776 -> 2199023255551        : 3        |********            |\n";
	cr_expect_str_eq(s + strlen(s) - strlen(last), last);
	/* 42 lines: header + slots 0..40 */
	size_t lines = 0;
	for (const char *p = s; *p; p++)
		lines += *p == '\n';
	cr_expect_eq(lines, 42);
	eu_buf_free(&b);
}

Test(hist, log2_edges)
{
	eu_buf b;
	eu_buf_init(&b);
	uint64_t zeros[4] = {0};
	cr_expect_str_eq(render_log2(zeros, 4, "usecs", &b), "");
	cr_expect_eq(b.len, 0);

	/* counts near 2^64 must not overflow the bar arithmetic */
	uint64_t big[2] = {UINT64_MAX, UINT64_MAX / 2};
	cr_expect_str_eq(render_log2(big, 2, "usecs", &b),
			 "     usecs               : count    distribution\n"
			 "         0 -> 1          : 18446744073709551615 |****************************************|\n"
			 "         2 -> 3          : 9223372036854775807 |*******************                     |\n");

	/* the top slot ends at 2^64-1; slots past 64 are ignored */
	uint64_t all[70] = {0};
	all[63] = 1;
	all[69] = 5;
	const char *s = render_log2(all, 70, "ns", &b);
	const char *last = "9223372036854775808 -> 18446744073709551615 : 1        |********************|\n";
	cr_expect_str_eq(s + strlen(s) - strlen(last), last);
	eu_buf_free(&b);
}

Test(hist, linear_matches_bcc)
{
	uint64_t slots[5] = {0, 5, 0, 10, 0};
	eu_buf b;
	eu_buf_init(&b);
	eu_hist_linear(&b, slots, 5, 0, 10, "msecs");
	cr_expect_str_eq(b.data, "     msecs         : count     distribution\n"
				 "        10         : 5        |********************                    |\n"
				 "        30         : 10       |****************************************|\n");
	eu_buf_reset(&b);
	uint64_t zeros[3] = {0};
	eu_hist_linear(&b, zeros, 3, 0, 1, "x");
	cr_expect_eq(b.len, 0);
	uint64_t one[1] = {2};
	eu_hist_linear(&b, one, 1, 100, 5, "kbytes");
	cr_expect_str_eq(b.data, "     kbytes        : count     distribution\n"
				 "        100        : 2        |****************************************|\n");
	eu_buf_free(&b);
}

/* Titles from names as bcc's tools would give them; sizes are bytes, not "(unit)". */
Test(hist, unit_from_name)
{
	static const struct {
		const char *name, *unit;
	} cases[] = {
		{"lat_us", "usecs"},      {"delta_usecs", "usecs"}, {"wait_ns", "nsecs"},
		{"slack_ms", "msecs"},    {"io_size", "bytes"},     {"size", "bytes"},
		{"bytes", "bytes"},       {"rx_bytes", "bytes"},    {"len", "bytes"},
		{"msg_len", "bytes"},     {"len_hist", "bytes"},    {"pkt_length", "bytes"},
		{"IOSize", "bytes"},      {"kbytes", "kbytes"},     {"io_kb", "kbytes"},
		{"size_us", "usecs"},     {"slots", NULL},          {"hists", NULL},
		{"silence", NULL},        {"counts", NULL},         {"comm", NULL},
		{"lat_us_hist", "usecs"}, {"us", NULL},           {"cpu_usage", NULL},
		{"tcp_msg_size", "bytes"}, {"dns_names", NULL},     {"io_kbd", NULL},
		{"", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = eu_hist_unit_from_name(cases[i].name);
		if (cases[i].unit)
			cr_expect(got && !strcmp(got, cases[i].unit), "%s: %s, not %s", cases[i].name,
				  got ? got : "NULL", cases[i].unit);
		else
			cr_expect_null(got, "%s: %s, not NULL", cases[i].name, got);
	}
	cr_expect_null(eu_hist_unit_from_name(NULL));
}

/* A size histogram reads as bcc's: the title is "bytes", the ranges are unchanged. */
Test(hist, log2_bytes_title)
{
	uint64_t slots[4] = {0, 0, 5, 1};
	eu_buf b;
	eu_buf_init(&b);
	cr_expect_str_eq(render_log2(slots, 4, eu_hist_unit_from_name("io_bytes"), &b),
			 "     bytes               : count    distribution\n"
			 "         0 -> 1          : 0        |                                        |\n"
			 "         2 -> 3          : 0        |                                        |\n"
			 "         4 -> 7          : 5        |****************************************|\n"
			 "         8 -> 15         : 1        |********                                |\n");
	eu_buf_free(&b);
}

/* No unit known (NULL, "", or upstream's "(unit)" placeholder of a package.json): the title
 * column is blank, the columns stay where bcc puts them. */
Test(hist, no_unit_leaves_the_title_blank)
{
	uint64_t slots[2] = {1, 2};
	const char *none[] = {NULL, "", "(unit)"};
	eu_buf b;
	eu_buf_init(&b);
	for (size_t i = 0; i < 3; i++) {
		cr_expect_str_eq(render_log2(slots, 2, none[i], &b),
				 "                         : count    distribution\n"
				 "         0 -> 1          : 1        |********************                    |\n"
				 "         2 -> 3          : 2        |****************************************|\n",
				 "unit %s", none[i] ? none[i] : "NULL");
		eu_buf_reset(&b);
		eu_hist_linear(&b, slots, 2, 0, 10, none[i]);
		cr_expect_str_eq(b.data,
				 "                   : count     distribution\n"
				 "        0          : 1        |********************                    |\n"
				 "        10         : 2        |****************************************|\n",
				 "unit %s", none[i] ? none[i] : "NULL");
	}
	uint64_t wide[41] = {0};
	wide[40] = 1;
	const char *s = render_log2(wide, 41, NULL, &b);
	const char *head = "                                             : count    distribution\n";
	cr_expect(strncmp(s, head, strlen(head)) == 0, "%s", s);
	eu_buf_free(&b);
}
