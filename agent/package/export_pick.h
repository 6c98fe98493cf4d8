/* Which of a package's export types its records are: a header often declares several structs
 * (a key, an args struct, then the event), and upstream's ecc exports them all. The choice, in
 * order (the first that decides wins):
 *   1. a name given by the user (`run --export-type NAME`);
 *   2. the only export type (upstream's `@export` annotation and an explicit `export_types`
 *      list of one leave exactly one);
 *   3. the size the programs pass to bpf_ringbuf_reserve / bpf_ringbuf_output /
 *      bpf_perf_event_output for this map (insn_scan.h): the struct of that size, or whose
 *      trailing array starts at or before it (a variable-length tail);
 *   4. a struct named `event` (else one whose name contains "event");
 *   5. the size of the first record that arrives (decided by the consumer);
 * and `why` says which rule decided, for `run -v`. */
#ifndef EUNOMIA_EXPORT_PICK_H
#define EUNOMIA_EXPORT_PICK_H

#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"

struct btf;
struct eu_package;
struct eu_scan;

struct eu_export_pick {
	int index;              /* into pkg->export_types; -1: decide from the first record */
	bool certain;           /* false: a guess the user should confirm (logged as a warning) */
	char why[320];
};

/* map is the ring buffer / perf event array being read (its name as the scan sees it).
 * forced, when not NULL, names the struct to use; an unknown name is an error listing the
 * exported structs. A package without export types is an error too. */
int eu_export_pick(const struct eu_package *pkg, const struct btf *btf, const struct eu_scan *scan,
		   const char *map, const char *forced, struct eu_export_pick *out, eu_error *err);

/* Whether a record of size bytes can be an instance of a struct of struct_size bytes whose
 * records may stop at min_size (a variable tail): exact, cut inside the tail, or padded by a
 * perf buffer to 8-byte alignment (perf adds a 4-byte size header before the data). */
bool eu_export_size_fits(size_t size, size_t struct_size, size_t min_size, bool perf);

#endif
