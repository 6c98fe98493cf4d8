/* Running a wasm-bpf module: a WebAssembly (wasm32-wasi) command that drives BPF objects
 * through the six `wasm_bpf` host functions and a WASI subset (the import list is in
 * wasm_module.c). The module runs on the calling thread, interpreted by wabt (wasm_vm.h). */
#ifndef EUNOMIA_WASM_MODULE_H
#define EUNOMIA_WASM_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "eunomia/error.h"

struct eu_wasm_module;

/* Where the module's fd 1 and 2 go. Returns the bytes taken or a negative errno. */
typedef ssize_t (*eu_wasm_write_fn)(void *ctx, int fd, const void *data, size_t len);

struct eu_wasm_opts {
	size_t sz;
	const char *name;            /* messages and argv[0] when argv is NULL */
	int argc;                    /* WASI arguments, argv[0] the module's name */
	char *const *argv;
	uint32_t callback_limit_ms;  /* a poll callback running longer is stopped; 0: 5000 */
	uint32_t stop_grace_ms;      /* after a stop, how long _start may take to return; 0: 1000 */
	eu_wasm_write_fn write;      /* NULL: write(2) to the host's fds 1 and 2 */
	void *write_ctx;
};

/* How a run ended. */
enum eu_wasm_outcome {
	EU_WASM_EXITED,  /* _start returned (code 0) or proc_exit(code) */
	EU_WASM_STOPPED, /* eu_wasm_module_stop() and the module did not exit in its grace time */
	EU_WASM_FAILED,  /* trap, a callback over its limit, a host failure: err says which */
};

/* Whether data starts like a WebAssembly binary (\0asm). */
bool eu_wasm_is_module(const void *data, size_t size);

/* Validates and instantiates the module; refuses unknown imports by name. bytes are copied. */
int eu_wasm_module_new(const void *bytes, size_t size, const struct eu_wasm_opts *opts,
		       struct eu_wasm_module **out, eu_error *err);

/* Runs _start to its end. Every BPF object the module left open is closed (its programs
 * detached) before this returns, whatever the outcome. *exit_code is the module's code when
 * EXITED. */
enum eu_wasm_outcome eu_wasm_module_run(struct eu_wasm_module *m, int *exit_code, eu_error *err);

/* Asks the running module to stop: a poll in progress returns -EINTR at once, and so does
 * every later one; if _start has not returned within the grace time, the interpreter stops
 * it. Async-signal-safe and callable from any thread. */
void eu_wasm_module_stop(struct eu_wasm_module *m);

/* Programs the module has attached now (links open). Callable from any thread. */
size_t eu_wasm_module_attached(struct eu_wasm_module *m);

void eu_wasm_module_free(struct eu_wasm_module *m);

#endif
