/* The CO-RE relocation records of a BPF object's .BTF.ext section. libbpf 1.1 parses them
 * only inside bpf_object (struct btf_ext is opaque), so the trimmer reads them itself. */
#ifndef EUNOMIA_KBTF_EXT_H
#define EUNOMIA_KBTF_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"

/* One bpf_core_relo record (linux/bpf.h): type_id and access_str_off refer to the
 * object's own .BTF; kind is enum bpf_core_relo_kind. */
struct eu_core_relo {
	uint32_t insn_off;
	uint32_t type_id;
	uint32_t access_str_off;
	uint32_t kind;
};

struct eu_core_relos {
	struct eu_core_relo *v;
	size_t n;
};

/* The section called name in a little-endian ELF64 image, or -ENOENT. */
int eu_elf_section(const void *elf, size_t size, const char *name, const uint8_t **data,
		   size_t *len);

/* Every CO-RE relocation of the object (none when it has no .BTF.ext or no CO-RE part). */
int eu_core_relos_read(const void *elf, size_t size, struct eu_core_relos *out, eu_error *err);
void eu_core_relos_free(struct eu_core_relos *r);

#endif
