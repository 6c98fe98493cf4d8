/* Internals shared by program.c (open/load/close), program_alt.c (alternatives) and
 * program_attach.c (attach/detach). */
#ifndef EUNOMIA_PROGRAM_PRIV_H
#define EUNOMIA_PROGRAM_PRIV_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"
#include "eunomia/features.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/program.h"
#include "kbtf/kbtf.h"

enum attachment_kind {
	ATTACH_LINK = 1, /* a bpf_link: auto-attach and perf_event */
	ATTACH_TC,
	ATTACH_XDP,
};

struct attachment {
	enum attachment_kind kind;
	struct bpf_link *link;
	/* tc */
	struct bpf_tc_hook hook;
	struct bpf_tc_opts tc_opts;
	bool hook_created;
	/* xdp */
	int ifindex;
	unsigned int xdp_flags;
	int prog_fd;
};

struct eu_ksyms;
struct btf;

/* A perf_event program's event from opts' "PROG=SPEC" (program_perf.c). */
struct program_perf_event {
	char *prog;
	struct eu_perf_event event;
};

struct eu_program {
	const struct eu_package *pkg;
	struct bpf_object *obj;
	struct eu_params *params;
	struct eu_features own_features;
	struct eu_features *features;
	unsigned int perf_freq;
	bool loaded;

	struct attachment *att;
	size_t n_att, cap_att;
	size_t attached_programs;

	char *load_log; /* malloc'd; "" equivalent when NULL */
	struct eu_map_size *map_sizes; /* copies of the opts' (names malloc'd) */
	size_t n_map_sizes;
	char **attach_specs; /* copies of the opts' "PROGRAM=BINARY:FUNCTION[@PID]" */
	size_t n_attach_specs;
	struct program_perf_event *perf_events; /* from opts.perf_event_specs */
	size_t n_perf_events;

	/* program selection (program_hooks.c, program_alt.c): what was kept or left out */
	struct eu_program_choice *choices; /* reasons malloc'd */
	size_t n_choices, cap_choices;

	/* kernel tables for target checks, kept only while loading (program_target.c) */
	struct btf *kbtf;
	int kbtf_err;
	struct eu_ksyms *ksyms;
	int ksyms_err;

	struct eu_kbtf_choice btf_target; /* libbpf reads it at load: held until then */
};

/* Chooses one program of every `<base>__alt<N>` group (program_alt.c). */
int program_choose_alternatives(struct eu_program *p, eu_error *err);

/* Keeps one program per hook among twins of different kinds (tp_btf/raw_tp/tp,
 * fentry/kprobe, fexit/kretprobe), then leaves out programs whose tracepoint or function this
 * kernel lacks while others remain (program_hooks.c). */
int program_choose_hooks(struct eu_program *p, eu_error *err);

/* Gives maps sized at run time their defaults or --map-size (program_maps.c). */
int program_size_maps(struct eu_program *p, eu_error *err);
/* When libbpf's log says a map failed to create: sets err naming it and returns e; else 0. */
int program_map_error(struct eu_program *p, int e, const char *log, eu_error *err);

/* uprobe/uretprobe/usdt programs (program_uprobe.c). */
bool program_is_user_probe(const char *sec);
/* Checks every --attach spec names a user-space probe program and parses. */
int program_check_attach_specs(struct eu_program *p, eu_error *err);
/* Attaches a user-space probe whose target comes from --attach or a bare function's lookup.
 * *handled 0: the section is complete, use libbpf's auto-attach; else the link, or NULL with
 * err set. */
struct bpf_link *program_attach_user(struct eu_program *p, struct bpf_program *prog,
				     eu_error *err, int *handled);

/* Parses opts' "PROG=EVENT[:period=N|:freq=HZ]" specs, checking each names a perf_event
 * program of the object (program_perf.c). */
int program_perf_specs(struct eu_program *p, const char *const *specs, size_t n, eu_error *err);
void program_perf_release(struct eu_program *p);
/* Opens prog's event (spec, package meta or cpu-clock) on every online CPU and attaches:
 * *links gets n_links links (malloc'd array) or nothing on failure, err naming program,
 * event and reason. */
int program_attach_perf(struct eu_program *p, struct bpf_program *prog,
			struct bpf_link ***links, size_t *n_links, eu_error *err);

/* Records that prog was kept or left out, and why; logs "<package>: <why>" at level. */
void program_note_choice(struct eu_program *p, struct bpf_program *prog, bool loaded,
			 enum eu_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Whether name is a `<base>__alt<N>` alternative (program_alt.c). */
bool program_is_alternative(const char *name);

/* Whether this kernel can run a program of section sec: its target exists and its kind is
 * supported; why gets the reason when not (program_target.c). */
bool program_section_supported(struct eu_program *p, const char *sec, char *why, size_t n);
/* Only whether the function or tracepoint sec names exists on this kernel. */
bool program_target_exists(struct eu_program *p, const char *sec, char *why, size_t n);
/* Frees the kernel tables the checks loaded. */
void program_target_release(struct eu_program *p);

/* Whether ifindex's clsact hook still has filters on either side (program_tc.c);
 * true when that cannot be told. */
bool program_tc_hook_in_use(int ifindex);

/* "Operation not permitted (EPERM)" for a negative or positive errno. */
const char *program_errno_text(int e, char *buf, size_t n);

/* The quoted name after the last prefix ("prog '") in libbpf's log whose line also contains
 * on_line (NULL: any line): "NAME" of "prog 'NAME': ...". */
bool program_log_last_name(const char *log, const char *prefix, const char *on_line,
			   char *name, size_t n);

/* The section's kind token: "fentry" for "fentry/do_unlinkat", "tp" for "tp/sched/x". */
void program_section_kind(const char *sec, char *kind, size_t n);

#endif
