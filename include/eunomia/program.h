/* A package turned into live BPF: open (libbpf open_mem with the package's obj_name), set
 * parameters, load, attach, detach, close.
 *
 *	struct eu_program *prog;
 *	eu_program_open(pkg, &opts, &prog, &err);       // opens the object, builds the options
 *	eu_params_parse_argv(eu_program_params(prog), argc, argv, &err);
 *	eu_program_load(prog, &err);                     // alternatives, parameters, verifier
 *	eu_program_attach(prog, &err);                   // every autoloaded program
 *	...                                              // consumer.h drives its outputs
 *	eu_program_close(prog);                          // detaches and frees
 *
 * Alternatives: programs named `<base>__alt<N>` (N a decimal number) form a group of which
 * exactly one is loaded. Before load, the group's members are ranked by N and the first whose
 * kind this kernel supports (from its section: fentry/fexit/fmod_ret need BPF trampolines,
 * lsm needs BPF LSM, kprobe/kretprobe/ksyscall need kprobes, uprobe/uretprobe need uprobes,
 * tp/tracepoint need tracefs and the named tracepoint, raw_tp/tp_btf and the rest are taken as
 * supported) is kept; the others get autoload off. A group with no supported member fails the
 * load with an error naming the group and each member's reason. A plugin thus ships, say, an
 * fentry, a kprobe and a tracepoint version of one handler and runs everywhere.
 *
 * Maps sized at run time: libbpf-tools leave max_entries 0 (and a stack-trace map's value size
 * unset) for their user space to fill. Before load such maps get defaults: stack traces 127
 * frames of 8 bytes and 16384 entries, hash maps 10240 entries (pid_max when keyed by a pid),
 * ring buffers 256 KiB; opts.map_sizes overrides any map. A map the kernel refuses is named in
 * the error with its type, sizes and the likely reason.
 *
 * Twins: programs of different kinds on one hook (tp_btf/X, raw_tp/X, tp/CAT/X; fentry/F and
 * kprobe/F; fexit/F and kretprobe/F) are reduced to the best kind this kernel runs, in that
 * order, as libbpf-tools' user space does; a program whose tracepoint or kernel function this
 * kernel lacks is left out (with a warning) while other programs remain. eu_program_choice_at
 * lists every such decision.
 *
 * User-space probes: SEC("uprobe") and SEC("usdt") name no target, SEC("uretprobe/readline")
 * only a function. Their target comes from opts.attach_specs, or a bare function is looked up
 * in bash, libc, the usual libraries and then every library in the system library
 * directories; the file used is logged and listed as a choice.
 *
 * The program borrows the package: it must outlive the program. Detaching may block for tens
 * of milliseconds (perf-event tracepoint links); the daemon calls it off the loop thread. */
#ifndef EUNOMIA_PROGRAM_H
#define EUNOMIA_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"

struct bpf_object;
struct eu_package;
struct eu_params;
struct eu_features;
struct eu_kbtf_cache;

struct eu_program_opts {
	size_t sz;                    /* sizeof(struct eu_program_opts) */
	/* CO-RE target BTF; NULL: chosen as agent/kbtf/kbtf.h says ($BTF_FILE_PATH, the kernel's,
	 * or for a kernel without BTF the package's btfhub-archive or btf_archive_dir) */
	const char *btf_custom_path;
	/* shared feature cache; NULL: the program keeps its own */
	struct eu_features *features;
	/* perf_event programs: samples per second per CPU (default 49) */
	uint32_t perf_sample_freq;
	/* max_entries per map (libbpf name or skeleton ident), winning over the object and the
	 * run-time defaults; a name the package has no map of fails the load */
	const struct eu_map_size *map_sizes;
	size_t n_map_sizes;
	/* a btfhub-archive directory (<ID>/<VERSION_ID>/<machine>/<release>.btf) for kernels
	 * without BTF; NULL: none */
	const char *btf_archive_dir;
	/* the kernel BTF parsed once and trimmed per package (kbtf_cache.h); NULL: libbpf
	 * parses the kernel BTF on every load */
	struct eu_kbtf_cache *kbtf_cache;
	/* targets of user-space probes: "PROGRAM=BINARY:FUNCTION[@PID]" (usdt programs:
	 * "PROGRAM=BINARY:PROVIDER:PROBE[@PID]"); BINARY a path, an executable on PATH or a
	 * library name ("libc.so.6"). Wins over the section; needed for SEC("uprobe"). */
	const char *const *attach_specs;
	size_t n_attach_specs;
	/* the event a perf_event program samples on: "PROGRAM=EVENT[:period=N|:freq=HZ]"
	 * (eu_perf_event_parse's grammar, package.h), winning over the package's eu_perf_event;
	 * without either, cpu-clock at perf_sample_freq. A name that is not a perf_event
	 * program of the package fails the open. */
	const char *const *perf_event_specs;
	size_t n_perf_event_specs;
};

struct eu_map_size {
	const char *map;
	uint32_t max_entries;
};

/* Parses "NAME=N" (N 1..2^31) into name (up to n bytes) and *entries; errors name spec. */
int eu_map_size_parse(const char *spec, char *name, size_t n, uint32_t *entries, eu_error *err);

struct eu_program;

int eu_program_open(const struct eu_package *pkg, const struct eu_program_opts *opts,
		    struct eu_program **out, eu_error *err);

/* The package options (NULL for a package without BTF). Set them before eu_program_load. */
struct eu_params *eu_program_params(struct eu_program *prog);

/* Chooses alternatives, writes parameters into the data sections and loads the object. On a
 * verifier rejection the error quotes the verifier's last lines; eu_program_load_log has
 * more. */
int eu_program_load(struct eu_program *prog, eu_error *err);

/* Attaches every loaded program; on failure nothing stays attached and the error names the
 * program, its attach point and the reason. */
int eu_program_attach(struct eu_program *prog, eu_error *err);

/* Detaches everything (idempotent). The object stays loaded. */
void eu_program_detach(struct eu_program *prog);

/* Detaches and frees. NULL is fine. */
void eu_program_close(struct eu_program *prog);

struct bpf_object *eu_program_object(const struct eu_program *prog);
const struct eu_package *eu_program_package(const struct eu_program *prog);
/* The package's short name, for messages. */
const char *eu_program_name(const struct eu_program *prog);
/* Programs attached (a perf_event program counts once however many CPUs it runs on). */
size_t eu_program_attached_count(const struct eu_program *prog);
/* The tail of libbpf's output (the verifier log) from a failed load, or "". */
const char *eu_program_load_log(const struct eu_program *prog);

/* What program selection decided before load: one entry per program kept over a twin or an
 * alternative, or left out (its kind cannot run here, its target is missing, a twin was
 * preferred). Valid while the program lives. */
struct eu_program_choice {
	const char *program; /* the BPF program's name */
	const char *section; /* its ELF section */
	bool loaded;         /* kept (true) or left out (false) */
	const char *reason;  /* why, e.g. "tp_btf preferred over raw_tp for sched_switch" */
};
size_t eu_program_choice_count(const struct eu_program *prog);
const struct eu_program_choice *eu_program_choice_at(const struct eu_program *prog, size_t i);

/* The kind of kernel support a program section needs, for alternatives and messages:
 * EU_FEATURE_* from features.h, or -1 when nothing specific. */
int eu_program_section_feature(const char *section);

#endif
