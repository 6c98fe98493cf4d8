/* What the systemd unit (deploy/eunomia-agent.service) relies on: systemd-analyze accepts it,
 * its hardening and capability lines are the documented ones, readiness (Type=notify) is sent
 * only once the packages already in the watch directory are attached, and the agent does its
 * job with nothing but the unit's capabilities. */
#include "daemon_fixture.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "eu_run_util.h"

#define UNIT_SRC EU_SOURCE_DIR "/deploy/eunomia-agent.service"

EU_DFIX_SUITE(F, ship_systemd, 180);

/* The value of the unit's `key=` line (the last one), malloc'd, or NULL. */
static char *unit_value(const char *unit, const char *key)
{
	char *found = NULL;
	size_t klen = strlen(key);
	for (const char *p = unit; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			free(found);
			found = strndup(p + klen + 1, len - klen - 1);
		}
		p = nl ? nl + 1 : NULL;
	}
	return found;
}

static char *read_unit(void)
{
	char *unit = eu_test_read_file(UNIT_SRC, NULL);
	cr_assert(unit, "cannot read %s", UNIT_SRC);
	return unit;
}

Test(ship_systemd, unit_declares_notify_capabilities_and_hardening)
{
	char *unit = read_unit();
	static const char *const want[][2] = {
		{"Type", "notify"},
		{"NotifyAccess", "main"},
		{"User", "root"},
		{"CapabilityBoundingSet", "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_RESOURCE"},
		{"AmbientCapabilities", "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_RESOURCE"},
		{"NoNewPrivileges", "yes"},
		{"ProtectSystem", "strict"},
		{"ProtectHome", "read-only"},
		{"PrivateTmp", "yes"},
		{"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"},
		{"ExecStart", "/usr/bin/eunomia-agent --config /etc/eunomia/eunomia.yaml"},
		{"ExecReload", "/bin/kill -HUP $MAINPID"},
		{"LogsDirectory", "eunomia"},
		{"StateDirectory", "eunomia"},
		{"RuntimeDirectory", "eunomia"},
		{"WantedBy", "multi-user.target"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *v = unit_value(unit, want[i][0]);
		cr_assert(v, "%s: no %s= line", UNIT_SRC, want[i][0]);
		cr_assert_str_eq(v, want[i][1], "%s: %s=", UNIT_SRC, want[i][0]);
		free(v);
	}
	cr_assert_null(strstr(unit, "\nCapabilityBoundingSet=CAP_SYS_ADMIN"), "no CAP_SYS_ADMIN");
	free(unit);
}

/* systemd-analyze verify checks every directive and that the commands exist, so it runs on a
 * scratch root holding the unit where a package puts it, the built agent as /usr/bin's, and
 * the host's own units (the targets it names). */
static int verify_in_root(const char *unit_text, char **out)
{
	char root[160], path[256];
	snprintf(root, sizeof(root), "%s/vroot", F.root);
	dfix_sh("mkdir -p %s/usr/bin %s/bin %s/usr/lib/systemd/system %s/lib/systemd && "
		"cp %s %s/usr/bin/eunomia-agent && cp /bin/kill %s/bin/kill && "
		"cp -a /lib/systemd/system %s/lib/systemd/",
		root, root, root, root, EU_AGENT_BIN, root, root, root);
	snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/eunomia-agent.service", root);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(unit_text, f);
	fclose(f);
	char root_opt[200];
	snprintf(root_opt, sizeof(root_opt), "--root=%s", root);
	const char *argv[] = {"/usr/bin/systemd-analyze", "verify", root_opt, "--man=no",
			      "/usr/lib/systemd/system/eunomia-agent.service", NULL};
	return eu_run_capture(argv, 60000, out);
}

Test(ship_systemd, systemd_analyze_verify_passes)
{
	if (access("/usr/bin/systemd-analyze", X_OK))
		cr_assert_fail("systemd-analyze is not installed (scripts/install-deps.sh installs systemd)");
	char *unit = read_unit();
	char *out = NULL;
	int rc = verify_in_root(unit, &out);
	cr_assert_eq(rc, 0, "systemd-analyze verify: %s", out ? out : "");
	cr_assert(!out || !strstr(out, "eunomia-agent.service"), "warnings: %s", out);
	free(out);

	/* the check bites: a misspelt directive is reported */
	size_t n = strlen(unit) + 64;
	char *bad = malloc(n);
	snprintf(bad, n, "%s\n[Service]\nProtectSystm=strict\n", unit);
	out = NULL;
	verify_in_root(bad, &out);
	cr_assert(out && strstr(out, "ProtectSystm"), "typo not reported: %s", out ? out : "");
	free(out);
	free(bad);
	free(unit);
}

struct notify_sock {
	int fd;
	char path[108];
};

static void notify_open(struct notify_sock *s)
{
	snprintf(s->path, sizeof(s->path), "%s/notify.sock", F.root);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s->fd, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->path);
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
}

/* The next datagram within timeout_ms (NUL-terminated into buf), or false. */
static bool notify_recv(struct notify_sock *s, char *buf, size_t size, int timeout_ms)
{
	int64_t deadline = dfix_now_ms() + timeout_ms;
	for (;;) {
		int left = (int)(deadline - dfix_now_ms());
		if (left <= 0)
			return false;
		/* keep the agent's pipes drained while waiting */
		if (F.a)
			eu_agent_next_line(F.a, 0);
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, left < 50 ? left : 50) == 1) {
			ssize_t n = recv(s->fd, buf, size - 1, 0);
			cr_assert_gt(n, 0);
			buf[n] = '\0';
			return true;
		}
	}
}

/* BPF links the process holds: what the kernel has attached for it. A process that died is
 * a failure here, never "no links". */
static size_t bpf_links_of(pid_t pid)
{
	uint32_t ids[256];
	ssize_t n = eu_link_ids_of(pid, ids, 256);
	cr_assert_geq(n, 0, "cannot read the links of pid %d: %s", (int)pid, strerror(errno));
	return (size_t)n;
}

static void start_with_notify(struct notify_sock *s, const char *const *argv)
{
	cr_assert_eq(setenv("NOTIFY_SOCKET", s->path, 1), 0);
	F.a = eu_agent_start_argv(argv);
	unsetenv("NOTIFY_SOCKET");
	cr_assert(F.a, "cannot start %s", argv[0]);
}

Test(ship_systemd, ready_only_after_the_watched_package_is_attached)
{
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	struct notify_sock s;
	notify_open(&s);
	const char *argv[] = {EU_AGENT_BIN, "--watch", F.watch, NULL};
	start_with_notify(&s, argv);

	char msg[512];
	cr_assert(notify_recv(&s, msg, sizeof(msg), 30000), "no notification: %s",
		  eu_agent_stderr(F.a));
	cr_assert(strstr(msg, "READY=1"), "first notification is not READY=1: %s", msg);
	cr_assert(strstr(msg, "STATUS=watching 1 directory, 1 package loaded, 0 failed"), "%s",
		  msg);
	/* the kernel already has bootstrap's two programs attached for this process */
	cr_assert_eq(bpf_links_of(eu_agent_pid(F.a)), 2, "links at READY=1");
	/* attached at READY=1: an exec right now is in the ring buffer, first try */
	dfix_exec(&F);
	char v[13];
	dfix_version_of(BOOTSTRAP_PKG, v);
	struct dfix_match m = {.package = "bootstrap", .version = v, .filename = F.bin,
			       .exit_event = 0};
	int64_t deadline = dfix_now_ms() + 10000;
	size_t n = 0;
	while (!n && dfix_now_ms() < deadline) {
		eu_agent_next_line(F.a, 50);
		n = dfix_count_records_in(eu_agent_stdout(F.a), &m, 0, NULL, NULL);
	}
	cr_assert_eq(n, 1, "the exec right after READY=1 is missing: %s", eu_agent_stdout(F.a));
	const char *err = eu_agent_stderr(F.a);
	const char *att = strstr(err, "2 programs attached");
	const char *ready = strstr(err, "ready:");
	cr_assert(att && ready && att < ready, "attach logged before ready: %s", err);

	cr_assert_eq(kill(eu_agent_pid(F.a), SIGTERM), 0);
	cr_assert(notify_recv(&s, msg, sizeof(msg), 20000), "no STOPPING=1");
	cr_assert(strstr(msg, "STOPPING=1"), "%s", msg);
	cr_assert_eq(eu_agent_wait_exit(F.a, 20000), 0, "%s", eu_agent_stderr(F.a));
	close(s.fd);
}

Test(ship_systemd, ready_counts_a_failed_package_and_no_socket_is_harmless)
{
	dfix_sh("cp %s %s/boot.json && echo '{\"not\": \"a package\"}' > %s/junk.json",
		BOOTSTRAP_PKG, F.watch, F.watch);
	struct notify_sock s;
	notify_open(&s);
	const char *argv[] = {EU_AGENT_BIN, "--watch", F.watch, NULL};
	start_with_notify(&s, argv);
	char msg[512];
	cr_assert(notify_recv(&s, msg, sizeof(msg), 30000), "%s", eu_agent_stderr(F.a));
	cr_assert(strstr(msg, "READY=1\nSTATUS=watching 1 directory, 1 package loaded, 1 failed"),
		  "%s", msg);
	cr_assert_eq(eu_agent_stop(F.a, 20000), 0);
	eu_agent_free(F.a);
	F.a = NULL;
	close(s.fd);

	/* NOTIFY_SOCKET naming nothing: the agent warns and runs on */
	cr_assert_eq(unlink(s.path), 0);
	start_with_notify(&s, argv);
	cr_assert(dfix_wait_log(&F, "ready:", 1, 30000), "%s", eu_agent_stderr(F.a));
	cr_assert(dfix_wait_log(&F, "cannot notify the service manager", 1, 10000), "%s",
		  eu_agent_stderr(F.a));
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	cr_assert(dfix_exec_until(&F, &m, 0, 10000), "%s", eu_agent_stdout(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 20000), 0);
}

static unsigned long long own_bounding_set(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *st = eu_test_read_file(path, NULL);
	cr_assert(st, "%s", path);
	const char *bnd = strstr(st, "CapBnd:");
	cr_assert(bnd);
	unsigned long long mask = strtoull(bnd + 7, NULL, 16);
	free(st);
	return mask;
}

/* The unit's CapabilityBoundingSet as setpriv's --bounding-set argument ("-all,+bpf,..."),
 * keeping only what this process has itself (a container may lack CAP_SYS_RESOURCE). */
static void unit_caps_for_setpriv(char *out, size_t size)
{
	static const struct {
		const char *name;
		int bit;
	} known[] = {{"net_admin", 12}, {"sys_resource", 24}, {"perfmon", 38}, {"bpf", 39}};
	char *unit = read_unit();
	char *caps = unit_value(unit, "CapabilityBoundingSet");
	cr_assert(caps);
	unsigned long long mine = own_bounding_set(getpid());
	snprintf(out, size, "-all");
	for (char *save = NULL, *c = strtok_r(caps, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		cr_assert(!strncmp(c, "CAP_", 4), "%s", c);
		char name[32];
		size_t i = 0;
		for (const char *p = c + 4; *p && i < sizeof(name) - 1; p++)
			name[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		name[i] = '\0';
		int bit = -1;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (!strcmp(known[k].name, name))
				bit = known[k].bit;
		cr_assert_geq(bit, 0, "the unit names %s: add it to this test's table", c);
		if (!(mine & (1ull << bit))) {
			fprintf(stderr, "note: this process lacks %s itself: testing without it\n", c);
			continue;
		}
		size_t len = strlen(out);
		snprintf(out + len, size - len, ",+%s", name);
	}
	free(caps);
	free(unit);
}

Test(ship_systemd, agent_works_with_only_the_units_capabilities)
{
	if (access("/usr/bin/setpriv", X_OK))
		cr_assert_fail("setpriv is not installed (scripts/install-deps.sh installs util-linux)");
	char bounding[256];
	unit_caps_for_setpriv(bounding, sizeof(bounding));
	dfix_sh("cp %s %s/boot.json && cp %s/tc/package.json %s/tc.json", BOOTSTRAP_PKG, F.watch,
		EU_TESTBPF_BUILD_DIR, F.watch);
	/* its own network namespace: tc attaches to that lo, not to the one other tests use */
	const char *argv[] = {"/usr/bin/unshare", "--net", "--", "/usr/bin/setpriv", "--bounding-set", bounding, "--inh-caps", "-all",
			      "--", EU_AGENT_BIN, "--watch", F.watch, NULL};
	F.a = eu_agent_start_argv(argv);
	cr_assert(F.a);
	cr_assert(dfix_wait_log(&F, "ready:", 1, 30000), "%s", eu_agent_stderr(F.a));
	/* tracepoints + ring buffer (bootstrap), tc on lo over netlink (tc) */
	cr_assert(strstr(eu_agent_stderr(F.a), "ready: watching 1 directory, 2 packages loaded, 0 failed"),
		  "with %s: %s", bounding, eu_agent_stderr(F.a));
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	cr_assert(dfix_exec_until(&F, &m, 0, 10000), "%s", eu_agent_stdout(F.a));
	/* and it really had no more than those */
	unsigned long long mask = own_bounding_set(eu_agent_pid(F.a));
	cr_assert_eq(mask & (1ull << 21), 0, "CAP_SYS_ADMIN in the bounding set: %llx", mask);
	cr_assert_neq(mask & (1ull << 39), 0, "CAP_BPF missing: %llx", mask);
	cr_assert_eq(eu_agent_stop(F.a, 20000), 0, "%s", eu_agent_stderr(F.a));
}
