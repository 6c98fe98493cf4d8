/* The stdout sink's text format (sinks/record_text.c), by value: one aligned line per event
 * from the typed record (time, padded package, key=value with readable values), colour codes
 * exactly where they belong and nowhere without colour, quoting of strings with spaces, a
 * sampled map's histogram and key/value entries, JSON lines from producers without a plan,
 * and when colour is wanted (a terminal, NO_COLOR, TERM=dumb). */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decoder_fixture.h"
#include "eunomia/hist.h"
#include "sinks/stdout/record_text.h"

static void setup(void)
{
	decoder_fixture_setup();
	setenv("TZ", "UTC", 1);
	tzset();
}

TestSuite(record_text, .init = setup, .fini = decoder_fixture_teardown);

/* 2026-11-25T01:23:45.123456789Z */
#define T0 1795569825123456789ull

struct sig_rec {
	uint32_t pid;
	uint32_t tpid;
	int32_t sig;
	int32_t ret;
	char comm[16];
};

/* sigsnoop's event, made readable as the daemon makes it */
static struct eu_plan *sig_plan(void)
{
	int u32 = add_int("unsigned int", 4, 0);
	int s32 = add_int("int", 4, BTF_INT_SIGNED);
	int chr = add_int("char", 1, BTF_INT_SIGNED);
	int comm = add_array(chr, 16);
	int id = add_struct("event", sizeof(struct sig_rec));
	field("pid", u32, 0, 0);
	field("tpid", u32, 32, 0);
	field("sig", s32, 64, 0);
	field("ret", s32, 96, 0);
	field("comm", comm, 128, 0);
	struct eu_plan *plan = plan_of(id);
	cr_assert_eq(eu_plan_read_for_people(plan, EU_READ_RETURNS), 0);
	return plan;
}

static struct eu_record_source event_source(struct eu_plan *plan, const char *package)
{
	struct eu_record_source src = {
		.kind = EU_RECORD_EVENT, .package = package, .version = "0123456789ab",
		.event = "event", .host = "node-1", .plan = plan, .ts_field = -1,
	};
	return src;
}

static char *text_of(struct eu_record_source *src, uint64_t t, const void *data, size_t size,
		     struct eu_text_style *st)
{
	struct eu_record r = {.src = src, .time_ns = t, .data = data, .size = (uint32_t)size};
	eu_buf b;
	eu_buf_init(&b);
	cr_assert_eq(eu_record_text(&b, &r, st), 0);
	char *s = strndup(b.data ? b.data : "", b.len);
	eu_buf_free(&b);
	return s;
}

Test(record_text, event_line_aligned_with_readable_values)
{
	struct eu_plan *plan = sig_plan();
	struct eu_record_source src = event_source(plan, "sigsnoop");
	struct eu_text_style st = {0};
	struct sig_rec a = {.pid = 4242, .tpid = 4243, .sig = 10, .ret = -3, .comm = "bash"};
	struct sig_rec b = {.pid = 7, .tpid = 1234567, .sig = 9, .ret = 0, .comm = "kill"};
	char *la = text_of(&src, T0, &a, sizeof(a), &st);
	char *lb = text_of(&src, T0 + 2000000000ull, &b, sizeof(b), &st);
	/* ints are 10 columns wide, sig prints its name (7 wide), ret (in a package hooking
	 * returns) its errno name (8 wide); the package column is 10 wide at least; no padding
	 * at the end */
	cr_expect_str_eq(la, "01:23:45.123 sigsnoop   pid=4242       tpid=4243       "
			     "sig=SIGUSR1 ret=-ESRCH   comm=bash\n");
	cr_expect_str_eq(lb, "01:23:47.123 sigsnoop   pid=7          tpid=1234567    "
			     "sig=SIGKILL ret=0        comm=kill\n");
	/* aligned: every key starts in the same column in both lines */
	const char *keys[] = {"tpid=", "sig=", "ret=", "comm="};
	for (size_t i = 0; i < 4; i++)
		cr_expect_eq(strstr(la, keys[i]) - la, strstr(lb, keys[i]) - lb, "%s", keys[i]);
	free(la);
	free(lb);
	eu_plan_free(plan);
}

Test(record_text, colour_codes_only_around_time_package_and_keys)
{
	struct eu_plan *plan = sig_plan();
	struct eu_record_source src = event_source(plan, "sigsnoop");
	struct eu_text_style st = {.color = true};
	struct sig_rec a = {.pid = 1, .tpid = 2, .sig = 15, .ret = 0, .comm = "sh"};
	char *l = text_of(&src, T0, &a, sizeof(a), &st);
	cr_expect_str_eq(l, "\033[2m01:23:45.123\033[0m \033[1msigsnoop\033[0m   "
			    "\033[36mpid\033[0m=1          \033[36mtpid\033[0m=2          "
			    "\033[36msig\033[0m=SIGTERM \033[36mret\033[0m=0        "
			    "\033[36mcomm\033[0m=sh\n");
	free(l);
	st.color = false;
	l = text_of(&src, T0, &a, sizeof(a), &st);
	cr_expect_null(strchr(l, '\033'), "%s", l);
	free(l);
	eu_plan_free(plan);
}

Test(record_text, strings_with_spaces_quotes_or_nothing_are_quoted)
{
	struct eu_plan *plan = sig_plan();
	struct eu_record_source src = event_source(plan, "p");
	struct eu_text_style st = {0};
	struct sig_rec a = {.pid = 1, .comm = "my prog"};
	char *l = text_of(&src, T0, &a, sizeof(a), &st);
	cr_expect(strstr(l, " comm=\"my prog\"\n"), "%s", l);
	free(l);
	memcpy(a.comm, "a\"b\\c", 6);
	l = text_of(&src, T0, &a, sizeof(a), &st);
	cr_expect(strstr(l, " comm=\"a\\\"b\\\\c\"\n"), "%s", l);
	free(l);
	memset(a.comm, 0, sizeof(a.comm));
	l = text_of(&src, T0, &a, sizeof(a), &st);
	cr_expect(strstr(l, " comm=\"\"\n"), "%s", l);
	free(l);
	eu_plan_free(plan);
}

Test(record_text, package_column_grows_to_the_widest_name)
{
	struct eu_plan *plan = sig_plan();
	struct eu_record_source s1 = event_source(plan, "a");
	struct eu_record_source s2 = event_source(plan, "a_much_longer_name");
	struct eu_text_style st = {0};
	struct sig_rec a = {.comm = "x"};
	char *l1 = text_of(&s1, T0, &a, sizeof(a), &st);
	char *l2 = text_of(&s2, T0, &a, sizeof(a), &st);
	char *l3 = text_of(&s1, T0, &a, sizeof(a), &st);
	cr_expect(!strncmp(l1, "01:23:45.123 a          pid=", 28), "%s", l1);
	cr_expect(!strncmp(l2, "01:23:45.123 a_much_longer_name pid=", 36), "%s", l2);
	cr_expect(!strncmp(l3, "01:23:45.123 a                  pid=", 36), "%s", l3);
	free(l1);
	free(l2);
	free(l3);
	eu_plan_free(plan);
}

Test(record_text, the_timestamp_field_is_left_out)
{
	int u64 = add_int("unsigned long long", 8, 0);
	int u32 = add_int("unsigned int", 4, 0);
	int id = add_struct("event", 16);
	field("ts", u64, 0, 0);
	field("pid", u32, 64, 0);
	struct eu_plan *plan = plan_of(id);
	struct eu_record_source src = event_source(plan, "p");
	src.ts_field = eu_record_time_field(plan);
	cr_assert_eq(src.ts_field, 0);
	struct {
		uint64_t ts;
		uint32_t pid, pad;
	} rec = {123456789, 99, 0};
	struct eu_text_style st = {0};
	char *l = text_of(&src, T0, &rec, sizeof(rec), &st);
	cr_expect_str_eq(l, "01:23:45.123 p          pid=99\n");
	free(l);
	eu_plan_free(plan);
}

/* runqlat's hist: {u32 slots[8]; char comm[16]} per u32 key */
Test(record_text, sampled_histogram_prints_its_slots_below_the_key)
{
	int u32 = add_int("unsigned int", 4, 0);
	int chr = add_int("char", 1, BTF_INT_SIGNED);
	int slots = add_array(u32, 8);
	int comm = add_array(chr, 16);
	int hid = add_struct("hist", 48);
	field("slots", slots, 0, 0);
	field("comm", comm, 256, 0);
	int kid = add_struct("key", 4);
	field("pid", u32, 0, 0);
	struct eu_plan *vp = plan_of(hid), *kp = plan_of(kid);
	struct eu_record_source src = {
		.kind = EU_RECORD_SAMPLE, .package = "runqlat", .version = "0123456789ab",
		.event = "hists", .host = "h", .plan = vp, .key_plan = kp, .key_scalar = true,
		.ts_field = -1, .hist = EU_RECORD_HIST_LOG2, .unit = "usecs",
	};
	struct {
		uint32_t slots[8];
		char comm[16];
	} v = {{0, 3, 5, 0, 1, 0, 0, 0}, "swapper/0"};
	uint32_t key = 77;
	struct eu_record r = {.src = &src, .time_ns = T0, .data = &v, .size = sizeof(v),
			      .key = &key, .key_size = 4};
	struct eu_text_style st = {0};
	eu_buf got, hist;
	eu_buf_init(&got);
	eu_buf_init(&hist);
	cr_assert_eq(eu_record_text(&got, &r, &st), 0);
	uint64_t s64[8] = {0, 3, 5, 0, 1, 0, 0, 0};
	eu_hist_log2(&hist, s64, 8, "usecs");
	const char *head = "01:23:45.123 runqlat    hists key=77         comm=swapper/0\n";
	cr_assert_geq(got.len, strlen(head));
	cr_expect(!strncmp(got.data, head, strlen(head)), "%.*s", (int)got.len, got.data);
	cr_expect_eq(got.len, strlen(head) + hist.len, "%.*s", (int)got.len, got.data);
	cr_expect(!memcmp(got.data + strlen(head), hist.data, hist.len), "%.*s", (int)got.len,
		  got.data);
	cr_expect(strstr(got.data, "4 -> 7          : 5        |****************************************|\n"),
		  "%s", got.data);
	/* a default_kv entry: one line, key and value */
	src.hist = EU_RECORD_HIST_NONE;
	src.plan = kp;
	src.value_scalar = true;
	uint32_t val = 5;
	r.data = &val;
	r.size = 4;
	eu_buf_reset(&got);
	cr_assert_eq(eu_record_text(&got, &r, &st), 0);
	cr_expect_str_eq(got.data, "01:23:45.123 runqlat    hists key=77         value=5\n");
	eu_buf_free(&got);
	eu_buf_free(&hist);
	eu_plan_free(vp);
	eu_plan_free(kp);
}

Test(record_text, short_record_is_refused_with_nothing_appended)
{
	struct eu_plan *plan = sig_plan();
	struct eu_record_source src = event_source(plan, "p");
	struct eu_text_style st = {0};
	char small[4] = {0};
	struct eu_record r = {.src = &src, .time_ns = T0, .data = small, .size = 4};
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "before");
	cr_expect_eq(eu_record_text(&b, &r, &st), -EINVAL);
	cr_expect_eq(b.len, 6);
	eu_buf_free(&b);
	eu_plan_free(plan);
}

Test(record_text, json_lines_of_producers_without_a_plan)
{
	struct eu_text_style st = {0};
	eu_buf b;
	eu_buf_init(&b);
	const char *line = "{\"time\":\"2026-11-25T01:23:45.123456789Z\",\"time_unix_nano\":"
			   "1795569825123456789,\"package\":\"mod\",\"version\":\"0123456789ab\","
			   "\"event\":\"stdout\",\"host\":\"h\",\"fields\":{\"line\":\"hello world\","
			   "\"n\":3}}\n";
	eu_record_text_from_json(&b, line, strlen(line), &st);
	cr_expect_str_eq(b.data, "01:23:45.123 mod        stdout line=\"hello world\" n=3\n");
	eu_buf_reset(&b);
	eu_record_text_from_json(&b, "not json\n", 9, &st);
	cr_expect_str_eq(b.data, "not json\n");
	eu_buf_free(&b);
}

Test(record_text, colour_wanted_on_a_terminal_unless_no_color_or_dumb)
{
	int m, s;
	cr_assert_eq(openpty(&m, &s, NULL, NULL, NULL), 0);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	setenv("TERM", "xterm-256color", 1);
	unsetenv("NO_COLOR");
	cr_expect(eu_text_color_wanted(s));
	cr_expect_not(eu_text_color_wanted(p[1]), "a pipe is no terminal");
	setenv("NO_COLOR", "", 1);
	cr_expect(eu_text_color_wanted(s), "an empty NO_COLOR does not count");
	setenv("NO_COLOR", "1", 1);
	cr_expect_not(eu_text_color_wanted(s));
	unsetenv("NO_COLOR");
	setenv("TERM", "dumb", 1);
	cr_expect_not(eu_text_color_wanted(s));
	close(m);
	close(s);
	close(p[0]);
	close(p[1]);
}
