/* Watching a package directory: inotify on the directory (read through uv_poll on the loop),
 * a debounce and a rescan that decides which files are new, changed, or gone.
 *
 * inotify rather than uv_fs_event: libuv folds create, close-after-write and rename-into-place
 * into one "rename"/"change" pair, and we need to tell a file that is complete (closed after
 * writing, renamed in, or swapped in by a symlink flip) from one still being written.
 *
 * Which files are packages: `*.json` (package.json envelopes, 2022 legacy packages, and
 * `NAME.skel.json` whose `NAME.bpf.o` beside it belongs to it), `*.bpf.o` without a
 * `NAME.skel.json` beside it, `*.tar` packages and `*.wasm` modules. Never: dotfiles (which also hides Kubernetes' `..data` and
 * `..2026_...` entries), `*~`, `#*#`, `*.swp`, `*.swx`, `*.tmp`, `*.part`, `*.dpkg-*`,
 * `*.rpmnew`/`*.rpmsave`, and the `NAME.params.json` sidecars (they belong to package NAME:
 * a change to one counts as a change of that package; so does a change of the .bpf.o of a
 * skel pair, and of the detached signature FILE.sig of any of these files).
 *
 * Symlinks are followed (stat, not lstat): a ConfigMap volume's `x.json -> ..data/x.json`
 * works, and the atomic `..data` flip is seen as a change of every file whose target changed.
 * A dangling symlink, a directory or a special file is not a package (ignored, not reported).
 *
 * When a file is taken: its identity (device, inode, size, mtime, and those of its .bpf.o and
 * sidecar) must have stayed the same for debounce_ms, unless the event itself says the file is
 * complete (IN_CLOSE_WRITE, IN_MOVED_TO, a `..` entry changed), in which case it is offered at
 * once. The owner's callback may answer -EAGAIN (it did not parse: a partial copy) and is then
 * asked again quietly until the file has been unchanged for settle_ms; only then is `settled`
 * true and a failure should be reported. Each identity is offered once.
 *
 * A watched directory that is removed or moved away unloads its packages (each offered file
 * is reported removed); the path is then looked for every second and, once a directory is
 * there again, watched and scanned as at the start. */
#ifndef EUNOMIA_WATCHER_H
#define EUNOMIA_WATCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "eunomia/error.h"

struct eu_watcher_ops {
	/* A package file is new or changed. Return 0 when handled (loaded or failed for good),
	 * -EAGAIN to be asked again later (only heeded while !settled). */
	int (*file_changed)(void *ctx, const char *path, bool settled);
	/* A file offered before is gone (or no longer a package). */
	void (*file_removed)(void *ctx, const char *path);
};

struct eu_watcher_opts {
	size_t sz;
	uint32_t debounce_ms; /* 0: 150 */
	uint32_t settle_ms;   /* 0: 2000 */
};

struct eu_watcher;

/* Starts watching dir and scans it at once (every package present is offered before this
 * returns). */
int eu_watcher_new(uv_loop_t *loop, const char *dir, const struct eu_watcher_ops *ops, void *ctx,
		   const struct eu_watcher_opts *opts, struct eu_watcher **out, eu_error *err);
/* Scans now; force offers every present package again even if unchanged (config reload). */
void eu_watcher_rescan(struct eu_watcher *w, bool force);
/* Stops watching; the memory is freed once the loop has closed the handles. No callbacks are
 * made from here on. */
void eu_watcher_close(struct eu_watcher *w);
const char *eu_watcher_dir(const struct eu_watcher *w);

/* Whether a directory entry name may be a package by its name alone (see above). */
bool eu_watch_name_is_package(const char *name);
/* The stem of a package file name ("x" for x.json, x.skel.json, x.bpf.o, x.tar, x.wasm) into out;
 * false when the name is not a package name. */
bool eu_watch_name_stem(const char *name, char *out, size_t size);

#endif
