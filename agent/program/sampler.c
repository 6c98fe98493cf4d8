#include "eunomia/sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_priv.h"
#include "eunomia/decoder.h"
#include "eunomia/hist.h"
#include "eunomia/log.h"
#include "eunomia/package.h"

/* Keys read per interval at most: a runaway map must not stall the loop. */
#define SAMPLE_MAX_KEYS (1u << 18)
#define SLOTS_MAX 256

static uint64_t load_u(const uint8_t *p, uint32_t size)
{
	switch (size) {
	case 1: return *p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
	default: return 0;
	}
}

static void store_u(uint8_t *p, uint32_t size, uint64_t v)
{
	switch (size) {
	case 1: *p = (uint8_t)v; break;
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	case 8: memcpy(p, &v, 8); break;
	}
}

static bool int_size(uint32_t s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

/* Adds src's counters into dst: integer members and integer arrays (the histogram slots);
 * other members keep the first CPU's bytes. */
static void percpu_add(const struct eu_plan *plan, uint8_t *dst, const uint8_t *src,
		       size_t size)
{
	size_t n = eu_plan_field_count(plan);
	for (size_t i = 0; i < n; i++) {
		const struct eu_field_info *f = eu_plan_field(plan, i);
		if ((size_t)f->offset + f->size > size || f->bit_size)
			continue;
		if (f->kind == EU_FIELD_INT && int_size(f->size)) {
			store_u(dst + f->offset, f->size,
				load_u(dst + f->offset, f->size) + load_u(src + f->offset, f->size));
		} else if (f->kind == EU_FIELD_ARRAY && f->elems && f->size % f->elems == 0 &&
			   int_size(f->size / f->elems)) {
			uint32_t es = f->size / f->elems;
			for (uint32_t k = 0; k < f->elems; k++) {
				size_t off = f->offset + (size_t)k * es;
				store_u(dst + off, es, load_u(dst + off, es) + load_u(src + off, es));
			}
		}
	}
}

/* A log2/linear histogram value is a struct with an integer array `slots`; its linear
 * base is `base` (or `min`) and its step `step`. */
void sampler_find_hist(struct eu_export *exp)
{
	exp->hist_field = exp->base_field = exp->step_field = -1;
	if (!exp->meta || exp->value_scalar ||
	    (exp->meta->sample.type != EU_SAMPLE_LOG2_HIST &&
	     exp->meta->sample.type != EU_SAMPLE_LINEAR_HIST))
		return;
	int idx = eu_plan_find_field(exp->plan, "slots");
	if (idx < 0)
		return;
	const struct eu_field_info *f = eu_plan_field(exp->plan, (size_t)idx);
	if (f->kind != EU_FIELD_ARRAY || !f->elems || f->size % f->elems ||
	    !int_size(f->size / f->elems))
		return;
	exp->hist_field = idx;
	exp->base_field = eu_plan_find_field(exp->plan, "base");
	if (exp->base_field < 0)
		exp->base_field = eu_plan_find_field(exp->plan, "min");
	exp->step_field = eu_plan_find_field(exp->plan, "step");
}

int sampler_setup(struct eu_export *exp, eu_error *err)
{
	struct bpf_map *map = exp->map;
	exp->key_size = bpf_map__key_size(map);
	exp->value_size = bpf_map__value_size(map);
	exp->max_entries = bpf_map__max_entries(map);
	if (exp->max_entries > SAMPLE_MAX_KEYS)
		exp->max_entries = SAMPLE_MAX_KEYS;
	enum bpf_map_type t = bpf_map__type(map);
	exp->percpu = t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
		      t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	exp->ncpus = exp->percpu ? libbpf_num_possible_cpus() : 1;
	if (exp->ncpus <= 0)
		return eu_error_set(err, -EINVAL, "sampled map %s: cannot count the CPUs",
				    exp->map_name);
	if (eu_plan_size(exp->plan) > exp->value_size || eu_plan_size(exp->key_plan) > exp->key_size)
		return eu_error_set(err, -EINVAL,
				    "sampled map %s: its key/value types are larger than the map's %u/%u bytes",
				    exp->map_name, exp->key_size, exp->value_size);
	exp->keys = calloc(exp->max_entries ? exp->max_entries : 1, exp->key_size);
	exp->value = calloc(1, exp->value_size);
	if (exp->percpu)
		exp->raw = calloc((size_t)exp->ncpus, (exp->value_size + 7) & ~7u);
	if (!exp->keys || !exp->value || (exp->percpu && !exp->raw))
		return eu_error_set(err, -ENOMEM, "out of memory");
	exp->interval_ms = exp->meta && exp->meta->sample.interval_ms ? exp->meta->sample.interval_ms
								       : 1000;
	exp->min_size = eu_plan_size(exp->plan);
	sampler_find_hist(exp);
	return 0;
}

void sampler_free(struct eu_export *exp)
{
	free(exp->keys);
	free(exp->value);
	free(exp->raw);
	exp->keys = exp->value = exp->raw = NULL;
}

static int lookup_value(struct eu_export *exp, int fd, const void *key)
{
	if (!exp->percpu)
		return bpf_map_lookup_elem(fd, key, exp->value) ? -errno : 0;
	if (bpf_map_lookup_elem(fd, key, exp->raw))
		return -errno;
	size_t stride = (exp->value_size + 7) & ~7u;
	memcpy(exp->value, exp->raw, exp->value_size);
	for (int cpu = 1; cpu < exp->ncpus; cpu++)
		percpu_add(exp->plan, exp->value, exp->raw + (size_t)cpu * stride, exp->value_size);
	return 0;
}

static void clear_keys(struct eu_export *exp, int fd, size_t n)
{
	uint8_t *zero = NULL;
	for (size_t i = 0; i < n; i++) {
		const void *key = exp->keys + i * exp->key_size;
		if (bpf_map_delete_elem(fd, key) == 0 || errno != EINVAL)
			continue;
		/* arrays cannot delete: zero the slot instead */
		if (!zero) {
			size_t vs = exp->percpu ? ((exp->value_size + 7) & ~7u) * (size_t)exp->ncpus
						: exp->value_size;
			zero = calloc(1, vs);
			if (!zero)
				return;
		}
		bpf_map_update_elem(fd, key, zero, BPF_EXIST);
	}
	free(zero);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void sampler_tick(uv_timer_t *t)
{
	sampler_tick_now(t->data);
}

void sampler_tick_now(struct eu_export *exp)
{
	if (exp->datasec) {
		datasec_tick_now(exp);
		return;
	}
	struct eu_consumer *c = exp->owner;
	int fd = bpf_map__fd(exp->map);
	size_t n = 0;
	const void *prev = NULL;
	while (n < exp->max_entries) {
		void *next = exp->keys + n * exp->key_size;
		if (bpf_map_get_next_key(fd, prev, next))
			break;
		prev = next;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		const void *key = exp->keys + i * exp->key_size;
		if (lookup_value(exp, fd, key))
			continue; /* deleted meanwhile */
		if (exp->auto_map && all_zero(exp->value, exp->value_size))
			continue; /* array slots nobody wrote */
		exp->stats.received++;
		exp->stats.decoded++;
		if (c->opts.on_sample)
			c->opts.on_sample(c->opts.ctx, exp, key, exp->key_size, exp->value,
					  exp->value_size);
	}
	if (exp->meta && exp->meta->sample.clear_map)
		clear_keys(exp, fd, n);
	exp->stats.drains++;
	if (c->opts.on_batch)
		c->opts.on_batch(c->opts.ctx, exp);
}

int sampler_start(struct eu_export *exp)
{
	return uv_timer_start(&exp->timer, sampler_tick, exp->interval_ms, exp->interval_ms);
}

/* ---- formatting ----------------------------------------------------------------------- */

static bool is_hist(const struct eu_export *exp)
{
	return exp->hist_field >= 0;
}

int eu_sample_hist_slots(const struct eu_export *exp, const void *value, size_t value_size,
			 uint64_t *slots, size_t max)
{
	if (!is_hist(exp))
		return -ENOENT;
	const struct eu_field_info *f = eu_plan_field(exp->plan, (size_t)exp->hist_field);
	if ((size_t)f->offset + f->size > value_size)
		return -EINVAL;
	uint32_t es = f->size / f->elems;
	size_t n = f->elems < max ? f->elems : max;
	for (size_t k = 0; k < n; k++)
		slots[k] = load_u((const uint8_t *)value + f->offset + k * es, es);
	return (int)n;
}

/* A scalar key prints bare (5, not {"key":5}); a struct key as a JSON object either way. */
static void key_format(const struct eu_export *exp, const void *key, size_t ks, bool text,
		       eu_buf *out)
{
	if (!exp->key_scalar)
		eu_plan_format_json(exp->key_plan, key, ks, out);
	else if (text)
		eu_plan_format_field_text(exp->key_plan, 0, key, ks, out);
	else
		eu_plan_format_field_json(exp->key_plan, 0, key, ks, out);
}

/* A data-section variable's name, with [index] for an array's entry. */
static void var_title(const struct eu_export *exp, const void *key, size_t ks, eu_buf *out)
{
	eu_buf_puts(out, exp->map_name);
	if (!exp->key_plan)
		return;
	eu_buf_putc(out, '[');
	key_format(exp, key, ks, true, out);
	eu_buf_putc(out, ']');
}

static bool int_member(const struct eu_export *exp, int idx, const void *value, size_t vs,
		       uint64_t *out)
{
	int64_t v;
	if (idx < 0 || eu_plan_field_i64(exp->plan, (size_t)idx, value, vs, &v))
		return false;
	*out = (uint64_t)v;
	return true;
}

int eu_sample_format_text(const struct eu_export *exp, const void *key, size_t key_size,
			  const void *value, size_t value_size, eu_buf *out)
{
	if (key_size < (exp->key_plan ? eu_plan_size(exp->key_plan) : 0) ||
	    value_size < eu_plan_size(exp->plan))
		return -EINVAL;
	if (!is_hist(exp)) {
		if (exp->datasec) {
			var_title(exp, key, key_size, out);
			eu_buf_puts(out, " = ");
		} else {
			eu_buf_puts(out, "key = ");
			key_format(exp, key, key_size, true, out);
			eu_buf_puts(out, "  value = ");
		}
		if (exp->value_scalar)
			eu_plan_format_field_text(exp->plan, 0, value, value_size, out);
		else
			eu_plan_format_json(exp->plan, value, value_size, out);
		eu_buf_putc(out, '\n');
		return 0;
	}
	bool linear = exp->meta->sample.type == EU_SAMPLE_LINEAR_HIST;
	if (exp->datasec) {
		var_title(exp, key, key_size, out);
		eu_buf_puts(out, ":\n");
	} else {
		eu_buf_puts(out, "key = ");
		key_format(exp, key, key_size, true, out);
		eu_buf_putc(out, '\n');
	}
	size_t n = eu_plan_field_count(exp->plan);
	for (size_t i = 0; i < n; i++) {
		if ((int)i == exp->hist_field)
			continue;
		eu_buf_puts(out, eu_plan_field(exp->plan, i)->name);
		eu_buf_puts(out, " = ");
		eu_plan_format_field_text(exp->plan, i, value, value_size, out);
		eu_buf_putc(out, '\n');
	}
	uint64_t slots[SLOTS_MAX];
	int ns = eu_sample_hist_slots(exp, value, value_size, slots, SLOTS_MAX);
	if (ns < 0)
		return ns;
	const char *unit = exp->meta->sample.unit; /* none: a blank title (hist.h) */
	if (linear) {
		uint64_t base = 0, step = 1;
		int_member(exp, exp->base_field, value, value_size, &base);
		if (!int_member(exp, exp->step_field, value, value_size, &step) || !step)
			step = 1;
		eu_hist_linear(out, slots, (size_t)ns, base, step, unit);
	} else {
		eu_hist_log2(out, slots, (size_t)ns, unit);
	}
	eu_buf_putc(out, '\n');
	return 0;
}

int eu_sample_format_json(const struct eu_export *exp, const void *key, size_t key_size,
			  const void *value, size_t value_size, eu_buf *out)
{
	if (key_size < (exp->key_plan ? eu_plan_size(exp->key_plan) : 0) ||
	    value_size < eu_plan_size(exp->plan))
		return -EINVAL;
	if (exp->datasec) {
		/* {"name": VARIABLE, "key": INDEX (arrays only), ...} */
		eu_buf_puts(out, "{\"name\":");
		eu_buf_json_string(out, exp->map_name, strlen(exp->map_name));
		if (exp->key_plan) {
			eu_buf_puts(out, ",\"key\":");
			key_format(exp, key, key_size, false, out);
		}
	} else {
		eu_buf_puts(out, "{\"key\":");
		key_format(exp, key, key_size, false, out);
	}
	if (!is_hist(exp)) {
		eu_buf_puts(out, ",\"value\":");
		if (exp->value_scalar)
			eu_plan_format_field_json(exp->plan, 0, value, value_size, out);
		else
			eu_plan_format_json(exp->plan, value, value_size, out);
		eu_buf_putc(out, '}');
		return 0;
	}
	/* the value's members follow the key in the same object */
	size_t n = eu_plan_field_count(exp->plan);
	for (size_t i = 0; i < n; i++) {
		eu_buf_putc(out, ',');
		eu_buf_json_string(out, eu_plan_field(exp->plan, i)->name,
				   strlen(eu_plan_field(exp->plan, i)->name));
		eu_buf_putc(out, ':');
		eu_plan_format_field_json(exp->plan, i, value, value_size, out);
	}
	eu_buf_putc(out, '}');
	return 0;
}
