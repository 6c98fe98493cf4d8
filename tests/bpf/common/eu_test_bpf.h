/* BPF-side helpers shared by the test packages in tests/bpf (include after vmlinux.h and
 * <bpf/bpf_helpers.h>). Only code that is the same in every package lives here: each package
 * keeps its own exported structs and its own pid filter, because those are what the tests
 * check (field names, slot counts, which process counts). Unlike plugins/include/eu_bpf.h,
 * including it adds no map to the object. */
#ifndef EU_TEST_BPF_H
#define EU_TEST_BPF_H

/* The log2 histogram slot of v (0 and 1 in slot 0, 2..3 in slot 1, ...), the last of n_slots
 * for everything beyond, as bcc's and libbpf-tools' histograms count. */
static __always_inline __u32 eu_log2_slot(__u64 v, __u32 n_slots)
{
	__u32 r = 0;
	/* bounded for the verifier: a u64 has at most 63 halvings above 1 */
	for (int i = 0; i < 63 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r < n_slots ? r : n_slots - 1;
}

/* The value of key in a hash map, created from *init when absent. BPF_NOEXIST: a program on
 * another CPU that created it first keeps its value, and both go on with the same element.
 * NULL only when the map is full. */
static __always_inline void *eu_map_lookup_or_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);
	if (val)
		return val;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif
