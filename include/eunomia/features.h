/* What this kernel can do, probed lazily and cached in a caller-owned struct (one per agent:
 * the daemon shares it between programs; `run` has one). Each feature is probed the first time
 * it is asked for; eu_features_probe_all() probes everything (for a /features report).
 * Not thread-safe: use it from the loop thread. */
#ifndef EUNOMIA_FEATURES_H
#define EUNOMIA_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

enum eu_feature {
	EU_FEATURE_BTF = 0,  /* /sys/kernel/btf/vmlinux */
	EU_FEATURE_TRACEFS,  /* tracefs mounted (events/ visible) */
	EU_FEATURE_KPROBES,  /* kprobe PMU or tracefs kprobe_events */
	EU_FEATURE_UPROBES,  /* uprobe PMU or tracefs uprobe_events */
	EU_FEATURE_FENTRY,   /* a BPF_PROG_TYPE_TRACING fentry program loads and attaches */
	EU_FEATURE_LSM,      /* a BPF_PROG_TYPE_LSM program loads and attaches */
	EU_FEATURE_RINGBUF,  /* BPF_MAP_TYPE_RINGBUF */
	EU_FEATURE_TP_BTF,   /* a BTF-typed raw tracepoint (tp_btf) program loads and attaches */
	EU_FEATURE__COUNT,
};

struct eu_features {
	uint32_t probed;   /* bit per feature: probed already */
	uint32_t present;  /* bit per feature: available */
	int reason[EU_FEATURE__COUNT]; /* negative errno explaining an absence, 0 otherwise */
	char tracefs[64];  /* "/sys/kernel/tracing" or the debugfs path, "" when unmounted */
};

void eu_features_init(struct eu_features *f);
bool eu_features_has(struct eu_features *f, enum eu_feature which);
/* Negative errno saying why `which` is absent (probing it if needed); 0 when present. */
int eu_features_reason(struct eu_features *f, enum eu_feature which);
void eu_features_probe_all(struct eu_features *f);
/* Forgets one probe (after mounting tracefs, say). */
void eu_features_forget(struct eu_features *f, enum eu_feature which);
/* "btf", "tracefs", "kprobes", "uprobes", "fentry", "lsm", "ringbuf", "tp_btf". */
const char *eu_feature_name(enum eu_feature which);
/* The tracefs root in use, or NULL when none is mounted. */
const char *eu_features_tracefs(struct eu_features *f);

#endif
