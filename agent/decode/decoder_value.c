/* Writing one planned value from raw record bytes: the per-field hot path. No BTF, no
 * allocation (beyond the output buffer growing), no printf except for floats. */
#include "decoder_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char eu_digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";
static const char hexd[] = "0123456789abcdef";

/* Writes v's digits so that they end at end; returns where they start. */
static inline char *digits_u64(char *end, uint64_t v)
{
	char *p = end;
	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		p -= 2;
		memcpy(p, eu_digits2 + i, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, eu_digits2 + v * 2, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

static const uint64_t pow10_u64[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
	10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

static inline unsigned dec_len(uint64_t v)
{
	/* log10 from the bit length (1233/4096 ~ log10(2)), corrected by one comparison;
	 * v | 1 makes 0 count as one digit and changes no other answer (10^t is even) */
	uint64_t u = v | 1;
	unsigned t = ((64u - (unsigned)__builtin_clzll(u)) * 1233u) >> 12;
	return t + 1 - (u < pow10_u64[t]);
}

/* Digits go straight to their final place in the output: building them in a scratch buffer
 * and copying would stall on store-to-load forwarding. */
void eu_wr_u64(struct eu_wr *w, uint64_t v)
{
	if (!eu_wr_room(w, 20))
		return;
	w->p += dec_len(v);
	digits_u64(w->p, v);
}

void eu_wr_i64(struct eu_wr *w, int64_t v)
{
	if (!eu_wr_room(w, 21))
		return;
	uint64_t m = (uint64_t)v;
	if (v < 0) {
		*w->p++ = '-';
		m = (uint64_t)0 - m;
	}
	w->p += dec_len(m);
	digits_u64(w->p, m);
}

static void wr_u128(struct eu_wr *w, unsigned __int128 v, bool negative, bool quote)
{
	/* 39 digits at most: three chunks of 19 (10^19 fits in 64 bits) */
	const uint64_t chunk = 10000000000000000000ull;
	char tmp[48];
	char *end = tmp + sizeof(tmp);
	char *p = end;
	if (quote)
		*--p = '"';
	do {
		uint64_t part = (uint64_t)(v % chunk);
		v /= chunk;
		char *s = digits_u64(p, part);
		if (v) {
			/* inner chunks are zero-padded to 19 digits */
			while (p - s < 19)
				*--s = '0';
		}
		p = s;
	} while (v);
	if (negative)
		*--p = '-';
	if (quote)
		*--p = '"';
	eu_wr_mem(w, p, (size_t)(end - p));
}

uint64_t eu_op_load_bits(const struct eu_plan_op *op, const uint8_t *p)
{
	if (!op->bit_size)
		return eu_load_uint(p, op->size);
	unsigned __int128 v = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(&v, p, op->size);
	v >>= op->bit_shift;
#else
	for (uint32_t i = 0; i < op->size; i++)
		v = (v << 8) | p[i];
	v >>= op->size * 8 - op->bit_shift - op->bit_size;
#endif
	uint64_t mask = op->bit_size >= 64 ? UINT64_MAX : ((uint64_t)1 << op->bit_size) - 1;
	return (uint64_t)v & mask;
}

int64_t eu_op_sign_extend(const struct eu_plan_op *op, uint64_t bits)
{
	unsigned width = op->bit_size ? op->bit_size : op->size * 8;
	if (width >= 64)
		return (int64_t)bits;
	unsigned shift = 64 - width;
	return (int64_t)(bits << shift) >> shift;
}

int eu_plan_enum_find(const struct eu_plan *plan, const struct eu_plan_op *op, uint64_t bits)
{
	if (op->count == 0)
		return -1; /* an enum without values: plan->enums may be NULL */
	const struct eu_plan_enum *e = plan->enums + op->first;
	uint32_t lo = 0, hi = op->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (e[mid].bits < bits)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < op->count && e[lo].bits == bits ? (int)(op->first + lo) : -1;
}

static void wr_string(struct eu_wr *w, const uint8_t *s, uint32_t cap, bool text)
{
	/* the common case, plain ASCII, is copied while it is checked; anything else goes
	 * through the buffer's escapers (same output, they handle UTF-8 and control bytes) */
	if (!eu_wr_room(w, (size_t)cap + 2))
		return;
	char *start = w->p;
	char *o = start;
	uint32_t i = 0;
	if (text) {
		for (; i < cap; i++) {
			uint8_t c = s[i];
			if (c < 0x20 || c >= 0x7f)
				break;
			*o++ = (char)c;
		}
	} else {
		*o++ = '"';
		for (; i < cap; i++) {
			uint8_t c = s[i];
			if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
				break;
			*o++ = (char)c;
		}
	}
	if (i == cap || s[i] == 0) {
		if (!text)
			*o++ = '"';
		w->p = o;
		return;
	}
	const uint8_t *nul = memchr(s + i, 0, cap - i);
	size_t n = nul ? (size_t)(nul - s) : cap;
	w->p = start;
	eu_wr_sync(w);
	if (text)
		eu_buf_text_escaped(w->b, (const char *)s, n);
	else
		eu_buf_json_string(w->b, (const char *)s, n);
	eu_wr_resync(w);
}

static void wr_hex(struct eu_wr *w, uint64_t v, bool quote)
{
	char tmp[24];
	char *end = tmp + sizeof(tmp), *p = end;
	if (quote)
		*--p = '"';
	do {
		*--p = hexd[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	if (quote)
		*--p = '"';
	eu_wr_mem(w, p, (size_t)(end - p));
}

static void wr_hex_bytes(struct eu_wr *w, const uint8_t *p, uint32_t n, bool quote)
{
	if (!eu_wr_room(w, 4 + 2 * (size_t)n))
		return;
	if (quote)
		*w->p++ = '"';
	*w->p++ = '0';
	*w->p++ = 'x';
	for (uint32_t i = 0; i < n; i++) {
		*w->p++ = hexd[p[i] >> 4];
		*w->p++ = hexd[p[i] & 15];
	}
	if (quote)
		*w->p++ = '"';
}

/* Shortest decimal that reads back as the same value (%.17g is always exact but noisy:
 * 0.1 would print as 0.10000000000000001). JSON has no NaN or infinities: they are written
 * as the strings "NaN", "Infinity", "-Infinity" (text mode: nan, inf, -inf). */
static void wr_float(struct eu_wr *w, double d, bool single, bool text)
{
	if (isnan(d)) {
		if (text)
			eu_wr_mem(w, "nan", 3);
		else
			eu_wr_mem(w, "\"NaN\"", 5);
		return;
	}
	if (isinf(d)) {
		if (text)
			d < 0 ? eu_wr_mem(w, "-inf", 4) : eu_wr_mem(w, "inf", 3);
		else
			d < 0 ? eu_wr_mem(w, "\"-Infinity\"", 11) : eu_wr_mem(w, "\"Infinity\"", 10);
		return;
	}
	char tmp[40];
	int n = 0;
	for (int prec = single ? 6 : 15; prec <= (single ? 9 : 17); prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (single ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d)
			break;
	}
	if (n > 0 && (size_t)n < sizeof(tmp))
		eu_wr_mem(w, tmp, (size_t)n);
}

static void wr_octet(struct eu_wr *w, uint8_t v)
{
	char tmp[4];
	char *s = digits_u64(tmp + sizeof(tmp), v);
	eu_wr_mem(w, s, (size_t)(tmp + sizeof(tmp) - s));
}

static void wr_ipv4(struct eu_wr *w, const uint8_t *a, bool quote)
{
	if (quote)
		eu_wr_char(w, '"');
	for (int i = 0; i < 4; i++) {
		if (i)
			eu_wr_char(w, '.');
		wr_octet(w, a[i]);
	}
	if (quote)
		eu_wr_char(w, '"');
}

/* RFC 5952: lower-case hex, no leading zeros, the longest run (first on ties) of two or more
 * zero groups as "::"; IPv4-mapped addresses as plain dotted quads. */
static void wr_ip(struct eu_wr *w, const uint8_t *a, bool quote)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(a, mapped, 12) == 0) {
		wr_ipv4(w, a + 12, quote);
		return;
	}
	uint16_t g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		if (g[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && !g[j])
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}
	if (best_len < 2)
		best = -1;
	char tmp[48];
	char *p = tmp;
	if (quote)
		*p++ = '"';
	for (int i = 0; i < 8;) {
		if (i == best) {
			*p++ = ':';
			*p++ = ':';
			i += best_len;
			continue;
		}
		if (i > 0 && !(best >= 0 && i == best + best_len))
			*p++ = ':';
		bool started = false;
		for (int s = 12; s >= 0; s -= 4) {
			unsigned nib = (g[i] >> s) & 15;
			if (nib || started || s == 0) {
				*p++ = hexd[nib];
				started = true;
			}
		}
		i++;
	}
	if (quote)
		*p++ = '"';
	eu_wr_mem(w, tmp, (size_t)(p - tmp));
}

static void wr_enum(struct eu_wr *w, const struct eu_plan *plan, const struct eu_plan_op *op,
		    const uint8_t *p, bool text)
{
	uint64_t bits = eu_op_load_bits(op, p);
	int e = eu_plan_enum_find(plan, op, bits);
	if (e >= 0) {
		const struct eu_plan_enum *en = &plan->enums[e];
		if (text)
			eu_wr_mem(w, plan->pool + en->name_off, en->name_len);
		else
			eu_wr_mem(w, plan->pool + en->json_off, en->json_len);
		return;
	}
	if (op->is_signed)
		eu_wr_i64(w, eu_op_sign_extend(op, bits));
	else
		eu_wr_u64(w, bits);
}

static bool any_nonzero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return true;
	return false;
}

/* The op as the kind it had before a name-based reading replaced it. */
static void wr_base(struct eu_wr *w, const struct eu_plan *plan, const struct eu_plan_op *op,
		    const uint8_t *base, bool text)
{
	struct eu_plan_op tmp = *op;
	tmp.kind = op->base_kind;
	eu_wr_value(w, plan, &tmp, base, text);
}

/* JSON keeps a named value's number under its own key and adds `,"KEY_name":"NAME"` when
 * the value has a name (none for fds, unknown signals, ...). */
static void wr_name_key(struct eu_wr *w, const struct eu_plan *plan, const struct eu_plan_op *c,
			const uint8_t *base)
{
	char tmp[40];
	const char *name = eu_named_value(c, base + c->offset, tmp, sizeof(tmp));
	if (!name)
		return;
	size_t n = strlen(name);
	if (!eu_wr_room(w, c->aux_len + n + 2))
		return;
	memcpy(w->p, plan->pool + c->aux, c->aux_len);
	w->p += c->aux_len;
	*w->p++ = '"';
	memcpy(w->p, name, n); /* identifiers: nothing to escape */
	w->p += n;
	*w->p++ = '"';
}

/* `"name":value` of struct member c (its key), valued by op v (c itself, or c cut short). */
static inline bool wr_member(struct eu_wr *w, const struct eu_plan *plan,
			     const struct eu_plan_op *c, const struct eu_plan_op *v,
			     const uint8_t *base, bool first)
{
	/* keys are short: one fixed-size copy (the pool is padded for it) */
	size_t need = c->key_len > EU_KEY_COPY ? c->key_len : EU_KEY_COPY;
	if (!eu_wr_room(w, need + 1))
		return false;
	if (!first)
		*w->p++ = ',';
	if (c->key_len <= EU_KEY_COPY)
		memcpy(w->p, plan->pool + c->key_off, EU_KEY_COPY);
	else
		memcpy(w->p, plan->pool + c->key_off, c->key_len);
	w->p += c->key_len;
	eu_wr_value(w, plan, v, base, false);
	if (c->kind == EU_OP_NAMED)
		wr_name_key(w, plan, c, base);
	return true;
}

void eu_wr_value(struct eu_wr *w, const struct eu_plan *plan, const struct eu_plan_op *op,
		 const uint8_t *base, bool text)
{
	const uint8_t *p = base + op->offset;
	switch ((enum eu_op_kind)op->kind) {
	case EU_OP_U8:
		eu_wr_u64(w, p[0]);
		break;
	case EU_OP_U16:
	case EU_OP_U32:
	case EU_OP_U64:
		eu_wr_u64(w, eu_load_uint(p, op->size));
		break;
	case EU_OP_S8:
		eu_wr_i64(w, (int8_t)p[0]);
		break;
	case EU_OP_S16: {
		int16_t v;
		memcpy(&v, p, 2);
		eu_wr_i64(w, v);
		break;
	}
	case EU_OP_S32: {
		int32_t v;
		memcpy(&v, p, 4);
		eu_wr_i64(w, v);
		break;
	}
	case EU_OP_S64: {
		int64_t v;
		memcpy(&v, p, 8);
		eu_wr_i64(w, v);
		break;
	}
	case EU_OP_U128:
	case EU_OP_S128: {
		unsigned __int128 v;
		memcpy(&v, p, 16);
		bool neg = op->kind == EU_OP_S128 && (__int128)v < 0;
		wr_u128(w, neg ? (unsigned __int128)0 - v : v, neg, !text);
		break;
	}
	case EU_OP_BITS: {
		uint64_t bits = eu_op_load_bits(op, p);
		if (op->is_signed)
			eu_wr_i64(w, eu_op_sign_extend(op, bits));
		else
			eu_wr_u64(w, bits);
		break;
	}
	case EU_OP_BOOL: {
		bool v = op->bit_size ? eu_op_load_bits(op, p) != 0 : any_nonzero(p, op->size);
		if (v)
			eu_wr_mem(w, "true", 4);
		else
			eu_wr_mem(w, "false", 5);
		break;
	}
	case EU_OP_CHARS:
		wr_string(w, p, op->count, text);
		break;
	case EU_OP_ENUM:
		wr_enum(w, plan, op, p, text);
		break;
	case EU_OP_F32: {
		float f;
		memcpy(&f, p, 4);
		wr_float(w, f, true, text);
		break;
	}
	case EU_OP_F64: {
		double d;
		memcpy(&d, p, 8);
		wr_float(w, d, false, text);
		break;
	}
	case EU_OP_FBYTES:
		wr_hex_bytes(w, p, op->size, !text);
		break;
	case EU_OP_PTR:
		wr_hex(w, eu_load_uint(p, op->size), !text);
		break;
	case EU_OP_IPV4:
		wr_ipv4(w, p, !text);
		break;
	case EU_OP_IP:
		wr_ip(w, p, !text);
		break;
	case EU_OP_BE:
		eu_wr_u64(w, eu_op_load_be(op, p));
		break;
	case EU_OP_NAMED: {
		char tmp[40];
		const char *name = text ? eu_named_value(op, p, tmp, sizeof(tmp)) : NULL;
		if (name)
			eu_wr_mem(w, name, strlen(name));
		else
			wr_base(w, plan, op, base, text);
		break;
	}
	case EU_OP_AF_ADDR:
		switch (eu_af_addr_form(plan, op, base)) {
		case 4:
			wr_ipv4(w, p, !text);
			break;
		case 6:
			wr_ip(w, p, !text);
			break;
		case 0: /* the other member of the union holds this record's address */
			if (text)
				eu_wr_char(w, '-');
			else
				eu_wr_mem(w, "null", 4);
			break;
		default:
			wr_base(w, plan, op, base, text);
		}
		break;
	case EU_OP_ARRAY: {
		const struct eu_plan_op *elem = &plan->ops[op->first];
		eu_wr_char(w, '[');
		for (uint32_t i = 0; i < op->count; i++) {
			if (i)
				eu_wr_char(w, ',');
			eu_wr_value(w, plan, elem, p + (size_t)i * op->stride, false);
		}
		eu_wr_char(w, ']');
		break;
	}
	case EU_OP_STRUCT:
	case EU_OP_UNION: {
		eu_wr_char(w, '{');
		const struct eu_plan_op *c = &plan->ops[op->first];
		for (uint32_t i = 0; i < op->count; i++, c++)
			if (!wr_member(w, plan, c, c, p, i == 0))
				break;
		eu_wr_char(w, '}');
		break;
	}
	}
}

void eu_wr_root(struct eu_wr *w, const struct eu_plan *plan, const uint8_t *base, size_t size)
{
	const struct eu_plan_op *root = &plan->ops[0];
	if (size >= plan->size) {
		eu_wr_value(w, plan, root, base, false);
		return;
	}
	/* a short record (size >= min_size, checked by the caller): the tail is cut */
	eu_wr_char(w, '{');
	for (uint32_t i = 0; i < root->count; i++) {
		struct eu_plan_op tmp;
		const struct eu_plan_op *c = &plan->ops[root->first + i];
		const struct eu_plan_op *v = eu_plan_field_op(plan, i, size, &tmp);
		if (!v || !wr_member(w, plan, c, v, base, i == 0))
			break;
	}
	eu_wr_char(w, '}');
}
