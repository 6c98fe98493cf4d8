/* The event decoder: a struct's BTF layout compiled once into a flat field plan, then used
 * to format raw event bytes with no BTF lookups and no allocation per field. */
#ifndef EUNOMIA_DECODER_H
#define EUNOMIA_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"

struct btf;
struct eu_export_type;
struct eu_custom_member;

enum eu_field_kind {
	EU_FIELD_INT,      /* signed/unsigned, 1..16 bytes, possibly a bitfield */
	EU_FIELD_BOOL,
	EU_FIELD_CHAR_ARRAY, /* char[N]: a NUL-terminated (or full) string */
	EU_FIELD_ENUM,     /* printed by name, number when no name matches */
	EU_FIELD_FLOAT,    /* 4, 8 (or 16: printed as hex bytes) */
	EU_FIELD_POINTER,  /* printed as 0x... */
	EU_FIELD_ARRAY,    /* any other array: elements follow as a sub-plan */
	EU_FIELD_STRUCT,
	EU_FIELD_UNION,
	/* address formats chosen by typedef name in the BPF program (see plugins/include):
	 * eu_ipv4_t (__u32, network byte order) and eu_ip_t (__u8[16]; IPv4-mapped addresses
	 * ::ffff:a.b.c.d print as dotted quads, everything else as RFC 5952 IPv6 text) */
	EU_FIELD_IPV4,
	EU_FIELD_IP,
};

/* One top-level field, for headers, labels and attribute mapping. */
struct eu_field_info {
	const char *name;
	enum eu_field_kind kind;
	uint32_t offset;     /* bytes from the start of the record */
	uint32_t size;       /* bytes */
	uint32_t bit_offset; /* bitfields: bit offset within the record; else offset*8 */
	uint32_t bit_size;   /* bitfields: width; else 0 */
	bool is_signed;      /* EU_FIELD_INT / ENUM */
	uint32_t elems;      /* arrays: element count (CHAR_ARRAY: capacity) */
};

struct eu_plan;

/* Compiles the plan for BTF type type_id (a struct or union, typedefs resolved). */
int eu_plan_new(const struct btf *btf, uint32_t type_id, struct eu_plan **out, eu_error *err);

/* A plan from upstream's "custom_members" export config: named members at byte offsets, each
 * typed by a BTF id. */
int eu_plan_new_custom(const struct btf *btf, const char *name,
		       const struct eu_custom_member *members, size_t n, struct eu_plan **out,
		       eu_error *err);

/* A plan from the 2022 legacy metadata: C type names and bit offsets, no BTF. Supports the
 * integer types, bool, char[N] and fixed arrays of those. */
int eu_plan_new_legacy(const struct eu_export_type *type, struct eu_plan **out, eu_error *err);

void eu_plan_free(struct eu_plan *plan);

const char *eu_plan_name(const struct eu_plan *plan);
size_t eu_plan_size(const struct eu_plan *plan);   /* bytes a record must have */
size_t eu_plan_field_count(const struct eu_plan *plan);
const struct eu_field_info *eu_plan_field(const struct eu_plan *plan, size_t i);
/* Index of a top-level field by name, or -1. */
int eu_plan_find_field(const struct eu_plan *plan, const char *name);

/* Appends one JSON object {"field": value, ...} for the record. Records shorter than the
 * plan are refused (-EINVAL) with nothing appended; longer ones are decoded up to the plan
 * size. 64-bit integers are JSON numbers; 128-bit ones are decimal strings. */
int eu_plan_format_json(const struct eu_plan *plan, const void *data, size_t size, eu_buf *out);

/* Appends the value of top-level field i as JSON (what eu_plan_format_json writes for it). */
int eu_plan_format_field_json(const struct eu_plan *plan, size_t i, const void *data,
			      size_t size, eu_buf *out);
/* Appends the value of top-level field i as plain text (strings unquoted, escaped). */
int eu_plan_format_field_text(const struct eu_plan *plan, size_t i, const void *data,
			      size_t size, eu_buf *out);

/* Reads an integer, bool or enum field as a number (bitfields and sign handled). */
int eu_plan_field_i64(const struct eu_plan *plan, size_t i, const void *data, size_t size,
		      int64_t *out);

/* ecli's aligned text table: a header "TIME     " + upper-cased field names, and rows of
 * "HH:MM:SS " + values padded to the same column widths. time_str is the 8-char time. */
void eu_plan_text_header(const struct eu_plan *plan, eu_buf *out);
int eu_plan_text_row(const struct eu_plan *plan, const char *time_str, const void *data,
		     size_t size, eu_buf *out);

#endif
