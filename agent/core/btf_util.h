/* Small BTF helpers shared by every module that walks a package's BTF. A package's BTF is
 * untrusted input: names may be out of range and modifier, typedef or array chains may loop,
 * so every walk here is bounded. */
#ifndef EUNOMIA_BTF_UTIL_H
#define EUNOMIA_BTF_UTIL_H

#include <stdbool.h>
#include <stdint.h>

struct btf;

/* No real C type nests modifiers, typedefs or array dimensions anywhere near this deep. */
#define EU_BTF_MAX_CHAIN 64

/* The name at off, or "" when off is outside the string section. Never NULL. */
const char *eu_btf_name(const struct btf *btf, uint32_t off);

/* Follows const/volatile/restrict/type_tag (and typedefs when skip_typedefs) from id.
 * Returns the first other type's id; 0 (void) when the chain loops or breaks. */
uint32_t eu_btf_skip_mods(const struct btf *btf, uint32_t id, bool skip_typedefs);

/* The innermost element type of a (multi-dimensional) array, modifiers and typedefs skipped;
 * id itself when it is not an array; 0 when the chain loops. */
uint32_t eu_btf_array_elem(const struct btf *btf, uint32_t id);

#endif
