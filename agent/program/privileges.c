/* Capabilities a BPF object needs, against those of the process (privileges.h). */
#include "privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eunomia/buf.h"

/* numbers from linux/capability.h, spelled out: older headers lack the last two */
#define CAPN_NET_ADMIN 12
#define CAPN_SYS_ADMIN 21
#define CAPN_PERFMON 38
#define CAPN_BPF 39

static const char *const tracefs_roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

static unsigned type_needs(enum bpf_prog_type t)
{
	switch (t) {
	case BPF_PROG_TYPE_KPROBE:
	case BPF_PROG_TYPE_PERF_EVENT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_LSM:
	case BPF_PROG_TYPE_STRUCT_OPS:
	case BPF_PROG_TYPE_EXT:
		return EU_PRIV_BPF | EU_PRIV_PERFMON;
	case BPF_PROG_TYPE_TRACEPOINT:
		return EU_PRIV_BPF | EU_PRIV_PERFMON | EU_PRIV_TRACEFS;
	case BPF_PROG_TYPE_SCHED_CLS:
	case BPF_PROG_TYPE_SCHED_ACT:
	case BPF_PROG_TYPE_XDP:
	case BPF_PROG_TYPE_CGROUP_SKB:
	case BPF_PROG_TYPE_CGROUP_SOCK:
	case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
	case BPF_PROG_TYPE_CGROUP_SOCKOPT:
	case BPF_PROG_TYPE_CGROUP_SYSCTL:
	case BPF_PROG_TYPE_CGROUP_DEVICE:
	case BPF_PROG_TYPE_SOCK_OPS:
	case BPF_PROG_TYPE_SK_SKB:
	case BPF_PROG_TYPE_SK_MSG:
	case BPF_PROG_TYPE_FLOW_DISSECTOR:
	case BPF_PROG_TYPE_LWT_IN:
	case BPF_PROG_TYPE_LWT_OUT:
	case BPF_PROG_TYPE_LWT_XMIT:
	case BPF_PROG_TYPE_LWT_SEG6LOCAL:
		return EU_PRIV_BPF | EU_PRIV_NET_ADMIN;
	default:
		return EU_PRIV_BPF;
	}
}

unsigned eu_privileges_needed(const struct bpf_object *obj)
{
	unsigned needs = EU_PRIV_BPF;
	struct bpf_program *p;
	bpf_object__for_each_program(p, (struct bpf_object *)obj) {
		if (bpf_program__autoload(p))
			needs |= type_needs(bpf_program__type(p));
	}
	return needs;
}

static bool read_cap_eff(uint64_t *out)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	char line[256];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %" SCNx64, out) == 1;
	fclose(f);
	return found;
}

void eu_privileges_current(struct eu_privileges *out)
{
	memset(out, 0, sizeof(*out));
	out->known = read_cap_eff(&out->cap_eff);
	out->euid = geteuid();
	out->tracefs_ok = true;
	for (size_t i = 0; i < sizeof(tracefs_roots) / sizeof(tracefs_roots[0]); i++) {
		char events[96];
		snprintf(events, sizeof(events), "%s/events", tracefs_roots[i]);
		/* as the effective ids: the root directory (0700) stops anyone else */
		if (faccessat(AT_FDCWD, events, X_OK, AT_EACCESS) == 0)
			return;
		if (errno == EACCES && !out->tracefs[0]) {
			snprintf(out->tracefs, sizeof(out->tracefs), "%s", tracefs_roots[i]);
			out->tracefs_ok = false;
		}
	}
}

static bool has(const struct eu_privileges *p, int cap)
{
	return p->cap_eff & (1ull << cap);
}

unsigned eu_privileges_missing(const struct eu_privileges *p, unsigned needs)
{
	unsigned miss = 0;
	if (!p->known)
		return 0;
	bool admin = has(p, CAPN_SYS_ADMIN);
	if ((needs & EU_PRIV_BPF) && !has(p, CAPN_BPF) && !admin)
		miss |= EU_PRIV_BPF;
	if ((needs & EU_PRIV_PERFMON) && !has(p, CAPN_PERFMON) && !admin)
		miss |= EU_PRIV_PERFMON;
	if ((needs & EU_PRIV_NET_ADMIN) && !has(p, CAPN_NET_ADMIN) && !admin)
		miss |= EU_PRIV_NET_ADMIN;
	if ((needs & EU_PRIV_TRACEFS) && !p->tracefs_ok)
		miss |= EU_PRIV_TRACEFS;
	return miss;
}

static const struct {
	unsigned need;
	const char *cap, *lower, *why;
} caps[] = {
	{EU_PRIV_BPF, "CAP_BPF", "cap_bpf", "programs, maps"},
	{EU_PRIV_PERFMON, "CAP_PERFMON", "cap_perfmon", "tracing programs"},
	{EU_PRIV_NET_ADMIN, "CAP_NET_ADMIN", "cap_net_admin", "tc, xdp"},
};

int eu_privileges_check(const struct eu_privileges *p, unsigned needs, eu_error *err)
{
	unsigned miss = eu_privileges_missing(p, needs);
	if (!miss)
		return 0;
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_printf(&b, "not enough privileges (uid %u): ", (unsigned)p->euid);
	size_t n = 0;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (miss & caps[i].need)
			eu_buf_printf(&b, "%smissing %s (%s)", n++ ? "; " : "", caps[i].cap, caps[i].why);
	if (miss & EU_PRIV_TRACEFS)
		eu_buf_printf(&b, "%stracefs (%s) is root's only: tracepoint programs need uid 0",
			      n++ ? "; " : "", p->tracefs);
	if (miss & (EU_PRIV_BPF | EU_PRIV_PERFMON | EU_PRIV_NET_ADMIN)) {
		char exe[512] = "eunomia-agent";
		ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (l > 0)
			exe[l] = '\0';
		eu_buf_puts(&b, ". Run as root (sudo), or grant them: setcap ");
		n = 0;
		for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
			if (miss & caps[i].need)
				eu_buf_printf(&b, "%s%s", n++ ? "," : "", caps[i].lower);
		eu_buf_printf(&b, "+ep %s, or systemd AmbientCapabilities=", exe);
		n = 0;
		for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
			if (miss & caps[i].need)
				eu_buf_printf(&b, "%s%s", n++ ? " " : "", caps[i].cap);
		eu_buf_puts(&b, " (or CAP_SYS_ADMIN, needed before kernel 5.8)");
	}
	int ret = eu_error_set(err, -EPERM, "%s", b.oom || !b.data ? "not enough privileges" : b.data);
	eu_buf_free(&b);
	return ret;
}
