/* The event decoder: a struct's BTF layout compiled once into a flat field plan, then used
 * to format raw event bytes with no BTF lookups and no allocation per field.
 *
 * How values print (JSON / text):
 *   integers of 1..8 bytes   JSON numbers (u64 values above 2^53 too: they are exact text)
 *   128-bit integers         decimal strings in JSON ("-170141183460469231731687303715884105728"),
 *                            bare decimal in text
 *   bool                     true / false
 *   char[N]                  a string cut at the first NUL (all N bytes when there is none);
 *                            invalid UTF-8 and control bytes escaped (see eu_buf_json_string /
 *                            eu_buf_text_escaped). Only plain `char` (or BTF_INT_CHAR) arrays:
 *                            unsigned char[N], __u8[N], signed char[N] are arrays of numbers
 *   enums                    the first declared name with that value, else the number
 *   pointers                 "0x7f..." (lower-case hex, no padding)
 *   float, double            shortest text that reads back as the same value; NaN and the
 *                            infinities (which JSON lacks) as the strings "NaN", "Infinity",
 *                            "-Infinity" (text: nan, inf, -inf); other float sizes as "0x" +
 *                            their bytes in memory order
 *   arrays, structs, unions  JSON arrays/objects (in text mode too, compactly); a union shows
 *                            every member; anonymous struct/union members are flattened into
 *                            their parent like C field access; zero-length arrays print []
 *   eu_ipv4_t / eu_ip_t      "a.b.c.d" / RFC 5952 IPv6 text ("::ffff:a.b.c.d" as "a.b.c.d")
 *   after eu_plan_read_for_people: addresses beside a family field, __be16/32/64 in host
 *   order, signals, errno values and TCP states (see there)
 *
 * Plans are bounded: nesting depth 32, 65536 ops, 16 MiB records, 4 Mi printed values per
 * record; bigger or malformed types are refused with an error naming the field. */
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

/* Plans are reference-counted: records in flight to sinks keep the plan of a package version
 * that was already replaced. eu_plan_ref takes a reference (thread-safe); eu_plan_free drops
 * one and frees the plan with the last. */
struct eu_plan *eu_plan_ref(struct eu_plan *plan);
void eu_plan_free(struct eu_plan *plan);

/* What a package's programs hook, for eu_plan_read_for_people. */
#define EU_READ_RETURNS 1u /* syscall or kernel function return values (sys_exit, kretprobe,
			    * fexit, ksyscall...) */
#define EU_READ_TCP 2u     /* TCP (a tcp_* function or the inet_sock_set_state tracepoint) */

/* Makes the plan print known kinds of values as people read them, decided from each field's
 * name, type and siblings (and, for errno and TCP states, what the programs hook: hooks is
 * EU_READ_* bits). In the table the reading replaces the number; in JSON addresses and
 * byte-swapped integers replace it, and names are added beside it ("sig": 10,
 * "sig_name": "SIGUSR1"; only for values that have a name). The rules are in
 * agent/decode/decoder_readable.c and the README. Call it once, before the plan is shared;
 * later calls do nothing. -ENOMEM leaves the values as numbers. */
int eu_plan_read_for_people(struct eu_plan *plan, unsigned hooks);

const char *eu_plan_name(const struct eu_plan *plan);
size_t eu_plan_size(const struct eu_plan *plan);   /* bytes of a whole record */
/* The shortest record that decodes: where a trailing array or char array starts (records of
 * `offsetof(struct event, buf) + len` bytes decode with the array cut to what arrived: a
 * char array is the string up to there, other arrays their whole elements present), else the
 * plan size. */
size_t eu_plan_min_size(const struct eu_plan *plan);
size_t eu_plan_field_count(const struct eu_plan *plan);
const struct eu_field_info *eu_plan_field(const struct eu_plan *plan, size_t i);
/* Index of a top-level field by name, or -1. */
int eu_plan_find_field(const struct eu_plan *plan, const char *name);

/* Appends one JSON object {"field": value, ...} for the record, compact, no newline. Records
 * shorter than eu_plan_min_size are refused (-EINVAL) with nothing appended; longer ones are
 * decoded up to the plan size. 64-bit integers are JSON numbers; 128-bit ones are decimal strings.
 * -ENOMEM (nothing appended) when the buffer cannot grow. */
int eu_plan_format_json(const struct eu_plan *plan, const void *data, size_t size, eu_buf *out);

/* Appends the value of top-level field i as JSON (what eu_plan_format_json writes for it). */
int eu_plan_format_field_json(const struct eu_plan *plan, size_t i, const void *data,
			      size_t size, eu_buf *out);
/* Appends the value of top-level field i as plain text (strings unquoted, escaped). */
int eu_plan_format_field_text(const struct eu_plan *plan, size_t i, const void *data,
			      size_t size, eu_buf *out);

/* Reads an integer, bool or enum field as a number (bitfields and sign handled). Unsigned
 * 64-bit values come back as their bit pattern (cast to uint64_t to read them); 128-bit
 * values outside that range give -ERANGE. eu_ipv4_t gives the u32 as stored (network order),
 * pointers the address. Other kinds: -EINVAL. */
int eu_plan_field_i64(const struct eu_plan *plan, size_t i, const void *data, size_t size,
		      int64_t *out);

/* ecli's aligned text table: a header "TIME     " + upper-cased field names, and rows of
 * "HH:MM:SS " + values, columns separated by one space. Neither appends a newline. Each
 * column's width is fixed in the plan: the larger of the header name and the value type's
 * usual width (integers: the digits their size can hold, capped at 10; bool 5; char[N]
 * min(N, 16); enums their longest name, up to 16; pointers 2 + 2 * size; floats 12;
 * addresses 15; nested values 16). A longer value widens its own cell only; the last column
 * is not padded. Strings are unquoted and escaped for terminals; nested values are compact
 * JSON. time_str is the 8-char time. */
void eu_plan_text_header(const struct eu_plan *plan, eu_buf *out);
int eu_plan_text_row(const struct eu_plan *plan, const char *time_str, const void *data,
		     size_t size, eu_buf *out);
/* The text column width of top-level field i (0 when i is out of range). */
unsigned eu_plan_text_width(const struct eu_plan *plan, size_t i);

/* A typed walk over one top-level field's value, for encoders other than JSON/text (OTLP
 * attributes). Scalars arrive as one call; arrays and structs/unions as a BEGIN call (count =
 * elements or members), their children, then an END call. Struct members carry their name.
 * Values with no natural scalar type (enum names, pointers, addresses, 128-bit integers,
 * odd-sized floats) arrive as EU_VALUE_TEXT, formatted as the text formatter prints them.
 * Arrays of 8-bit integers that are not plain `char` (__u8[N], unsigned char[N], signed
 * char[N], __s8[N]) arrive as EU_VALUE_BYTES.
 * The callback returns 0 to go on, anything else stops the walk and is returned. */
enum eu_value_kind {
	EU_VALUE_INT,     /* i */
	EU_VALUE_UINT,    /* u: unsigned integers of any size up to 64 bits */
	EU_VALUE_DOUBLE,  /* d */
	EU_VALUE_BOOL,    /* b */
	EU_VALUE_STRING,  /* s, len: char[N] raw bytes up to the first NUL (may be invalid UTF-8) */
	EU_VALUE_TEXT,    /* s, len: formatted text, valid UTF-8 */
	EU_VALUE_BYTES,   /* s, len */
	EU_VALUE_ARRAY_BEGIN,
	EU_VALUE_MAP_BEGIN,
	EU_VALUE_END,
};

struct eu_value {
	enum eu_value_kind kind;
	const char *name;   /* member name inside a struct/union, else NULL */
	int64_t i;
	uint64_t u;
	double d;
	bool b;
	const char *s;
	size_t len;
	size_t count;       /* BEGIN: number of children */
	/* a value read for people (eu_plan_read_for_people) that has a name: the name
	 * ("SIGUSR1", "ENOENT", "TCP_ESTABLISHED"), the value itself being the number; else NULL */
	const char *label;
};

typedef int (*eu_value_fn)(void *ctx, const struct eu_value *v);

/* Walks top-level field i of the record; -EINVAL for a bad index or short record, -ENOMEM,
 * else whatever the callback stopped with (0 when it never did). scratch holds the text of
 * EU_VALUE_TEXT values (valid until the next callback): a caller that keeps one across
 * walks allocates nothing once it has grown; NULL uses a temporary one. */
int eu_plan_walk_field(const struct eu_plan *plan, size_t i, const void *data, size_t size,
		       eu_buf *scratch, eu_value_fn fn, void *ctx);

#endif
