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
 * (watch directories, parameters, log level, and the sinks when their settings changed: the
 * new set is opened before the old one is closed, and kept out when it cannot open). SIGUSR1 logs
 * every counter (also logged at exit). */
#ifndef EUNOMIA_DAEMON_H
#define EUNOMIA_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include <uv.h>

#include "config.h"
#include "eunomia/error.h"
#include "eunomia/features.h"

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
	/* metrics (metrics.h, metrics_rules.h): "ADDR:PORT" serving GET /metrics, or NULL */
	const char *prometheus;
	/* upstream's exporter config (eunomia-otel.yaml): its rules apply, its packages load */
	const char *exporter_config;
	/* --- the control API and the security of the watched directories (daemon_ctl.c) --- */
	/* Load watched packages even from a directory or file writable by someone other than
	 * root (or the agent's own user). */
	bool insecure_watch_dir;
	/* When set, every package (watched or uploaded) needs a detached ed25519 signature by one
	 * of the PEM public keys in this directory. Fixed for the daemon's lifetime. */
	const char *trusted_keys_dir;
	size_t max_programs;          /* packages loaded through the API; 0: 256 */
	size_t events_ring;           /* recent records kept per package for the API; 0: 256 */
	/* a btfhub-archive directory: CO-RE targets for a kernel without BTF (kbtf.h) */
	const char *btf_archive_dir;
	/* the bearer token GET /metrics needs on the --prometheus listener (required beyond
	 * loopback); GET /healthz answers without it */
	const char *metrics_token;
	/* counters on /metrics without the _total suffix (metrics.h EU_PROM_WITHOUT_TYPE_SUFFIX),
	 * as the config's prometheus.without_type_suffix */
	bool prom_without_type_suffix;
};

enum eu_pkg_state {
	EU_PKG_STATE_LOADED = 1,
	EU_PKG_STATE_FAILED,
	EU_PKG_STATE_EXITED, /* a Wasm module whose _start returned or exited with code 0 */
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
	/* control API (daemon_ctl.c) */
	bool paused;            /* detached by eu_daemon_pause */
	bool from_api;          /* loaded through the API, not from a watched directory */
	uint64_t id;            /* stable while the package is known (upstream's task id) */
	uint64_t seq;           /* sequence number of the last record (0: none yet) */
};

struct eu_daemon;

/* Reads the config, opens the sinks and binds the --prometheus listener; no package is
 * loaded yet, so a listener that cannot bind fails the start before anything attaches. */
int eu_daemon_new(const struct eu_daemon_opts *opts, struct eu_daemon **out, eu_error *err);
/* Starts watching: every package already present is loaded before this returns. Called after
 * the caller's own listeners (the API) are bound. */
int eu_daemon_watch(struct eu_daemon *d, eu_error *err);
/* Says ready (log line, systemd notification), then runs the loop until SIGINT/SIGTERM or
 * eu_daemon_stop; 0 on a clean stop. */
int eu_daemon_run(struct eu_daemon *d);
/* Begins the same stop as SIGTERM (from the loop thread). */
void eu_daemon_stop(struct eu_daemon *d);
void eu_daemon_free(struct eu_daemon *d);

typedef void (*eu_daemon_pkg_fn)(void *ctx, const struct eu_daemon_pkg_info *info);
void eu_daemon_foreach_package(struct eu_daemon *d, eu_daemon_pkg_fn fn, void *ctx);
/* Logs every package's and sink's counters (what SIGUSR1 does). */
void eu_daemon_log_counters(struct eu_daemon *d);

/* Prometheus text (0.0.4): the metrics from events and maps, then the agent's own counters
 * per package and per sink (what GET /metrics serves). */
void eu_daemon_render_metrics(struct eu_daemon *d, eu_buf *out);
struct eu_metrics;
/* The daemon's metrics registry (metrics.h). */
struct eu_metrics *eu_daemon_metrics_registry(struct eu_daemon *d);

/* --- control (daemon_ctl.c, ctl_state.c), for the API: all from the loop thread --- */
uv_loop_t *eu_daemon_loop(struct eu_daemon *d);
struct eu_features *eu_daemon_features(struct eu_daemon *d);
/* Called once when the daemon begins to stop (before packages are unloaded). */
void eu_daemon_set_stop_hook(struct eu_daemon *d, void (*fn)(void *ctx), void *ctx);

struct eu_daemon_load {
	const char *name;          /* NULL: the package's own name */
	const void *data;
	size_t size;
	const void *sig;           /* detached signature (raw 64 bytes or base64), may be NULL */
	size_t sig_size;
	const char *const *param_names, *const *param_values;
	size_t n_params;
	const char *const *args;   /* a Wasm module's arguments after argv[0] */
	size_t n_args;
};
/* Loads and attaches a package from memory, or starts a Wasm module (data starting with
 * \0asm; it needs a name, and takes args, not parameters). Errors: -EEXIST (name in use), -ENOSPC (too many
 * programs), -EKEYREJECTED (signature missing or bad), -EBADMSG (not a package),
 * -ENOEXEC (the kernel refused it: load or attach; nothing is left behind). */
int eu_daemon_load_buffer(struct eu_daemon *d, const struct eu_daemon_load *l, eu_error *err);
/* By package name, file stem or decimal id. -ENOENT; -EPERM for a watched package (its file
 * decides). */
int eu_daemon_unload(struct eu_daemon *d, const char *name, eu_error *err);
/* Pausing detaches the package's programs (nothing is produced, so nothing is dropped);
 * resuming attaches them again. A watched package whose file changes while paused comes back
 * attached. */
int eu_daemon_pause(struct eu_daemon *d, const char *name, eu_error *err);
int eu_daemon_resume(struct eu_daemon *d, const char *name, eu_error *err);
/* 0 and fn called once; -ENOENT. */
int eu_daemon_find_package(struct eu_daemon *d, const char *name, eu_daemon_pkg_fn fn, void *ctx);
typedef void (*eu_daemon_attach_fn)(void *ctx, const char *program, const char *section);
void eu_daemon_foreach_attach_point(struct eu_daemon *d, const char *path, eu_daemon_attach_fn fn,
				    void *ctx);
/* What program selection decided for the running version (twins, alternatives, programs
 * left out): see eu_program_choice in program.h. */
struct eu_program_choice;
typedef void (*eu_daemon_choice_fn)(void *ctx, const struct eu_program_choice *choice);
void eu_daemon_foreach_choice(struct eu_daemon *d, const char *path, eu_daemon_choice_fn fn,
			      void *ctx);

/* Recent records of a package: a bounded ring with sequence numbers from 1, kept only once
 * eu_daemon_keep_records(d, true) was called (the API does). */
void eu_daemon_keep_records(struct eu_daemon *d, bool on);
struct eu_daemon_sub;
typedef void (*eu_daemon_sub_fn)(void *ctx);
/* From sequence number `cursor` on (0: only new records). wake is called when a record
 * arrives or the package goes away. */
int eu_daemon_subscribe(struct eu_daemon *d, const char *name, uint64_t cursor,
			eu_daemon_sub_fn wake, void *ctx, struct eu_daemon_sub **out, eu_error *err);
/* 1: *rec (the record's JSON line, formatted now; valid until the next call) and *seq set;
 * *missed counts records that left the ring before they were read, and those that could not
 * be formatted (out of memory) (added to, not reset). 0: nothing new. -1: the package is
 * gone. */
int eu_daemon_sub_next(struct eu_daemon_sub *s, const char **rec, size_t *len, uint64_t *seq,
		       uint64_t *missed);
void eu_daemon_unsubscribe(struct eu_daemon_sub *s);

#endif
