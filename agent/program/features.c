#include "eunomia/features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const feature_names[EU_FEATURE__COUNT] = {
	[EU_FEATURE_BTF] = "btf",         [EU_FEATURE_TRACEFS] = "tracefs",
	[EU_FEATURE_KPROBES] = "kprobes", [EU_FEATURE_UPROBES] = "uprobes",
	[EU_FEATURE_FENTRY] = "fentry",   [EU_FEATURE_LSM] = "lsm",
	[EU_FEATURE_RINGBUF] = "ringbuf", [EU_FEATURE_TP_BTF] = "tp_btf",
};

/* Where tracefs may be; libbpf 1.1 itself prefers the debugfs path when it exists. */
static const char *const tracefs_roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

void eu_features_init(struct eu_features *f)
{
	memset(f, 0, sizeof(*f));
}

const char *eu_feature_name(enum eu_feature which)
{
	if ((unsigned)which < EU_FEATURE__COUNT)
		return feature_names[which];
	return "?";
}

static int path_exists(const char *path)
{
	return access(path, F_OK) == 0 ? 0 : -errno;
}

static int probe_tracefs(struct eu_features *f)
{
	char path[96];
	int ret = -ENOENT;
	f->tracefs[0] = '\0';
	for (size_t i = 0; i < sizeof(tracefs_roots) / sizeof(tracefs_roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events", tracefs_roots[i]);
		int r = path_exists(path);
		if (r == 0) {
			snprintf(f->tracefs, sizeof(f->tracefs), "%s", tracefs_roots[i]);
			return 0;
		}
		/* mounted but root's (mode 0700) is not "not mounted" */
		if (r != -ENOENT && ret == -ENOENT)
			ret = r;
	}
	return ret;
}

/* A dynamic-probe kind is usable when its perf PMU exists (the modern attach path) or tracefs
 * has its legacy control file (libbpf's fallback). */
static int probe_dynamic(struct eu_features *f, const char *pmu, const char *control)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/bus/event_source/devices/%s/type", pmu);
	if (path_exists(path) == 0)
		return 0;
	const char *root = eu_features_tracefs(f);
	if (root) {
		snprintf(path, sizeof(path), "%s/%s", root, control);
		if (path_exists(path) == 0)
			return 0;
	}
	return -EOPNOTSUPP;
}

/* Loads "return 0" as a tracing-style program against the first of targets found in the
 * kernel's BTF (functions, or btf_trace_* typedefs for tp_btf), and attaches it for an
 * instant: both steps can be refused independently (lockdown, missing trampolines, LSM not
 * enabled, ...). */
static int probe_tracing(enum bpf_prog_type type, enum bpf_attach_type attach,
			 const char *const *targets, size_t n_targets, __u32 btf_kind)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return errno ? -errno : -ENOENT;
	int btf_id = -ENOENT;
	for (size_t i = 0; i < n_targets && btf_id < 0; i++)
		btf_id = btf__find_by_name_kind(vmlinux, targets[i], btf_kind);
	btf__free(vmlinux);
	if (btf_id < 0)
		return -ENOENT;

	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach,
		    .attach_btf_id = (__u32)btf_id);
	int prog_fd = bpf_prog_load(type, "eu_probe", "GPL", insns, 2, &opts);
	if (prog_fd < 0)
		return -errno;
	int link_fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	int ret = link_fd < 0 ? -errno : 0;
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return ret;
}

static int probe_one(struct eu_features *f, enum eu_feature which)
{
	static const char *const fentry_funcs[] = {"bpf_fentry_test1", "do_unlinkat", "vfs_read"};
	static const char *const lsm_funcs[] = {"bpf_lsm_file_open", "bpf_lsm_bpf"};
	static const char *const raw_tps[] = {"btf_trace_sys_enter", "btf_trace_sched_switch"};
	int ret;
	switch (which) {
	case EU_FEATURE_BTF:
		return path_exists("/sys/kernel/btf/vmlinux");
	case EU_FEATURE_TRACEFS:
		return probe_tracefs(f);
	case EU_FEATURE_KPROBES:
		return probe_dynamic(f, "kprobe", "kprobe_events");
	case EU_FEATURE_UPROBES:
		return probe_dynamic(f, "uprobe", "uprobe_events");
	case EU_FEATURE_FENTRY:
		return probe_tracing(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, fentry_funcs, 3,
				     BTF_KIND_FUNC);
	case EU_FEATURE_LSM:
		return probe_tracing(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, lsm_funcs, 2, BTF_KIND_FUNC);
	case EU_FEATURE_TP_BTF:
		return probe_tracing(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, raw_tps, 2,
				     BTF_KIND_TYPEDEF);
	case EU_FEATURE_RINGBUF:
		ret = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
		return ret == 1 ? 0 : ret < 0 ? ret : -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
}

static void ensure_probed(struct eu_features *f, enum eu_feature which)
{
	uint32_t bit = 1u << which;
	if (f->probed & bit)
		return;
	int ret = probe_one(f, which);
	f->probed |= bit;
	if (ret == 0) {
		f->present |= bit;
		f->reason[which] = 0;
	} else {
		f->present &= ~bit;
		f->reason[which] = ret;
	}
}

bool eu_features_has(struct eu_features *f, enum eu_feature which)
{
	if ((unsigned)which >= EU_FEATURE__COUNT)
		return false;
	ensure_probed(f, which);
	return f->present & (1u << which);
}

int eu_features_reason(struct eu_features *f, enum eu_feature which)
{
	if ((unsigned)which >= EU_FEATURE__COUNT)
		return -EINVAL;
	ensure_probed(f, which);
	return f->reason[which];
}

void eu_features_probe_all(struct eu_features *f)
{
	for (int i = 0; i < EU_FEATURE__COUNT; i++)
		ensure_probed(f, (enum eu_feature)i);
}

void eu_features_forget(struct eu_features *f, enum eu_feature which)
{
	if ((unsigned)which >= EU_FEATURE__COUNT)
		return;
	f->probed &= ~(1u << which);
	f->present &= ~(1u << which);
	f->reason[which] = 0;
}

const char *eu_features_tracefs(struct eu_features *f)
{
	return eu_features_has(f, EU_FEATURE_TRACEFS) ? f->tracefs : NULL;
}
