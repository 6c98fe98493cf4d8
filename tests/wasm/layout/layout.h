/* The event of layout.bpf.c: members whose wasm32 layout differs from the BPF side's (long,
 * unsigned long and pointers are 8 bytes there, 4 on wasm32), with padding after small
 * members, an array and a nested struct, to check `ecc --wasm-header`. */
#ifndef LAYOUT_H
#define LAYOUT_H

struct inner {
	char c;
	long long v;
};

struct event {
	int pid;
	char tag;
	long l;
	void *ptr;
	unsigned char small;
	unsigned long long big;
	short s[3];
	struct inner in;
	unsigned long ul;
	char name[5];
};

#endif
