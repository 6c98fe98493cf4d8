/* Internals shared by consumer.c (exports, ring/perf buffers) and sampler.c (sampled maps). */
#ifndef EUNOMIA_CONSUMER_PRIV_H
#define EUNOMIA_CONSUMER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "eunomia/consumer.h"
#include "package/insn_scan.h"

struct bpf_map;
struct ring_buffer;
struct perf_buffer;

struct eu_export {
	struct eu_consumer *owner;
	enum eu_export_kind kind;
	char *map_name;
	struct bpf_map *map;
	const struct eu_map_meta *meta;
	struct eu_plan *plan;     /* events: record; samples: value */
	struct eu_plan *key_plan; /* samples */
	bool key_scalar, value_scalar;
	size_t min_size;          /* records shorter than this are decode errors */
	/* events whose struct is decided by the first record's size: the candidate plans
	 * (plan stays NULL until then), indexed like pkg->export_types */
	struct eu_plan **cands;
	size_t n_cands;
	bool warned_size;         /* a wrong-sized record was reported */
	struct eu_export_stats stats;
	struct bpf_map *drops_map; /* eu_rb_drops, for the first ring buffer only */

	/* handles: a poll on the buffer's epoll fd, a timer (pacing / perf drain / sampling) */
	uv_poll_t poll;
	uv_timer_t timer;
	bool poll_init, timer_init, polling;

	struct ring_buffer *rb;
	struct perf_buffer *pb;
	uint32_t interval_ms;

	/* samples: buffers sized once */
	uint8_t *keys;     /* max_entries keys */
	uint8_t *value;    /* one value, per-CPU values summed */
	uint8_t *raw;      /* per-CPU lookups: every CPU's copy */
	uint32_t key_size, value_size, max_entries;
	bool percpu;
	int ncpus;
	/* histograms: value fields found once at setup (-1: none), so formatting a key does
	 * no name lookups; hist_field >= 0 only for a well-formed integer `slots` array */
	int hist_field, base_field, step_field;
	/* a map found by its use (no @sample): the meta made for it, printed at exit too */
	struct eu_map_meta *own_meta;
	bool auto_map;
	/* stack fields of the records (stacks.c), found at the first record once the plan is
	 * known; NULL when there are none */
	struct eu_stacks *stacks;
	bool stacks_checked;
	/* a result variable in a data section (sampler_datasec.c): map is the section's map,
	 * map_name the variable's name; elems > 0: one entry per index (key: the index) */
	bool datasec;
	uint32_t var_offset, var_size, elems, elem_size;
	bool read_failed; /* the section could not be read: said once */
};

struct eu_consumer {
	uv_loop_t *loop;
	struct eu_program *prog;
	struct eu_consumer_opts opts;
	struct eu_export *exports;
	size_t n_exports, cap_exports;
	bool started;
	struct eu_scan scan;      /* what the programs do with the maps (empty without an object) */
	char *silence;            /* no exports: why nothing will be printed and what to do */
	int closing_handles;
	void (*on_closed)(void *arg);
	void *on_closed_arg;
	struct eu_stack_syms *syms; /* symbol tables for stacks, made at their first use */
	bool syms_failed;
};

/* stacks.c */
struct eu_stacks;
void eu_stacks_free(struct eu_stacks *s);

/* consumer.c */
/* A plan for type_id: structs and unions directly, anything else as a one-field plan named
 * wrapper ({"value": 5}); *scalar says which. */
int consumer_plan_for_type(const struct btf *btf, uint32_t type_id, const char *wrapper,
			   struct eu_plan **plan, bool *scalar, eu_error *err);
/* The unit of a histogram from a map's or variable's name and its value's field names. */
const char *consumer_unit_from_names(const char *name, const struct eu_plan *value);

/* A sampled export of a map found by its use (no @sample): auto_map, printed at exit too,
 * with a meta of its own (default_kv every --interval). */
struct eu_export *consumer_auto_export(struct eu_consumer *c, struct bpf_map *map,
				       eu_error *err);

/* sampler_datasec.c */
struct bpf_object;
struct btf;
/* How many variables the object's writable data sections hold (exports to make room for). */
size_t datasec_var_count(struct bpf_object *obj, const struct btf *btf);
/* Adds a sampled export for every data-section variable the programs store into. */
int datasec_choose(struct eu_consumer *c, struct bpf_object *obj, const struct btf *btf,
		   eu_error *err);
/* Reads the variable's section and delivers its entries, like sampler_tick_now. */
void datasec_tick_now(struct eu_export *exp);

/* sampler.c */
/* Finds a histogram value's slots/base/step fields (hist_field -1: not a histogram). */
void sampler_find_hist(struct eu_export *exp);
int sampler_setup(struct eu_export *exp, eu_error *err);
int sampler_start(struct eu_export *exp);
/* Reads and delivers the map now (the last interval at exit). */
void sampler_tick_now(struct eu_export *exp);
void sampler_free(struct eu_export *exp);

#endif
