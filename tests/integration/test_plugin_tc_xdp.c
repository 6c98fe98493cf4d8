/* The tc and xdp counterparts of upstream's examples: attached on lo (ifindex 1) from the
 * package's tchook / xdp options, they see loopback traffic (the kernel's per-program run
 * counter goes up), and they are gone after SIGINT.
 *
 * ctest-resource-lock: lo_tc_xdp (the tc and xdp hooks of lo are one per machine: tests
 * that attach there never run at the same time) */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eunomia/package.h"
#include "eunomia/program.h"

#define BPFTOOL_PATHS "/usr/sbin/bpftool", "/sbin/bpftool", "/usr/bin/bpftool"

static const char *bpftool(void)
{
	static const char *const paths[] = {BPFTOOL_PATHS};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	cr_assert_fail("bpftool not found (scripts/install-deps.sh installs it)");
	return NULL;
}

static cJSON *bpftool_json(const char *const *args)
{
	const char *argv[16] = {bpftool(), "-j"};
	size_t n = 2;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char *out = NULL;
	int rc = eu_run_capture(argv, 10000, &out);
	cr_assert_eq(rc, 0, "bpftool failed: %s", out ? out : "");
	cJSON *j = cJSON_Parse(out);
	cr_assert(j, "bpftool printed no JSON: %s", out);
	free(out);
	return j;
}

/* The id of the program attached on lo as kind ("xdp" or "tc"), 0 when none. */
static int lo_prog_id(const char *kind)
{
	cJSON *j = bpftool_json((const char *const[]){"net", "show", "dev", "lo", NULL});
	int id = 0;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(j, 0), kind);
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		if (eu_json_int(it, "ifindex", -1) == 1)
			id = (int)eu_json_int(it, "id", 0);
	}
	cJSON_Delete(j);
	return id;
}

/* The kernel's run counter of program id (needs kernel.bpf_stats_enabled), and its name. */
static long long run_count(int id, char *name, size_t size)
{
	char ids[16];
	snprintf(ids, sizeof(ids), "%d", id);
	cJSON *j = bpftool_json((const char *const[]){"prog", "show", "id", ids, NULL});
	long long n = eu_json_int(j, "run_cnt", 0);
	snprintf(name, size, "%s", eu_json_str(j, "name") ? eu_json_str(j, "name") : "");
	cJSON_Delete(j);
	return n;
}

static void write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	cr_assert(fd >= 0, "cannot open %s", path);
	cr_assert_eq(write(fd, value, strlen(value)), (ssize_t)strlen(value));
	close(fd);
}

static char read_sysctl(const char *path)
{
	char c = '0';
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c;
}

/* IPv4 packets over lo: UDP datagrams to the discard port (each also draws an ICMP reply). */
static void loopback_traffic(int packets)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(s >= 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	for (int i = 0; i < packets; i++)
		sendto(s, "eunomia", 7, 0, (struct sockaddr *)&to, sizeof(to));
	close(s);
}

#define STATS "/proc/sys/kernel/bpf_stats_enabled"

static void attach_sees_traffic_and_detaches(const char *pkg, const char *kind,
					     const char *prog_name)
{
	cr_assert_eq(lo_prog_id(kind), 0, "a %s program is already attached on lo", kind);
	char stats_was = read_sysctl(STATS);
	write_sysctl(STATS, "1");

	struct eu_agent *a = eu_agent_start(pkg, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	int id = lo_prog_id(kind);
	cr_assert(id > 0, "no %s program on lo while the package runs; stderr:\n%s", kind,
		  eu_agent_stderr(a));
	char name[64];
	long long before = run_count(id, name, sizeof(name));
	cr_expect_str_eq(name, prog_name);
	loopback_traffic(20);
	long long after = run_count(id, name, sizeof(name));
	cr_expect(after >= before + 20, "%s ran %lld times for 20+ loopback packets", prog_name,
		  after - before);

	cr_expect_eq(eu_agent_stop(a, 10000), 0, "stderr:\n%s", eu_agent_stderr(a));
	cr_expect_eq(lo_prog_id(kind), 0, "the %s program is still attached on lo after SIGINT",
		     kind);
	if (!strcmp(kind, "tc")) {
		/* the agent created lo's clsact hook, so it removes it too */
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);
		int ret = bpf_tc_hook_create(&hook);
		cr_expect_eq(ret, 0, "the clsact qdisc is left on lo (%d)", ret);
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	const char *line = eu_agent_next_line(a, 0);
	cr_expect_null(line, "no exported events expected, got: %s", line);
	eu_agent_free(a);
	write_sysctl(STATS, stats_was == '1' ? "1" : "0");
}

Test(plugin_tc_xdp, tc_ingress_on_lo)
{
	attach_sees_traffic_and_detaches(EU_TESTBPF_BUILD_DIR "/tc/package.json", "tc",
					 "tc_ingress");
}

Test(plugin_tc_xdp, xdp_on_lo)
{
	attach_sees_traffic_and_detaches(EU_TESTBPF_BUILD_DIR "/xdp/package.json", "xdp",
					 "xdp_pass");
}

/* One tc package opened with its filter at handle/priority hp on lo ingress, attached. */
static struct eu_program *tc_attached(struct eu_package **pkg, uint32_t hp)
{
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(EU_TESTBPF_BUILD_DIR "/tc/package.json", pkg, &err), 0,
		     "%s", err.msg);
	cr_assert_eq((*pkg)->n_progs, 1);
	(*pkg)->progs[0].tc.handle = hp;
	(*pkg)->progs[0].tc.priority = hp;
	struct eu_program *prog = NULL;
	cr_assert_eq(eu_program_open(*pkg, NULL, &prog, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_program_load(prog, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_program_attach(prog, &err), 0, "%s", err.msg);
	return prog;
}

static bool tc_filter_on_lo(uint32_t hp)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = hp, .priority = hp);
	return bpf_tc_query(&hook, &q) == 0;
}

/* Two packages share lo's clsact hook (in the daemon, or two runs): the one that created it
 * must not take the other's filter down with it when it stops first. */
Test(plugin_tc_xdp, tc_hook_outlives_its_creator_while_shared)
{
	libbpf_set_print(NULL); /* querying a missing qdisc makes libbpf complain */
	cr_assert_eq(lo_prog_id("tc"), 0, "a tc program is already attached on lo");
	struct eu_package *pa = NULL, *pb = NULL;
	struct eu_program *a = tc_attached(&pa, 1);
	struct eu_program *b = tc_attached(&pb, 2);
	cr_assert(tc_filter_on_lo(1) && tc_filter_on_lo(2));

	eu_program_close(a); /* the creator of the hook goes first */
	cr_expect_not(tc_filter_on_lo(1), "the first package's filter outlived it");
	cr_expect(tc_filter_on_lo(2), "closing the first package removed the second's filter");

	eu_program_close(b);
	cr_expect_not(tc_filter_on_lo(2));
	cr_expect_eq(lo_prog_id("tc"), 0, "a tc program is left on lo");
	/* the hook itself stays (empty) when its creator left first: remove it */
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	bpf_tc_hook_destroy(&hook);
	eu_package_free(pa);
	eu_package_free(pb);
}
