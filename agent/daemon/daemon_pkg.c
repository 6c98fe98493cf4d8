/* The daemon's packages: a slot per package file, the running instance of each, loading a new
 * version before retiring the old one, and turning events into records. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_check.h"
#include "daemon_priv.h"
#include "daemon_wasm.h"
#include "metrics_daemon.h"
#include "metrics/metrics_rules.h"
#include "eunomia/consumer.h"
#include "eunomia/decoder.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/params.h"
#include "eunomia/program.h"
#include "wasm/wasm_module.h"

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static size_t export_index(struct pkg_inst *inst, const struct eu_export *exp)
{
	for (size_t i = 0; i < inst->n_exports; i++)
		if (eu_consumer_export(inst->cons, i) == exp)
			return i;
	return 0;
}

/* A record with its stacks named (a frames blob, or NULL). */
static void add_record(struct pkg_inst *inst, struct eu_record_source *src, uint64_t time_ns,
		       const void *key, size_t ks, const void *data, size_t size,
		       const void *stacks, size_t stacks_size)
{
	struct eu_daemon *d = inst->d;
	struct eu_record_batch *b = d->router.batch;
	int ret = b ? eu_record_batch_add_stacks(b, src, time_ns, key, ks, data, size, stacks,
						 stacks_size)
		    : -ENOMEM;
	if (ret) {
		/* a record shorter than its plan, or no memory for it: counted, never sent */
		inst->format_errors++;
		return;
	}
	inst->records++;
	daemon_ctl_record(inst, b);
	daemon_router_grown(&d->router);
}

void daemon_add_record(struct pkg_inst *inst, struct eu_record_source *src, uint64_t time_ns,
		       const void *key, size_t ks, const void *data, size_t size)
{
	add_record(inst, src, time_ns, key, ks, data, size, NULL, 0);
}

/* A record whose source has stacks: named now, while the process whose user frames they are
 * is alive and the stack-trace map holds them (agent/symbols caches what it reads). */
static void add_with_stacks(struct pkg_inst *inst, const struct eu_export *exp,
			    struct eu_record_source *src, uint64_t time_ns, const void *key,
			    size_t ks, const void *data, size_t size)
{
	const void *blob = NULL;
	size_t blob_size = 0;
	if (src->stacks.n && eu_export_stacks_name(exp, src->kind == EU_RECORD_SAMPLE ? key : data,
						   src->kind == EU_RECORD_SAMPLE ? ks : size,
						   &blob, &blob_size))
		blob = NULL; /* the record goes out with its numbers; the sinks print those */
	add_record(inst, src, time_ns, key, ks, data, size, blob, blob_size);
}

static void on_event(void *ctx, const struct eu_export *exp, const void *data, size_t size)
{
	struct pkg_inst *inst = ctx;
	struct eu_daemon *d = inst->d;
	size_t xi = export_index(inst, exp);
	daemon_router_open(&d->router);
	if (inst->metrics)
		eu_metrics_pkg_event(inst->metrics, xi, data, size, d->router.clock.real_now_ns);
	const struct eu_record_source *src = inst->srcs[xi];
	if (!src) {
		inst->format_errors++;
		return;
	}
	uint64_t t = eu_record_event_time(src->plan, src->ts_field, data, size, &d->router.clock);
	add_with_stacks(inst, exp, inst->srcs[xi], t, NULL, 0, data, size);
}

static void on_sample(void *ctx, const struct eu_export *exp, const void *key, size_t ks,
		      const void *value, size_t vs)
{
	struct pkg_inst *inst = ctx;
	struct eu_daemon *d = inst->d;
	size_t xi = export_index(inst, exp);
	daemon_router_open(&d->router);
	if (inst->metrics)
		eu_metrics_pkg_sample(inst->metrics, xi, key, ks, value, vs, d->router.clock.real_now_ns);
	if (!inst->srcs[xi]) {
		inst->format_errors++;
		return;
	}
	add_with_stacks(inst, exp, inst->srcs[xi], d->router.clock.real_now_ns, key, ks, value, vs);
}

static void on_batch(void *ctx, const struct eu_export *exp)
{
	struct pkg_inst *inst = ctx;
	daemon_router_drained(&inst->d->router);
}

/* --- parameters --- */

struct param_list {
	char **names, **values;
	size_t n;
};

static void params_free(struct param_list *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->names[i]);
		free(p->values[i]);
	}
	free(p->names);
	free(p->values);
	memset(p, 0, sizeof(*p));
}

/* A module argument: kept in names, in order (repeats allowed). */
static int params_add_arg(struct param_list *p, const char *arg)
{
	char **n = realloc(p->names, (p->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->names = n;
	char **v = realloc(p->values, (p->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->values = v;
	v[p->n] = NULL;
	n[p->n] = strdup(arg);
	return n[p->n++] ? 0 : -ENOMEM;
}

static int params_add(struct param_list *p, const char *name, const char *value)
{
	/* a later source overrides an earlier one */
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->names[i], name)) {
			char *v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(p->values[i]);
			p->values[i] = v;
			return 0;
		}
	}
	char **n = realloc(p->names, (p->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->names = n;
	char **v = realloc(p->values, (p->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->values = v;
	n[p->n] = strdup(name);
	v[p->n] = strdup(value);
	p->n++;
	return n[p->n - 1] && v[p->n - 1] ? 0 : -ENOMEM;
}

/* NAME.params.json beside the package, read with the package's checks (its owner and mode,
 * its signature when those are required): -ENOENT when there is none. */
static int params_from_sidecar(struct eu_daemon *d, const char *path, struct param_list *out,
			       eu_error *err)
{
	void *buf;
	size_t n;
	int ret = daemon_ctl_read_companion(d, path, 65536, &buf, &n, err);
	if (ret)
		return ret;
	cJSON *root = cJSON_ParseWithLength(buf, n);
	free(buf);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return eu_error_set(err, -EINVAL,
				    "%s: expected a JSON object of parameter: value (got %s)", path,
				    root ? "another JSON value" : "invalid JSON");
	}
	cJSON *it;
	cJSON_ArrayForEach(it, root) {
		char num[EU_PARAM_NUM_MAX];
		const char *text = eu_param_json_text(it, num);
		if (!text) {
			ret = eu_error_set(err, -EINVAL,
					   "%s: parameter %s: expected a number, a string or a bool",
					   path, it->string);
			break;
		}
		if ((ret = params_add(out, it->string, text)))
			break;
	}
	cJSON_Delete(root);
	return ret;
}

static char *params_key(const struct param_list *p)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "");
	for (size_t i = 0; i < p->n; i++)
		eu_buf_printf(&b, "%s=%s\n", p->names[i], p->values[i]);
	if (b.oom) {
		eu_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static int collect_params(struct eu_daemon *d, struct pkg_slot *slot, const struct eu_package *pkg,
			  struct param_list *out, eu_error *err)
{
	char *side = NULL;
	const char *slash = strrchr(slot->path, '/');
	int dlen = slash ? (int)(slash - slot->path) : 1;
	if (asprintf(&side, "%.*s/%s.params.json", dlen, slash ? slot->path : ".", slot->stem) < 0)
		return eu_error_set(err, -ENOMEM, "out of memory");
	int ret = params_from_sidecar(d, side, out, err);
	free(side);
	if (ret == -ENOENT)
		ret = 0;
	if (ret)
		return ret;
	const struct eu_config_package *cp = eu_config_find_package(&d->cfg, slot->stem, pkg->name);
	for (size_t i = 0; cp && i < cp->n_params; i++)
		if (params_add(out, cp->params[i].name, cp->params[i].value))
			return eu_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* --- instances --- */

void daemon_inst_free(struct pkg_inst *inst)
{
	/* records still queued in sinks keep their sources (and plans) alive */
	for (size_t i = 0; inst->srcs && i < inst->n_exports; i++)
		eu_record_source_unref(inst->srcs[i]);
	free(inst->srcs);
	eu_program_close(inst->prog);
	eu_metrics_pkg_free(inst->metrics);
	eu_package_free(inst->pkg);
	free(inst->params_key);
	free(inst);
}

static int inst_start(struct eu_daemon *d, struct pkg_inst *inst, const struct param_list *params,
		      eu_error *err)
{
	struct eu_program_opts po = {.sz = sizeof(po), .features = &d->features,
				     .kbtf_cache = d->kbtf, .btf_archive_dir = d->btf_archive_dir};
	eu_config_program_opts(eu_config_find_package(&d->cfg, inst->start_stem, inst->pkg->name),
			       &po);
	int ret = eu_program_open(inst->pkg, &po, &inst->prog, err);
	if (ret)
		return ret;
	/* the same check as --check-config (config_check.h), so both say the same */
	if ((ret = eu_config_apply_params(inst->prog, inst->pkg->name, params->names,
					  params->values, params->n, err)))
		return ret;
	if ((ret = eu_program_load(inst->prog, err)))
		return ret;
	if ((ret = eu_program_attach(inst->prog, err)))
		return ret;
	struct eu_consumer_opts co = {.sz = sizeof(co), .on_event = on_event, .on_sample = on_sample,
				      .on_batch = on_batch, .ctx = inst};
	if ((ret = eu_consumer_new(&d->loop, inst->prog, &co, &inst->cons, err)))
		return ret;
	inst->n_exports = eu_consumer_export_count(inst->cons);
	if (eu_consumer_silence(inst->cons) && eu_consumer_uses_printk(inst->cons))
		eu_log(EU_LOG_INFO, "%s: prints only with bpf_printk: its lines go to the kernel's "
		       "trace pipe", inst->pkg->name ? inst->pkg->name : "package");
	else if (eu_consumer_silence(inst->cons))
		eu_log(EU_LOG_WARN, "%s", eu_consumer_silence(inst->cons));
	/* exports without a plan (none, normally) keep no source: their records never come */
	inst->srcs = calloc(inst->n_exports ? inst->n_exports : 1, sizeof(*inst->srcs));
	if (!inst->srcs)
		return eu_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < inst->n_exports; i++) {
		const struct eu_export *exp = eu_consumer_export(inst->cons, i);
		bool sample = eu_export_kind(exp) == EU_EXPORT_SAMPLE;
		/* the plans are the program's; the source takes its own references */
		struct eu_record_source t = {
			.kind = sample ? EU_RECORD_SAMPLE : EU_RECORD_EVENT,
			.package = inst->pkg->name ? inst->pkg->name : "",
			.version = inst->version,
			.host = d->host,
			.plan = (struct eu_plan *)eu_export_plan(exp),
			.key_plan = sample ? (struct eu_plan *)eu_export_key_plan(exp) : NULL,
			.key_scalar = sample && eu_export_key_scalar(exp),
			.value_scalar = sample && eu_export_value_scalar(exp),
			.ts_field = -1,
		};
		if (!t.plan)
			continue;
		t.event = sample ? eu_export_map_name(exp) : eu_plan_name(t.plan);
		if (!sample)
			t.ts_field = eu_record_time_field(t.plan);
		if (eu_export_stacks(exp))
			t.stacks = *eu_export_stacks(exp);
		const struct eu_map_meta *mm = sample ? eu_export_meta(exp) : NULL;
		if (mm) {
			/* what a readable sink needs to print a histogram as one */
			t.hist = mm->sample.type == EU_SAMPLE_LOG2_HIST	  ? EU_RECORD_HIST_LOG2
				 : mm->sample.type == EU_SAMPLE_LINEAR_HIST ? EU_RECORD_HIST_LINEAR
									    : EU_RECORD_HIST_NONE;
			snprintf(t.unit, sizeof(t.unit), "%s", mm->sample.unit ? mm->sample.unit : "");
		}
		if (eu_record_source_new(&t, &inst->srcs[i]))
			return eu_error_set(err, -ENOMEM, "out of memory");
	}
	if ((ret = daemon_metrics_inst(d->metrics, inst->start_stem, inst->pkg->name, inst->cons,
				       &inst->metrics, err)))
		return ret;
	return eu_consumer_start(inst->cons, err);
}

int daemon_start_instance(struct eu_daemon *d, struct pkg_inst *inst, char **names, char **values,
			  size_t n, eu_error *err)
{
	struct param_list p = {.names = names, .values = values, .n = n};
	return inst_start(d, inst, &p, err);
}

static void retire_work(uv_work_t *w)
{
	struct pkg_inst *inst = w->data;
	/* detaching a perf-event tracepoint link takes tens of ms: never on the loop */
	eu_program_close(inst->prog);
	inst->prog = NULL;
}

static void retire_done(uv_work_t *w, int status)
{
	struct pkg_inst *inst = w->data;
	inst->d->retiring--;
	daemon_inst_free(inst);
}

static void on_consumer_closed(void *arg)
{
	struct pkg_inst *inst = arg;
	inst->cons = NULL;
	inst->work.data = inst;
	if (uv_queue_work(&inst->d->loop, &inst->work, retire_work, retire_done)) {
		inst->d->retiring--;
		daemon_inst_free(inst);
	}
}

void daemon_retire(struct eu_daemon *d, struct pkg_inst *inst)
{
	if (!inst)
		return;
	inst->slot = NULL;
	d->retiring++;
	if (inst->wasm) {
		daemon_wasm_retire(inst->wasm);
		return;
	}
	if (inst->cons) {
		/* what the old version already produced is delivered, not lost */
		eu_consumer_stop(inst->cons);
		eu_consumer_drain(inst->cons);
		daemon_router_flush(&d->router);
		eu_consumer_close(inst->cons, on_consumer_closed, inst);
	} else {
		on_consumer_closed(inst);
	}
}

/* --- Wasm modules: their lines are records of the instance --- */

static void module_record(void *ctx, struct eu_record_source *src, uint64_t time_ns,
			  const void *data, size_t size)
{
	struct pkg_inst *inst = ctx;
	daemon_router_open(&inst->d->router);
	daemon_add_record(inst, src, time_ns, NULL, 0, data, size);
}

static void module_drained(void *ctx)
{
	struct pkg_inst *inst = ctx;
	daemon_router_drained(&inst->d->router);
}

static void module_closed(void *ctx)
{
	struct pkg_inst *inst = ctx;
	inst->wasm = NULL;
	inst->d->retiring--;
	daemon_inst_free(inst);
}

static const struct daemon_wasm_ops module_ops = {
	.record = module_record,
	.drained = module_drained,
	.closed = module_closed,
};

int daemon_module_start(struct eu_daemon *d, struct pkg_inst *inst, const void *bytes,
			size_t size, const char *const *args, size_t n_args, eu_error *err)
{
	struct daemon_wasm_start s = {
		.pkg = inst->pkg, .version = inst->version, .host = d->host,
		.bytes = bytes, .size = size, .args = args, .n_args = n_args,
		.ops = &module_ops, .ctx = inst,
	};
	return daemon_wasm_start(&d->loop, &s, &inst->wasm, err);
}

/* --- slots --- */

static struct pkg_slot *slot_find(struct eu_daemon *d, const char *path)
{
	for (struct pkg_slot *s = d->slots; s; s = s->next)
		if (!strcmp(s->path, path))
			return s;
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* A package loaded through the API under this name, which a new watched file must not shadow
 * (the API and `ctl` find packages by name). */
static struct pkg_slot *api_slot_named(struct eu_daemon *d, const char *name)
{
	for (struct pkg_slot *s = d->slots; s; s = s->next)
		if (!s->dir && ((s->name && !strcmp(s->name, name)) || !strcmp(s->stem, name)))
			return s;
	return NULL;
}

/* The slot of path, made when new; its stem from the file name unless given (an inline
 * package is known by its program's name). */
static struct pkg_slot *slot_get(struct watch_dir *wd, const char *path, const char *name)
{
	struct eu_daemon *d = wd->d;
	struct pkg_slot *s = slot_find(d, path);
	if (s)
		return s;
	char stem[256];
	if (name)
		snprintf(stem, sizeof(stem), "%s", name);
	else if (!eu_watch_name_stem(base_name(path), stem, sizeof(stem)))
		snprintf(stem, sizeof(stem), "%s", base_name(path));
	if (api_slot_named(d, stem)) {
		/* offered again when an API package goes (eu_daemon_unload) */
		d->name_clash = true;
		eu_log(EU_LOG_ERROR, "%s: not loaded: a package loaded through the API is named "
		       "'%s'; unload it or rename the file", path, stem);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)) || !(s->stem = strdup(stem))) {
		if (s)
			free(s->path);
		free(s);
		return NULL;
	}
	s->d = d;
	s->dir = wd;
	s->next = d->slots;
	d->slots = s;
	return s;
}

void daemon_slot_free(struct eu_daemon *d, struct pkg_slot *slot)
{
	for (struct pkg_slot **pp = &d->slots; *pp; pp = &(*pp)->next) {
		if (*pp == slot) {
			*pp = slot->next;
			break;
		}
	}
	daemon_ctl_slot_free(d, slot);
	daemon_retire(d, slot->cur);
	free(slot->path);
	free(slot->stem);
	free(slot->reason);
	free(slot->name);
	free(slot);
}

static void slot_fail(struct pkg_slot *slot, const char *msg)
{
	free(slot->reason);
	slot->reason = strdup(msg);
	/* reader errors already start with the path */
	size_t n = strlen(slot->path);
	bool named = !strncmp(msg, slot->path, n) && msg[n] == ':';
	if (slot->cur)
		eu_log(EU_LOG_ERROR, "%s%s%s (version %s keeps running)", named ? "" : slot->path,
		       named ? "" : ": ", msg, slot->cur->version);
	else
		eu_log(EU_LOG_ERROR, "%s%s%s", named ? "" : slot->path, named ? "" : ": ", msg);
}

/* What the slot's file holds could not be read or started (why). Before the file has settled
 * it is most likely still being copied: quiet, -EAGAIN (the watcher retries); once settled,
 * the slot fails with the reason, 0. */
static int slot_not_ready(struct pkg_slot *slot, const char *why, bool settled)
{
	if (settled) {
		slot_fail(slot, why);
		return 0;
	}
	eu_log(EU_LOG_DEBUG, "%s: not ready yet (%s): retrying", slot->path, why);
	if (!slot->cur) {
		free(slot->reason);
		slot->reason = strdup("waiting for the file to be complete");
	}
	return -EAGAIN;
}

void daemon_rescan_watched(struct eu_daemon *d)
{
	for (struct watch_dir *wd = d->dirs; wd; wd = wd->next)
		eu_watcher_rescan(wd->w, true);
}

static bool is_module_path(const char *path)
{
	size_t n = strlen(path);
	return n > 5 && !strcmp(path + n - 5, ".wasm");
}

/* A module's arguments (after argv[0]): NAME.params.json beside it holding a JSON array of
 * strings (read with the package's checks), as "a\nb\n" lines in *key (the version identity
 * beside the content). Variables cannot reach a module: a params object or the config's
 * packages.NAME.params are refused rather than ignored. */
static int module_args(struct eu_daemon *d, struct pkg_slot *slot, struct param_list *args,
		       char **key, eu_error *err)
{
	*key = NULL;
	const struct eu_config_package *cp = eu_config_find_package(&d->cfg, slot->stem, NULL);
	if (cp && cp->n_params)
		return eu_error_set(err, -EINVAL, "parameter '%s' (config packages.%s.params): a "
				    "Wasm module takes arguments, not parameters: write them to "
				    "%s.params.json as a JSON array of strings", cp->params[0].name,
				    slot->stem, slot->stem);
	char *side = NULL;
	const char *slash = strrchr(slot->path, '/');
	int dlen = slash ? (int)(slash - slot->path) : 1;
	if (asprintf(&side, "%.*s/%s.params.json", dlen, slash ? slot->path : ".", slot->stem) < 0)
		return eu_error_set(err, -ENOMEM, "out of memory");
	void *buf = NULL;
	size_t n = 0;
	int ret = daemon_ctl_read_companion(d, side, 65536, &buf, &n, err);
	cJSON *root = ret ? NULL : cJSON_ParseWithLength(buf, n);
	free(buf);
	if (!ret && !cJSON_IsArray(root) && !(cJSON_IsObject(root) && !root->child))
		ret = eu_error_set(err, -EINVAL, "%s: a Wasm module takes its arguments as a JSON "
				   "array of strings (got %s)", side,
				   !root ? "invalid JSON" : cJSON_IsObject(root) ? "parameters"
										: "another value");
	const cJSON *it;
	const cJSON *list = !ret && cJSON_IsArray(root) ? root : NULL;
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsString(it)) {
			ret = eu_error_set(err, -EINVAL, "%s: argument %zu is not a string", side,
					   args->n + 1);
			break;
		}
		if ((ret = params_add_arg(args, it->valuestring)))
			break;
	}
	cJSON_Delete(root);
	free(side);
	if (ret == -ENOENT)
		ret = 0;
	if (ret)
		return ret;
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "");
	for (size_t i = 0; i < args->n; i++)
		eu_buf_printf(&b, "%s\n", args->names[i]);
	if (b.oom) {
		eu_buf_free(&b);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	*key = b.data;
	return 0;
}

/* A .wasm file: read with the packages' checks, then started on its own thread. The new
 * version runs before the old one is stopped, as for packages; an ended module stays ended
 * until its content or arguments change. */
static int module_changed(struct eu_daemon *d, struct pkg_slot *slot, bool settled)
{
	const char *path = slot->path;
	eu_error err = {0};
	void *data = NULL;
	size_t size = 0;
	struct param_list args = {0};
	char *key = NULL;
	int ret = daemon_ctl_read_module(d, path, &data, &size, &err);
	if (!ret && !eu_wasm_is_module(data, size))
		ret = eu_error_set(&err, -EBADMSG, "%s: not a WebAssembly module (no \\0asm magic)",
				   path);
	if (!ret)
		ret = module_args(d, slot, &args, &key, &err);
	struct pkg_inst *inst = NULL;
	struct eu_package *id = ret ? NULL : daemon_wasm_identity(slot->stem, path, data, size);
	if (!ret && !id)
		ret = eu_error_set(&err, -ENOMEM, "out of memory");
	if (!ret && slot->cur && !memcmp(slot->cur->pkg->sha256, id->sha256, 32) &&
	    !strcmp(slot->cur->params_key, key)) {
		/* the same module: running, or ended and not to be restarted in a loop */
		eu_package_free(id);
		free(data);
		free(key);
		params_free(&args);
		free(slot->reason);
		slot->reason = NULL;
		return 0;
	}
	if (!ret && !(inst = calloc(1, sizeof(*inst))))
		ret = eu_error_set(&err, -ENOMEM, "out of memory");
	if (!ret) {
		inst->d = d;
		inst->pkg = id;
		inst->params_key = key;
		id = NULL;
		key = NULL;
		eu_record_version(inst->pkg->sha256, inst->version);
		ret = daemon_module_start(d, inst, data, size, (const char *const *)args.names,
					  args.n, &err);
	}
	free(data);
	free(key);
	params_free(&args);
	eu_package_free(id);
	if (ret) {
		if (inst && inst->wasm)
			daemon_retire(d, inst);
		else if (inst)
			daemon_inst_free(inst);
		return slot_not_ready(slot, err.msg, settled);
	}
	free(slot->name);
	slot->name = strdup(slot->stem);
	inst->slot = slot;
	struct pkg_inst *old = slot->cur;
	slot->cur = inst;
	free(slot->reason);
	slot->reason = NULL;
	if (old)
		eu_log(EU_LOG_INFO, "%s (%s): Wasm module version %s started; stopping version %s",
		       slot->stem, path, inst->version, old->version);
	else
		eu_log(EU_LOG_INFO, "%s (%s): Wasm module version %s started", slot->stem, path,
		       inst->version);
	daemon_retire(d, old);
	return 0;
}

static int package_changed(struct eu_daemon *d, struct pkg_slot *slot, struct eu_package *pkg,
			   int ret, eu_error *errp, bool settled, const struct timespec *t0);

static int on_file_changed(void *ctx, const char *path, bool settled)
{
	struct watch_dir *wd = ctx;
	struct eu_daemon *d = wd->d;
	if (d->stopping)
		return 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct pkg_slot *slot = slot_get(wd, path, NULL);
	if (!slot)
		return 0;
	if (is_module_path(path))
		return module_changed(d, slot, settled);
	eu_error err = {0};
	struct eu_package *pkg = NULL;
	int ret = daemon_ctl_read_package(d, path, &pkg, &err);
	return package_changed(d, slot, pkg, ret, &err, settled, &t0);
}

int daemon_offer_inline(struct watch_dir *wd, const char *origin, const char *name,
			const void *data, size_t len)
{
	struct eu_daemon *d = wd->d;
	if (d->stopping)
		return 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct pkg_slot *slot = slot_get(wd, origin, name);
	if (!slot)
		return 0;
	eu_error err = {0};
	struct eu_package *pkg = NULL;
	int ret = daemon_ctl_parse_inline(d, origin, data, len, &pkg, &err);
	return package_changed(d, slot, pkg, ret, &err, true, &t0);
}

/* A package read (ret 0) or not (ret < 0, *errp says why) for the slot: started with its
 * parameters and rules when new or changed, the old version retired. */
static int package_changed(struct eu_daemon *d, struct pkg_slot *slot, struct eu_package *pkg,
			   int ret, eu_error *errp, bool settled, const struct timespec *t0)
{
	const char *path = slot->path;
	eu_error err = *errp;
	struct param_list params = {0};
	if (!ret && pkg->format == EU_PKG_META_ONLY)
		ret = eu_error_set(&err, -ENOENT, "%s: no BPF object in the package%s", path,
				   strstr(path, ".skel.json") ? " (its .bpf.o is missing)" : "");
	if (!ret)
		ret = collect_params(d, slot, pkg, &params, &err);
	if (ret) {
		eu_package_free(pkg);
		params_free(&params);
		return slot_not_ready(slot, err.msg, settled);
	}
	char version[13];
	eu_record_version(pkg->sha256, version);
	char *key = params_key(&params);
	/* a changed sampling frequency (SIGHUP) reloads the package like changed parameters */
	const struct eu_config_package *cp = eu_config_find_package(&d->cfg, slot->stem, pkg->name);
	if (key && cp && cp->sample_freq) {
		char *with = NULL;
		if (asprintf(&with, "%ssample_freq=%u\n", key, cp->sample_freq) < 0)
			with = NULL;
		free(key);
		key = with;
	}
	/* and so do changed map sizes, attach targets and perf events */
	for (size_t i = 0; key && cp && i < cp->n_map_sizes; i++) {
		char *with = NULL;
		if (asprintf(&with, "%smap_size %s=%u\n", key, cp->map_sizes[i].map,
			     cp->map_sizes[i].max_entries) < 0)
			with = NULL;
		free(key);
		key = with;
	}
	for (size_t i = 0; key && cp && i < cp->n_attach; i++) {
		char *with = NULL;
		if (asprintf(&with, "%sattach %s\n", key, cp->attach[i]) < 0)
			with = NULL;
		free(key);
		key = with;
	}
	for (size_t i = 0; key && cp && i < cp->n_perf_events; i++) {
		char *with = NULL;
		if (asprintf(&with, "%sperf_event %s\n", key, cp->perf_events[i]) < 0)
			with = NULL;
		free(key);
		key = with;
	}
	/* changed metric rules (SIGHUP) reload the package like changed parameters */
	key = daemon_metrics_key(d->metrics, slot->stem, pkg->name, key);
	if (slot->cur && !memcmp(slot->cur->pkg->sha256, pkg->sha256, 32) && key &&
	    !strcmp(key, slot->cur->params_key)) {
		/* same content (touched, or the config was reloaded without a change) */
		free(slot->reason);
		slot->reason = NULL;
		free(key);
		eu_package_free(pkg);
		params_free(&params);
		return 0;
	}
	free(slot->name);
	slot->name = pkg->name ? strdup(pkg->name) : NULL;
	struct pkg_inst *inst = calloc(1, sizeof(*inst));
	if (!inst || !key) {
		free(inst);
		free(key);
		eu_package_free(pkg);
		params_free(&params);
		slot_fail(slot, "out of memory");
		return 0;
	}
	inst->d = d;
	inst->pkg = pkg;
	inst->params_key = key;
	memcpy(inst->version, version, sizeof(version));
	inst->start_stem = slot->stem;
	ret = inst_start(d, inst, &params, &err);
	inst->start_stem = NULL;
	params_free(&params);
	/* libbpf parses the kernel's BTF (megabytes) for every load and frees it afterwards;
	 * give that back to the system instead of letting the heap keep it */
	malloc_trim(0);
	if (ret) {
		if (inst->cons) {
			/* closes asynchronously; the program goes with it off the loop */
			d->retiring++;
			eu_consumer_close(inst->cons, on_consumer_closed, inst);
		} else {
			d->retiring++;
			on_consumer_closed(inst);
		}
		char msg[EU_ERROR_MSG_MAX + 64];
		snprintf(msg, sizeof(msg), "version %s: %s", version, err.msg);
		slot_fail(slot, msg);
		return 0;
	}
	inst->slot = slot;
	struct pkg_inst *old = slot->cur;
	slot->cur = inst;
	free(slot->reason);
	slot->reason = NULL;
	size_t n = eu_program_attached_count(inst->prog);
	if (old)
		eu_log(EU_LOG_INFO,
		       "%s (%s): version %s: %zu program%s attached in %.1f ms; detaching version %s",
		       pkg->name, path, version, n, n == 1 ? "" : "s", ms_since(t0), old->version);
	else
		eu_log(EU_LOG_INFO, "%s (%s): version %s: %zu program%s attached in %.1f ms",
		       pkg->name, path, version, n, n == 1 ? "" : "s", ms_since(t0));
	daemon_retire(d, old);
	return 0;
}

static void on_file_removed(void *ctx, const char *path)
{
	struct watch_dir *wd = ctx;
	struct eu_daemon *d = wd->d;
	struct pkg_slot *slot = slot_find(d, path);
	if (!slot)
		return;
	if (slot->cur)
		eu_log(EU_LOG_INFO, "%s (%s): removed: detaching version %s",
		       slot->name ? slot->name : slot->stem, path, slot->cur->version);
	else
		eu_log(EU_LOG_INFO, "%s: removed", path);
	daemon_slot_free(d, slot);
}

const struct eu_watcher_ops eu_daemon_watch_ops = {
	.file_changed = on_file_changed,
	.file_removed = on_file_removed,
};

void daemon_load_exporter_packages(struct eu_daemon *d)
{
	size_t n;
	const struct eu_exporter_program *progs = daemon_metrics_packages(d->metrics, &n);
	for (size_t i = 0; i < n; i++) {
		const struct eu_exporter_program *p = &progs[i];
		if (p->path)
			on_file_changed(&d->static_dir, p->path, true);
		else
			daemon_offer_inline(&d->static_dir, p->origin, p->name, p->inline_pkg,
					    p->inline_len);
	}
}

void daemon_pkg_info(struct pkg_slot *slot, struct eu_daemon_pkg_info *out)
{
	memset(out, 0, sizeof(*out));
	out->path = slot->path;
	out->name = slot->name ? slot->name : base_name(slot->path);
	out->reason = slot->reason;
	struct pkg_inst *inst = slot->cur;
	out->state = inst ? EU_PKG_STATE_LOADED : EU_PKG_STATE_FAILED;
	daemon_ctl_info(slot, out);
	if (!inst)
		return;
	memcpy(out->version, inst->version, sizeof(out->version));
	out->records = inst->records;
	if (inst->wasm) {
		daemon_wasm_info(inst->wasm, out);
		return;
	}
	memcpy(out->version, inst->version, sizeof(out->version));
	out->attached = eu_program_attached_count(inst->prog);
	out->records = inst->records;
	out->format_errors = inst->format_errors;
	for (size_t i = 0; i < inst->n_exports; i++) {
		struct eu_export_stats st;
		eu_export_get_stats(eu_consumer_export(inst->cons, i), &st);
		out->received += st.received;
		out->decoded += st.decoded;
		out->lost += st.lost + st.reserve_failures;
		out->decode_errors += st.decode_errors;
	}
}
