/* Wasm modules in the daemon, each on a thread of its own (daemon_wasm.c). Below the package
 * slots: a module knows nothing of slots or of the daemon; it hands its output lines, its
 * drains and its end to the callbacks it was started with. */
#ifndef EUNOMIA_DAEMON_WASM_H
#define EUNOMIA_DAEMON_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon.h"
#include "eunomia/error.h"

struct eu_package;
struct eu_record_source;
struct daemon_wasm;

/* What the module's owner is told, on the loop. */
struct daemon_wasm_ops {
	/* One output line as a record: src is what it shares (stdout or stderr, a line of text or
	 * a JSON object), data the text or the object's compact JSON. */
	void (*record)(void *ctx, struct eu_record_source *src, uint64_t time_ns, const void *data,
		       size_t size);
	/* Every line queued so far was handed over. */
	void (*drained)(void *ctx);
	/* After daemon_wasm_retire: the thread ended and the module is freed. */
	void (*closed)(void *ctx);
};

struct daemon_wasm_start {
	/* name, origin (argv[0] is its file name) and version: outlive the module */
	const struct eu_package *pkg;
	const char *version, *host;
	const void *bytes;
	size_t size;
	const char *const *args;   /* argv after argv[0] */
	size_t n_args;
	const struct daemon_wasm_ops *ops;
	void *ctx;
};

/* The identity of a module: a package with only name, origin and sha256 of the bytes. */
struct eu_package *daemon_wasm_identity(const char *name, const char *origin, const void *bytes,
					size_t size);
/* Validates the module and starts it on its thread. On an error with *out set, the module is
 * to be retired (daemon_wasm_retire: ops->closed follows); with *out NULL nothing is left. */
int daemon_wasm_start(uv_loop_t *loop, const struct daemon_wasm_start *s,
		      struct daemon_wasm **out, eu_error *err);
/* Stops the module; ops->closed is called once its thread has ended. */
void daemon_wasm_retire(struct daemon_wasm *w);
/* Its counters, and its state and reason once it ended by itself. */
void daemon_wasm_info(struct daemon_wasm *w, struct eu_daemon_pkg_info *out);

#endif
