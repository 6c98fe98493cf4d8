/* The daemon (`eunomia-agent --watch DIR`): one libuv loop running many packages from watched
 * directories, hot-plugged, their events turned into records (record.h) and fanned out to
 * sinks (sink.h).
 *
 * Per package file, the daemon keeps a state: loaded or failed (with the reason), the content
 * hash, programs attached, counters. A package that fails to read, load, attach or decode is
 * reported and changes nothing else; when a new version of a running package fails, the old
 * one keeps running. A changed package is loaded and attached before the old version is
 * detached (records carry the version, so the overlap is visible). Detaching and closing run
 * on libuv's thread pool: a tracepoint link can take 60-90 ms to detach.
 *
 * Package parameters without editing the package, applied in this order (later wins):
 *   1. the package's own defaults and presets;
 *   2. `NAME.params.json` beside the package (NAME: the file's stem, "bootstrap" for
 *      bootstrap.json / bootstrap.skel.json / bootstrap.bpf.o): a JSON object
 *      {"min_duration_ns": 1000000, "comm": "bash", "verbose": true};
 *   3. the config file: `packages: {NAME: {params: {...}}}` (NAME: the file stem, else the
 *      package's name).
 * Editing the sidecar or the config (then SIGHUP) reloads the package with the new values;
 * an unknown parameter or bad value fails that load with a message naming it.
 *
 * Signals: SIGINT/SIGTERM stop intake, drain the buffers, flush the sinks within the shutdown
 * bound (5 s) and return 0. SIGHUP reopens the sinks' files and reloads the config file
 * (watch directories, parameters, log level; the sink list is fixed at start-up). SIGUSR1 logs
 * every counter (also logged at exit). */
#ifndef EUNOMIA_DAEMON_H
#define EUNOMIA_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/config.h"
#include "eunomia/error.h"

struct eu_daemon_opts {
	size_t sz;
	/* The config file (may be NULL): read at start, re-read on SIGHUP. */
	const char *config_path;
	/* From the command line: watch dirs are added to the config's; sinks given here replace
	 * the config's; a log level here wins over the config's. May be NULL. */
	const struct eu_config *cli;
	uint32_t debounce_ms;         /* 0: 150 */
	uint32_t settle_ms;           /* 0: 2000 */
	uint32_t shutdown_timeout_ms; /* 0: 5000 */
};

enum eu_pkg_state {
	EU_PKG_STATE_LOADED = 1,
	EU_PKG_STATE_FAILED,
};

struct eu_daemon_pkg_info {
	const char *path;
	const char *name;       /* the package name, or the file name when it never parsed */
	enum eu_pkg_state state;
	const char *reason;     /* the last failure (also set when an update failed while an older
				 * version keeps running), or NULL */
	char version[13];       /* of the running version; "" when none runs */
	size_t attached;        /* programs attached */
	uint64_t received, decoded, lost, decode_errors, records, format_errors;
};

struct eu_daemon;

/* Reads the config, opens the sinks and starts watching (every package already present is
 * loaded before this returns). */
int eu_daemon_new(const struct eu_daemon_opts *opts, struct eu_daemon **out, eu_error *err);
/* Runs the loop until SIGINT/SIGTERM or eu_daemon_stop; 0 on a clean stop. */
int eu_daemon_run(struct eu_daemon *d);
/* Begins the same stop as SIGTERM (from the loop thread). */
void eu_daemon_stop(struct eu_daemon *d);
void eu_daemon_free(struct eu_daemon *d);

typedef void (*eu_daemon_pkg_fn)(void *ctx, const struct eu_daemon_pkg_info *info);
void eu_daemon_foreach_package(struct eu_daemon *d, eu_daemon_pkg_fn fn, void *ctx);
/* Logs every package's and sink's counters (what SIGUSR1 does). */
void eu_daemon_log_counters(struct eu_daemon *d);

#endif
