/* Values read as people read them (eu_plan_read_for_people): structs shaped like bcc's
 * tcpconnect, tcpstates, killsnoop and opensnoop events print addresses, ports, signal,
 * errno and TCP state names; fields that only share a name keep their numbers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_fixture.h"

DECODER_SUITE(decoder_readable);

static struct eu_plan *readable_plan(int type_id, unsigned hooks)
{
	struct eu_plan *plan = plan_of(type_id);
	cr_assert_eq(eu_plan_read_for_people(plan, hooks), 0);
	return plan;
}

static void expect_readable(struct eu_plan *plan, const void *rec, size_t size, const char *want)
{
	char *got = format(plan, rec, size);
	cr_expect_str_eq(got, want);
	free(got);
}

static char *row_of(const struct eu_plan *plan, const void *rec, size_t size)
{
	eu_buf b;
	eu_buf_init(&b);
	cr_assert_eq(eu_plan_text_row(plan, "00:00:00", rec, size, &b), 0);
	char *s = strdup(b.data ? b.data : "");
	eu_buf_free(&b);
	return s;
}

struct ids {
	int u8, u16, u32, s32, u64, be16, be32, chr;
};

static struct ids base_types(void)
{
	struct ids t;
	t.u8 = btf__add_typedef(B, "__u8", add_int("unsigned char", 1, 0));
	t.u16 = btf__add_typedef(B, "__u16", add_int("unsigned short", 2, 0));
	t.u32 = btf__add_typedef(B, "__u32", add_int("unsigned int", 4, 0));
	t.s32 = add_int("int", 4, BTF_INT_SIGNED);
	t.u64 = btf__add_typedef(B, "__u64", add_int("unsigned long long", 8, 0));
	t.be16 = btf__add_typedef(B, "__be16", t.u16);
	t.be32 = btf__add_typedef(B, "__be32", t.u32);
	t.chr = add_int("char", 1, BTF_INT_SIGNED);
	return t;
}

/* libbpf-tools tcpconnect.h: two anonymous unions of a v4 and a v6 address, af, __be16 dport */
struct tcpconnect_rec {
	union {
		uint32_t saddr_v4;
		uint8_t saddr_v6[16];
	};
	union {
		uint32_t daddr_v4;
		uint8_t daddr_v6[16];
	};
	char task[16];
	uint64_t ts_us;
	uint32_t af;
	uint32_t pid;
	uint32_t uid;
	uint16_t lport;
	uint16_t dport;
};

static int tcpconnect_type(void)
{
	struct ids t = base_types();
	int a16 = add_array(t.u8, 16), comm = add_array(t.chr, 16);
	int su = btf__add_union(B, NULL, 16);
	field("saddr_v4", t.u32, 0, 0);
	field("saddr_v6", a16, 0, 0);
	int du = btf__add_union(B, NULL, 16);
	field("daddr_v4", t.u32, 0, 0);
	field("daddr_v6", a16, 0, 0);
	int st = add_struct("event", sizeof(struct tcpconnect_rec));
	field("", su, 0, 0);
	field("", du, 128, 0);
	field("task", comm, 256, 0);
	field("ts_us", t.u64, 384, 0);
	field("af", t.u32, 448, 0);
	field("pid", t.u32, 480, 0);
	field("uid", t.u32, 512, 0);
	field("lport", t.u16, 544, 0);
	field("dport", t.be16, 560, 0);
	return st;
}

Test(decoder_readable, tcpconnect_addresses_by_family_and_be16_port)
{
	struct eu_plan *plan = readable_plan(tcpconnect_type(), 0);
	struct tcpconnect_rec r = {.af = AF_INET, .pid = 7, .uid = 0, .lport = 40000,
				   .dport = htons(8080), .ts_us = 5};
	inet_pton(AF_INET, "127.0.0.1", &r.saddr_v4);
	inet_pton(AF_INET, "10.1.2.3", &r.daddr_v4);
	strcpy(r.task, "curl");
	expect_readable(plan, &r, sizeof(r),
			"{\"saddr_v4\":\"127.0.0.1\",\"saddr_v6\":null,\"daddr_v4\":\"10.1.2.3\","
			"\"daddr_v6\":null,\"task\":\"curl\",\"ts_us\":5,\"af\":2,\"pid\":7,"
			"\"uid\":0,\"lport\":40000,\"dport\":8080}");
	char *row = row_of(plan, &r, sizeof(r));
	cr_expect(strstr(row, " 127.0.0.1 ") && strstr(row, " 10.1.2.3 ") &&
		  strstr(row, " 8080") && !strstr(row, "20511"), "%s", row);
	free(row);

	memset(&r, 0, sizeof(r));
	r.af = AF_INET6;
	r.dport = htons(443);
	inet_pton(AF_INET6, "::1", r.saddr_v6);
	inet_pton(AF_INET6, "2001:db8::7", r.daddr_v6);
	expect_readable(plan, &r, sizeof(r),
			"{\"saddr_v4\":null,\"saddr_v6\":\"::1\",\"daddr_v4\":null,"
			"\"daddr_v6\":\"2001:db8::7\",\"task\":\"\",\"ts_us\":0,\"af\":10,\"pid\":0,"
			"\"uid\":0,\"lport\":0,\"dport\":443}");

	/* a family we do not know: the values as stored */
	memset(&r, 0, sizeof(r));
	r.af = 1;
	r.saddr_v4 = 5;
	expect_readable(plan, &r, sizeof(r),
			"{\"saddr_v4\":5,\"saddr_v6\":[5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
			"\"daddr_v4\":0,\"daddr_v6\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
			"\"task\":\"\",\"ts_us\":0,\"af\":1,\"pid\":0,\"uid\":0,\"lport\":0,"
			"\"dport\":0}");
	const struct eu_field_info *f = eu_plan_field(plan, (size_t)eu_plan_find_field(plan, "dport"));
	cr_expect_eq(f->kind, EU_FIELD_INT);
	int64_t port = 0;
	r.dport = htons(8080);
	cr_expect_eq(eu_plan_field_i64(plan, (size_t)eu_plan_find_field(plan, "dport"), &r,
				       sizeof(r), &port), 0);
	cr_expect_eq(port, 8080);
	eu_plan_free(plan);
}

Test(decoder_readable, raw_values_without_the_reading)
{
	struct eu_plan *plan = plan_of(tcpconnect_type());
	struct tcpconnect_rec r = {.af = AF_INET, .dport = htons(8080)};
	inet_pton(AF_INET, "127.0.0.1", &r.saddr_v4);
	char *got = format(plan, &r, sizeof(r));
	cr_expect(strstr(got, "\"saddr_v4\":16777343,") && strstr(got, "\"dport\":36895}"), "%s",
		  got);
	free(got);
	eu_plan_free(plan);
}

/* libbpf-tools tcpstates.h: __int128 addresses with a __u16 family, int states */
struct tcpstates_rec {
	unsigned __int128 saddr;
	unsigned __int128 daddr;
	uint64_t skaddr;
	uint64_t ts_us;
	uint64_t delta_us;
	uint32_t pid;
	int oldstate;
	int newstate;
	uint16_t family;
	uint16_t sport;
	uint16_t dport;
	char task[16];
};

static int tcpstates_type(void)
{
	struct ids t = base_types();
	int u128 = add_int("unsigned __int128", 16, 0), comm = add_array(t.chr, 16);
	int st = add_struct("event", sizeof(struct tcpstates_rec));
	field("saddr", u128, 0, 0);
	field("daddr", u128, 128, 0);
	field("skaddr", t.u64, 256, 0);
	field("ts_us", t.u64, 320, 0);
	field("delta_us", t.u64, 384, 0);
	field("pid", t.u32, 448, 0);
	field("oldstate", t.s32, 480, 0);
	field("newstate", t.s32, 512, 0);
	field("family", t.u16, 544, 0);
	field("sport", t.u16, 560, 0);
	field("dport", t.u16, 576, 0);
	field("task", comm, 592, 0);
	return st;
}

Test(decoder_readable, tcpstates_names_in_tcp_packages_only)
{
	struct tcpstates_rec r = {.skaddr = 0x12345678, .oldstate = 7, .newstate = 2,
				  .family = AF_INET, .sport = 0, .dport = 5001};
	inet_pton(AF_INET, "127.0.0.1", &r.saddr); /* v4 in the first 4 bytes, as tcpstates */
	inet_pton(AF_INET, "127.0.0.2", &r.daddr);
	struct eu_plan *plan = readable_plan(tcpstates_type(), EU_READ_TCP);
	char *got = format(plan, &r, sizeof(r));
	cr_expect(strstr(got, "{\"saddr\":\"127.0.0.1\",\"daddr\":\"127.0.0.2\","
			      "\"skaddr\":\"0x12345678\","),
		  "%s", got);
	cr_expect(strstr(got, "\"oldstate\":7,\"oldstate_name\":\"TCP_CLOSE\",\"newstate\":2,"
			      "\"newstate_name\":\"TCP_SYN_SENT\",\"family\":2,\"sport\":0,"
			      "\"dport\":5001,"),
		  "%s", got);
	free(got);
	char *row = row_of(plan, &r, sizeof(r));
	cr_expect(strstr(row, "TCP_CLOSE") && strstr(row, "TCP_SYN_SENT"), "%s", row);
	cr_expect(strstr(row, " 0x12345678 ") && !strstr(row, "305419896"), "%s", row);
	free(row);
	r.newstate = 99; /* no such state: the number, no name key */
	got = format(plan, &r, sizeof(r));
	cr_expect(strstr(got, "\"newstate\":99,\"family\""), "%s", got);
	free(got);
	eu_plan_free(plan);

	/* the same struct in a package that hooks no TCP: states are numbers */
	plan = readable_plan(tcpstates_type(), EU_READ_RETURNS);
	got = format(plan, &r, sizeof(r));
	cr_expect(strstr(got, "\"oldstate\":7,\"newstate\":99,"), "%s", got);
	free(got);
	eu_plan_free(plan);
}

/* libbpf-tools killsnoop.h */
struct killsnoop_rec {
	uint32_t pid;
	uint32_t tpid;
	int32_t sig;
	int32_t ret;
	char comm[16];
};

static int killsnoop_type(void)
{
	struct ids t = base_types();
	int comm = add_array(t.chr, 16);
	int st = add_struct("event", sizeof(struct killsnoop_rec));
	field("pid", t.u32, 0, 0);
	field("tpid", t.u32, 32, 0);
	field("sig", t.s32, 64, 0);
	field("ret", t.s32, 96, 0);
	field("comm", comm, 128, 0);
	return st;
}

Test(decoder_readable, signals_and_errno_returns)
{
	struct eu_plan *plan = readable_plan(killsnoop_type(), EU_READ_RETURNS);
	struct killsnoop_rec r = {.pid = 1, .tpid = 2, .sig = 10, .ret = 0, .comm = "kill"};
	expect_readable(plan, &r, sizeof(r),
			"{\"pid\":1,\"tpid\":2,\"sig\":10,\"sig_name\":\"SIGUSR1\",\"ret\":0,"
			"\"comm\":\"kill\"}");
	r.sig = 12;
	r.ret = -ESRCH;
	expect_readable(plan, &r, sizeof(r),
			"{\"pid\":1,\"tpid\":2,\"sig\":12,\"sig_name\":\"SIGUSR2\",\"ret\":-3,"
			"\"ret_name\":\"-ESRCH\",\"comm\":\"kill\"}");
	char *row = row_of(plan, &r, sizeof(r));
	cr_expect(strstr(row, " SIGUSR2 ") && strstr(row, " -ESRCH "), "%s", row);
	free(row);
	/* real-time and out-of-range signals, errno-range limits: numbers */
	r.sig = 40;
	r.ret = -5000;
	expect_readable(plan, &r, sizeof(r),
			"{\"pid\":1,\"tpid\":2,\"sig\":40,\"ret\":-5000,\"comm\":\"kill\"}");
	r.sig = 0;
	r.ret = -512; /* a kernel-internal errno a kretprobe sees */
	expect_readable(plan, &r, sizeof(r),
			"{\"pid\":1,\"tpid\":2,\"sig\":0,\"ret\":-512,\"ret_name\":\"-ERESTARTSYS\","
			"\"comm\":\"kill\"}");
	eu_plan_free(plan);

	/* without syscall or kernel return hooks, ret is a number */
	plan = readable_plan(killsnoop_type(), EU_READ_TCP);
	r.sig = 9;
	r.ret = -2;
	expect_readable(plan, &r, sizeof(r),
			"{\"pid\":1,\"tpid\":2,\"sig\":9,\"sig_name\":\"SIGKILL\",\"ret\":-2,"
			"\"comm\":\"kill\"}");
	eu_plan_free(plan);
}

Test(decoder_readable, look_alike_fields_keep_their_numbers)
{
	struct ids t = base_types();
	int u8x4 = add_array(t.u8, 4), u8x6 = add_array(t.u8, 6);
	int en = btf__add_enum(B, "st", 4);
	cr_assert_gt(en, 0);
	cr_assert_eq(btf__add_enum_value(B, "OPEN", 1), 0);
	int st = add_struct("event", 40);
	field("addr", t.u64, 0, 0);      /* a memory address: hex */
	field("addr32", t.u32, 64, 0);    /* no family, not __be32, no v4 name */
	field("mac_addr", u8x6, 96, 0);   /* link layer */
	field("state", en, 160, 0);       /* an enum: its own names */
	field("err", t.u32, 192, 0);      /* unsigned: not an errno */
	field("seq", t.be32, 224, 0);     /* big-endian, not an address */
	field("ip4", u8x4, 256, 0);       /* u8[4] named like an address */
	field("errno", t.s32, 288, 0);
	uint8_t rec[40] = {0};
	uint64_t a = 0x1000;
	uint32_t a32 = 0x0100007f, err = (uint32_t)-2, seq = htonl(1000);
	int32_t eno = 2;
	put(rec, 0, &a, 8);
	put(rec, 8, &a32, 4);
	put(rec, 12, "\x01\x02\x03\x04\x05\x06", 6);
	uint32_t one = 1;
	put(rec, 20, &one, 4);
	put(rec, 24, &err, 4);
	put(rec, 28, &seq, 4);
	put(rec, 32, "\x0a\x00\x00\x01", 4);
	put(rec, 36, &eno, 4);
	struct eu_plan *plan = readable_plan(st, EU_READ_RETURNS | EU_READ_TCP);
	expect_readable(plan, rec, sizeof(rec),
			"{\"addr\":\"0x1000\",\"addr32\":16777343,"
			"\"mac_addr\":[1,2,3,4,5,6],\"state\":\"OPEN\",\"err\":4294967294,"
			"\"seq\":1000,\"ip4\":\"10.0.0.1\",\"errno\":2,\"errno_name\":\"ENOENT\"}");
	eu_plan_free(plan);
}

struct walked {
	enum eu_value_kind kind;
	uint64_t u;
	char text[64];
	char label[32]; /* a named value's name, "" when it has none */
};

static int walk_one(void *ctx, const struct eu_value *v)
{
	struct walked *w = ctx;
	w->kind = v->kind;
	w->u = v->u;
	snprintf(w->label, sizeof(w->label), "%s", v->label ? v->label : "");
	if (v->kind == EU_VALUE_TEXT)
		snprintf(w->text, sizeof(w->text), "%.*s", (int)v->len, v->s);
	return 0;
}

static struct walked walk_field(const struct eu_plan *plan, const char *name, const void *rec,
				size_t size)
{
	struct walked w = {0};
	int i = eu_plan_find_field(plan, name);
	cr_assert_geq(i, 0, "%s", name);
	cr_assert_eq(eu_plan_walk_field(plan, (size_t)i, rec, size, NULL, walk_one, &w), 0);
	return w;
}

Test(decoder_readable, ip_version_family_and_typed_walk)
{
	struct ids t = base_types();
	int a16 = add_array(t.u8, 16);
	int st = add_struct("flow", 28);
	field("ipver", t.u8, 0, 0);
	field("src", a16, 8, 0);
	field("sport", t.be16, 144, 0);
	field("signo", t.u16, 160, 0);
	field("saddr", t.be32, 192, 0);
	uint8_t rec[28] = {0};
	rec[0] = 4;
	put(rec, 1, "\xc0\xa8\x01\x02", 4);
	uint16_t sport = htons(8080), signo = 10;
	put(rec, 18, &sport, 2);
	put(rec, 20, &signo, 2);
	put(rec, 24, "\x7f\x00\x00\x01", 4);
	struct eu_plan *plan = readable_plan(st, 0);
	expect_readable(plan, rec, sizeof(rec),
			"{\"ipver\":4,\"src\":\"192.168.1.2\",\"sport\":8080,\"signo\":10,"
			"\"signo_name\":\"SIGUSR1\",\"saddr\":\"127.0.0.1\"}");
	struct walked w = walk_field(plan, "sport", rec, sizeof(rec));
	cr_expect_eq(w.kind, EU_VALUE_UINT);
	cr_expect_eq(w.u, 8080);
	cr_expect_str_eq(w.label, "");
	/* the number, and its name as a label (OTLP sends it as signo_name) */
	w = walk_field(plan, "signo", rec, sizeof(rec));
	cr_expect_eq(w.kind, EU_VALUE_UINT);
	cr_expect_eq(w.u, 10);
	cr_expect_str_eq(w.label, "SIGUSR1");
	w = walk_field(plan, "src", rec, sizeof(rec));
	cr_expect_eq(w.kind, EU_VALUE_TEXT);
	cr_expect_str_eq(w.text, "192.168.1.2");

	rec[0] = 6;
	put(rec, 1, "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	expect_readable(plan, rec, sizeof(rec),
			"{\"ipver\":6,\"src\":\"fe80::1\",\"sport\":8080,\"signo\":10,"
			"\"signo_name\":\"SIGUSR1\",\"saddr\":null}");
	/* a second call changes nothing */
	cr_expect_eq(eu_plan_read_for_people(plan, EU_READ_TCP), 0);
	expect_readable(plan, rec, sizeof(rec),
			"{\"ipver\":6,\"src\":\"fe80::1\",\"sport\":8080,\"signo\":10,"
			"\"signo_name\":\"SIGUSR1\",\"saddr\":null}");
	eu_plan_free(plan);
}

/* A record cut inside its trailing array (opensnoop sends offsetof(fname) + len) keeps
 * its tail as is, and the named ret before it works. */
Test(decoder_readable, opensnoop_short_record)
{
	struct ids t = base_types();
	int fname = add_array(t.chr, 64);
	int st = add_struct("event", 16 + 64);
	field("pid", t.u32, 0, 0);
	field("ret", t.s32, 32, 0);
	field("flags", t.s32, 64, 0);
	field("uid", t.u32, 96, 0);
	field("fname", fname, 128, 0);
	uint8_t rec[16 + 64] = {0};
	int32_t ret = -ENOENT;
	put(rec, 4, &ret, 4);
	put(rec, 16, "/nope", 6);
	struct eu_plan *plan = readable_plan(st, EU_READ_RETURNS);
	expect_readable(plan, rec, 22,
			"{\"pid\":0,\"ret\":-2,\"ret_name\":\"-ENOENT\",\"flags\":0,\"uid\":0,"
			"\"fname\":\"/nope\"}");
	ret = 3;
	put(rec, 4, &ret, 4);
	expect_readable(plan, rec, 22,
			"{\"pid\":0,\"ret\":3,\"flags\":0,\"uid\":0,\"fname\":\"/nope\"}");
	eu_plan_free(plan);
}

/* Integers named like memory addresses print in hex; IP-named u64s (bcc keeps IPv4
 * addresses in them), link-layer names, other sizes and signed values keep their numbers. */
Test(decoder_readable, pointer_names_print_hex)
{
	struct ids t = base_types();
	int s64 = add_int("long long", 8, BTF_INT_SIGNED);
	int st = add_struct("event", 56);
	field("skaddr", t.u64, 0, 0);
	field("kaddr", t.u64, 64, 0);
	field("buf_ptr", t.u64, 128, 0);
	field("saddr", t.u64, 192, 0);   /* bcc tcplife: an IPv4 address in a u64 */
	field("daddr", t.u64, 256, 0);
	field("hwaddr", t.u64, 320, 0);  /* link layer */
	field("offaddr", s64, 384, 0);   /* signed: not an address */
	uint64_t v[7] = {0xffff8f2a1c3e4000ull, 0xffffffff81000000ull, 0x7ffc0000, 16777343,
			 33554559, 0x112233445566ull, 4096};
	struct eu_plan *plan = readable_plan(st, 0);
	expect_readable(plan, v, sizeof(v),
			"{\"skaddr\":\"0xffff8f2a1c3e4000\",\"kaddr\":\"0xffffffff81000000\","
			"\"buf_ptr\":\"0x7ffc0000\",\"saddr\":16777343,\"daddr\":33554559,"
			"\"hwaddr\":18838586676582,\"offaddr\":4096}");
	char *row = row_of(plan, v, sizeof(v));
	cr_expect(strstr(row, "0xffff8f2a1c3e4000 ") && strstr(row, " 16777343 "), "%s", row);
	free(row);
	eu_plan_free(plan);
}
