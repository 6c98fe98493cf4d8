/* Internals shared by program.c (open/load/close), program_alt.c (alternatives) and
 * program_attach.c (attach/detach). */
#ifndef EUNOMIA_PROGRAM_PRIV_H
#define EUNOMIA_PROGRAM_PRIV_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"
#include "eunomia/features.h"
#include "eunomia/program.h"

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
};

/* Chooses one program of every `<base>__alt<N>` group (program_alt.c). */
int program_choose_alternatives(struct eu_program *p, eu_error *err);

/* Whether this kernel can run a program of section sec; why gets the reason when not. */
bool program_section_supported(struct eu_program *p, const char *sec, char *why, size_t n);

/* Whether ifindex's clsact hook still has filters on either side (program_tc.c);
 * true when that cannot be told. */
bool program_tc_hook_in_use(int ifindex);

/* "Operation not permitted (EPERM)" for a negative or positive errno. */
const char *program_errno_text(int e, char *buf, size_t n);

/* The section's kind token: "fentry" for "fentry/do_unlinkat", "tp" for "tp/sched/x". */
void program_section_kind(const char *sec, char *kind, size_t n);

#endif
