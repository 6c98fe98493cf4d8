/* State of one running module, shared by the host function files (wasm_wasi.c, wasm_bpf.c)
 * and the runner (wasm_module.c). All of it is touched by the module's thread only, except
 * stopping (a stop request), stop_fd (its wake-up) and attached (read). */
#ifndef EUNOMIA_WASM_PRIV_H
#define EUNOMIA_WASM_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wasm_module.h"
#include "wasm_vm.h"

#define WASM_MAX_OBJECTS 64

struct wasm_bpf_obj; /* wasm_bpf.c */

struct eu_wasm_module {
	struct eu_wasm_vm *vm;
	struct eu_wasm_opts opts;
	char *name;
	char **argv; /* copies; argv[argc] NULL */
	int argc;

	/* a stop request: the poll wake-up (eventfd) and the flag */
	int stop_fd;
	atomic_bool stopping;

	bool exited;
	int exit_code;

	struct wasm_bpf_obj *objs[WASM_MAX_OBJECTS];
	uint64_t next_handle_gen;
	/* links of all objects: written by the module's thread, read by any (a daemon's status) */
	atomic_size_t attached;
};

static inline bool wasm_stopping(struct eu_wasm_module *m)
{
	return atomic_load_explicit(&m->stopping, memory_order_relaxed);
}

/* The import tables (host functions) of each file. */
extern const struct eu_wasm_import eu_wasm_wasi_imports[];
extern const size_t eu_wasm_wasi_import_count;
extern const struct eu_wasm_import eu_wasm_bpf_imports[];
extern const size_t eu_wasm_bpf_import_count;

/* Closes every object the module left open (wasm_bpf.c). */
void wasm_bpf_close_all(struct eu_wasm_module *m);

#endif
