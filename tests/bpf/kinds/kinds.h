/* An event with a member of every kind the decoder handles, for end-to-end tests. Needs
 * eu_bpf.h (eu_ip_t, eu_ipv4_t) first. The BPF side fills it with the values listed in
 * kinds.bpf.c; tests/integration/test_plugin_kinds.c checks each one. */
#ifndef KINDS_H
#define KINDS_H

enum kinds_color {
	KINDS_RED = 1,
	KINDS_GREEN = 2,
	KINDS_BLUE = 4,
};

struct kinds_event {
	int pid;
	__s8 i8;
	__u8 u8v;
	__s16 i16;
	__u16 u16v;
	__s32 i32;
	__u32 u32v;
	__s64 i64;
	__u64 u64v;
	__int128 i128;
	unsigned __int128 u128;
	bool flag;
	char name[16];
	__u8 bytes[4];
	int grid[2][3];
	enum kinds_color color;
	struct kinds_inner {
		int a;
		char tag[4];
	} inner;
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	void *ptr;
	unsigned int bf_a : 3;
	unsigned int bf_b : 5;
	int bf_c : 7;
	float f32;
	double f64;
	eu_ip_t ip4;
	eu_ip_t ip6;
	eu_ipv4_t v4;
};

#endif
