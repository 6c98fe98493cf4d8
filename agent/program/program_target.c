/* Whether the kernel object a program hooks exists on this kernel, and whether this kernel
 * can run the program's kind at all (program_section_supported). Checked before load so a
 * missing function or tracepoint is named as such, not reported as libbpf's ESRCH/ENOENT,
 * and so a twin or alternative can be used instead. */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "program_priv.h"
#include "symbols/symbols.h"

/* The kernel's BTF, loaded on first use and kept until the load is over. */
static struct btf *kernel_btf(struct eu_program *p)
{
	if (!p->kbtf && !p->kbtf_err) {
		p->kbtf = btf__load_vmlinux_btf();
		if (!p->kbtf)
			p->kbtf_err = errno ? -errno : -ENOENT;
	}
	return p->kbtf;
}

static const struct eu_ksyms *kernel_syms(struct eu_program *p)
{
	if (!p->ksyms && !p->ksyms_err) {
		eu_error err = {0};
		p->ksyms_err = eu_ksyms_load(NULL, &p->ksyms, &err);
		if (!p->ksyms_err && !p->ksyms)
			p->ksyms_err = -ENOENT;
	}
	return p->ksyms;
}

void program_target_release(struct eu_program *p)
{
	btf__free(p->kbtf);
	p->kbtf = NULL;
	p->kbtf_err = 0;
	eu_ksyms_free(p->ksyms);
	p->ksyms = NULL;
	p->ksyms_err = 0;
}

/* The part of sec after the first '/' (and after a "module:" prefix), up to stop chars. */
static void section_target(const char *sec, const char *stop, char *out, size_t n)
{
	out[0] = '\0';
	const char *s = strchr(sec, '/');
	if (!s)
		return;
	s++;
	const char *colon = strchr(s, ':');
	if (colon)
		s = colon + 1;
	size_t len = strcspn(s, stop);
	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

static bool in_module_text(struct eu_program *p, const char *func)
{
	const char *module = NULL;
	const struct eu_ksyms *k = kernel_syms(p);
	return k && eu_ksyms_find(k, func, &module) && module && *module;
}

/* A function a BTF-based program (fentry, fexit, fmod_ret, lsm) attaches to. */
static bool btf_function_exists(struct eu_program *p, const char *func, char *why, size_t n)
{
	struct btf *btf = kernel_btf(p);
	if (!btf)
		return true; /* no kernel BTF: the kind check says what is wrong */
	if (btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) > 0 || in_module_text(p, func))
		return true;
	snprintf(why, n, "function %s is not in this kernel's BTF", func);
	return false;
}

static bool raw_tracepoint_exists(struct eu_program *p, const char *name, char *why, size_t n)
{
	struct btf *btf = kernel_btf(p);
	if (!btf)
		return true;
	char tname[160];
	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	if (btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF) > 0)
		return true;
	snprintf(why, n, "tracepoint %s does not exist on this kernel", name);
	return false;
}

/* tp/CAT/NAME or tracepoint/CAT/NAME: whether tracefs lists the event. */
static bool tracepoint_exists(struct eu_program *p, const char *sec, char *why, size_t n)
{
	const char *root = eu_features_tracefs(p->features);
	if (!root) {
		snprintf(why, n, "tracefs is not mounted");
		return false;
	}
	const char *slash = strchr(sec, '/');
	if (!slash || !slash[1])
		return true; /* no target in the section: libbpf will say */
	char path[512];
	snprintf(path, sizeof(path), "%s/events/%s", root, slash + 1);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(why, n, "tracepoint %s does not exist on this kernel", slash + 1);
	return false;
}

static bool kernel_function_exists(struct eu_program *p, const char *func, char *why, size_t n)
{
	const struct eu_ksyms *k = kernel_syms(p);
	if (!k || !eu_ksyms_count(k) || eu_ksyms_find(k, func, NULL))
		return true;
	snprintf(why, n, "function %s is not in this kernel (/proc/kallsyms)", func);
	return false;
}

bool program_target_exists(struct eu_program *p, const char *sec, char *why, size_t n)
{
	char kind[32], target[128];
	if (!sec)
		return true;
	program_section_kind(sec, kind, sizeof(kind));
	size_t kl = strlen(kind);
	bool sleepable = kl > 2 && !strcmp(kind + kl - 2, ".s");
	if (sleepable)
		kind[kl - 2] = '\0';
	if (!strcmp(kind, "fentry") || !strcmp(kind, "fexit") || !strcmp(kind, "fmod_ret")) {
		section_target(sec, "", target, sizeof(target));
		return !target[0] || btf_function_exists(p, target, why, n);
	}
	if (!strcmp(kind, "lsm")) {
		char func[160];
		section_target(sec, "", target, sizeof(target));
		snprintf(func, sizeof(func), "bpf_lsm_%s", target);
		if (!target[0] || btf_function_exists(p, func, why, n))
			return true;
		snprintf(why, n, "LSM hook %s is not in this kernel's BTF", target);
		return false;
	}
	if (!strcmp(kind, "kprobe") || !strcmp(kind, "kretprobe")) {
		/* without kprobes at all, the kind check's reason is the one that helps */
		if (!eu_features_has(p->features, EU_FEATURE_KPROBES))
			return true;
		section_target(sec, "+", target, sizeof(target));
		return !target[0] || kernel_function_exists(p, target, why, n);
	}
	if (!strcmp(kind, "tp_btf") || !strcmp(kind, "raw_tp") || !strcmp(kind, "raw_tracepoint") ||
	    !strcmp(kind, "raw_tp.w") || !strcmp(kind, "raw_tracepoint.w")) {
		section_target(sec, "", target, sizeof(target));
		return !target[0] || raw_tracepoint_exists(p, target, why, n);
	}
	if (!strcmp(kind, "tp") || !strcmp(kind, "tracepoint"))
		return tracepoint_exists(p, sec, why, n);
	return true;
}

bool program_section_supported(struct eu_program *p, const char *sec, char *why, size_t n)
{
	if (!program_target_exists(p, sec, why, n))
		return false;
	int feature = eu_program_section_feature(sec);
	if (feature < 0 || feature == EU_FEATURE_TRACEFS)
		return true;
	if (eu_features_has(p->features, (enum eu_feature)feature))
		return true;
	char kind[32], err[128];
	program_section_kind(sec, kind, sizeof(kind));
	int reason = eu_features_reason(p->features, (enum eu_feature)feature);
	switch (feature) {
	case EU_FEATURE_KPROBES:
		snprintf(why, n, "kprobes are not available on this kernel (no kprobe PMU or "
			 "kprobe_events)");
		break;
	case EU_FEATURE_UPROBES:
		snprintf(why, n, "uprobes are not available on this kernel");
		break;
	case EU_FEATURE_FENTRY:
	case EU_FEATURE_LSM:
	case EU_FEATURE_TP_BTF:
		if (!eu_features_has(p->features, EU_FEATURE_BTF))
			snprintf(why, n, "%s programs need kernel BTF (/sys/kernel/btf/vmlinux), which "
				 "this kernel does not have", kind);
		else if (reason == -EPERM)
			snprintf(why, n, "%s programs are not permitted on this kernel (EPERM)", kind);
		else
			snprintf(why, n, "%s programs are not supported on this kernel: %s", kind,
				 program_errno_text(reason, err, sizeof(err)));
		break;
	default:
		snprintf(why, n, "%s is not available", eu_feature_name((enum eu_feature)feature));
	}
	return false;
}
