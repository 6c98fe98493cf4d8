/* Maps sized at run time: what libbpf-tools' user space sets before load (max_entries 0,
 * a stack-trace map without a value size) gets a default or the user's --map-size, and a
 * map the kernel refuses is named with its shape and the likely reason. */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/log.h"
#include "program_priv.h"

#define STACK_FRAMES 127 /* the kernel's PERF_MAX_STACK_DEPTH */
#define STACK_ENTRIES 16384
#define HASH_ENTRIES 10240
#define RINGBUF_BYTES (256 * 1024)

int eu_map_size_parse(const char *spec, char *name, size_t n, uint32_t *entries, eu_error *err)
{
	const char *eq = spec ? strchr(spec, '=') : NULL;
	if (!eq || eq == spec || (size_t)(eq - spec) >= n)
		return eu_error_set(err, -EINVAL, "map size '%s': expected NAME=ENTRIES",
				    spec ? spec : "");
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(eq + 1, &end, 10);
	if (!eq[1] || *end || errno || v < 1 || v > (1ull << 31) || eq[1] == '-')
		return eu_error_set(err, -EINVAL,
				    "map size '%s': ENTRIES must be a number from 1 to 2147483648",
				    spec);
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	*entries = (uint32_t)v;
	return 0;
}

static bool is_hash(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static uint32_t pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	unsigned long v = 0;
	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 && v <= (1ul << 22) ? (uint32_t)v : 32768;
}

/* A hash keyed by a process: key type pid_t, or a 4-byte key in a map named for pids. */
static bool keyed_by_pid(const struct bpf_object *obj, const struct bpf_map *map)
{
	if (bpf_map__key_size(map) != 4)
		return false;
	const struct btf *btf = bpf_object__btf(obj);
	__u32 id = bpf_map__btf_key_type_id(map);
	for (int depth = 0; btf && id && depth < 8; depth++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t || !btf_is_typedef(t))
			break;
		const char *name = btf__name_by_offset(btf, t->name_off);
		if (name && (!strcmp(name, "pid_t") || !strcmp(name, "__kernel_pid_t")))
			return true;
		id = t->type;
	}
	return strstr(bpf_map__name(map), "pid") != NULL;
}

/* The override for map, by libbpf name or skeleton ident; NULL when none. */
static const struct eu_map_size *override_for(const struct eu_program *p, const char *name)
{
	for (size_t i = 0; i < p->n_map_sizes; i++) {
		const char *want = p->map_sizes[i].map;
		size_t wl = strlen(want), nl = strlen(name);
		/* internal maps are "<prefix>.bss": the ident ".bss"/"bss" names them too */
		if (!strcmp(want, name) ||
		    (nl > wl && name[nl - wl - 1] == '.' && !strcmp(name + nl - wl, want)))
			return &p->map_sizes[i];
	}
	return NULL;
}

static int check_overrides(struct eu_program *p, eu_error *err)
{
	for (size_t i = 0; i < p->n_map_sizes; i++) {
		bool found = false;
		struct bpf_map *map;
		char names[512] = "";
		size_t used = 0;
		bpf_object__for_each_map(map, p->obj) {
			const struct eu_map_size *o = override_for(p, bpf_map__name(map));
			found |= o == &p->map_sizes[i];
			int w = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
					 bpf_map__name(map));
			if (w > 0 && (size_t)w < sizeof(names) - used)
				used += (size_t)w;
		}
		if (!found)
			return eu_error_set(err, -ENOENT, "--map-size %s: the package has no map %s "
					    "(its maps: %s)", p->map_sizes[i].map,
					    p->map_sizes[i].map, names);
	}
	return 0;
}

static const char *map_type_name(enum bpf_map_type t)
{
	const char *s = libbpf_bpf_map_type_str(t);
	return s ? s : "?";
}

int program_size_maps(struct eu_program *p, eu_error *err)
{
	int ret = check_overrides(p, err);
	if (ret)
		return ret;
	struct bpf_map *map;
	bpf_object__for_each_map(map, p->obj) {
		const char *name = bpf_map__name(map);
		enum bpf_map_type type = bpf_map__type(map);
		if (type == BPF_MAP_TYPE_STACK_TRACE && !bpf_map__value_size(map)) {
			ret = bpf_map__set_value_size(map, STACK_FRAMES * sizeof(__u64));
			if (ret)
				return eu_error_set(err, ret, "map %s: cannot set its value size", name);
			eu_log(EU_LOG_DEBUG, "%s: map %s: no value size in the object: %d frames of 8 "
			       "bytes", eu_program_name(p), name, STACK_FRAMES);
		}
		if (type == BPF_MAP_TYPE_STACK_TRACE && !bpf_map__key_size(map))
			bpf_map__set_key_size(map, sizeof(__u32));
		const struct eu_map_size *o = override_for(p, name);
		uint32_t entries = 0;
		const char *rule = NULL;
		if (o) {
			entries = o->max_entries;
			rule = "--map-size";
		} else if (bpf_map__max_entries(map)) {
			continue;
		} else if (type == BPF_MAP_TYPE_STACK_TRACE) {
			entries = STACK_ENTRIES;
			rule = "default for stack traces";
		} else if (is_hash(type) && keyed_by_pid(p->obj, map)) {
			entries = pid_max();
			rule = "pid_max, for a hash keyed by pid";
		} else if (is_hash(type)) {
			entries = HASH_ENTRIES;
			rule = "default for hash maps";
		} else if (type == BPF_MAP_TYPE_RINGBUF) {
			entries = RINGBUF_BYTES;
			rule = "default ring buffer size in bytes";
		} else {
			continue; /* libbpf sizes perf event arrays; the rest fails with a reason */
		}
		ret = bpf_map__set_max_entries(map, entries);
		if (ret)
			return eu_error_set(err, ret, "map %s: cannot set max_entries to %u", name,
					    entries);
		eu_log(o ? EU_LOG_DEBUG : EU_LOG_INFO, "%s: map %s (%s): %u entries (%s%s)",
		       eu_program_name(p), name, map_type_name(type), entries, rule,
		       o ? "" : "; --map-size NAME=N to change");
	}
	return 0;
}

/* The map libbpf said it failed to create last ("map 'NAME': failed to create: ..."), or
 * NULL (debug lines name maps that were fine). */
static struct bpf_map *blamed_map(struct bpf_object *obj, const char *log)
{
	char name[128];
	if (!program_log_last_name(log, "map '", "fail", name, sizeof(name)))
		return NULL;
	return bpf_object__find_map_by_name(obj, name);
}

static void map_hint(struct bpf_map *map, int e, char *out, size_t n)
{
	enum bpf_map_type type = bpf_map__type(map);
	uint32_t entries = bpf_map__max_entries(map);
	out[0] = '\0';
	if (!entries)
		snprintf(out, n, "; its max_entries is 0: give it a size with --map-size %s=N",
			 bpf_map__name(map));
	else if (!bpf_map__value_size(map) && type != BPF_MAP_TYPE_RINGBUF &&
		 type != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		snprintf(out, n, "; its value size is 0");
	else if (type == BPF_MAP_TYPE_RINGBUF && (entries & (entries - 1)))
		snprintf(out, n, "; a ring buffer's size must be a power of 2 and a multiple of the "
			 "page size (--map-size %s=N)", bpf_map__name(map));
	else if (e == -E2BIG || e == -ENOMEM)
		snprintf(out, n, "; too large for this kernel or the memory limit: choose fewer "
			 "entries with --map-size %s=N", bpf_map__name(map));
	else if (e == -EPERM)
		snprintf(out, n, "; not permitted (CAP_BPF or the locked-memory limit)");
	else if (e == -EINVAL && type == BPF_MAP_TYPE_STACK_TRACE &&
		 bpf_map__value_size(map) % 8)
		snprintf(out, n, "; a stack-trace value must be a multiple of 8 bytes");
}

int program_map_error(struct eu_program *p, int e, const char *log, eu_error *err)
{
	struct bpf_map *map = blamed_map(p->obj, log);
	if (!map)
		return 0;
	char why[128], hint[200];
	program_errno_text(e, why, sizeof(why));
	map_hint(map, e, hint, sizeof(hint));
	eu_error_set(err, e, "map %s (%s, key %u bytes, value %u bytes, %u entries): cannot "
		     "create: %s%s", bpf_map__name(map), map_type_name(bpf_map__type(map)),
		     bpf_map__key_size(map), bpf_map__value_size(map), bpf_map__max_entries(map),
		     why, hint);
	return e;
}
