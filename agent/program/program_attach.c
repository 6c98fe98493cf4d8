/* Attaching and detaching: libbpf auto-attach, tc, xdp and perf_event programs. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "eunomia/package.h"
#include "program_priv.h"

static const struct eu_prog_meta *prog_meta(const struct eu_package *pkg, const char *name)
{
	for (size_t i = 0; i < pkg->n_progs; i++)
		if (pkg->progs[i].name && !strcmp(pkg->progs[i].name, name))
			return &pkg->progs[i];
	return NULL;
}

static struct attachment *attachment_new(struct eu_program *p, enum attachment_kind kind)
{
	if (p->n_att == p->cap_att) {
		size_t cap = p->cap_att ? p->cap_att * 2 : 8;
		struct attachment *a = realloc(p->att, cap * sizeof(*a));
		if (!a)
			return NULL;
		p->att = a;
		p->cap_att = cap;
	}
	struct attachment *a = &p->att[p->n_att++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->prog_fd = -1;
	return a;
}

/* uprobe sections: "uprobe//bin/bash:readline" -> "/bin/bash" and "readline". */
static void uprobe_target(const char *sec, char *path, size_t pn, char *func, size_t fn)
{
	path[0] = func[0] = '\0';
	const char *slash = strchr(sec, '/');
	if (!slash)
		return;
	const char *spec = slash + 1;
	const char *colon = strrchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	if (len >= pn)
		len = pn - 1;
	memcpy(path, spec, len);
	path[len] = '\0';
	if (colon)
		snprintf(func, fn, "%s", colon + 1);
}

/* A clear reason for a failed auto-attach of section sec with error e. */
static int attach_error(struct eu_program *p, const char *name, const char *sec, int e,
			eu_error *err)
{
	char why[200], kind[32], ebuf[128];
	program_section_kind(sec, kind, sizeof(kind));
	int feature = eu_program_section_feature(sec);
	program_errno_text(e, ebuf, sizeof(ebuf));
	if (feature >= 0 && feature != EU_FEATURE_TRACEFS &&
	    !program_section_supported(p, sec, why, sizeof(why)))
		return eu_error_set(err, e, "program %s (%s): %s", name, sec, why);
	if ((feature == EU_FEATURE_FENTRY || feature == EU_FEATURE_LSM) && e == -EPERM)
		return eu_error_set(err, e, "program %s (%s): %s programs are not permitted on this kernel (EPERM)",
				    name, sec, kind);
	if (feature == EU_FEATURE_TRACEFS && (e == -ENOENT || !eu_features_tracefs(p->features)) &&
	    !program_section_supported(p, sec, why, sizeof(why)))
		return eu_error_set(err, e, "program %s (%s): %s", name, sec, why);
	if (feature == EU_FEATURE_UPROBES) {
		char path[256], func[128];
		uprobe_target(sec, path, sizeof(path), func, sizeof(func));
		if (path[0] && access(path, F_OK) != 0)
			return eu_error_set(err, e, "program %s (%s): binary %s does not exist", name,
					    sec, path);
		if (func[0] && e == -ENOENT)
			return eu_error_set(err, e, "program %s (%s): function %s not found in %s",
					    name, sec, func, path);
	}
	if (feature == EU_FEATURE_KPROBES && e == -ENOENT)
		return eu_error_set(err, e,
				    "program %s (%s): kernel function not found or not traceable (%s)",
				    name, sec, ebuf);
	if (e == -EOPNOTSUPP)
		return eu_error_set(err, e,
				    "program %s (%s): libbpf cannot attach this section automatically",
				    name, sec);
	return eu_error_set(err, e, "program %s (%s): attach failed: %s", name, sec, ebuf);
}

static int attach_auto(struct eu_program *p, struct bpf_program *prog, eu_error *err)
{
	const char *name = bpf_program__name(prog);
	const char *sec = bpf_program__section_name(prog);
	int handled = 0;
	struct bpf_link *link = NULL;
	if (program_is_user_probe(sec)) {
		link = program_attach_user(p, prog, err, &handled);
		if (handled && !link)
			return err ? err->code : -EINVAL;
	}
	if (!handled)
		link = bpf_program__attach(prog);
	int e = link ? 0 : -errno;
	if (!link)
		return attach_error(p, name, sec, e ? e : -EINVAL, err);
	struct attachment *a = attachment_new(p, ATTACH_LINK);
	if (!a) {
		bpf_link__destroy(link);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	a->link = link;
	return 0;
}

static int attach_tc(struct eu_program *p, struct bpf_program *prog,
		     const struct eu_prog_meta *meta, eu_error *err)
{
	const char *name = bpf_program__name(prog);
	int ifindex = meta && meta->tc.ifindex ? meta->tc.ifindex : 1;
	enum bpf_tc_attach_point point = meta && meta->tc.attach_point == BPF_TC_EGRESS
						 ? BPF_TC_EGRESS
						 : BPF_TC_INGRESS;
	const char *dir = point == BPF_TC_EGRESS ? "egress" : "ingress";
	struct attachment *a = attachment_new(p, ATTACH_TC);
	if (!a)
		return eu_error_set(err, -ENOMEM, "out of memory");
	a->hook = (struct bpf_tc_hook){.sz = sizeof(a->hook), .ifindex = ifindex,
				       .attach_point = point};
	char ebuf[128];
	int ret = bpf_tc_hook_create(&a->hook);
	if (ret && ret != -EEXIST) {
		p->n_att--;
		return eu_error_set(err, ret, "program %s (tc): cannot create the tc hook on ifindex %d (%s): %s",
				    name, ifindex, dir, program_errno_text(ret, ebuf, sizeof(ebuf)));
	}
	a->hook_created = ret == 0;
	a->tc_opts = (struct bpf_tc_opts){.sz = sizeof(a->tc_opts),
					  .prog_fd = bpf_program__fd(prog),
					  .handle = meta && meta->tc.handle ? meta->tc.handle : 1,
					  .priority = meta && meta->tc.priority ? meta->tc.priority : 1};
	ret = bpf_tc_attach(&a->hook, &a->tc_opts);
	if (ret) {
		if (a->hook_created && !program_tc_hook_in_use(ifindex)) {
			a->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&a->hook);
		}
		p->n_att--;
		return eu_error_set(err, ret,
				    "program %s (tc): cannot attach to ifindex %d %s (handle %u, priority %u): %s",
				    name, ifindex, dir, a->tc_opts.handle, a->tc_opts.priority,
				    program_errno_text(ret, ebuf, sizeof(ebuf)));
	}
	return 0;
}

static int attach_xdp(struct eu_program *p, struct bpf_program *prog,
		      const struct eu_prog_meta *meta, eu_error *err)
{
	const char *name = bpf_program__name(prog);
	int ifindex = meta && meta->xdp.ifindex ? meta->xdp.ifindex : 1;
	unsigned int flags = meta ? meta->xdp.flags : 0;
	int fd = bpf_program__fd(prog);
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = meta ? meta->xdp.old_prog_fd : 0);
	int ret = bpf_xdp_attach(ifindex, fd, flags, &xo);
	if (ret) {
		char ebuf[128];
		return eu_error_set(err, ret, "program %s (xdp): cannot attach to ifindex %d (flags 0x%x): %s",
				    name, ifindex, flags, program_errno_text(ret, ebuf, sizeof(ebuf)));
	}
	struct attachment *a = attachment_new(p, ATTACH_XDP);
	if (!a) {
		bpf_xdp_detach(ifindex, flags, NULL);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	a->ifindex = ifindex;
	a->xdp_flags = flags;
	a->prog_fd = fd;
	return 0;
}

static int attach_perf_event(struct eu_program *p, struct bpf_program *prog, eu_error *err)
{
	struct bpf_link **links;
	size_t n;
	int ret = program_attach_perf(p, prog, &links, &n, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct attachment *a = attachment_new(p, ATTACH_LINK);
		if (!a) {
			for (size_t k = i; k < n; k++)
				bpf_link__destroy(links[k]);
			free(links);
			return eu_error_set(err, -ENOMEM, "out of memory");
		}
		a->link = links[i];
	}
	free(links);
	return 0;
}

int eu_program_attach(struct eu_program *p, eu_error *err)
{
	if (!p->loaded)
		return eu_error_set(err, -EINVAL, "%s: attach before load", eu_program_name(p));
	if (p->n_att)
		return 0;
	struct bpf_program *prog;
	int ret = 0;
	size_t attached = 0;
	bpf_object__for_each_program(prog, p->obj) {
		if (!bpf_program__autoload(prog))
			continue;
		const struct eu_prog_meta *meta = prog_meta(p->pkg, bpf_program__name(prog));
		enum bpf_prog_type type = bpf_program__type(prog);
		enum bpf_attach_type at = bpf_program__expected_attach_type(prog);
		if (type == BPF_PROG_TYPE_SCHED_CLS)
			ret = attach_tc(p, prog, meta, err);
		else if (type == BPF_PROG_TYPE_XDP && (at == BPF_XDP || at == 0))
			ret = attach_xdp(p, prog, meta, err);
		else if (type == BPF_PROG_TYPE_PERF_EVENT)
			ret = attach_perf_event(p, prog, err);
		else
			ret = attach_auto(p, prog, err);
		if (ret)
			break;
		attached++;
	}
	if (ret) {
		eu_program_detach(p);
		return ret;
	}
	p->attached_programs = attached;
	return 0;
}

void eu_program_detach(struct eu_program *p)
{
	if (!p)
		return;
	for (size_t i = p->n_att; i-- > 0;) {
		struct attachment *a = &p->att[i];
		switch (a->kind) {
		case ATTACH_LINK:
			bpf_link__destroy(a->link);
			break;
		case ATTACH_TC: {
			LIBBPF_OPTS(bpf_tc_opts, o, .handle = a->tc_opts.handle,
				    .priority = a->tc_opts.priority);
			bpf_tc_detach(&a->hook, &o);
			/* the hook is shared: another package may have attached to it since */
			if (a->hook_created && !program_tc_hook_in_use(a->hook.ifindex)) {
				a->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
				bpf_tc_hook_destroy(&a->hook);
			}
			break;
		}
		case ATTACH_XDP: {
			/* only if it is still ours: someone may have replaced it */
			LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = a->prog_fd);
			if (bpf_xdp_detach(a->ifindex, a->xdp_flags | XDP_FLAGS_REPLACE, &xo))
				eu_log(EU_LOG_DEBUG, "xdp detach on ifindex %d: %s", a->ifindex,
				       strerror(errno));
			break;
		}
		}
	}
	p->n_att = 0;
	p->attached_programs = 0;
}
