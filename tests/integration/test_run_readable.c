/* Values printed as people read them, end to end: tcpconnect-, tcpstates-, killsnoop- and
 * opensnoop-style programs (tests/bpf/tcpconn, tcpstate, killsig, openerr) decode
 * addresses, network-order ports, TCP states, signals and errno values from connections,
 * kills and opens this test makes, checked by value in JSON and in the table. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"

#define PKG(name) EU_TESTBPF_BUILD_DIR "/" name "/package.json"

static bool is_null(const cJSON *rec, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rec, key));
}

static bool str_is(const cJSON *rec, const char *key, const char *want)
{
	const char *s = eu_json_str(rec, key);
	return s && !strcmp(s, want);
}

/* A listening socket on the loopback address of family af; its port in *port. */
static int listener(int af, int *port)
{
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void connect_once(int af, int port)
{
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons((uint16_t)port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons((uint16_t)port);
		len = sizeof(*a);
	}
	cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0);
	close(fd);
}

struct conn_want {
	long long af, port;
};

static bool conn_of(const cJSON *rec, void *ctx)
{
	const struct conn_want *w = ctx;
	return eu_json_int(rec, "af", -1) == w->af && eu_json_int(rec, "dport", -1) == w->port;
}

Test(run_readable, tcpconnect_addresses_and_be16_port, .timeout = 120)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(PKG("tcpconn"),
					    (const char *const[]){"--targ_tgid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	int p4, p6;
	int l4 = listener(AF_INET, &p4), l6 = listener(AF_INET6, &p6);
	connect_once(AF_INET, p4);
	connect_once(AF_INET6, p6);

	struct conn_want w4 = {2, p4}, w6 = {10, p6};
	cJSON *r = eu_agent_find(a, conn_of, &w4, 10000);
	cr_assert(r, "no AF_INET connect to port %d; stdout:\n%s", p4, eu_agent_stdout(a));
	cr_expect(str_is(r, "saddr_v4", "127.0.0.1") && str_is(r, "daddr_v4", "127.0.0.1") &&
		  is_null(r, "saddr_v6") && is_null(r, "daddr_v6"),
		  "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	r = eu_agent_find(a, conn_of, &w6, 10000);
	cr_assert(r, "no AF_INET6 connect to port %d; stdout:\n%s", p6, eu_agent_stdout(a));
	cr_expect(str_is(r, "saddr_v6", "::1") && str_is(r, "daddr_v6", "::1") &&
		  is_null(r, "saddr_v4") && is_null(r, "daddr_v4"),
		  "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	close(l4);
	close(l6);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

struct state_want {
	int port;
	const char *oldstate, *newstate;
};

static bool state_of(const cJSON *rec, void *ctx)
{
	const struct state_want *w = ctx;
	return eu_json_int(rec, "dport", -1) == w->port && str_is(rec, "oldstate_name", w->oldstate) &&
	       str_is(rec, "newstate_name", w->newstate);
}

struct conn_ctx {
	int af, port;
};

static void reconnect(void *ctx)
{
	const struct conn_ctx *c = ctx;
	connect_once(c->af, c->port);
}

Test(run_readable, tcpstates_names_and_int128_addresses, .timeout = 120)
{
	int port;
	int l = listener(AF_INET, &port);
	char ports[16];
	snprintf(ports, sizeof(ports), "%d", port);
	struct eu_agent *a = eu_agent_start(PKG("tcpstate"),
					    (const char *const[]){"--target_port", ports, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	/* a perf buffer: events before its reader are lost, so the connect is repeated */
	struct conn_ctx cc = {AF_INET, port};
	struct state_want syn = {port, "TCP_CLOSE", "TCP_SYN_SENT"};
	cJSON *r = eu_agent_trigger_find(a, reconnect, &cc, state_of, &syn, 1000, 15000);
	cr_assert(r, "no CLOSE -> SYN_SENT to port %d; stdout:\n%s", port, eu_agent_stdout(a));
	cr_expect(eu_json_int(r, "oldstate", -1) == 7 && eu_json_int(r, "newstate", -1) == 2 &&
		  eu_json_int(r, "family", -1) == 2 && str_is(r, "saddr", "127.0.0.1") &&
		  str_is(r, "daddr", "127.0.0.1"),
		  "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	struct state_want est = {port, "TCP_SYN_SENT", "TCP_ESTABLISHED"};
	r = eu_agent_find(a, state_of, &est, 10000);
	cr_expect(r, "no SYN_SENT -> ESTABLISHED to port %d; stdout:\n%s", port,
		  eu_agent_stdout(a));
	cr_expect(r && eu_json_int(r, "newstate", -1) == 1);
	cJSON_Delete(r);
	close(l);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

struct kill_want {
	long long tpid, sig, ret;
};

static bool kill_of(const cJSON *rec, void *ctx)
{
	const struct kill_want *w = ctx;
	return eu_json_int(rec, "tpid", -1) == w->tpid && eu_json_int(rec, "sig", -1) == w->sig &&
	       eu_json_int(rec, "ret", 1) == w->ret;
}

/* A child that waits for a signal; its pid. */
static pid_t sleeper(void)
{
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		signal(SIGUSR1, SIG_DFL);
		alarm(60);
		pause();
		_exit(0);
	}
	return c;
}

/* A pid that no process has (a child that already exited). */
static pid_t gone_pid(void)
{
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0)
		_exit(0);
	cr_assert_eq(waitpid(c, NULL, 0), c);
	return c;
}

Test(run_readable, killsnoop_signal_and_errno_names, .timeout = 120)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	struct eu_agent *a = eu_agent_start(PKG("killsig"),
					    (const char *const[]){"--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	pid_t child = sleeper(), gone = gone_pid();
	usleep(100 * 1000);
	cr_assert_eq(kill(child, SIGUSR1), 0);
	cr_assert_eq(waitpid(child, NULL, 0), child);
	cr_assert_eq(kill(gone, SIGUSR2), -1);

	struct kill_want usr1 = {child, SIGUSR1, 0}, esrch = {gone, SIGUSR2, -ESRCH};
	cJSON *r = eu_agent_find(a, kill_of, &usr1, 10000);
	cr_assert(r, "no kill(%d, SIGUSR1); stdout:\n%s", child, eu_agent_stdout(a));
	cr_expect(str_is(r, "sig_name", "SIGUSR1") && !cJSON_HasObjectItem(r, "ret_name"), "%s",
		  cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	r = eu_agent_find(a, kill_of, &esrch, 10000);
	cr_assert(r, "no kill(%d, SIGUSR2) = -ESRCH; stdout:\n%s", gone, eu_agent_stdout(a));
	cr_expect(str_is(r, "sig_name", "SIGUSR2") && str_is(r, "ret_name", "-ESRCH"), "%s",
		  cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);

	/* the table: the names in place of the numbers */
	a = eu_agent_start_argv((const char *const[]){EU_AGENT_BIN, "run", PKG("killsig"),
						      "--targ_pid", pid, NULL});
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	gone = gone_pid();
	cr_assert_eq(kill(gone, SIGTERM), -1);
	char want[64];
	snprintf(want, sizeof(want), " %d ", gone);
	const char *line = NULL;
	for (int i = 0; i < 50 && (line = eu_agent_next_line(a, 10000)); i++)
		if (strstr(line, want))
			break;
	cr_assert(line && strstr(line, want), "no row for pid %d; stdout:\n%s", gone,
		  eu_agent_stdout(a));
	cr_expect(strstr(line, " SIGTERM ") && strstr(line, " -ESRCH "), "%s", line);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

struct open_want {
	const char *fname;
};

static bool open_of(const cJSON *rec, void *ctx)
{
	const struct open_want *w = ctx;
	return str_is(rec, "fname", w->fname);
}

static void open_and_check(bool raw)
{
	char pid[16], missing[96];
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(missing, sizeof(missing), "/nonexistent-eunomia-readable-%d", getpid());
	const char *args[] = {"--targ_pid", pid, raw ? "--raw-values" : NULL, NULL};
	struct eu_agent *a = eu_agent_start(PKG("openerr"), args);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 30000), "not attached: %s", eu_agent_stderr(a));
	cr_assert_eq(open(missing, O_RDONLY | O_CLOEXEC), -1);
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);

	struct open_want m = {missing}, ok = {"/proc/self/stat"};
	cJSON *r = eu_agent_find(a, open_of, &m, 10000);
	cr_assert(r, "no open of %s; stdout:\n%s", missing, eu_agent_stdout(a));
	cr_expect_eq(eu_json_int(r, "ret", 0), -2);
	if (raw)
		cr_expect(!cJSON_HasObjectItem(r, "ret_name"), "%s", cJSON_PrintUnformatted(r));
	else
		cr_expect(str_is(r, "ret_name", "-ENOENT"), "%s", cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	r = eu_agent_find(a, open_of, &ok, 10000);
	cr_assert(r, "no open of /proc/self/stat; stdout:\n%s", eu_agent_stdout(a));
	cr_expect(eu_json_int(r, "ret", -1) == fd && !cJSON_HasObjectItem(r, "ret_name"), "%s",
		  cJSON_PrintUnformatted(r));
	cJSON_Delete(r);
	close(fd);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
}

Test(run_readable, opensnoop_errno_of_failed_opens, .timeout = 120)
{
	open_and_check(false);
}

Test(run_readable, raw_values_keeps_numbers_only, .timeout = 120)
{
	open_and_check(true);
}
