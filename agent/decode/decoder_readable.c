/* Readings of values that their user space would have printed for people: addresses beside
 * an address family, big-endian integers, signals, errno values and TCP states. Decided once
 * per plan from each field's name AND its type AND its siblings or the programs' hooks, so
 * that a field that only happens to share a name keeps its number:
 *
 *   address   name has "addr" (or is src/dst, sip/dip, ..._ip), 4 bytes (u32, u8[4]) or 16
 *             (u8[16], u32[4], u16[8], __int128); with a sibling family field (af, family,
 *             sa_family, ..., or ipver/ip_version holding 4/6) the family of each record
 *             decides (AF_INET: the first 4 bytes, AF_INET6: 16, any other: the number);
 *             without one only __be32 or u8[4] values and names that say v4/v6 or
 *             saddr/daddr/... (never 8-byte values: those are memory addresses)
 *   __be16/32/64  the number in host order (ports, sequence numbers)
 *   signal    sig, signal, signo, signum, sig_num, ...: an integer 1..31 -> "SIGUSR1"
 *   errno     errno: its name; ret/retval/rc/err/error: a signed integer of 4 or 8 bytes in
 *             a package whose programs see syscall or kernel function returns, -4095..-1
 *             -> "-ENOENT" (0 and positive values are results: numbers)
 *   TCP state state, oldstate, newstate, old_state, new_state, skc_state, tcp_state: an
 *             integer 1..13 in a package whose programs hook TCP -> "TCP_ESTABLISHED"
 *   pointer   an unsigned 8-byte integer named like a memory address (has "addr" or ends in
 *             "ptr": skaddr, kaddr, ..._ptr), never one named like an IP address (saddr,
 *             daddr, ...: bcc keeps IPv4 addresses in u64s) nor a link-layer one (mac, hw,
 *             eth, lladdr) -> hex, as a BTF pointer prints: "0xffff8f2a1c3e4000"
 *
 * Enum-typed fields already print their names and are left alone. */
#include "decoder_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static bool name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcasecmp(name, *list))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

static bool is_int(const struct eu_plan_op *op)
{
	return op->kind <= EU_OP_S64 || op->kind == EU_OP_BITS;
}

/* 0: not a family field; 1: AF_* values; 2: IP version 4/6 */
static int family_style(const struct eu_plan_op *op, const char *name)
{
	static const char *const ipver[] = {"ipver", "ip_ver", "ip_version", "ipversion", NULL};
	if (!is_int(op) || op->bit_size)
		return 0;
	if (!strcasecmp(name, "af") || ends_with(name, "_af") || ends_with(name, "family"))
		return 1;
	return name_in(name, ipver) ? 2 : 0;
}

static bool address_name(const char *name)
{
	static const char *const exact[] = {"src", "dst", "sip", "dip", "ip", "ip4", "ip6", "ipv4",
					     "ipv6", NULL};
	/* memory and link-layer addresses */
	static const char *const not_ip[] = {"mac", "hw", "eth", "phys", "virt", "vaddr",
					     "uaddr", "kaddr", "paddr", "lladdr", NULL};
	for (const char *const *n = not_ip; *n; n++)
		if (strcasestr(name, *n))
			return false;
	return strcasestr(name, "addr") || name_in(name, exact) || ends_with(name, "_ip");
}

/* Names that say "IP address" without a family beside them. */
static bool v4_name(const char *name)
{
	static const char *const strong[] = {"saddr", "daddr", "laddr", "raddr", "src_addr",
					     "dst_addr", "srcaddr", "dstaddr", "local_addr",
					     "remote_addr", "src_ip", "dst_ip", "sip", "dip", NULL};
	return ends_with(name, "v4") || ends_with(name, "4") || name_in(name, strong);
}

static bool v6_name(const char *name)
{
	return ends_with(name, "v6") || ends_with(name, "6") || (!ends_with(name, "4") &&
								 v4_name(name));
}

/* A kernel or user memory address kept in an integer (tcpstates' skaddr). */
static bool pointer_field(const struct eu_plan_op *op, const char *name)
{
	static const char *const link[] = {"mac", "hw", "eth", "lladdr", NULL};
	if (op->kind != EU_OP_U64 || op->bit_size || (op->flags & EU_OPF_BE))
		return false;
	for (const char *const *n = link; *n; n++)
		if (strcasestr(name, *n))
			return false;
	if (ends_with(name, "ptr"))
		return true;
	return strcasestr(name, "addr") && !v4_name(name) && !v6_name(name);
}

/* 4: a 4-byte address layout, 16: a 16-byte one, 0: neither */
static int address_layout(const struct eu_plan *plan, const struct eu_plan_op *op)
{
	if ((op->kind == EU_OP_U32 || op->kind == EU_OP_S32) && !op->bit_size)
		return 4;
	if (op->kind == EU_OP_U128 || op->kind == EU_OP_S128)
		return 16;
	if (op->kind != EU_OP_ARRAY || op->count == 0)
		return 0;
	const struct eu_plan_op *e = &plan->ops[op->first];
	if (e->bit_size || !is_int(e) || (uint64_t)op->count * op->stride != op->size)
		return 0;
	if (op->size == 4 && e->size == 1)
		return 4;
	if (op->size == 16 && (e->size == 1 || e->size == 2 || e->size == 4))
		return 16;
	return 0;
}

struct reading_ctx {
	struct eu_plan *plan;
	unsigned hooks;
	eu_buf keys; /* extra JSON keys, appended to the pool at the end */
};

static int make_name_key(struct reading_ctx *rc, struct eu_plan_op *op, const char *name,
			 uint8_t table)
{
	size_t at = rc->keys.len;
	eu_buf_putc(&rc->keys, ',');
	char key[EU_PLAN_MAX_NAME + 8];
	snprintf(key, sizeof(key), "%s_name", name);
	eu_buf_json_string(&rc->keys, key, strlen(key));
	eu_buf_putc(&rc->keys, ':');
	if (rc->keys.oom)
		return -ENOMEM;
	size_t len = rc->keys.len - at;
	if (len > UINT8_MAX) { /* a very long field name keeps its number only */
		rc->keys.len = at;
		return 0;
	}
	op->base_kind = op->kind;
	op->kind = EU_OP_NAMED;
	op->hint = table;
	op->aux = (uint32_t)(rc->plan->pool_len + at); /* where the keys will land */
	op->aux_len = (uint8_t)len;
	return 0;
}

static int named_reading(struct reading_ctx *rc, struct eu_plan_op *op, const char *name)
{
	static const char *const sig[] = {"sig", "signal", "signo", "signum", "sig_no", "sig_num",
					  "signr", "sig_nr", "si_signo", NULL};
	static const char *const errno_[] = {"errno", "err_no", NULL};
	static const char *const ret[] = {"ret", "retval", "ret_val", "rval", "rc", "err",
					  "error", "return_value", NULL};
	static const char *const tcp[] = {"state", "oldstate", "newstate", "old_state",
					  "new_state", "skc_state", "sk_state", "tcp_state", NULL};
	if (!is_int(op) || (op->flags & EU_OPF_BE))
		return 0;
	if (name_in(name, sig))
		return make_name_key(rc, op, name, EU_NAMES_SIGNAL);
	if (name_in(name, errno_))
		return make_name_key(rc, op, name, EU_NAMES_ERRNO);
	if ((rc->hooks & EU_READ_RETURNS) && name_in(name, ret) &&
	    (op->kind == EU_OP_S32 || op->kind == EU_OP_S64))
		return make_name_key(rc, op, name, EU_NAMES_ERRNO_NEG);
	if ((rc->hooks & EU_READ_TCP) && name_in(name, tcp))
		return make_name_key(rc, op, name, EU_NAMES_TCP_STATE);
	return 0;
}

/* The members of one struct or union (ops first..first+count), skip: the record's tail. */
static int read_members(struct reading_ctx *rc, uint32_t first, uint32_t count, int64_t skip)
{
	struct eu_plan *plan = rc->plan;
	int64_t family = -1;
	int style = 0;
	for (uint32_t i = 0; i < count && family < 0; i++) {
		const struct eu_plan_op *op = &plan->ops[first + i];
		if ((style = family_style(op, plan->pool + op->name_off)))
			family = first + i;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct eu_plan_op *op = &plan->ops[first + i];
		const char *name = plan->pool + op->name_off;
		if ((int64_t)(first + i) == skip || (int64_t)(first + i) == family)
			continue;
		int layout = address_name(name) ? address_layout(plan, op) : 0;
		if (layout && family >= 0) {
			op->base_kind = op->kind;
			op->kind = EU_OP_AF_ADDR;
			op->aux = (uint32_t)family;
			op->hint = style == 2 ? EU_ADDR_IPVER : 0;
			continue;
		}
		if (layout == 4 && ((op->flags & EU_OPF_BE) || op->kind == EU_OP_ARRAY ||
				    v4_name(name))) {
			op->kind = EU_OP_IPV4;
			continue;
		}
		if (layout == 16 && v6_name(name)) {
			op->kind = EU_OP_IP;
			continue;
		}
		if ((op->flags & EU_OPF_BE) && !op->bit_size &&
		    (op->kind == EU_OP_U16 || op->kind == EU_OP_U32 || op->kind == EU_OP_U64 ||
		     op->kind == EU_OP_S16 || op->kind == EU_OP_S32 || op->kind == EU_OP_S64)) {
			op->base_kind = op->kind;
			op->kind = EU_OP_BE;
			continue;
		}
		if (pointer_field(op, name)) {
			op->kind = EU_OP_PTR;
			continue;
		}
		int ret = named_reading(rc, op, name);
		if (ret)
			return ret;
	}
	/* union { __u32 saddr_v4; __u8 saddr_v6[16]; }: the v4 member prints AF_INET records */
	for (uint32_t i = 0; i < count; i++) {
		struct eu_plan_op *a = &plan->ops[first + i];
		if (a->kind != EU_OP_AF_ADDR || a->size != 16)
			continue;
		for (uint32_t j = 0; j < count; j++) {
			const struct eu_plan_op *b = &plan->ops[first + j];
			if (b->kind == EU_OP_AF_ADDR && b->size == 4 && b->offset == a->offset)
				a->hint |= EU_ADDR_V4_TWIN;
		}
	}
	return 0;
}

int eu_plan_read_for_people(struct eu_plan *plan, unsigned hooks)
{
	if (!plan || plan->kinds_done)
		return 0;
	struct reading_ctx rc = {.plan = plan, .hooks = hooks};
	eu_buf_init(&rc.keys);
	int64_t tail = plan->tail >= 0 ? (int64_t)plan->ops[0].first + plan->tail : -1;
	int ret = 0;
	uint32_t n = plan->n_ops;
	for (uint32_t i = 0; i < n && !ret; i++) {
		const struct eu_plan_op *op = &plan->ops[i];
		if (op->kind == EU_OP_STRUCT || op->kind == EU_OP_UNION)
			ret = read_members(&rc, op->first, op->count, i == 0 ? tail : -1);
	}
	if (!ret && rc.keys.len) {
		/* the keys go after the pool, which keeps its EU_KEY_COPY bytes of padding last */
		size_t len = plan->pool_len + rc.keys.len + EU_KEY_COPY;
		char *pool = len <= UINT32_MAX ? malloc(len) : NULL;
		if (!pool) {
			ret = -ENOMEM;
		} else {
			memcpy(pool, plan->pool, plan->pool_len);
			memcpy(pool + plan->pool_len, rc.keys.data, rc.keys.len);
			memset(pool + plan->pool_len + rc.keys.len, 0, EU_KEY_COPY);
			free(plan->pool);
			plan->pool = pool;
			plan->pool_len = len;
		}
	}
	eu_buf_free(&rc.keys);
	if (ret) {
		/* back to the numbers: no op may point at keys that were never added */
		for (uint32_t i = 0; i < plan->n_ops; i++) {
			struct eu_plan_op *op = &plan->ops[i];
			if (op->kind == EU_OP_NAMED)
				op->kind = op->base_kind;
		}
		return ret;
	}
	plan->kinds_done = true;
	eu_plan_layout(plan);
	return 0;
}
