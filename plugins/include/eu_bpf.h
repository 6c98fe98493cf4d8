/* BPF-side helpers shared by the plugins we ship (include after vmlinux.h and
 * <bpf/bpf_helpers.h>).
 *
 * Address types: the agent's decoder prints struct members of these typedefs as address text,
 * chosen by the typedef's name in BTF:
 *   eu_ipv4_t  an IPv4 address, __u32 in network byte order       -> "127.0.0.1"
 *   eu_ip_t    16 bytes: IPv6, or IPv4 stored v4-mapped (::ffff:a.b.c.d) -> "127.0.0.1" / "::1"
 *
 * Ring-buffer drops: the kernel keeps no count of failed bpf_ringbuf_reserve() calls, so
 * eu_ringbuf_reserve() counts them in the per-CPU map `eu_rb_drops` (one u64 slot), which the
 * agent reads and reports as lost events. Including this header adds that map. */
#ifndef EU_BPF_H
#define EU_BPF_H

typedef __u32 eu_ipv4_t;
typedef __u8 eu_ip_t[16];

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} eu_rb_drops SEC(".maps");

/* bpf_ringbuf_reserve() that counts its failures in eu_rb_drops. */
static __always_inline void *eu_ringbuf_reserve(void *ringbuf, __u64 size)
{
	void *rec = bpf_ringbuf_reserve(ringbuf, size, 0);
	if (!rec) {
		__u32 zero = 0;
		__u64 *drops = bpf_map_lookup_elem(&eu_rb_drops, &zero);
		/* per-CPU slot: no other CPU writes it, a plain increment is enough */
		if (drops)
			*drops += 1;
	}
	return rec;
}

/* Stores an IPv4 address (network byte order, as the kernel keeps it) v4-mapped. */
static __always_inline void eu_ip_set_v4(__u8 *ip, __u32 addr_be)
{
	__builtin_memset(ip, 0, 10);
	ip[10] = 0xff;
	ip[11] = 0xff;
	__builtin_memcpy(ip + 12, &addr_be, 4);
}

#endif
