/* What a BPF object's programs do with their maps and globals, read from their instructions
 * (the object's ELF, before libbpf): which maps they send records through and with what
 * constant size, which maps they only write, which globals they store to, whether they print
 * with bpf_printk. This is what a careful reader of the x.bpf.c would see, and what the
 * user-space x.c used to know; the runtime uses it to choose the exported struct and the maps
 * to print.
 *
 * The scan is a linear walk per function with a small register model (map addresses, global
 * addresses, map values returned by bpf_map_lookup_elem, constants), not a verifier: branches
 * are walked in code order. Every answer is a hint that the caller weighs. */
#ifndef EUNOMIA_INSN_SCAN_H
#define EUNOMIA_INSN_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"

#define EU_SCAN_NAME_MAX 64

/* A call to a helper that sends a record to user space. */
struct eu_scan_output {
	int helper;                     /* BPF_FUNC_ringbuf_reserve, _ringbuf_output, ... */
	char map[EU_SCAN_NAME_MAX];     /* the map passed; "" when not seen */
	int64_t size;                   /* the constant size argument; -1 when not constant */
	char func[EU_SCAN_NAME_MAX];    /* the function making the call (for messages) */
};

struct eu_scan_map {
	char name[EU_SCAN_NAME_MAX];
	uint32_t lookups, updates, deletes;
	uint32_t value_writes;  /* stores through a pointer bpf_map_lookup_elem returned */
	uint32_t outputs;       /* passed to an output helper */
	uint32_t other;         /* passed to any other helper (stack ids, tail calls, ...) */
};

/* A store into a global variable: section and byte offset of the variable's start as far as
 * the scan can tell (an indexed array store counts at the array's start). */
struct eu_scan_store {
	char section[EU_SCAN_NAME_MAX];
	uint32_t offset;
};

struct eu_scan {
	struct eu_scan_output *outputs;
	size_t n_outputs;
	struct eu_scan_map *maps;
	size_t n_maps;
	struct eu_scan_store *stores;
	size_t n_stores;
	bool printk;  /* bpf_trace_printk / bpf_trace_vprintk (bpf_printk) */
};

/* Scans every executable section of a BPF ELF. Malformed input gives an error, never a crash. */
int eu_scan_object(const void *elf, size_t size, struct eu_scan *out, eu_error *err);
void eu_scan_free(struct eu_scan *s);

const struct eu_scan_map *eu_scan_find_map(const struct eu_scan *s, const char *name);
/* Whether the programs store into [offset, offset + size) of section sec. */
bool eu_scan_stores_into(const struct eu_scan *s, const char *sec, uint32_t offset, uint32_t size);

#endif
