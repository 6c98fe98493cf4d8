/* Names of well-known integer values (signals, errno values, TCP states) and the other
 * readings decided from field names: big-endian integers and addresses whose family is a
 * sibling field. The tables are Linux's numbering (x86 and arm64: the generic ABI). */
#include "decoder_priv.h"

#include <stdio.h>
#include <string.h>

/* 32..64 are real-time signals: glibc calls 34 SIGRTMIN, the kernel 32, so they stay numbers */
static const char *const signal_names[32] = {
	NULL,      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT",
	"SIGBUS",  "SIGFPE",  "SIGKILL",   "SIGUSR1", "SIGSEGV",   "SIGUSR2", "SIGPIPE",
	"SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",
	"SIGTTIN", "SIGTTOU", "SIGURG",    "SIGXCPU", "SIGXFSZ",   "SIGVTALRM", "SIGPROF",
	"SIGWINCH", "SIGIO",  "SIGPWR",    "SIGSYS",
};

/* include/net/tcp_states.h */
static const char *const tcp_state_names[] = {
	NULL,
	"TCP_ESTABLISHED",
	"TCP_SYN_SENT",
	"TCP_SYN_RECV",
	"TCP_FIN_WAIT1",
	"TCP_FIN_WAIT2",
	"TCP_TIME_WAIT",
	"TCP_CLOSE",
	"TCP_CLOSE_WAIT",
	"TCP_LAST_ACK",
	"TCP_LISTEN",
	"TCP_CLOSING",
	"TCP_NEW_SYN_RECV",
	"TCP_BOUND_INACTIVE",
};

/* errno values the kernel returns inside but never hands to user space (include/linux/
 * errno.h): a kretprobe or fexit sees them */
static const char *const kernel_errno_names[] = {
	"ERESTARTSYS",   "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD",
	"ERESTART_RESTARTBLOCK", "EPROBE_DEFER", "EOPENSTALE", "ENOPARAM",
	NULL,            "EBADHANDLE",     "ENOTSYNC",       "EBADCOOKIE",
	"ENOTSUPP",      "ETOOSMALL",      "ESERVERFAULT",   "EBADTYPE",
	"EJUKEBOX",      "EIOCBQUEUED",    "ERECALLCONFLICT", "ENOGRACE",
};

static const char *errno_name(int64_t e)
{
	if (e >= 512 && e < 512 + (int64_t)(sizeof(kernel_errno_names) / sizeof(char *)))
		return kernel_errno_names[e - 512];
	if (e <= 0 || e > 4095)
		return NULL;
	return strerrorname_np((int)e);
}

/* The value of an integer op as its original kind reads it. */
static int64_t named_int(const struct eu_plan_op *op, const uint8_t *p)
{
	uint64_t bits = eu_op_load_bits(op, p);
	bool is_signed = op->base_kind == EU_OP_S8 || op->base_kind == EU_OP_S16 ||
			 op->base_kind == EU_OP_S32 || op->base_kind == EU_OP_S64 ||
			 (op->base_kind == EU_OP_BITS && op->is_signed);
	return is_signed ? eu_op_sign_extend(op, bits) : (int64_t)bits;
}

const char *eu_named_value(const struct eu_plan_op *op, const uint8_t *p, char *tmp, size_t n)
{
	int64_t v = named_int(op, p);
	const char *name;
	switch ((enum eu_name_table)op->hint) {
	case EU_NAMES_SIGNAL:
		return v > 0 && v < 32 ? signal_names[v] : NULL;
	case EU_NAMES_TCP_STATE:
		return v > 0 && v < (int64_t)(sizeof(tcp_state_names) / sizeof(char *))
			       ? tcp_state_names[v]
			       : NULL;
	case EU_NAMES_ERRNO:
		if (v > 0)
			return errno_name(v);
		/* negative errno fields read like return values */
		__attribute__((fallthrough));
	case EU_NAMES_ERRNO_NEG:
		if (v >= 0 || v < -4095 || !(name = errno_name(-v)))
			return NULL;
		snprintf(tmp, n, "-%s", name);
		return tmp;
	}
	return NULL;
}

uint64_t eu_op_load_be(const struct eu_plan_op *op, const uint8_t *p)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < op->size && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int eu_af_addr_form(const struct eu_plan *plan, const struct eu_plan_op *op, const uint8_t *base)
{
	const struct eu_plan_op *fam = &plan->ops[op->aux];
	uint64_t f = eu_op_load_bits(fam, base + fam->offset);
	bool ipver = op->hint & EU_ADDR_IPVER;
	if (f == (ipver ? 4u : 2u)) /* AF_INET: a 16-byte union twin leaves it to the 4-byte one */
		return op->size >= 16 && (op->hint & EU_ADDR_V4_TWIN) ? 0 : 4;
	if (f == (ipver ? 6u : 10u)) /* AF_INET6 */
		return op->size < 16 ? 0 : 6;
	return -1;
}
