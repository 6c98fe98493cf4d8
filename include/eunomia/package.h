/* Reading packages: the eunomia-bpf package.json envelope, its skeleton meta, the 2022
 * legacy format, NAME.skel.json + NAME.bpf.o pairs, and bare libbpf-style .bpf.o files.
 *
 * A parsed package is plain data (struct eu_package) owning every string and array in it.
 * Nothing here touches the kernel: opening, loading and attaching live in program.h. */
#ifndef EUNOMIA_PACKAGE_H
#define EUNOMIA_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"
#include "eunomia/export_type.h"

struct btf;

/* Packages larger than this are refused before any decoding (base64 or zlib). */
#define EU_PACKAGE_MAX_BYTES (64u << 20)
/* An inflated object larger than this is refused (zip-bomb guard). */
#define EU_OBJECT_MAX_BYTES (64u << 20)

enum eu_package_format {
	EU_PKG_JSON = 1,   /* {"bpf_object": ..., "meta": {...}} */
	EU_PKG_SKEL_PAIR,  /* NAME.skel.json (a bare meta) + NAME.bpf.o beside it */
	EU_PKG_META_ONLY,  /* a bare meta with no object (tests, inspection) */
	EU_PKG_LEGACY,     /* the 2022 flat format: name, data, maps[].export_data_types */
	EU_PKG_BPF_OBJECT, /* a bare .bpf.o: meta derived from its BTF (see eu_meta_from_object) */
};

enum eu_sample_type {
	EU_SAMPLE_NONE = 0,
	EU_SAMPLE_LOG2_HIST,
	EU_SAMPLE_LINEAR_HIST,
	EU_SAMPLE_DEFAULT_KV,
};

enum eu_export_config {
	EU_EXPORT_UNSET = 0,  /* no export_config key: single-export rules apply */
	EU_EXPORT_NO,         /* "no_export" */
	EU_EXPORT_DEFAULT,    /* "default": the map's own BTF value type */
	EU_EXPORT_TYPE_ID,    /* {"btf_type_id": N} */
	EU_EXPORT_CUSTOM,     /* {"custom_members": [...]} */
};

struct eu_map_meta {
	char *name;   /* libbpf map name, e.g. "rb", "bootstra.rodata" */
	char *ident;  /* skeleton name, e.g. "rb", "rodata" */
	bool mmaped;
	struct {
		enum eu_sample_type type;  /* EU_SAMPLE_NONE when the map is not sampled */
		uint32_t interval_ms;
		char *unit;                /* "(unit)" when absent */
		bool clear_map;
	} sample;
	struct {
		enum eu_export_config kind;
		uint32_t btf_type_id;                /* EU_EXPORT_TYPE_ID */
		struct eu_custom_member *members;    /* EU_EXPORT_CUSTOM */
		size_t n_members;
	} export_config;
	bool stack_trace;          /* "intepreter": {"stack_trace": {...}} */
	bool stack_trace_symbols;  /* stack_trace.with_symbols */
	/* legacy format only: the map type named in the JSON ("BPF_MAP_TYPE_PERF_EVENT_ARRAY") */
	char *legacy_type;
};

struct eu_cmdarg {
	char *long_name;   /* NULL: use the variable name */
	char *short_name;  /* one character, or NULL */
	char *help;        /* NULL: use the variable description */
	char *default_text; /* cmdarg.default rendered as text ("12345", "true", "abc"), or NULL */
};

struct eu_var_meta {
	char *name;
	char *type;         /* C spelling as written by ecc: "unsigned long long", "char[100]" */
	char *description;  /* or NULL */
	char *value_text;   /* "value" preset rendered as text, or NULL */
	struct eu_cmdarg cmdarg;
	bool dummy;         /* __eunomia_dummy*: kept for round-trips, never a parameter */
};

struct eu_section_meta {
	char *name;  /* ".rodata", ".bss", ".data" */
	struct eu_var_meta *vars;
	size_t n_vars;
};

/* The event a perf_event program samples on: perf_event_open's type and config, and how
 * often (every sample_period events, or sample_freq times a second per CPU). Spelled as
 * perf spells it, "EVENT[:period=N|:freq=HZ]" with EVENT one of
 *	[hw:]cpu-cycles|instructions|cache-references|cache-misses|branch-instructions|
 *	     branch-misses|bus-cycles|stalled-cycles-frontend|stalled-cycles-backend|ref-cycles
 *	[hw:]L1-dcache-loads|L1-dcache-load-misses|LLC-loads|LLC-load-misses|... (hw cache)
 *	[sw:]cpu-clock|task-clock|page-faults|context-switches|cpu-migrations|minor-faults|
 *	     major-faults|alignment-faults|emulation-faults
 *	raw:CONFIG                 a raw PMU event (PERF_TYPE_RAW)
 *	TYPE:CONFIG                any PMU by number (/sys/bus/event_source/devices/X/type)
 * and numbers in decimal or 0x hex. perf's short names (cycles, branches, faults, cs,
 * migrations) are accepted too. */
struct eu_perf_event {
	bool set;               /* false: the default, a cpu-clock sampler at the run's frequency */
	uint32_t type;          /* PERF_TYPE_* or a PMU's number */
	uint64_t config;
	uint64_t sample_period; /* 0: by frequency */
	uint32_t sample_freq;   /* 0 with sample_period 0: the run's --sample-freq */
	char name[32];          /* the event's perf name ("cache-misses"), "" for numbers */
};

#define EU_PERF_EVENT_SPEC_MAX 128
#define EU_PERF_EVENT_FREQ_MAX 100000u

/* Parses "EVENT[:period=N|:freq=HZ]" (see struct eu_perf_event); errors quote spec. */
int eu_perf_event_parse(const char *spec, struct eu_perf_event *ev, eu_error *err);
/* The spec back as text, canonical ("hw:cache-misses:period=10000", "4:0x1a"): it parses to
 * the same event. */
const char *eu_perf_event_format(const struct eu_perf_event *ev, char *buf, size_t n);
/* For messages: "hardware event cache-misses", "raw event 0x1a", "event 8:0x3 (PMU type 8)". */
const char *eu_perf_event_describe(const struct eu_perf_event *ev, char *buf, size_t n);

struct eu_prog_meta {
	char *name;
	char *attach;  /* ELF section: "tp/sched/sched_process_exec", "tc", "xdp", ... */
	bool link;
	struct {
		int ifindex;          /* default 1 */
		int attach_point;     /* enum bpf_tc_attach_point: BPF_TC_INGRESS (default) / EGRESS */
		uint32_t handle;      /* default 1 */
		uint32_t priority;    /* default 1 */
	} tc;
	struct {
		int ifindex;          /* default 1 */
		uint32_t flags;
		int old_prog_fd;
	} xdp;
	/* perf_event programs: "eu_perf_event": "EVENT[:period=N|:freq=HZ]", our key (upstream
	 * has none and ignores it) */
	struct eu_perf_event perf_event;
};

/* A CO-RE target BTF shipped in a .tar package's btfhub-archive/ (see kbtf.h). */
struct eu_btf_file {
	char *name;   /* relative to btfhub-archive/: "<ID>/<VERSION_ID>/<machine>/<release>.btf" */
	void *data;
	size_t size;
};

struct eu_doc {
	char *version, *brief, *details, *description;  /* each may be NULL */
};

struct eu_package {
	enum eu_package_format format;
	char *origin;   /* the file path or URL it came from, for messages */
	char *name;     /* short name: obj_name without "_bpf", legacy "name", or file stem */

	/* the uncompressed BPF ELF; NULL for EU_PKG_META_ONLY (and a legacy file without data) */
	void *object;
	size_t object_size;
	/* bpf_object_size (legacy: data_sz) as written in the JSON, 0 when absent; the only trace
	 * of the object in a META_ONLY envelope such as ../shared/compat/x.meta.json */
	uint64_t declared_object_size;

	char *obj_name;         /* bpf_skel.obj_name: pass to libbpf as object_name */
	char *eunomia_version;  /* informational, may be NULL */
	struct eu_doc doc;

	struct eu_section_meta *sections;
	size_t n_sections;
	struct eu_map_meta *maps;
	size_t n_maps;
	struct eu_prog_meta *progs;
	size_t n_progs;
	struct eu_export_type *export_types;
	size_t n_export_types;
	bool multiple_export;  /* enable_multiple_export_types */

	uint32_t poll_timeout_ms;     /* default 100 */
	uint32_t perf_buffer_pages;   /* default 64 */
	uint32_t perf_buffer_time_ms; /* default 10 */
	bool print_header;            /* default true */
	bool debug_verbose;

	uint8_t sha256[32];  /* of the bytes the package was read from: a version identity */

	/* a .tar package's btfhub-archive/<...>.btf members, in archive order */
	struct eu_btf_file *btf_files;
	size_t n_btf_files;
};

/* Parses a package from memory. Detects the format: JSON envelope, bare skeleton meta
 * (EU_PKG_META_ONLY), legacy, an ELF object (EU_PKG_BPF_OBJECT), or an uncompressed tar (as
 * upstream's `ecc --btfgen` writes: package.json at its root and, optionally,
 * btfhub-archive/<ID>/<VERSION_ID>/<machine>/<release>.btf files, kept in btf_files; the
 * format is that of the package.json inside; hostile archives are refused, see
 * tar_reader.h). origin names the
 * source in messages. When an object is present, export type ids are checked against its
 * BTF (a struct of that name with that member count). */
int eu_package_parse(const void *data, size_t size, const char *origin,
		     struct eu_package **out, eu_error *err);

/* Reads a file and parses it. NAME.skel.json with NAME.bpf.o beside it becomes
 * EU_PKG_SKEL_PAIR; without the object it is EU_PKG_META_ONLY. Only names ending in
 * ".skel.json" are paired (what ecc writes); sha256 then covers the meta's bytes followed by
 * the object's. */
int eu_package_read_file(const char *path, struct eu_package **out, eu_error *err);

/* For callers that read the files themselves (signature checks): the NAME.bpf.o that pairs
 * with path when it ends in ".skel.json" (malloc'd; NULL otherwise or out of memory), and
 * attaching that object's bytes to the META_ONLY package parsed from the meta's bytes, as
 * eu_package_read_file does (ELF and BTF checks, sha256 over both). Takes obj (malloc'd)
 * in every case; on error the package is to be freed. */
char *eu_package_pair_object_path(const char *path);
int eu_package_attach_pair(struct eu_package *pkg, const void *meta, size_t meta_len, void *obj,
			   size_t obj_len, const char *obj_origin, eu_error *err);

void eu_package_free(struct eu_package *pkg);

/* Finds a map's meta by libbpf name; NULL when absent. */
const struct eu_map_meta *eu_package_find_map(const struct eu_package *pkg, const char *name);

/* The .BTF of the package's object (parsed from the ELF with libelf, no kernel access).
 * The caller frees it with btf__free(). */
int eu_package_object_btf(const struct eu_package *pkg, struct btf **out, eu_error *err);

/* Derives the skeleton meta from an object's BTF and ELF sections, exactly in the shape
 * upstream ecc writes: maps (ident, internal names such as "bootstra.rodata"), programs
 * (name, attach = ELF section, link), data sections with variables typed in C spelling,
 * and export types. Fills everything in pkg except object/origin, which the caller owns.
 * Used for bare .bpf.o files at run time and by our ecc at build time.
 *
 * Which struct is exported (the convention for a bare .bpf.o, documented in the README):
 *   1. every `__eunomia_dummy_<S>_ptr` variable (what ecc injects) names struct S;
 *   2. else a global variable of type `struct S *` in .bss;
 *   3. else a struct named `event` in the BTF. */
int eu_meta_from_object(struct eu_package *pkg, const void *elf, size_t size, const char *obj_name,
			eu_error *err);

/* Serialises the meta as upstream's skeleton JSON ({"bpf_skel": ..., "export_types": ...})
 * and the full envelope (zlib + base64 of the object). Returned strings are malloc'd. */
char *eu_package_meta_json(const struct eu_package *pkg, eu_error *err);
char *eu_package_envelope_json(const struct eu_package *pkg, eu_error *err);

#endif
