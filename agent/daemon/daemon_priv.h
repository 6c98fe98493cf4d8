/* The daemon's internals, shared by daemon.c (loop, config, sinks, signals) and daemon_pkg.c
 * (package slots and their running instances). */
#ifndef EUNOMIA_DAEMON_PRIV_H
#define EUNOMIA_DAEMON_PRIV_H

#include <uv.h>

#include "eunomia/buf.h"
#include "config.h"
#include "daemon.h"
#include "eunomia/features.h"
#include "kbtf/kbtf_cache.h"
#include "router.h"
#include "eunomia/record.h"
#include "sinks/sink.h"
#include "watcher.h"

struct eu_package;
struct eu_program;
struct eu_consumer;
struct pkg_slot;
struct eu_metrics_pkg;
struct eu_daemon_metrics;

/* One running version of a package. */
struct pkg_inst {
	struct eu_daemon *d;
	struct pkg_slot *slot; /* NULL once retired */
	struct eu_package *pkg;
	struct eu_program *prog;
	struct eu_consumer *cons;
	char version[13];
	char *params_key;      /* the parameters applied, as "name=value\n" lines */
	/* per export: what its records share (names, plans); NULL for an export with no plan */
	struct eu_record_source **srcs;
	size_t n_exports;
	uint64_t records, format_errors;
	struct eu_metrics_pkg *metrics; /* metrics_rules.h, or NULL */
	const char *start_stem;         /* the slot's file stem, while starting only */
	uv_work_t work;
	/* a Wasm module instead of a package (daemon_wasm.c): pkg then only carries its name,
	 * origin and sha256; prog and cons stay NULL */
	struct daemon_wasm *wasm;
};

/* One package file of a watched directory. */
struct pkg_slot {
	struct pkg_slot *next;
	struct eu_daemon *d;
	char *path;
	char *stem;
	struct watch_dir *dir;
	struct pkg_inst *cur;
	char *reason;          /* last failure, or NULL */
	char *name;            /* last known package name */
	struct ctl_slot *ctl;  /* control API state (daemon_ctl.c), or NULL */
};

struct watch_dir {
	struct watch_dir *next;
	struct eu_daemon *d;
	char *dir;
	struct eu_watcher *w;
};

struct eu_daemon {
	uv_loop_t loop;
	bool loop_init;
	char *config_path;
	struct eu_config cfg;       /* the effective config (file + command line) */
	struct eu_config cli;       /* a copy of the command line's part */
	bool cli_level_set;
	uint32_t debounce_ms, settle_ms, shutdown_ms;
	char host[256];
	struct eu_features features;
	/* the kernel BTF parsed once, a trimmed BTF per package (kbtf_cache.h) */
	struct eu_kbtf_cache *kbtf;
	char *btf_archive_dir;

	struct daemon_router router;  /* the open batch and the sinks it goes to */

	struct watch_dir *dirs;
	struct watch_dir static_dir; /* the slots of the exporter config's packages */
	struct pkg_slot *slots;
	size_t retiring;            /* instances being detached on the thread pool */

	uv_signal_t sig_int, sig_term, sig_hup, sig_usr1;
	uv_timer_t stop_soon;  /* stops the daemon off the current callback */
	bool signals_init;
	bool stopping;
	bool name_clash;  /* a watched file was refused: an API package has its name */
	struct daemon_ctl *ctl;     /* daemon_ctl.c */
	struct eu_daemon_metrics *metrics; /* metrics_daemon.c */
};

extern const struct eu_watcher_ops eu_daemon_watch_ops;

/* daemon_pkg.c */
/* Adds a record of inst to the open batch (copying key and data), hands it to the API's
 * streams, and flushes a batch grown past its byte bound. */
void daemon_add_record(struct pkg_inst *inst, struct eu_record_source *src, uint64_t time_ns,
		       const void *key, size_t ks, const void *data, size_t size);
/* Offers every watched file again (unchanged ones stay as they are): after a config reload,
 * or when an API package that a watched file's name clashed with is gone. */
void daemon_rescan_watched(struct eu_daemon *d);
void daemon_retire(struct eu_daemon *d, struct pkg_inst *inst);
void daemon_inst_free(struct pkg_inst *inst);
void daemon_slot_free(struct eu_daemon *d, struct pkg_slot *slot);
void daemon_pkg_info(struct pkg_slot *slot, struct eu_daemon_pkg_info *out);

/* daemon_pkg.c: loads the exporter config's packages (after the watched directories). */
void daemon_load_exporter_packages(struct eu_daemon *d);

/* daemon_pkg.c: a package given inline (the exporter config's ebpf_data) offered like a
 * watched file's: origin names it in logs and the API, name is its slot's stem. */
int daemon_offer_inline(struct watch_dir *wd, const char *origin, const char *name,
			const void *data, size_t len);

/* daemon_pkg.c: starts an instance (inst->d, pkg, version, params_key set) with parameters */
int daemon_start_instance(struct eu_daemon *d, struct pkg_inst *inst, char **names, char **values,
			  size_t n, eu_error *err);

/* daemon_pkg.c: starts a Wasm module for inst (inst->d, pkg and version set) with argv
 * [NAME.wasm, args...] on its own thread (daemon_wasm.c). On an error after inst->wasm was
 * set, the instance is to be retired (daemon_retire), else freed. */
int daemon_module_start(struct eu_daemon *d, struct pkg_inst *inst, const void *bytes,
			size_t size, const char *const *args, size_t n_args, eu_error *err);

/* daemon_ctl.c: the control API's side and the watched directories' security */
struct ctl_slot;
struct daemon_ctl;
int daemon_ctl_init(struct eu_daemon *d, const struct eu_daemon_opts *opts, eu_error *err);
void daemon_ctl_stop(struct eu_daemon *d);
void daemon_ctl_free(struct eu_daemon *d);
/* Reads a watched package file after the ownership/mode and signature checks (and the
 * NAME.bpf.o of a NAME.skel.json with the same checks). */
int daemon_ctl_read_package(struct eu_daemon *d, const char *path, struct eu_package **out,
			    eu_error *err);
/* Parses a package given inline in a config file (the exporter config's ebpf_data): it has
 * no file to sign, so it is refused when signatures are required. */
int daemon_ctl_parse_inline(struct eu_daemon *d, const char *origin, const void *data,
			    size_t len, struct eu_package **out, eu_error *err);
/* Reads a file that belongs to a watched package (its params sidecar, its pair's object)
 * with the package's checks: ownership and mode, and its own FILE.sig when signatures are
 * required. -ENOENT, with no message, when there is no such file. */
int daemon_ctl_read_companion(struct eu_daemon *d, const char *path, size_t max, void **data,
			      size_t *len, eu_error *err);
/* A watched .wasm file's bytes, after the same ownership and signature checks. */
int daemon_ctl_read_module(struct eu_daemon *d, const char *path, void **data, size_t *len,
			   eu_error *err);
/* A record for the API's event streams (formatted only when someone may read them). */
/* The record just added to b (its last), kept for the API's streams. */
void daemon_ctl_record(struct pkg_inst *inst, struct eu_record_batch *b);
void daemon_ctl_slot_free(struct eu_daemon *d, struct pkg_slot *slot);
void daemon_ctl_info(struct pkg_slot *slot, struct eu_daemon_pkg_info *out);

#endif
