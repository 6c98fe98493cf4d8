/* The daemon's control side (daemon.h, "control"), above the package slots: packages and
 * modules loaded from memory, unload, pause/resume, finding packages and subscribing to their
 * records. The state it reads (ids, pause marks, rings, checks) is in ctl_state.c. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_state.h"
#include "daemon_wasm.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/program.h"
#include "security.h"
#include "wasm/wasm_module.h"

/* --- finding packages --- */

static struct pkg_slot *slot_by_name(struct eu_daemon *d, const char *name)
{
	char *end;
	unsigned long long id = strtoull(name, &end, 10);
	bool numeric = *name && !*end;
	for (struct pkg_slot *s = d->slots; s; s = s->next) {
		if ((s->name && !strcmp(s->name, name)) || !strcmp(s->stem, name))
			return s;
		if (numeric && daemon_ctl_slot(d, s) && s->ctl->id == id)
			return s;
	}
	return NULL;
}

int eu_daemon_find_package(struct eu_daemon *d, const char *name, eu_daemon_pkg_fn fn, void *ctx)
{
	struct pkg_slot *s = slot_by_name(d, name);
	if (!s)
		return -ENOENT;
	struct eu_daemon_pkg_info info;
	daemon_pkg_info(s, &info);
	fn(ctx, &info);
	return 0;
}

void eu_daemon_foreach_attach_point(struct eu_daemon *d, const char *path, eu_daemon_attach_fn fn,
				    void *ctx)
{
	for (struct pkg_slot *s = d->slots; s; s = s->next) {
		if (strcmp(s->path, path) || !s->cur || !s->cur->prog)
			continue;
		struct bpf_object *obj = eu_program_object(s->cur->prog);
		struct bpf_program *p;
		if (!obj)
			return;
		bpf_object__for_each_program(p, obj) {
			if (bpf_program__autoload(p))
				fn(ctx, bpf_program__name(p), bpf_program__section_name(p));
		}
		return;
	}
}

void eu_daemon_foreach_choice(struct eu_daemon *d, const char *path, eu_daemon_choice_fn fn,
			      void *ctx)
{
	for (struct pkg_slot *s = d->slots; s; s = s->next) {
		if (strcmp(s->path, path) || !s->cur || !s->cur->prog)
			continue;
		size_t n = eu_program_choice_count(s->cur->prog);
		for (size_t i = 0; i < n; i++)
			fn(ctx, eu_program_choice_at(s->cur->prog, i));
		return;
	}
}

/* --- loading from memory --- */

static bool name_ok(const char *n)
{
	size_t l = strlen(n);
	if (!l || l > 64 || n[0] == '.' || n[0] == '-')
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	/* all digits would read as an id */
	return strspn(n, "0123456789") != l;
}

static size_t api_count(struct eu_daemon *d)
{
	size_t n = 0;
	for (struct pkg_slot *s = d->slots; s; s = s->next)
		n += s->ctl && s->ctl->from_api;
	return n;
}

static char *params_key_of(const struct eu_daemon_load *l)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "");
	for (size_t i = 0; i < l->n_params; i++)
		eu_buf_printf(&b, "%s=%s\n", l->param_names[i], l->param_values[i]);
	if (b.oom) {
		eu_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static struct pkg_slot *api_slot_new(struct eu_daemon *d, const char *name)
{
	struct pkg_slot *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = d;
	if (asprintf(&s->path, "api:%s", name) < 0) {
		s->path = NULL;
		free(s);
		return NULL;
	}
	s->stem = strdup(name);
	s->name = strdup(name);
	if (!s->stem || !s->name || !daemon_ctl_slot(d, s)) {
		free(s->path);
		free(s->stem);
		free(s->name);
		free(s->ctl);
		free(s);
		return NULL;
	}
	s->ctl->from_api = true;
	return s;
}

/* A module from the API: named by the caller, started on its thread (daemon_wasm.c). */
static int load_module(struct eu_daemon *d, const struct eu_daemon_load *l, eu_error *err)
{
	if (!l->name)
		return eu_error_set(err, -EINVAL, "a Wasm module carries no name of its own: give "
				    "?name=");
	if (l->n_params)
		return eu_error_set(err, -EINVAL, "parameter '%s': a Wasm module takes arguments "
				    "(?args=[...]), not parameters", l->param_names[0]);
	if (slot_by_name(d, l->name))
		return eu_error_set(err, -EEXIST, "a package named '%s' is already loaded", l->name);
	struct pkg_slot *slot = api_slot_new(d, l->name);
	struct pkg_inst *inst = slot ? calloc(1, sizeof(*inst)) : NULL;
	if (inst) {
		inst->d = d;
		inst->pkg = daemon_wasm_identity(l->name, slot->path, l->data, l->size);
	}
	if (!inst || !inst->pkg) {
		if (inst)
			daemon_inst_free(inst);
		if (slot)
			daemon_slot_free(d, slot);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	eu_record_version(inst->pkg->sha256, inst->version);
	int ret = daemon_module_start(d, inst, l->data, l->size, l->args, l->n_args, err);
	if (ret) {
		if (inst->wasm)
			daemon_retire(d, inst);
		else
			daemon_inst_free(inst);
		daemon_slot_free(d, slot);
		err->code = ret == -ENOMEM ? -ENOMEM : -EBADMSG;
		return err->code;
	}
	inst->slot = slot;
	slot->cur = inst;
	slot->next = d->slots;
	d->slots = slot;
	eu_log(EU_LOG_INFO, "%s (uploaded through the API): Wasm module version %s started",
	       l->name, inst->version);
	return 0;
}

int eu_daemon_load_buffer(struct eu_daemon *d, const struct eu_daemon_load *l, eu_error *err)
{
	if (!d->ctl || d->stopping)
		return eu_error_set(err, -ESHUTDOWN, "the agent is stopping");
	if (l->name && !name_ok(l->name))
		return eu_error_set(err, -EINVAL,
				    "name '%s': use 1-64 letters, digits, '_', '-' or '.' (not all "
				    "digits)", l->name);
	if (api_count(d) >= d->ctl->max_programs)
		return eu_error_set(err, -ENOSPC, "too many programs: %zu loaded through the API "
				    "(the limit)", d->ctl->max_programs);
	if (d->ctl->trust) {
		int ret = eu_trust_verify(d->ctl->trust, l->data, l->size, l->sig, l->sig_size, err);
		if (ret)
			return eu_error_prefix(err, "refused");
	}
	if (eu_wasm_is_module(l->data, l->size))
		return load_module(d, l, err);
	if (l->n_args)
		return eu_error_set(err, -EINVAL, "arguments (?args=) are for Wasm modules: a "
				    "package takes parameters (?params=)");
	struct eu_package *pkg = NULL;
	int ret = eu_package_parse(l->data, l->size, l->name ? l->name : "upload", &pkg, err);
	if (!ret && pkg->format == EU_PKG_META_ONLY)
		ret = eu_error_set(err, -EINVAL, "no BPF object in the package");
	if (ret) {
		eu_package_free(pkg);
		err->code = -EBADMSG;
		return -EBADMSG;
	}
	const char *name = l->name ? l->name : pkg->name;
	if (!name || !name_ok(name)) {
		ret = eu_error_set(err, -EINVAL, "the package's name '%s' cannot be used: give ?name=",
				   name ? name : "");
		eu_package_free(pkg);
		return ret;
	}
	if (slot_by_name(d, name)) {
		ret = eu_error_set(err, -EEXIST, "a package named '%s' is already loaded", name);
		eu_package_free(pkg);
		return ret;
	}
	struct pkg_inst *inst = calloc(1, sizeof(*inst));
	char *key = params_key_of(l);
	struct pkg_slot *slot = api_slot_new(d, name);
	if (!inst || !key || !slot) {
		free(inst);
		free(key);
		if (slot)
			daemon_slot_free(d, slot);
		eu_package_free(pkg);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	inst->d = d;
	inst->pkg = pkg;
	inst->params_key = key;
	eu_record_version(pkg->sha256, inst->version);
	inst->start_stem = slot->stem;
	/* the config's params for this name or package first, the request's after them (the
	 * later of two values for one parameter wins) */
	const struct eu_config_package *cp = eu_config_find_package(&d->cfg, name, pkg->name);
	size_t n_cfg = cp ? cp->n_params : 0, n_all = n_cfg + l->n_params;
	char **names = calloc(n_all ? n_all : 1, sizeof(*names));
	char **values = calloc(n_all ? n_all : 1, sizeof(*values));
	if (!names || !values) {
		ret = eu_error_set(err, -ENOMEM, "out of memory");
	} else {
		for (size_t i = 0; i < n_cfg; i++) {
			names[i] = cp->params[i].name;
			values[i] = cp->params[i].value;
		}
		for (size_t i = 0; i < l->n_params; i++) {
			names[n_cfg + i] = (char *)l->param_names[i];
			values[n_cfg + i] = (char *)l->param_values[i];
		}
		ret = daemon_start_instance(d, inst, names, values, n_all, err);
	}
	free(names);
	free(values);
	inst->start_stem = NULL;
	malloc_trim(0);
	if (ret) {
		char msg[EU_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		eu_error_set(err, -ENOEXEC, "%s: version %s: %s", name, inst->version, msg);
		/* the slot was never linked: nothing else changed */
		daemon_retire(d, inst);
		daemon_slot_free(d, slot);
		return -ENOEXEC;
	}
	inst->slot = slot;
	slot->cur = inst;
	slot->next = d->slots;
	d->slots = slot;
	size_t n = eu_program_attached_count(inst->prog);
	eu_log(EU_LOG_INFO, "%s (uploaded through the API): version %s: %zu program%s attached", name,
	       inst->version, n, n == 1 ? "" : "s");
	return 0;
}

int eu_daemon_unload(struct eu_daemon *d, const char *name, eu_error *err)
{
	struct pkg_slot *s = slot_by_name(d, name);
	if (!s)
		return eu_error_set(err, -ENOENT, "no package '%s'", name);
	if (s->dir)
		return eu_error_set(err, -EPERM,
				    "'%s' comes from %s: remove the file to unload it", name, s->path);
	eu_log(EU_LOG_INFO, "%s: unloaded through the API", s->name);
	daemon_slot_free(d, s);
	if (d->name_clash) {
		/* a watched file refused for this name may load now; the rescan finds any other
		 * clash again */
		d->name_clash = false;
		daemon_rescan_watched(d);
	}
	return 0;
}

int eu_daemon_pause(struct eu_daemon *d, const char *name, eu_error *err)
{
	struct pkg_slot *s = slot_by_name(d, name);
	if (!s)
		return eu_error_set(err, -ENOENT, "no package '%s'", name);
	if (s->cur && s->cur->wasm)
		return eu_error_set(err, -EINVAL, "'%s' is a Wasm module: it cannot be paused (its "
				    "program decides what runs); unload it or remove its file", name);
	if (!s->cur || !s->cur->prog)
		return eu_error_set(err, -EINVAL, "'%s' is not running: %s", name,
				    s->reason ? s->reason : "failed");
	struct ctl_slot *cs = daemon_ctl_slot(d, s);
	if (!cs)
		return eu_error_set(err, -ENOMEM, "out of memory");
	if (daemon_ctl_paused(s))
		return 0;
	eu_program_detach(s->cur->prog);
	cs->paused_inst = s->cur;
	eu_log(EU_LOG_INFO, "%s: paused (programs detached)", name);
	return 0;
}

int eu_daemon_resume(struct eu_daemon *d, const char *name, eu_error *err)
{
	struct pkg_slot *s = slot_by_name(d, name);
	if (!s)
		return eu_error_set(err, -ENOENT, "no package '%s'", name);
	struct ctl_slot *cs = s->ctl;
	if (!daemon_ctl_paused(s))
		return 0;
	int ret = eu_program_attach(s->cur->prog, err);
	if (ret) {
		ret = eu_error_prefix(err, "%s: resume", name);
		err->code = -ENOEXEC;
		return -ENOEXEC;
	}
	cs->paused_inst = NULL;
	eu_log(EU_LOG_INFO, "%s: resumed (%zu programs attached)", name,
	       eu_program_attached_count(s->cur->prog));
	return 0;
}

/* --- subscribers --- */

int eu_daemon_subscribe(struct eu_daemon *d, const char *name, uint64_t cursor,
			eu_daemon_sub_fn wake, void *ctx, struct eu_daemon_sub **out, eu_error *err)
{
	*out = NULL;
	struct pkg_slot *slot = slot_by_name(d, name);
	if (!slot)
		return eu_error_set(err, -ENOENT, "no package '%s'", name);
	struct ctl_slot *cs = daemon_ctl_slot(d, slot);
	struct eu_daemon_sub *s = cs ? calloc(1, sizeof(*s)) : NULL;
	if (!s)
		return eu_error_set(err, -ENOMEM, "out of memory");
	s->slot = slot;
	s->cursor = cursor ? cursor : cs->ring.seq + 1;
	s->wake = wake;
	s->ctx = ctx;
	s->next = cs->subs;
	if (s->next)
		s->next->prev = s;
	cs->subs = s;
	*out = s;
	return 0;
}
