/* The WebAssembly engine behind a C interface: wabt's interpreter (C++) lives in wasm_vm.cc,
 * the only C++ file of the project; everything else about Wasm modules (WASI, the wasm_bpf
 * host functions, running a module) is C on top of this.
 *
 * One eu_wasm_vm is one instantiated module. It is used from one thread at a time (the one
 * that calls eu_wasm_vm_run_start); only eu_wasm_vm_interrupt may come from another thread or
 * a signal handler. */
#ifndef EUNOMIA_WASM_VM_H
#define EUNOMIA_WASM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "eunomia/error.h"

struct eu_wasm_vm;

/* What a host function returns to the engine. */
enum eu_wasm_host_rc {
	EU_WASM_HOST_OK = 0,
	EU_WASM_HOST_TRAP, /* the module stops; eu_wasm_vm_trap() said why */
};

/* args: the parameters as raw bits (i32 zero-extended in the low half); results: where the
 * function stores its results the same way. */
typedef enum eu_wasm_host_rc (*eu_wasm_host_fn)(struct eu_wasm_vm *vm, void *ctx,
						const uint64_t *args, uint64_t *results);

/* One import we provide. params/results spell the signature, one letter a value: 'i' i32,
 * 'I' i64 ("iiI" is (i32, i32, i64)). */
struct eu_wasm_import {
	const char *module;
	const char *name;
	const char *params;
	const char *results;
	eu_wasm_host_fn fn;
};

struct eu_wasm_vm_opts {
	size_t sz;
	const char *name;            /* the module's name in messages */
	const struct eu_wasm_import *imports;
	size_t n_imports;
	void *ctx;                   /* passed to every host function */
	uint32_t max_memory_pages;   /* 64 KiB pages; 0: 4096 (256 MiB) */
};

/* Reads and validates the binary, checks that every import is one of opts->imports with the
 * same signature (an unknown import or kind is refused, naming it), checks for the `_start`
 * export and a memory, and instantiates the module (its start function, if any, runs later
 * with _start, under the same interruption rules). */
int eu_wasm_vm_new(const void *bytes, size_t size, const struct eu_wasm_vm_opts *opts,
		   struct eu_wasm_vm **out, eu_error *err);
void eu_wasm_vm_free(struct eu_wasm_vm *vm);

/* Why a run of guest code ended. */
enum eu_wasm_end {
	EU_WASM_RETURNED = 0,
	EU_WASM_TRAPPED,     /* a trap in the guest or a host function's eu_wasm_vm_trap() */
	EU_WASM_INTERRUPTED, /* eu_wasm_vm_interrupt() or a deadline */
};

/* Runs the module's start function (if any) and then `_start`. Returns how it ended; a
 * message for anything but EU_WASM_RETURNED is in err. */
enum eu_wasm_end eu_wasm_vm_run_start(struct eu_wasm_vm *vm, eu_error *err);

/* From a host function: calls the function at `index` of the module's function table with
 * (i32 ...) -> i32, the function having exactly that type. It is stopped if it runs longer
 * than limit_ms (0: no limit) or the vm is interrupted. Anything but EU_WASM_RETURNED means
 * the host function must return EU_WASM_HOST_TRAP (the message is already the trap's). */
enum eu_wasm_end eu_wasm_vm_call_table(struct eu_wasm_vm *vm, uint32_t index,
				       const uint32_t *args, size_t n_args, int32_t *result,
				       uint32_t limit_ms);

/* Stops the guest code running in vm with EU_WASM_INTERRUPTED at its first instruction
 * slice (about 10k instructions) after_ms from now (0: at once). A later call may only bring
 * the time forward. Async-signal-safe (clock_gettime and atomics). */
void eu_wasm_vm_interrupt(struct eu_wasm_vm *vm, uint32_t after_ms);

/* The module's memory at [ptr, ptr + len), or NULL when any byte of it is out of bounds.
 * Valid until guest code runs again (memory.grow moves it). len 0 is valid at any ptr up to
 * the memory's size. */
uint8_t *eu_wasm_vm_mem(struct eu_wasm_vm *vm, uint32_t ptr, uint32_t len);
/* The NUL-terminated string at ptr (NUL within the memory), or NULL. */
const char *eu_wasm_vm_str(struct eu_wasm_vm *vm, uint32_t ptr);

/* Sets the message the next trap carries (host functions, before returning
 * EU_WASM_HOST_TRAP). */
void eu_wasm_vm_trap(struct eu_wasm_vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

const char *eu_wasm_vm_name(const struct eu_wasm_vm *vm);

#ifdef __cplusplus
}
#endif

#endif
