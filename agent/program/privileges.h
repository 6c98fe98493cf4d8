/* What a BPF object needs of the process, checked before anything is tried, so that a user
 * without privileges is told which capability is missing and how to get it, instead of the
 * kernel's bare EPERM (or "tracefs is not mounted" when it is, but is root's).
 *
 * From the program types (as the kernel's bpf_prog_load checks them): every object needs
 * CAP_BPF; tracing types (kprobe, tracepoint, perf_event, raw_tp, fentry/fexit, LSM, ...)
 * CAP_PERFMON too; tc, xdp and the other networking types CAP_NET_ADMIN. CAP_SYS_ADMIN stands
 * in for each (the only way on kernels before 5.8). Tracepoint programs read their ids from
 * tracefs, a directory root keeps to itself (mode 0700): they need uid 0 (or a tracefs the
 * process may enter). The capabilities are the effective set (/proc/self/status CapEff). */
#ifndef EUNOMIA_PRIVILEGES_H
#define EUNOMIA_PRIVILEGES_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "eunomia/error.h"

enum eu_priv_need {
	EU_PRIV_BPF = 1u << 0,       /* CAP_BPF: bpf() itself */
	EU_PRIV_PERFMON = 1u << 1,   /* CAP_PERFMON: tracing program types, perf events */
	EU_PRIV_NET_ADMIN = 1u << 2, /* CAP_NET_ADMIN: tc, xdp and other networking types */
	EU_PRIV_TRACEFS = 1u << 3,   /* entering tracefs: tracepoint ids */
};

/* What the object's programs (those set to load) need. */
unsigned eu_privileges_needed(const struct bpf_object *obj);

/* The process as the checks see it. */
struct eu_privileges {
	uint64_t cap_eff;   /* effective capabilities, bit N = capability N */
	bool known;         /* cap_eff could be read */
	uid_t euid;
	bool tracefs_ok;    /* tracefs absent counts as ok here: mounting is someone else's job */
	char tracefs[64];   /* where it was found */
};
void eu_privileges_current(struct eu_privileges *out);

/* The needs the process lacks (0: none, or the effective set could not be read). */
unsigned eu_privileges_missing(const struct eu_privileges *p, unsigned needs);

/* 0, or -EPERM with a message naming each missing capability, what it is for, and how to
 * get it (root, setcap, systemd's AmbientCapabilities). */
int eu_privileges_check(const struct eu_privileges *p, unsigned needs, eu_error *err);

#endif
