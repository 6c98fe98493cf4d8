/* The minimal BTF a BPF object's CO-RE relocations need from a kernel BTF: what `bpftool gen
 * min_core_btf` computes, done in-process with libbpf's public BTF API so the daemon can trim
 * per load without exec, and `ecc --btfgen` writes the same thing per archived kernel.
 *
 * For every relocation, every kernel type libbpf would consider a candidate (same essential
 * name, "task_struct___x" -> "task_struct", and kind) is kept, so libbpf's matching and
 * ambiguity checks give the same answers as against the whole kernel BTF:
 *   - field relocations keep the members along the access path (offsets and sizes as in the
 *     kernel) and the accessed field's type as a shell (sizes, no members);
 *   - type relocations keep the candidate whole, pointers leading to shells;
 *   - enum value relocations keep the whole enum.
 * Type ids in the result differ from the kernel's: BPF_CORE_TYPE_ID_TARGET relocations are
 * refused (-EOPNOTSUPP) when for_kernel_ids is set (the daemon's loads). */
#ifndef EUNOMIA_KBTF_TRIM_H
#define EUNOMIA_KBTF_TRIM_H

#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"

struct btf;
struct eu_core_relos;
struct eu_kbtf_index;

/* An index of a kernel BTF's named types by essential name. */
int eu_kbtf_index_new(const struct btf *kernel, struct eu_kbtf_index **out, eu_error *err);
void eu_kbtf_index_free(struct eu_kbtf_index *idx);

/* The raw BTF (malloc'd) for the relocations relos of an object whose BTF is local.
 * -ENOENT: a relocation has no candidate in kernel (a module's type, or a type this kernel
 * lacks: libbpf must look in module BTF); -EOPNOTSUPP: a relocation or type kind the trimmer
 * does not serve. Both leave the choice to the caller. */
int eu_kbtf_trim(const struct btf *kernel, const struct eu_kbtf_index *idx,
		 const struct btf *local, const struct eu_core_relos *relos, bool for_kernel_ids,
		 void **out, size_t *out_size, eu_error *err);

/* The same for an object image: reads its .BTF and .BTF.ext. */
int eu_kbtf_trim_object(const struct btf *kernel, const struct eu_kbtf_index *idx,
			const void *obj, size_t obj_size, bool for_kernel_ids, void **out,
			size_t *out_size, eu_error *err);

#endif
