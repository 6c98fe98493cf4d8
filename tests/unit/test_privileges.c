/* What a package needs (privileges.h), from real BPF objects' program types, against given
 * capability sets: each missing capability is named with what it is for and how to get it,
 * CAP_SYS_ADMIN stands in for each, and a set that could not be read refuses nothing. The
 * real non-root runs are in integration/run_privileges. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "program/privileges.h"

#define CAP(n) (1ull << (n))
#define C_NET_ADMIN 12
#define C_SYS_ADMIN 21
#define C_PERFMON 38
#define C_BPF 39

static struct eu_privileges as(uint64_t caps, bool tracefs_ok)
{
	struct eu_privileges p = {.cap_eff = caps, .known = true, .euid = 1000,
				  .tracefs_ok = tracefs_ok};
	strcpy(p.tracefs, "/sys/kernel/tracing");
	return p;
}

static unsigned needs_of(const char *path)
{
	struct bpf_object *o = bpf_object__open_file(path, NULL);
	cr_assert(o, "%s", path);
	unsigned n = eu_privileges_needed(o);
	bpf_object__close(o);
	return n;
}

Test(privileges, needs_from_program_types)
{
	/* bootstrap: tracepoints; tc and xdp test packages */
	cr_expect_eq(needs_of(EU_PLUGIN_BUILD_DIR "/bootstrap/bootstrap.bpf.o"),
		     EU_PRIV_BPF | EU_PRIV_PERFMON | EU_PRIV_TRACEFS);
	cr_expect_eq(needs_of(EU_TESTBPF_BUILD_DIR "/tc/tc.bpf.o"), EU_PRIV_BPF | EU_PRIV_NET_ADMIN);
	cr_expect_eq(needs_of(EU_TESTBPF_BUILD_DIR "/xdp/xdp.bpf.o"),
		     EU_PRIV_BPF | EU_PRIV_NET_ADMIN);
}

Test(privileges, missing_ones_are_named)
{
	unsigned tp = EU_PRIV_BPF | EU_PRIV_PERFMON | EU_PRIV_TRACEFS;
	struct eu_privileges none = as(0, false);
	eu_error err = {0};
	cr_assert_eq(eu_privileges_check(&none, tp, &err), -EPERM);
	cr_expect(strstr(err.msg, "not enough privileges (uid 1000): missing CAP_BPF (programs, "
				  "maps); missing CAP_PERFMON (tracing programs); tracefs "
				  "(/sys/kernel/tracing) is root's only: tracepoint programs need uid 0"),
		  "%s", err.msg);
	cr_expect(strstr(err.msg, "setcap cap_bpf,cap_perfmon+ep "), "%s", err.msg);
	cr_expect(strstr(err.msg, "AmbientCapabilities=CAP_BPF CAP_PERFMON "), "%s", err.msg);
	cr_expect_null(strstr(err.msg, "NET_ADMIN"), "%s", err.msg);

	/* CAP_BPF alone: only CAP_PERFMON is named */
	struct eu_privileges bpf = as(CAP(C_BPF), true);
	cr_assert_eq(eu_privileges_check(&bpf, tp, &err), -EPERM);
	cr_expect(strstr(err.msg, "missing CAP_PERFMON (tracing programs)."), "%s", err.msg);
	cr_expect_null(strstr(err.msg, "missing CAP_BPF"), "%s", err.msg);
	cr_expect(strstr(err.msg, "setcap cap_perfmon+ep"), "%s", err.msg);

	/* tc/xdp without CAP_NET_ADMIN */
	struct eu_privileges two = as(CAP(C_BPF) | CAP(C_PERFMON), true);
	cr_assert_eq(eu_privileges_check(&two, EU_PRIV_BPF | EU_PRIV_NET_ADMIN, &err), -EPERM);
	cr_expect(strstr(err.msg, "missing CAP_NET_ADMIN (tc, xdp)"), "%s", err.msg);
	cr_expect(strlen(err.msg) < EU_ERROR_MSG_MAX - 1, "truncated: %s", err.msg);

	/* only uid 0 is missing: no capability advice */
	struct eu_privileges no_tracefs = as(CAP(C_BPF) | CAP(C_PERFMON), false);
	cr_assert_eq(eu_privileges_check(&no_tracefs, tp, &err), -EPERM);
	cr_expect_null(strstr(err.msg, "setcap"), "%s", err.msg);
	cr_expect(strstr(err.msg, "tracepoint programs need uid 0"), "%s", err.msg);
}

Test(privileges, enough_is_enough)
{
	unsigned all = EU_PRIV_BPF | EU_PRIV_PERFMON | EU_PRIV_NET_ADMIN | EU_PRIV_TRACEFS;
	eu_error err = {0};
	struct eu_privileges admin = as(CAP(C_SYS_ADMIN), true);
	cr_expect_eq(eu_privileges_check(&admin, all, &err), 0, "%s", err.msg);
	struct eu_privileges three = as(CAP(C_BPF) | CAP(C_PERFMON) | CAP(C_NET_ADMIN), true);
	cr_expect_eq(eu_privileges_check(&three, all, &err), 0, "%s", err.msg);
	struct eu_privileges unknown = as(0, true);
	unknown.known = false;
	cr_expect_eq(eu_privileges_missing(&unknown, all), 0);
}

Test(privileges, this_process)
{
	struct eu_privileges p;
	eu_privileges_current(&p);
	cr_expect(p.known, "/proc/self/status has CapEff");
	cr_expect_eq(p.euid, geteuid());
}
