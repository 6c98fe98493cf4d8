/* What a package says its records look like: the export types of a package (package.h),
 * from which the decoder builds its plans (decoder.h). Plain data, declared apart from both so
 * that the decoder reads a package's description without depending on package reading. */
#ifndef EUNOMIA_EXPORT_TYPE_H
#define EUNOMIA_EXPORT_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A member of an export_config {"custom_members": [...]}: a field at a byte offset with the
 * type of a BTF id in the package's object. */
struct eu_custom_member {
	char *name;
	uint32_t offset;       /* bytes */
	uint32_t btf_type_id;
};

struct eu_member_meta {
	char *name;
	char *type;
	/* legacy format only: bit offset from FieldOffset; has_offset says it is set */
	uint32_t bit_offset;
	bool has_offset;
};

struct eu_export_type {
	char *name;
	uint32_t type_id;  /* in the package's own BTF; 0 for legacy */
	uint32_t size;
	struct eu_member_meta *members;
	size_t n_members;
};

#endif
