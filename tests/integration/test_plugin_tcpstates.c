/* tcpstates (TCP state changes, addresses as text, states by name): a TCP connection to a
 * listener on 127.0.0.1 and on ::1, checked transition by transition. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG EU_PLUGIN_BUILD_DIR "/tcpstates/package.json"

struct conn {
	int family;
	const char *addr;     /* as the agent must print it */
	unsigned lport, cport;
};

/* Connects to a fresh listener on the loopback address of family, holds the connection
 * 50 ms, then closes it (client first). */
static void connect_once(struct conn *c)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len;
	if (c->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	int ls = socket(c->family, SOCK_STREAM, 0);
	cr_assert(ls >= 0);
	cr_assert_eq(bind(ls, (struct sockaddr *)&ss, len), 0, "bind on %s", c->addr);
	cr_assert_eq(listen(ls, 4), 0);
	socklen_t l2 = sizeof(ss);
	cr_assert_eq(getsockname(ls, (struct sockaddr *)&ss, &l2), 0);
	c->lport = ntohs(c->family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);

	int cs = socket(c->family, SOCK_STREAM, 0);
	cr_assert(cs >= 0);
	cr_assert_eq(connect(cs, (struct sockaddr *)&ss, len), 0, "connect to %s", c->addr);
	struct sockaddr_storage cl;
	l2 = sizeof(cl);
	cr_assert_eq(getsockname(cs, (struct sockaddr *)&cl, &l2), 0);
	c->cport = ntohs(c->family == AF_INET ? ((struct sockaddr_in *)&cl)->sin_port
					      : ((struct sockaddr_in6 *)&cl)->sin6_port);
	int as = accept(ls, NULL, NULL);
	cr_assert(as >= 0);
	usleep(50000);
	close(cs);
	usleep(20000);
	close(as);
	close(ls);
}

enum { SYN_SENT, CLIENT_EST, SERVER_EST, CLIENT_FIN, N_WANT };

struct seen {
	const struct conn *c;
	bool got[N_WANT];
	int other_family;
	char why[N_WANT][256];
};

static bool is(const cJSON *rec, const char *key, const char *want)
{
	const char *v = eu_json_str(rec, key);
	return v && strcmp(v, want) == 0;
}

static bool collect(const cJSON *rec, void *ctx)
{
	struct seen *s = ctx;
	const struct conn *c = s->c;
	long long sport = eu_json_int(rec, "sport", -1), dport = eu_json_int(rec, "dport", -1);
	if (eu_json_int(rec, "family", -1) != c->family)
		s->other_family++;
	bool addrs = is(rec, "saddr", c->addr) && is(rec, "daddr", c->addr);
	if (is(rec, "oldstate", "TCP_CLOSE") && is(rec, "newstate", "TCP_SYN_SENT") &&
	    dport == c->lport && is(rec, "daddr", c->addr)) {
		/* connect() itself: the connecting process is current */
		s->got[SYN_SENT] = eu_json_int(rec, "pid", -1) == getpid();
		snprintf(s->why[SYN_SENT], 256, "pid %lld", eu_json_int(rec, "pid", -1));
	}
	if (is(rec, "oldstate", "TCP_SYN_SENT") && is(rec, "newstate", "TCP_ESTABLISHED") &&
	    sport == c->cport && dport == c->lport) {
		/* skaddr, the kernel's struct sock address, prints as a pointer: 0xffff... */
		const char *sk = eu_json_str(rec, "skaddr");
		s->got[CLIENT_EST] = addrs && sk && !strncmp(sk, "0xffff", 6) && strlen(sk) == 18;
		snprintf(s->why[CLIENT_EST], 256, "skaddr %s", sk ? sk : "(not a string)");
	}
	if (is(rec, "oldstate", "TCP_SYN_RECV") && is(rec, "newstate", "TCP_ESTABLISHED") &&
	    sport == c->lport && dport == c->cport)
		s->got[SERVER_EST] = addrs;
	if (is(rec, "oldstate", "TCP_ESTABLISHED") && is(rec, "newstate", "TCP_FIN_WAIT1") &&
	    sport == c->cport && dport == c->lport) {
		/* held 50 ms in ESTABLISHED */
		long long d = eu_json_int(rec, "delta_us", -1);
		s->got[CLIENT_FIN] = addrs && d >= 45000 && d < 10000000;
		snprintf(s->why[CLIENT_FIN], 256, "delta_us %lld", d);
	}
	for (int i = 0; i < N_WANT; i++)
		if (!s->got[i])
			return false;
	return true;
}

static void run_case(int family, const char *addr, const char *family_arg)
{
	struct eu_agent *a = eu_agent_start(PKG, (const char *const[]){"--target_family",
									family_arg, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	struct conn c = {.family = family, .addr = addr};
	connect_once(&c);
	struct seen s = {.c = &c};
	cJSON *rec = eu_agent_find(a, collect, &s, 10000);
	static const char *const names[] = {"CLOSE->SYN_SENT by this pid", "client SYN_SENT->ESTABLISHED",
					    "server SYN_RECV->ESTABLISHED",
					    "client ESTABLISHED->FIN_WAIT1 after 50 ms"};
	for (int i = 0; i < N_WANT; i++)
		cr_expect(s.got[i], "%s %u->%u: missing %s (%s); records:\n%s", addr, c.cport,
			  c.lport, names[i], s.why[i], eu_agent_stdout(a));
	cr_expect_eq(s.other_family, 0, "--target_family %s let other families through",
		     family_arg);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(plugin_tcpstates, ipv4_loopback_connection)
{
	run_case(AF_INET, "127.0.0.1", "2");
}

Test(plugin_tcpstates, ipv6_loopback_connection)
{
	run_case(AF_INET6, "::1", "10");
}
