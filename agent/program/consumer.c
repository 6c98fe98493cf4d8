#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_priv.h"
#include "symbols/symbols.h"
#include "eunomia/decoder.h"
#include "eunomia/hist.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/program.h"
#include "package/export_pick.h"

/* The map a plugin's BPF side counts failed ring buffer reserves in (per-CPU array of u64,
 * every slot summed). */
#define RB_DROPS_MAP "eu_rb_drops"

/* ---- accessors ------------------------------------------------------------------------ */

const char *eu_export_map_name(const struct eu_export *exp)
{
	return exp->map_name;
}

enum eu_export_kind eu_export_kind(const struct eu_export *exp)
{
	return exp->kind;
}

const struct eu_plan *eu_export_plan(const struct eu_export *exp)
{
	return exp->plan;
}

const struct eu_plan *eu_export_key_plan(const struct eu_export *exp)
{
	return exp->key_plan;
}

bool eu_export_key_scalar(const struct eu_export *exp)
{
	return exp->key_scalar;
}

bool eu_export_value_scalar(const struct eu_export *exp)
{
	return exp->value_scalar;
}

const struct eu_map_meta *eu_export_meta(const struct eu_export *exp)
{
	return exp->meta;
}

size_t eu_consumer_export_count(const struct eu_consumer *c)
{
	return c->n_exports;
}

const char *eu_consumer_silence(const struct eu_consumer *c)
{
	return c->n_exports ? NULL : c->silence;
}

bool eu_consumer_uses_printk(const struct eu_consumer *c)
{
	return c->scan.printk;
}

/* Why a consumer with no export prints nothing, naming what the package has and what to do. */
static int explain_silence(struct eu_consumer *c, const struct eu_package *pkg,
			   struct bpf_object *obj)
{
	struct bpf_map *map, *out = NULL;
	eu_buf maps;
	eu_buf_init(&maps);
	bpf_object__for_each_map(map, obj) {
		enum bpf_map_type t = bpf_map__type(map);
		if ((t == BPF_MAP_TYPE_RINGBUF || t == BPF_MAP_TYPE_PERF_EVENT_ARRAY) && !out)
			out = map;
		if (bpf_map__is_internal(map) || t == BPF_MAP_TYPE_RINGBUF ||
		    t == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			continue;
		eu_buf_printf(&maps, "%s%s", maps.len ? ", " : "", bpf_map__name(map));
	}
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_printf(&b, "%s: nothing will be printed: ", eu_program_name(c->prog));
	if (pkg->multiple_export) {
		eu_buf_puts(&b, "enable_multiple_export_types is set but no map has an export_config "
				"that exports it: give the ring buffer or map an @export_config");
	} else if (out) {
		eu_buf_printf(&b, "the programs send records through %s, but the package names no "
			      "struct for them: give ecc the header that declares the event struct "
			      "(ecc x.bpf.c x.h), or declare one in the source "
			      "(`struct event *unused_event __attribute__((unused));`)",
			      bpf_map__name(out));
	} else if (maps.len) {
		eu_buf_printf(&b, "there is no ring buffer or perf event array, and no map the "
			      "programs fill (%s) was recognised as a result: annotate the map to "
			      "print with `/// @sample {\"interval\": 1000, \"type\": \"default_kv\"}`",
			      maps.data);
	} else {
		eu_buf_puts(&b, "there is no ring buffer, perf event array or map to read, no "
				"global variable the programs write (.bss/.data), and the programs "
				"do not call bpf_printk");
	}
	eu_buf_free(&maps);
	if (b.oom) {
		eu_buf_free(&b);
		return -ENOMEM;
	}
	c->silence = b.data;
	return 0;
}

const struct eu_export *eu_consumer_export(const struct eu_consumer *c, size_t i)
{
	return i < c->n_exports ? &c->exports[i] : NULL;
}

static uint64_t read_drops(struct bpf_map *map)
{
	int ncpus = libbpf_num_possible_cpus();
	uint32_t vsize = bpf_map__value_size(map);
	if (ncpus <= 0 || (vsize != 8 && vsize != 4))
		return 0;
	size_t stride = (vsize + 7) & ~7u;
	uint8_t *buf = calloc((size_t)ncpus, stride);
	if (!buf)
		return 0;
	uint64_t total = 0;
	uint32_t max = bpf_map__max_entries(map);
	for (uint32_t key = 0; key < max && key < 1024; key++) {
		if (bpf_map_lookup_elem(bpf_map__fd(map), &key, buf))
			break;
		for (int cpu = 0; cpu < ncpus; cpu++) {
			if (vsize == 8) {
				uint64_t v;
				memcpy(&v, buf + (size_t)cpu * stride, 8);
				total += v;
			} else {
				uint32_t v;
				memcpy(&v, buf + (size_t)cpu * stride, 4);
				total += v;
			}
		}
	}
	free(buf);
	return total;
}

void eu_export_get_stats(const struct eu_export *exp, struct eu_export_stats *out)
{
	*out = exp->stats;
	if (exp->drops_map)
		out->reserve_failures = read_drops(exp->drops_map);
}

/* ---- delivery ------------------------------------------------------------------------- */

static const char *cons_name(const struct eu_export *exp)
{
	return eu_program_name(exp->owner->prog);
}

/* Rule 5 of export_pick.h: the first record's size decides among the candidates. */
static void choose_by_record(struct eu_export *exp, size_t size)
{
	bool perf = exp->kind == EU_EXPORT_PERF;
	size_t fit = exp->n_cands, n_fit = 0;
	for (size_t i = 0; i < exp->n_cands; i++) {
		const struct eu_plan *p = exp->cands[i];
		if (p && eu_export_size_fits(size, eu_plan_size(p), eu_plan_min_size(p), perf)) {
			n_fit++;
			if (fit == exp->n_cands || eu_plan_size(p) == size)
				fit = i;
		}
	}
	if (fit == exp->n_cands) {
		for (fit = 0; fit < exp->n_cands && !exp->cands[fit]; fit++)
			;
		if (fit == exp->n_cands)
			return;
		eu_log(EU_LOG_WARN, "%s: map %s: the first record (%zu bytes) matches no exported "
		       "struct; decoding as struct %s (%zu bytes): choose one with --export-type NAME",
		       cons_name(exp), exp->map_name, size, eu_plan_name(exp->cands[fit]),
		       eu_plan_size(exp->cands[fit]));
	} else {
		eu_log(n_fit > 1 ? EU_LOG_WARN : EU_LOG_DEBUG,
		       "%s: map %s: exported struct %s: the first record's size (%zu bytes) "
		       "matches it%s", cons_name(exp), exp->map_name, eu_plan_name(exp->cands[fit]),
		       size, n_fit > 1 ? " and others: choose with --export-type NAME" : "");
	}
	exp->plan = exp->cands[fit];
	exp->cands[fit] = NULL;
	exp->min_size = eu_plan_min_size(exp->plan);
	for (size_t i = 0; i < exp->n_cands; i++)
		eu_plan_free(exp->cands[i]);
	free(exp->cands);
	exp->cands = NULL;
	exp->n_cands = 0;
}

/* A record whose size fits no layout of the struct: counted, and reported once, with the
 * sizes, at the default level (a wrong struct would otherwise print garbage quietly). */
static void wrong_size(struct eu_export *exp, size_t size)
{
	exp->stats.wrong_size++;
	if (exp->warned_size)
		return;
	exp->warned_size = true;
	size_t ps = eu_plan_size(exp->plan), ms = eu_plan_min_size(exp->plan);
	char range[96] = "";
	if (ms < ps)
		snprintf(range, sizeof(range), ", or %zu..%zu with its trailing array cut", ms, ps);
	eu_log(EU_LOG_WARN, "%s: map %s: a record of %zu bytes does not fit struct %s (%zu bytes%s): "
	       "%s (counted; reported once). The exported struct may be the wrong one: see run -v, "
	       "or choose it with --export-type NAME", cons_name(exp), exp->map_name, size,
	       eu_plan_name(exp->plan), ps, range,
	       size < ms ? "not decoded" : "decoded up to the struct's size");
}

static void deliver(struct eu_export *exp, const void *data, size_t size)
{
	exp->stats.received++;
	if (!exp->plan && exp->n_cands)
		choose_by_record(exp, size);
	if (!exp->plan) {
		exp->stats.decode_errors++;
		return;
	}
	if (!eu_export_size_fits(size, eu_plan_size(exp->plan), exp->min_size,
				 exp->kind == EU_EXPORT_PERF)) {
		wrong_size(exp, size);
		if (size < exp->min_size) {
			exp->stats.decode_errors++;
			return;
		}
	}
	exp->stats.decoded++;
	struct eu_consumer *c = exp->owner;
	if (c->opts.on_event)
		c->opts.on_event(c->opts.ctx, exp, data, size);
}

static void batch_done(struct eu_export *exp)
{
	struct eu_consumer *c = exp->owner;
	exp->stats.drains++;
	if (c->opts.on_batch)
		c->opts.on_batch(c->opts.ctx, exp);
}

/* ---- ring buffers: paced draining ----------------------------------------------------- */

static int ring_record(void *ctx, void *data, size_t size)
{
	deliver(ctx, data, size);
	return 0;
}

static int ring_drain(struct eu_export *exp)
{
	int n = ring_buffer__consume(exp->rb);
	if (n < 0)
		eu_log(EU_LOG_WARN, "ring buffer %s: %s", exp->map_name, strerror(-n));
	if (n > 0)
		batch_done(exp);
	return n;
}

static void ring_on_poll(uv_poll_t *h, int status, int events);

/* A callback of the batch (on_batch, on_event) may have stopped or closed the consumer: its
 * handles must then be left alone (libuv asserts on restarting a closing poll). */
static bool still_running(const struct eu_export *exp)
{
	return exp->owner->started;
}

static void ring_on_pace(uv_timer_t *t)
{
	struct eu_export *exp = t->data;
	if (ring_drain(exp) > 0 && still_running(exp)) {
		uv_timer_start(&exp->timer, ring_on_pace, exp->owner->opts.ring_pace_ms, 0);
		return;
	}
	/* empty: the ring has caught up; wait for the kernel's next wakeup */
	if (still_running(exp) && !exp->polling) {
		uv_poll_start(&exp->poll, UV_READABLE, ring_on_poll);
		exp->polling = true;
	}
}

static void ring_on_poll(uv_poll_t *h, int status, int events)
{
	struct eu_export *exp = h->data;
	if (status < 0) {
		eu_log(EU_LOG_WARN, "ring buffer %s: poll: %s", exp->map_name, uv_strerror(status));
		return;
	}
	if (ring_drain(exp) > 0 && still_running(exp)) {
		/* a batch: stop watching and come back shortly rather than on every commit */
		uv_poll_stop(&exp->poll);
		exp->polling = false;
		uv_timer_start(&exp->timer, ring_on_pace, exp->owner->opts.ring_pace_ms, 0);
	}
}

/* ---- perf buffers: watermark + periodic drain ----------------------------------------- */

struct perf_sample_record {
	struct perf_event_header header;
	uint32_t size;
	char data[];
};

struct perf_lost_record {
	struct perf_event_header header;
	uint64_t id;
	uint64_t lost;
};

static enum bpf_perf_event_ret perf_record(void *ctx, int cpu, struct perf_event_header *ev)
{
	struct eu_export *exp = ctx;
	if (ev->type == PERF_RECORD_SAMPLE) {
		const struct perf_sample_record *s = (const void *)ev;
		deliver(exp, s->data, s->size);
	} else if (ev->type == PERF_RECORD_LOST) {
		const struct perf_lost_record *l = (const void *)ev;
		exp->stats.lost += l->lost;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

static void perf_drain(struct eu_export *exp)
{
	uint64_t before = exp->stats.received + exp->stats.lost;
	int ret = perf_buffer__consume(exp->pb);
	if (ret < 0)
		eu_log(EU_LOG_WARN, "perf buffer %s: %s", exp->map_name, strerror(-ret));
	if (exp->stats.received + exp->stats.lost != before)
		batch_done(exp);
}

static void perf_on_poll(uv_poll_t *h, int status, int events)
{
	if (status < 0)
		return;
	perf_drain(h->data);
}

static void perf_on_timer(uv_timer_t *t)
{
	perf_drain(t->data);
}

/* ---- setup ---------------------------------------------------------------------------- */

int consumer_plan_for_type(const struct btf *btf, uint32_t type_id, const char *wrapper,
			   struct eu_plan **plan, bool *scalar, eu_error *err)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	uint32_t id = type_id;
	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (t && btf_is_composite(t)) {
		*scalar = false;
		return eu_plan_new(btf, id, plan, err);
	}
	*scalar = true;
	struct eu_custom_member m = {.name = (char *)wrapper, .offset = 0, .btf_type_id = type_id};
	return eu_plan_new_custom(btf, wrapper, &m, 1, plan, err);
}

static struct eu_export *export_add(struct eu_consumer *c, struct bpf_map *map,
				    const struct eu_map_meta *meta, enum eu_export_kind kind,
				    eu_error *err)
{
	if (c->n_exports == c->cap_exports) {
		eu_error_set(err, -EINVAL, "map %s is exported twice", bpf_map__name(map));
		return NULL;
	}
	struct eu_export *exp = &c->exports[c->n_exports];
	memset(exp, 0, sizeof(*exp));
	exp->owner = c;
	exp->kind = kind;
	exp->map = map;
	exp->meta = meta;
	exp->hist_field = exp->base_field = exp->step_field = -1;
	exp->map_name = strdup(bpf_map__name(map));
	if (!exp->map_name) {
		eu_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	c->n_exports++;
	return exp;
}

static int export_type_plan(const struct eu_package *pkg, const struct btf *btf, size_t i,
			    struct eu_plan **plan, eu_error *err)
{
	const struct eu_export_type *et = &pkg->export_types[i];
	if (pkg->format == EU_PKG_LEGACY || (!et->type_id && et->n_members &&
					     et->members[0].has_offset))
		return eu_plan_new_legacy(et, plan, err);
	if (!btf)
		return eu_error_set(err, -ENOENT, "export type %s: the object has no BTF", et->name);
	return eu_plan_new(btf, et->type_id, plan, err);
}

static int event_plan_single(struct eu_consumer *c, const struct eu_package *pkg,
			     const struct btf *btf, struct eu_export *exp, eu_error *err)
{
	struct eu_export_pick pick;
	int ret = eu_export_pick(pkg, btf, &c->scan, exp->map_name, c->opts.export_type, &pick,
				 err);
	if (ret)
		return ret;
	const char *prog = eu_program_name(c->prog);
	if (pick.index >= 0) {
		const struct eu_export_type *et = &pkg->export_types[pick.index];
		if (pick.certain)
			eu_log(EU_LOG_DEBUG, "%s: map %s: exported struct %s: %s", prog, exp->map_name,
			       et->name, pick.why);
		else
			eu_log(EU_LOG_WARN, "%s: map %s: decoding records as struct %s, a guess: %s; "
			       "choose another with --export-type NAME", prog, exp->map_name, et->name,
			       pick.why);
		return export_type_plan(pkg, btf, (size_t)pick.index, &exp->plan, err);
	}
	eu_log(EU_LOG_DEBUG, "%s: map %s: %zu exported structs: %s", prog, exp->map_name,
	       pkg->n_export_types, pick.why);
	exp->cands = calloc(pkg->n_export_types, sizeof(*exp->cands));
	if (!exp->cands)
		return eu_error_set(err, -ENOMEM, "out of memory");
	exp->n_cands = pkg->n_export_types;
	for (size_t i = 0; i < exp->n_cands; i++)
		if ((ret = export_type_plan(pkg, btf, i, &exp->cands[i], err)))
			return ret;
	return 0;
}

static int setup_event_export(struct eu_export *exp, const struct eu_package *pkg,
			      uint32_t perf_wakeup, eu_error *err)
{
	int fd = bpf_map__fd(exp->map);
	exp->min_size = exp->plan ? eu_plan_min_size(exp->plan) : 0;
	if (exp->kind == EU_EXPORT_RINGBUF) {
		exp->rb = ring_buffer__new(fd, ring_record, exp, NULL);
		if (!exp->rb)
			return eu_error_set(err, -errno, "ring buffer %s: %s", exp->map_name,
					    strerror(errno));
		return 0;
	}
	size_t pages = pkg->perf_buffer_pages ? pkg->perf_buffer_pages : 64;
	size_t pow2 = 1;
	while (pow2 < pages && pow2 < (1u << 16))
		pow2 <<= 1;
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		.wakeup_events = perf_wakeup,
	};
	exp->pb = perf_buffer__new_raw(fd, pow2, &attr, perf_record, exp, NULL);
	if (!exp->pb)
		return eu_error_set(err, -errno, "perf buffer %s (%zu pages per CPU): %s",
				    exp->map_name, pow2, strerror(errno));
	exp->interval_ms = pkg->perf_buffer_time_ms < 10 ? 10 : pkg->perf_buffer_time_ms;
	return 0;
}

static int setup_sample_export(struct eu_export *exp, const struct btf *btf, eu_error *err)
{
	uint32_t kid = bpf_map__btf_key_type_id(exp->map);
	uint32_t vid = bpf_map__btf_value_type_id(exp->map);
	if (exp->meta && exp->meta->export_config.kind == EU_EXPORT_TYPE_ID)
		vid = exp->meta->export_config.btf_type_id;
	if (!btf || !kid || !vid)
		return eu_error_set(err, -ENOENT, "sampled map %s has no BTF key/value types",
				    exp->map_name);
	int ret = consumer_plan_for_type(btf, kid, "key", &exp->key_plan, &exp->key_scalar, err);
	if (!ret)
		ret = consumer_plan_for_type(btf, vid, "value", &exp->plan, &exp->value_scalar, err);
	if (ret)
		return eu_error_prefix(err, "sampled map %s", exp->map_name);
	return sampler_setup(exp, err);
}

const char *consumer_unit_from_names(const char *map, const struct eu_plan *value)
{
	size_t n = value ? eu_plan_field_count(value) : 0;
	for (size_t i = 0; i <= n; i++) {
		const char *unit = eu_hist_unit_from_name(i < n ? eu_plan_field(value, i)->name : map);
		if (unit)
			return unit;
	}
	return ""; /* none: the title stays blank and metrics get no unit suffix */
}

struct eu_export *consumer_auto_export(struct eu_consumer *c, struct bpf_map *map,
				       eu_error *err)
{
	struct eu_export *exp = export_add(c, map, NULL, EU_EXPORT_SAMPLE, err);
	if (!exp)
		return NULL;
	exp->auto_map = true;
	exp->own_meta = calloc(1, sizeof(*exp->own_meta));
	if (!exp->own_meta) {
		eu_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	exp->meta = exp->own_meta;
	exp->own_meta->sample.type = EU_SAMPLE_DEFAULT_KV;
	exp->own_meta->sample.interval_ms = c->opts.sample_interval_ms ? c->opts.sample_interval_ms
								       : 1000;
	return exp;
}

/* Maps whose results the programs leave for user space: filled (updated, or written through
 * a looked-up value) and never deleted from by the programs (those are their own state). */
static bool filled_map(const struct eu_consumer *c, struct bpf_map *map)
{
	switch (bpf_map__type(map)) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		break;
	default:
		return false;
	}
	if (bpf_map__is_internal(map) || !strcmp(bpf_map__name(map), RB_DROPS_MAP) ||
	    !bpf_map__btf_key_type_id(map) || !bpf_map__btf_value_type_id(map))
		return false;
	const struct eu_scan_map *u = eu_scan_find_map(&c->scan, bpf_map__name(map));
	return u && !u->deletes && !u->outputs && (u->updates || u->value_writes);
}

static int choose_filled_maps(struct eu_consumer *c, struct bpf_object *obj,
			      const struct btf *btf, eu_error *err)
{
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		if (!filled_map(c, map))
			continue;
		struct eu_export *exp = consumer_auto_export(c, map, err);
		if (!exp)
			return err ? err->code : -ENOMEM;
		struct eu_map_meta *m = exp->own_meta;
		int ret = setup_sample_export(exp, btf, err);
		if (ret)
			return ret;
		int slots = exp->value_scalar ? -1 : eu_plan_find_field(exp->plan, "slots");
		const struct eu_field_info *f = slots >= 0 ? eu_plan_field(exp->plan, (size_t)slots)
							   : NULL;
		if (f && f->kind == EU_FIELD_ARRAY && f->elems) {
			/* bcc's `struct hist { __u32 slots[N]; char comm[16]; }` */
			m->sample.type = EU_SAMPLE_LOG2_HIST;
			m->sample.unit = strdup(consumer_unit_from_names(exp->map_name, exp->plan));
			if (!m->sample.unit)
				return eu_error_set(err, -ENOMEM, "out of memory");
			sampler_free(exp);
			if ((ret = sampler_setup(exp, err)))
				return ret;
		}
		eu_log(EU_LOG_DEBUG, "%s: map %s: printed every %u ms and at exit as %s: the programs "
		       "fill it and never delete from it", eu_program_name(c->prog), exp->map_name,
		       m->sample.interval_ms, m->sample.type == EU_SAMPLE_LOG2_HIST
						      ? "log2 histograms per key" : "a key/value table");
	}
	return datasec_choose(c, obj, btf, err);
}

/* single-export packages: samples, else the first ring buffer, else the first perf array,
 * else the maps the programs fill */
static int choose_single(struct eu_consumer *c, const struct eu_package *pkg,
			 struct bpf_object *obj, const struct btf *btf, eu_error *err)
{
	struct bpf_map *map;
	int ret;
	bpf_object__for_each_map(map, obj) {
		const struct eu_map_meta *meta = eu_package_find_map(pkg, bpf_map__name(map));
		if (!meta || meta->sample.type == EU_SAMPLE_NONE)
			continue;
		struct eu_export *exp = export_add(c, map, meta, EU_EXPORT_SAMPLE, err);
		if (!exp)
			return err ? err->code : -ENOMEM;
		if ((ret = setup_sample_export(exp, btf, err)))
			return ret;
	}
	if (c->n_exports)
		return 0;
	struct bpf_map *ring = NULL, *perf = NULL;
	bpf_object__for_each_map(map, obj) {
		enum bpf_map_type t = bpf_map__type(map);
		if (t == BPF_MAP_TYPE_RINGBUF && !ring)
			ring = map;
		if (t == BPF_MAP_TYPE_PERF_EVENT_ARRAY && !perf)
			perf = map;
	}
	map = ring ? ring : perf;
	if (!map || !pkg->n_export_types)
		return choose_filled_maps(c, obj, btf, err);
	struct eu_export *exp = export_add(c, map, eu_package_find_map(pkg, bpf_map__name(map)),
					   ring ? EU_EXPORT_RINGBUF : EU_EXPORT_PERF, err);
	if (!exp)
		return err ? err->code : -ENOMEM;
	if ((ret = event_plan_single(c, pkg, btf, exp, err)))
		return eu_error_prefix(err, "map %s", exp->map_name);
	return c->opts.describe_only ? 0
				     : setup_event_export(exp, pkg, c->opts.perf_wakeup_events, err);
}

static int choose_multiple(struct eu_consumer *c, const struct eu_package *pkg,
			   struct bpf_object *obj, const struct btf *btf, eu_error *err)
{
	for (size_t i = 0; i < pkg->n_maps; i++) {
		const struct eu_map_meta *meta = &pkg->maps[i];
		enum eu_export_config kind = meta->export_config.kind;
		if (kind == EU_EXPORT_UNSET || kind == EU_EXPORT_NO)
			continue;
		struct bpf_map *map = bpf_object__find_map_by_name(obj, meta->name);
		if (!map)
			return eu_error_set(err, -ENOENT, "map %s (export_config) is not in the object",
					    meta->name);
		enum bpf_map_type t = bpf_map__type(map);
		int ret;
		if (meta->sample.type != EU_SAMPLE_NONE) {
			struct eu_export *exp = export_add(c, map, meta, EU_EXPORT_SAMPLE, err);
			if (!exp)
				return err ? err->code : -ENOMEM;
			if ((ret = setup_sample_export(exp, btf, err)))
				return ret;
			continue;
		}
		if (t != BPF_MAP_TYPE_RINGBUF && t != BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
			eu_log(EU_LOG_WARN, "map %s has an export_config but is neither a ring buffer, "
			       "a perf event array nor sampled: not exported", meta->name);
			continue;
		}
		if (!btf)
			return eu_error_set(err, -ENOENT, "map %s: the object has no BTF", meta->name);
		struct eu_export *exp = export_add(c, map, meta,
						   t == BPF_MAP_TYPE_RINGBUF ? EU_EXPORT_RINGBUF
									     : EU_EXPORT_PERF,
						   err);
		if (!exp)
			return err ? err->code : -ENOMEM;
		if (kind == EU_EXPORT_TYPE_ID) {
			ret = eu_plan_new(btf, meta->export_config.btf_type_id, &exp->plan, err);
		} else if (kind == EU_EXPORT_CUSTOM) {
			ret = eu_plan_new_custom(btf, meta->name, meta->export_config.members,
						 meta->export_config.n_members, &exp->plan, err);
		} else {
			uint32_t vid = bpf_map__btf_value_type_id(map);
			ret = vid ? eu_plan_new(btf, vid, &exp->plan, err)
				  : eu_error_set(err, -ENOENT,
						 "export_config \"default\" needs a BTF value type");
		}
		if (ret)
			return eu_error_prefix(err, "map %s", meta->name);
		if (!c->opts.describe_only &&
		    (ret = setup_event_export(exp, pkg, c->opts.perf_wakeup_events, err)))
			return ret;
	}
	return 0;
}

static void export_free_resources(struct eu_export *exp)
{
	ring_buffer__free(exp->rb);
	exp->rb = NULL;
	perf_buffer__free(exp->pb);
	exp->pb = NULL;
	sampler_free(exp);
	eu_stacks_free(exp->stacks);
	exp->stacks = NULL;
	exp->stacks_checked = false;
	if (exp->own_meta)
		free(exp->own_meta->sample.unit);
	free(exp->own_meta);
	exp->own_meta = NULL;
	for (size_t i = 0; i < exp->n_cands; i++)
		eu_plan_free(exp->cands[i]);
	free(exp->cands);
	exp->cands = NULL;
	exp->n_cands = 0;
	eu_plan_free(exp->plan);
	eu_plan_free(exp->key_plan);
	exp->plan = exp->key_plan = NULL;
	free(exp->map_name);
	exp->map_name = NULL;
}

static void consumer_free(struct eu_consumer *c)
{
	for (size_t i = 0; i < c->n_exports; i++)
		export_free_resources(&c->exports[i]);
	free(c->exports);
	eu_stack_syms_free(c->syms);
	eu_scan_free(&c->scan);
	free(c->silence);
	free(c);
}

/* What the programs hook, for the readings that need it (errno in return values, TCP
 * states): from every program's section, the ones left out as twins included. */
static unsigned program_hooks(struct bpf_object *obj)
{
	static const char *const returns[] = {"syscalls/sys_exit", "raw_syscalls/sys_exit",
					      "kretprobe/", "fexit/", "kretsyscall/", NULL};
	unsigned hooks = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) {
		const char *sec = bpf_program__section_name(p);
		if (!sec)
			continue;
		for (const char *const *r = returns; *r; r++)
			if (strstr(sec, *r))
				hooks |= EU_READ_RETURNS;
		if (strstr(sec, "tcp") || strstr(sec, "inet_sock_set_state"))
			hooks |= EU_READ_TCP;
	}
	return hooks;
}

static int read_for_people(struct eu_consumer *c, struct bpf_object *obj, eu_error *err)
{
	if (c->opts.raw_values)
		return 0;
	unsigned hooks = program_hooks(obj);
	for (size_t i = 0; i < c->n_exports; i++) {
		struct eu_export *exp = &c->exports[i];
		int ret = eu_plan_read_for_people(exp->plan, hooks);
		if (!ret)
			ret = eu_plan_read_for_people(exp->key_plan, hooks);
		for (size_t k = 0; !ret && k < exp->n_cands; k++)
			ret = eu_plan_read_for_people(exp->cands[k], hooks);
		if (ret)
			return eu_error_set(err, ret, "map %s: out of memory", exp->map_name);
	}
	return 0;
}

int eu_consumer_new(uv_loop_t *loop, struct eu_program *prog,
		    const struct eu_consumer_opts *opts, struct eu_consumer **out, eu_error *err)
{
	*out = NULL;
	struct eu_consumer *c = calloc(1, sizeof(*c));
	if (!c)
		return eu_error_set(err, -ENOMEM, "out of memory");
	if (opts)
		memcpy(&c->opts, opts, opts->sz < sizeof(c->opts) ? opts->sz : sizeof(c->opts));
	if (!c->opts.ring_pace_ms)
		c->opts.ring_pace_ms = 1;
	if (!c->opts.perf_wakeup_events)
		c->opts.perf_wakeup_events = 32;
	c->loop = loop;
	c->prog = prog;
	struct bpf_object *obj = eu_program_object(prog);
	const struct eu_package *pkg = eu_program_package(prog);
	const struct btf *btf = bpf_object__btf(obj);
	size_t n_maps = 0;
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
		n_maps++;
	c->cap_exports = n_maps + datasec_var_count(obj, btf);
	if (pkg->object) {
		eu_error serr;
		if (eu_scan_object(pkg->object, pkg->object_size, &c->scan, &serr))
			eu_log(EU_LOG_DEBUG, "%s: the programs' instructions were not scanned: %s",
			       eu_program_name(prog), serr.msg);
	}
	c->exports = calloc(c->cap_exports ? c->cap_exports : 1, sizeof(*c->exports));
	if (!c->exports) {
		free(c);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	int ret = pkg->multiple_export ? choose_multiple(c, pkg, obj, btf, err)
				       : choose_single(c, pkg, obj, btf, err);
	if (!ret)
		ret = read_for_people(c, obj, err);
	if (ret) {
		eu_error_prefix(err, "%s", eu_program_name(prog));
		consumer_free(c);
		return ret;
	}
	if (!c->n_exports && explain_silence(c, pkg, obj)) {
		consumer_free(c);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	struct bpf_map *drops = bpf_object__find_map_by_name(obj, RB_DROPS_MAP);
	for (size_t i = 0; drops && i < c->n_exports; i++) {
		if (c->exports[i].kind == EU_EXPORT_RINGBUF) {
			c->exports[i].drops_map = drops;
			break;
		}
	}
	*out = c;
	return 0;
}

static int handle_init(struct eu_consumer *c, struct eu_export *exp, int fd, eu_error *err)
{
	int ret;
	if (!exp->timer_init) {
		if ((ret = uv_timer_init(c->loop, &exp->timer)))
			return eu_error_set(err, ret, "%s: timer: %s", exp->map_name, uv_strerror(ret));
		exp->timer.data = exp;
		exp->timer_init = true;
	}
	if (fd >= 0 && !exp->poll_init) {
		if ((ret = uv_poll_init(c->loop, &exp->poll, fd)))
			return eu_error_set(err, ret, "%s: poll: %s", exp->map_name, uv_strerror(ret));
		exp->poll.data = exp;
		exp->poll_init = true;
	}
	return 0;
}

int eu_consumer_start(struct eu_consumer *c, eu_error *err)
{
	if (c->started)
		return 0;
	c->started = true;
	for (size_t i = 0; i < c->n_exports; i++) {
		struct eu_export *exp = &c->exports[i];
		int ret;
		switch (exp->kind) {
		case EU_EXPORT_RINGBUF:
			if ((ret = handle_init(c, exp, ring_buffer__epoll_fd(exp->rb), err)))
				return ret;
			/* drain what arrived since attach, then wait */
			uv_timer_start(&exp->timer, ring_on_pace, 0, 0);
			break;
		case EU_EXPORT_PERF:
			if ((ret = handle_init(c, exp, perf_buffer__epoll_fd(exp->pb), err)))
				return ret;
			uv_poll_start(&exp->poll, UV_READABLE, perf_on_poll);
			exp->polling = true;
			uv_timer_start(&exp->timer, perf_on_timer, exp->interval_ms, exp->interval_ms);
			break;
		case EU_EXPORT_SAMPLE:
			if ((ret = handle_init(c, exp, -1, err)))
				return ret;
			sampler_start(exp);
			break;
		}
	}
	return 0;
}

void eu_consumer_stop(struct eu_consumer *c)
{
	c->started = false;
	for (size_t i = 0; i < c->n_exports; i++) {
		struct eu_export *exp = &c->exports[i];
		if (exp->poll_init && exp->polling)
			uv_poll_stop(&exp->poll);
		exp->polling = false;
		if (exp->timer_init)
			uv_timer_stop(&exp->timer);
	}
}

void eu_consumer_drain(struct eu_consumer *c)
{
	for (size_t i = 0; i < c->n_exports; i++) {
		struct eu_export *exp = &c->exports[i];
		if (exp->rb)
			while (ring_drain(exp) > 0)
				;
		if (exp->pb)
			perf_drain(exp);
		if (exp->auto_map && exp->kind == EU_EXPORT_SAMPLE)
			sampler_tick_now(exp);
	}
}

static void handle_closed(uv_handle_t *h)
{
	struct eu_export *exp = h->data;
	struct eu_consumer *c = exp->owner;
	if (--c->closing_handles > 0)
		return;
	void (*cb)(void *) = c->on_closed;
	void *arg = c->on_closed_arg;
	consumer_free(c);
	if (cb)
		cb(arg);
}

void eu_consumer_close(struct eu_consumer *c, void (*on_closed)(void *arg), void *arg)
{
	if (!c)
		return;
	eu_consumer_stop(c);
	c->on_closed = on_closed;
	c->on_closed_arg = arg;
	c->closing_handles = 0;
	for (size_t i = 0; i < c->n_exports; i++) {
		struct eu_export *exp = &c->exports[i];
		c->closing_handles += exp->poll_init + exp->timer_init;
	}
	if (!c->closing_handles) {
		consumer_free(c);
		if (on_closed)
			on_closed(arg);
		return;
	}
	for (size_t i = 0; i < c->n_exports; i++) {
		struct eu_export *exp = &c->exports[i];
		if (exp->poll_init)
			uv_close((uv_handle_t *)&exp->poll, handle_closed);
		if (exp->timer_init)
			uv_close((uv_handle_t *)&exp->timer, handle_closed);
	}
}
