/* A user without privileges, as one meets the agent: a real non-root account (eu-nonroot,
 * made here when missing), through setpriv. `run` and the daemon say which capabilities are
 * missing for what the package needs and how to get them, and exit non-zero, instead of
 * "tracefs is not mounted" or the kernel's bare EPERM; with some capabilities given
 * (ambient), exactly the others are named. `ctl` against the root daemon's 0600 socket says
 * permission denied and who may connect. */
#include <criterion/criterion.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"

#define USER "eu-nonroot"

static char *dir;
static char uid_arg[32], gid_arg[32];
static char bootstrap[512], tc[512];

static void setup(void)
{
	cr_assert_eq(geteuid(), 0, "needs root (to become another user)");
	if (!getpwnam(USER))
		cr_assert_eq(system("useradd --system --no-create-home --shell /usr/sbin/nologin "
				    USER),
			     0);
	struct passwd *pw = getpwnam(USER);
	cr_assert(pw && pw->pw_uid != 0);
	snprintf(uid_arg, sizeof(uid_arg), "--reuid=%u", (unsigned)pw->pw_uid);
	snprintf(gid_arg, sizeof(gid_arg), "--regid=%u", (unsigned)pw->pw_gid);
	dir = eu_tmpdir("privs");
	cr_assert(dir);
	chmod(dir, 0755);
	/* the packages where that user may read them */
	snprintf(bootstrap, sizeof(bootstrap), "%s/bootstrap.json", dir);
	snprintf(tc, sizeof(tc), "%s/tc.json", dir);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "install -m 0644 %s/bootstrap/package.json %s && "
		 "install -m 0644 %s/tc/package.json %s", EU_PLUGIN_BUILD_DIR, bootstrap,
		 EU_TESTBPF_BUILD_DIR, tc);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	cr_assert_eq(access(EU_AGENT_BIN, X_OK), 0);
}

static void teardown(void)
{
	eu_tmpdir_remove(dir);
	free(dir);
}

TestSuite(run_privileges, .init = setup, .fini = teardown, .timeout = 120);

/* EU_AGENT_BIN args... as the user, with the capabilities caps ("" for none: "+bpf,+perfmon"
 * for some) inheritable and ambient, so they survive the exec. */
static int as_user(const char *caps, const char *const *args, char **out)
{
	const char *argv[32];
	size_t n = 0;
	char inh[128], amb[128];
	argv[n++] = "/usr/bin/setpriv";
	argv[n++] = uid_arg;
	argv[n++] = gid_arg;
	argv[n++] = "--clear-groups";
	if (*caps) {
		snprintf(inh, sizeof(inh), "--inh-caps=%s", caps);
		snprintf(amb, sizeof(amb), "--ambient-caps=%s", caps);
		argv[n++] = inh;
		argv[n++] = amb;
	}
	argv[n++] = EU_AGENT_BIN;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return eu_run_capture(argv, 60000, out);
}

static void expect_no_noise(const char *out)
{
	cr_expect_null(strstr(out, "not mounted"), "%s", out);
	cr_expect_null(strstr(out, "EPERM"), "%s", out);
	cr_expect_null(strstr(out, "Operation not permitted"), "%s", out);
	cr_expect_null(strstr(out, EU_AGENT_ATTACHED_MARK " "), "%s", out);
}

Test(run_privileges, no_capabilities)
{
	char *out = NULL;
	int rc = as_user("", (const char *const[]){"run", bootstrap, NULL}, &out);
	cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
	cr_expect(strstr(out, "not enough privileges (uid "), "%s", out);
	cr_expect(strstr(out, "missing CAP_BPF (programs, maps); missing CAP_PERFMON (tracing "
			      "programs); tracefs (/sys/kernel/tracing) is root's only: tracepoint "
			      "programs need uid 0"),
		  "%s", out);
	cr_expect(strstr(out, "Run as root (sudo), or grant them: setcap cap_bpf,cap_perfmon+ep "
			      EU_AGENT_BIN ", or systemd AmbientCapabilities=CAP_BPF CAP_PERFMON"),
		  "%s", out);
	cr_expect_null(strstr(out, "NET_ADMIN"), "%s", out);
	expect_no_noise(out);
	free(out);
}

Test(run_privileges, some_capabilities_name_exactly_the_others)
{
	char *out = NULL;
	int rc = as_user("+bpf", (const char *const[]){"run", bootstrap, NULL}, &out);
	cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
	cr_expect(strstr(out, "missing CAP_PERFMON (tracing programs); tracefs"), "%s", out);
	cr_expect_null(strstr(out, "missing CAP_BPF"), "%s", out);
	cr_expect(strstr(out, "setcap cap_perfmon+ep"), "%s", out);
	expect_no_noise(out);
	free(out);

	/* tc with what tracing needs: only CAP_NET_ADMIN is missing, and no tracefs either */
	rc = as_user("+bpf,+perfmon", (const char *const[]){"run", tc, NULL}, &out);
	cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
	cr_expect(strstr(out, "not enough privileges (uid "), "%s", out);
	cr_expect(strstr(out, "): missing CAP_NET_ADMIN (tc, xdp). Run as root"), "%s", out);
	cr_expect(strstr(out, "setcap cap_net_admin+ep"), "%s", out);
	cr_expect_null(strstr(out, "CAP_BPF"), "%s", out);
	cr_expect_null(strstr(out, "tracefs"), "%s", out);
	expect_no_noise(out);
	free(out);

	/* every capability tracing needs: what is left is tracefs, root's directory */
	rc = as_user("+bpf,+perfmon", (const char *const[]){"run", bootstrap, NULL}, &out);
	cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
	cr_expect(strstr(out, "): tracefs (/sys/kernel/tracing) is root's only: tracepoint "
			      "programs need uid 0"),
		  "%s", out);
	cr_expect_null(strstr(out, "missing CAP"), "%s", out);
	cr_expect_null(strstr(out, "setcap"), "%s", out);
	free(out);
}

Test(run_privileges, daemon_without_capabilities)
{
	char *out = NULL;
	int rc = as_user("", (const char *const[]){"--watch", dir, "--api", "none", NULL}, &out);
	cr_expect_neq(rc, 0, "%s", out);
	cr_expect(strstr(out, "missing CAP_BPF (programs, maps)"), "%s", out);
	expect_no_noise(out);
	free(out);
}

Test(run_privileges, ctl_against_roots_socket)
{
	char run[600], sock[640], api[660], watch[600];
	/* as the daemon's default /run/eunomia: a directory only root may enter */
	snprintf(run, sizeof(run), "%s/run", dir);
	cr_assert_eq(mkdir(run, 0700), 0);
	snprintf(sock, sizeof(sock), "%s/agent.sock", run);
	snprintf(api, sizeof(api), "unix:%s", sock);
	snprintf(watch, sizeof(watch), "%s/watch", dir);
	cr_assert_eq(mkdir(watch, 0755), 0);
	struct eu_agent *a = eu_agent_start_argv(
		(const char *const[]){EU_AGENT_BIN, "--watch", watch, "--api", api, NULL});
	cr_assert(a);
	struct stat st;
	for (int i = 0; i < 200 && stat(sock, &st); i++)
		usleep(50000);
	cr_assert_eq(stat(sock, &st), 0, "no socket: %s", eu_agent_stderr(a));
	cr_assert_eq(st.st_mode & 0777, 0600);

	char *out = NULL;
	int rc = as_user("", (const char *const[]){"ctl", "--api", api, "list", NULL}, &out);
	cr_expect_eq(rc, 3, "exit %d: %s", rc, out);
	cr_expect(strstr(out, ": permission denied (you are uid "), "%s", out);
	cr_expect(strstr(out, "the socket's directory is mode 0700, owned by root (uid 0); only "
			      "that user (and root) may connect"),
		  "%s", out);
	cr_expect_null(strstr(out, "Couldn't connect"), "%s", out);
	free(out);

	/* the directory open to all: the socket's own mode stops the user */
	cr_assert_eq(chmod(run, 0755), 0);
	rc = as_user("", (const char *const[]){"ctl", "--api", api, "list", NULL}, &out);
	cr_expect_eq(rc, 3, "exit %d: %s", rc, out);
	cr_expect(strstr(out, ": permission denied (you are uid "), "%s", out);
	cr_expect(strstr(out, "the socket is mode 0600, owned by root (uid 0); only that user "
			      "(and root) may connect"),
		  "%s", out);
	cr_expect_null(strstr(out, "Couldn't connect"), "%s", out);
	free(out);
	/* root itself gets through */
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "ctl", "--api", api, "health",
						  NULL},
			    30000, &out);
	cr_expect_eq(rc, 0, "%s", out);
	free(out);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);

	/* the daemon gone: the socket is too */
	rc = as_user("", (const char *const[]){"ctl", "--api", api, "list", NULL}, &out);
	cr_expect_eq(rc, 3, "%s", out);
	cr_expect(strstr(out, "no such socket: is the daemon running"), "%s", out);
	free(out);
}
