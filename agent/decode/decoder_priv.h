/* The decoder's private plan layout, shared by the plan builders (BTF, custom, legacy) and the
 * formatters (JSON, text). Not a public header: nothing outside agent/decoder*.c includes it. */
#ifndef EUNOMIA_DECODER_PRIV_H
#define EUNOMIA_DECODER_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "eunomia/buf.h"
#include "eunomia/decoder.h"
#include "eunomia/error.h"

/* Limits that keep a hostile or absurd type description from exhausting the stack, memory
 * or output: nesting depth, op count, record size, and "cost" (how many values one record
 * prints, arrays multiplied out). Exceeding any of them is an error at plan time. */
#define EU_PLAN_MAX_DEPTH 32
#define EU_PLAN_MAX_OPS (1u << 16)
#define EU_PLAN_MAX_ENUMS (1u << 16)
#define EU_PLAN_MAX_SIZE (1u << 24)
#define EU_PLAN_MAX_COST (1u << 20)
/* JSON keys up to this long are copied with one fixed-size move; the pool ends with this
 * many spare bytes so the move never reads past it */
#define EU_KEY_COPY 32
#define EU_PLAN_MAX_NAME 256

/* "00" "01" ... "99": two digits per lookup */
extern const char eu_digits2[201];

/* Writes v (below 10^9) as exactly nine digits, leading zeros kept. */
static inline void eu_digits9(char *p, uint32_t v)
{
	uint32_t hi = v / 100000u, lo = v % 100000u; /* 4 and 5 digits */
	memcpy(p, eu_digits2 + hi / 100u * 2u, 2);
	memcpy(p + 2, eu_digits2 + hi % 100u * 2u, 2);
	p[4] = (char)('0' + lo / 10000u);
	lo %= 10000u;
	memcpy(p + 5, eu_digits2 + lo / 100u * 2u, 2);
	memcpy(p + 7, eu_digits2 + lo % 100u * 2u, 2);
}

/* One op per value. Ops with their own byte layout are distinct kinds so the formatter's
 * switch does the size and sign dispatch in one jump. */
enum eu_op_kind {
	EU_OP_U8,
	EU_OP_U16,
	EU_OP_U32,
	EU_OP_U64,
	EU_OP_S8,
	EU_OP_S16,
	EU_OP_S32,
	EU_OP_S64,
	EU_OP_U128,
	EU_OP_S128,
	EU_OP_BITS,    /* integer bitfield: bit_shift/bit_size, is_signed */
	EU_OP_BOOL,    /* any size; bitfields too (bit_size != 0) */
	EU_OP_CHARS,   /* count = capacity */
	EU_OP_ENUM,    /* first/count: entries in plan->enums; bitfields too */
	EU_OP_F32,
	EU_OP_F64,
	EU_OP_FBYTES,  /* a float we do not convert (2, 12, 16 bytes): "0x" + hex, memory order */
	EU_OP_PTR,     /* size 4 or 8 */
	EU_OP_ARRAY,   /* first = element op (offset 0), count elements, stride bytes apart */
	EU_OP_STRUCT,  /* first/count: children, contiguous */
	EU_OP_UNION,   /* same as struct: every member printed */
	EU_OP_IPV4,
	EU_OP_IP,
	/* kinds decided from field names and siblings (decoder_kinds.c); base_kind keeps the
	 * op's own kind, which is what they print as when their rule does not apply */
	EU_OP_BE,      /* an unsigned integer stored big-endian (__be16/__be32/__be64) */
	EU_OP_AF_ADDR, /* an address whose family is the sibling op aux: AF_INET (or 4) reads
			* the first 4 bytes, AF_INET6 (or 6) all 16; see hint */
	EU_OP_NAMED,   /* an integer with a name table (hint: enum eu_name_table); JSON adds
			* the key pre-rendered at aux (aux_len bytes, `,"sig_name":`) */
};

/* op->flags: what the BTF said about a value beyond its layout */
#define EU_OPF_BE 1u /* its type crossed a __be16/__be32/__be64 typedef */

/* EU_OP_AF_ADDR hints */
#define EU_ADDR_IPVER 1u   /* the family field holds 4/6, not AF_INET/AF_INET6 */
#define EU_ADDR_V4_TWIN 2u /* (16 bytes) a 4-byte address at the same offset (a union of the
			    * two forms) prints AF_INET records: this one is null for them */

enum eu_name_table {
	EU_NAMES_SIGNAL = 1, /* 1..64: SIGHUP... SIGRTMIN+n */
	EU_NAMES_ERRNO_NEG,  /* -4095..-1: "-ENOENT" (a return value) */
	EU_NAMES_ERRNO,      /* an errno field: 1..4095 "ENOENT", negatives "-ENOENT" */
	EU_NAMES_TCP_STATE,  /* 1..12: TCP_ESTABLISHED... */
};

struct eu_plan_op {
	uint8_t kind;       /* enum eu_op_kind */
	uint8_t is_signed;  /* BITS, ENUM */
	uint8_t bit_shift;  /* bitfields: bit offset inside the bytes at offset (memory order) */
	uint8_t bit_size;   /* bitfields: width 1..64; 0 when not a bitfield */
	uint8_t base_kind;  /* EU_OP_BE/AF_ADDR/NAMED: the kind the op had before */
	uint8_t hint;       /* AF_ADDR: EU_ADDR_*; NAMED: enum eu_name_table */
	uint8_t flags;      /* EU_OPF_* */
	uint8_t aux_len;
	uint32_t aux;       /* AF_ADDR: the family op's index; NAMED: the extra JSON key */
	uint32_t offset;    /* bytes from the parent's base (the record for top-level fields) */
	uint32_t size;      /* bytes read; bitfields: bytes spanned */
	uint32_t first;
	uint32_t count;
	uint32_t stride;
	uint32_t key_off;   /* `"name":` pre-rendered in the pool */
	uint32_t key_len;
	uint32_t name_off;  /* the raw name, NUL-terminated in the pool */
};

struct eu_plan_enum {
	uint64_t bits;      /* the value, masked to the field's width */
	uint32_t name_off;  /* the name escaped for text (eu_buf_text_escaped) */
	uint32_t name_len;
	uint32_t json_off;  /* quoted JSON string */
	uint32_t json_len;
};

struct eu_plan {
	atomic_uint refs; /* eu_plan_ref / eu_plan_free */
	char *name;
	size_t size;
	struct eu_plan_op *ops;  /* ops[0] is the root struct/union */
	uint32_t n_ops;
	struct eu_plan_enum *enums;
	uint32_t n_enums;
	char *pool;
	size_t pool_len;
	struct eu_field_info *fields;  /* top-level fields: fields[i] <-> ops[ops[0].first + i] */
	uint16_t *widths;              /* text column width of each top-level field */
	/* a record may stop inside its trailing array or char array (a variable-length tail,
	 * `offsetof(struct event, buf) + len` bytes): min_size is where that array starts and
	 * tail its top-level field index; without such a tail min_size == size and tail == -1 */
	size_t min_size;
	int32_t tail;
	size_t json_hint;              /* bytes reserved up front per JSON record */
	size_t text_hint;
	bool kinds_done;               /* eu_plan_detect_kinds ran */
};

/* ---- building (decoder_plan.c) ---- */

struct eu_plan_builder {
	struct eu_plan_op *ops;
	uint32_t n_ops, cap_ops;
	struct eu_plan_enum *enums;
	uint32_t n_enums, cap_enums;
	eu_buf pool;
	eu_error *err;
	const char *what;  /* the plan's name, for messages */
};

void eu_pb_init(struct eu_plan_builder *pb, const char *what, eu_error *err);
void eu_pb_free(struct eu_plan_builder *pb);
/* Appends n zeroed ops; their first index goes to *first. Fails past EU_PLAN_MAX_OPS. */
int eu_pb_add_ops(struct eu_plan_builder *pb, uint32_t n, uint32_t *first);
/* Sets the op's name and its pre-rendered JSON key. */
int eu_pb_set_name(struct eu_plan_builder *pb, uint32_t op, const char *name);
int eu_pb_add_enum(struct eu_plan_builder *pb, uint64_t bits, const char *name);
/* Sorts the enum entries [first, first+count) for binary search (declaration order breaks
 * ties, so the first declared name wins). */
void eu_pb_sort_enums(struct eu_plan_builder *pb, uint32_t first, uint32_t count);
/* Hands the ops to a new plan (ops[0] must be the root struct/union). pb is emptied. */
int eu_pb_finish(struct eu_plan_builder *pb, const char *name, size_t size, struct eu_plan **out);
/* Fills the top-level field table, text widths and per-record reservations from the ops
 * (again after op kinds change or the pool moves). */
void eu_plan_layout(struct eu_plan *plan);

/* Cost bookkeeping: a * b + c with saturation at EU_PLAN_MAX_COST + 1. */
uint64_t eu_pb_cost(uint64_t a, uint64_t b, uint64_t c);

/* ---- reading values (decoder_value.c) ---- */

static inline uint64_t eu_load_uint(const uint8_t *p, uint32_t size)
{
	switch (size) {
	case 1:
		return p[0];
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

/* Raw bits of an integer-like op (int, bool, enum, bitfield), zero-extended. */
uint64_t eu_op_load_bits(const struct eu_plan_op *op, const uint8_t *p);
/* The op's value as a signed number when op is signed (sign-extended from its width). */
int64_t eu_op_sign_extend(const struct eu_plan_op *op, uint64_t bits);
/* Index of the enum entry whose value is bits, or -1. */
int eu_plan_enum_find(const struct eu_plan *plan, const struct eu_plan_op *op, uint64_t bits);
/* The name of an EU_OP_NAMED value in its table ("SIGUSR1", "-ENOENT"), or NULL. */
const char *eu_named_value(const struct eu_plan_op *op, const uint8_t *p, char *tmp, size_t n);
/* An EU_OP_BE value in host order. */
uint64_t eu_op_load_be(const struct eu_plan_op *op, const uint8_t *p);
/* EU_OP_AF_ADDR: 4 (IPv4 from the first 4 bytes), 6 (IPv6), 0 (this record's family is the
 * other sibling's: null) or -1 (an unknown family: the value as stored). base is the op's
 * parent's base. */
int eu_af_addr_form(const struct eu_plan *plan, const struct eu_plan_op *op, const uint8_t *base);

/* The op of top-level field i for a record of size bytes: the plan's own op, or, for a short
 * record, the trailing array cut to the whole elements present (written into *tmp). NULL when
 * the record does not reach the field. */
static inline const struct eu_plan_op *eu_plan_field_op(const struct eu_plan *plan, size_t i,
							size_t size, struct eu_plan_op *tmp)
{
	const struct eu_plan_op *op = &plan->ops[plan->ops[0].first + i];
	if (size >= plan->size)
		return op;
	if (size < plan->min_size)
		return NULL;
	if ((int32_t)i != plan->tail)
		return op;
	*tmp = *op;
	size_t have = size - op->offset;
	if (op->kind == EU_OP_CHARS)
		tmp->count = (uint32_t)have;
	else
		tmp->count = op->stride ? (uint32_t)(have / op->stride) : 0;
	tmp->size = op->kind == EU_OP_CHARS ? tmp->count : tmp->count * op->stride;
	return tmp;
}

/* ---- writing (decoder_json.c) ----
 * A cursor straight into an eu_buf's storage: each write checks room once, and the buffer
 * grows only when the per-record reservation was too small. On allocation failure writes
 * stop and eu_wr_end() reports -ENOMEM with the buffer restored. */
struct eu_wr {
	eu_buf *b;
	char *p;
	char *end;
	size_t start;
};

bool eu_wr_grow(struct eu_wr *w, size_t n);

static inline bool eu_wr_room(struct eu_wr *w, size_t n)
{
	if ((size_t)(w->end - w->p) >= n)
		return true;
	return eu_wr_grow(w, n);
}

static inline void eu_wr_mem(struct eu_wr *w, const void *s, size_t n)
{
	if (!eu_wr_room(w, n))
		return;
	memcpy(w->p, s, n);
	w->p += n;
}

static inline void eu_wr_char(struct eu_wr *w, char c)
{
	if (!eu_wr_room(w, 1))
		return;
	*w->p++ = c;
}

int eu_wr_begin(struct eu_wr *w, eu_buf *b, size_t hint);
/* One top-level field as JSON (text false) or as table text (text true). */
int eu_plan_format_field(const struct eu_plan *plan, size_t i, const void *data, size_t size,
			 eu_buf *out, bool text);
int eu_wr_end(struct eu_wr *w);
/* Hand the buffer to eu_buf_* functions and take it back. */
void eu_wr_sync(struct eu_wr *w);
void eu_wr_resync(struct eu_wr *w);

/* Value writers. text=true: strings, names and 128-bit numbers unquoted, strings escaped
 * for terminals; nested values are JSON in both modes. */
void eu_wr_value(struct eu_wr *w, const struct eu_plan *plan, const struct eu_plan_op *op,
		 const uint8_t *base, bool text);
/* The whole record as a JSON object; a record shorter than the plan (but not than its
 * min_size) gets its trailing array cut to what arrived. */
void eu_wr_root(struct eu_wr *w, const struct eu_plan *plan, const uint8_t *base, size_t size);
void eu_wr_u64(struct eu_wr *w, uint64_t v);
void eu_wr_i64(struct eu_wr *w, int64_t v);

#endif
