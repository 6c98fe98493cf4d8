/* The package directory watcher: which names count, complete files only, renames, removals,
 * quiet retries of partial files, and the Kubernetes ConfigMap `..data` symlink flip. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "daemon/watcher.h"

Test(watcher, package_names)
{
	const char *yes[] = {"package.json", "x.skel.json", "x.bpf.o", "a.b.json", "x.tar",
			     "x.wasm"};
	const char *no[] = {".x.json", "..data", "x.json~", "#x.json#", ".x.json.swp", "x.json.swp",
			    "x.tmp", "x.json.part", "x.json.dpkg-new", "x.params.json", "x.txt",
			    "x.o", ".json", "x.json.rpmnew", ".wasm", "x.wasm.sig",
			    "x.wasm.part"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(eu_watch_name_is_package(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(eu_watch_name_is_package(no[i]), "%s", no[i]);
	char stem[64];
	cr_assert(eu_watch_name_stem("boot.skel.json", stem, sizeof(stem)));
	cr_assert_str_eq(stem, "boot");
	cr_assert(eu_watch_name_stem("boot.bpf.o", stem, sizeof(stem)));
	cr_assert_str_eq(stem, "boot");
	cr_assert(eu_watch_name_stem("boot.json", stem, sizeof(stem)));
	cr_assert_str_eq(stem, "boot");
	cr_assert(eu_watch_name_stem("boot.wasm", stem, sizeof(stem)));
	cr_assert_str_eq(stem, "boot");
}

/* A fake owner: a file "is a package" when its content ends with "END". */
struct seen {
	char changed[64][256];
	bool settled[64];
	int n_changed;
	char removed[64][256];
	int n_removed;
	int again;
};

static int fake_changed(void *ctx, const char *path, bool settled)
{
	struct seen *s = ctx;
	char buf[256] = {0};
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 3 || strcmp(buf + n - 3, "END")) {
		if (!settled) {
			s->again++;
			return -EAGAIN;
		}
	}
	const char *b = strrchr(path, '/');
	snprintf(s->changed[s->n_changed % 64], 256, "%s", b + 1);
	s->settled[s->n_changed % 64] = settled;
	s->n_changed++;
	return 0;
}

static void fake_removed(void *ctx, const char *path)
{
	struct seen *s = ctx;
	const char *b = strrchr(path, '/');
	snprintf(s->removed[s->n_removed % 64], 256, "%s", b + 1);
	s->n_removed++;
}

static const struct eu_watcher_ops ops = {.file_changed = fake_changed,
					   .file_removed = fake_removed};

static char dir[64];
static uv_loop_t loop;

static void setup(void)
{
	strcpy(dir, "/tmp/eu-watch-XXXXXX");
	cr_assert(mkdtemp(dir));
	uv_loop_init(&loop);
}

static void teardown(void)
{
	uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void on_tick(uv_timer_t *t)
{
}

/* Runs the loop until *counter reaches want or timeout_ms passes; returns the time taken. */
static int run_until(int *counter, int want, int timeout_ms)
{
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, on_tick, 5, 5);
	uint64_t t0 = uv_now(&loop);
	while (*counter < want && (int)(uv_now(&loop) - t0) < timeout_ms)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return (int)(uv_now(&loop) - t0);
}

static void put(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

static void path_of(char *out, const char *name)
{
	snprintf(out, 256, "%s/%s", dir, name);
}

Test(watcher, lifecycle, .init = setup, .fini = teardown)
{
	put("old.json", "pkg END");
	put(".hidden.json", "pkg END");
	put("notes.txt", "pkg END");
	struct seen s = {0};
	struct eu_watcher *w;
	eu_error err = {0};
	struct eu_watcher_opts o = {.sz = sizeof(o), .debounce_ms = 1000, .settle_ms = 1500};
	cr_assert_eq(eu_watcher_new(&loop, dir, &ops, &s, &o, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n_changed, 1, "present at start: offered before new returns");
	cr_assert_str_eq(s.changed[0], "old.json");

	/* rename into place: offered at once (no debounce wait) */
	put(".staging", "pkg END");
	char a[256], b[256];
	path_of(a, ".staging");
	path_of(b, "new.json");
	cr_assert_eq(rename(a, b), 0);
	int ms = run_until(&s.n_changed, 2, 3000);
	cr_assert_eq(s.n_changed, 2);
	cr_assert_str_eq(s.changed[1], "new.json");
	/* the debounce is 1 s: well under it means the rename was taken as complete */
	cr_assert_lt(ms, 700, "rename-into-place took %d ms", ms);

	/* editor junk is never offered */
	put("new.json~", "pkg END");
	put(".new.json.swp", "x");
	put("#new.json#", "x");
	put("x.tmp", "x");
	run_until(&s.n_changed, 3, 400);
	cr_assert_eq(s.n_changed, 2);

	/* a partial file is retried quietly, then offered when complete */
	put("big.json", "half of it");
	run_until(&s.again, 1, 2000);
	cr_assert_geq(s.again, 1);
	cr_assert_eq(s.n_changed, 2);
	usleep(300000);
	put("big.json", "half of it and the rest END");
	run_until(&s.n_changed, 3, 3000);
	cr_assert_eq(s.n_changed, 3);
	cr_assert_str_eq(s.changed[2], "big.json");
	cr_assert_not(s.settled[2]);

	/* garbage that never completes: offered with settled=true after the settle time */
	put("junk.json", "garbage");
	ms = run_until(&s.n_changed, 4, 8000);
	cr_assert_eq(s.n_changed, 4);
	cr_assert_str_eq(s.changed[3], "junk.json");
	cr_assert(s.settled[3]);
	cr_assert_geq(ms, 1000, "reported after settling (1.5 s), took %d ms", ms);

	/* a sidecar change is a change of its package */
	put("new.params.json", "{}");
	run_until(&s.n_changed, 5, 3000);
	cr_assert_eq(s.n_changed, 5);
	cr_assert_str_eq(s.changed[4], "new.json");

	/* removal */
	path_of(a, "old.json");
	cr_assert_eq(unlink(a), 0);
	run_until(&s.n_removed, 1, 3000);
	cr_assert_eq(s.n_removed, 1);
	cr_assert_str_eq(s.removed[0], "old.json");
	eu_watcher_close(w);
}

Test(watcher, configmap_data_swap, .init = setup, .fini = teardown)
{
	char p[256], q[256];
	path_of(p, "..2026_11_25_01_00_00.1");
	cr_assert_eq(mkdir(p, 0755), 0);
	put("..2026_11_25_01_00_00.1/boot.json", "v1 END");
	path_of(p, "..data");
	cr_assert_eq(symlink("..2026_11_25_01_00_00.1", p), 0);
	path_of(p, "boot.json");
	cr_assert_eq(symlink("..data/boot.json", p), 0);

	struct seen s = {0};
	struct eu_watcher *w;
	eu_error err = {0};
	struct eu_watcher_opts o = {.sz = sizeof(o), .debounce_ms = 1000, .settle_ms = 1500};
	cr_assert_eq(eu_watcher_new(&loop, dir, &ops, &s, &o, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n_changed, 1);
	cr_assert_str_eq(s.changed[0], "boot.json");

	/* what the kubelet does: a new timestamped dir, a new ..data_tmp link, renamed over */
	path_of(p, "..2026_11_25_02_00_00.2");
	cr_assert_eq(mkdir(p, 0755), 0);
	put("..2026_11_25_02_00_00.2/boot.json", "v2 END");
	path_of(p, "..data_tmp");
	cr_assert_eq(symlink("..2026_11_25_02_00_00.2", p), 0);
	path_of(q, "..data");
	cr_assert_eq(rename(p, q), 0);
	int ms = run_until(&s.n_changed, 2, 3000);
	cr_assert_eq(s.n_changed, 2);
	cr_assert_str_eq(s.changed[1], "boot.json");
	cr_assert_lt(ms, 700, "took %d ms (debounce is 1 s)", ms);
	cr_assert_eq(s.n_removed, 0);

	/* a dangling link is not a package: the old one is removed */
	path_of(p, "..2026_11_25_02_00_00.2/boot.json");
	cr_assert_eq(unlink(p), 0);
	path_of(p, "..data_tmp");
	cr_assert_eq(symlink("..2026_11_25_02_00_00.2", p), 0);
	cr_assert_eq(rename(p, q), 0);
	run_until(&s.n_removed, 1, 3000);
	cr_assert_eq(s.n_removed, 1);
	eu_watcher_close(w);
}

/* The watched directory removed, then moved away: its packages go, and a directory created
 * again at the same path is watched and scanned as at start. */
Test(watcher, removed_dir_is_watched_again, .init = setup, .fini = teardown)
{
	put("a.json", "pkg END");
	struct seen s = {0};
	struct eu_watcher *w;
	eu_error err = {0};
	struct eu_watcher_opts o = {.sz = sizeof(o), .debounce_ms = 100, .settle_ms = 800};
	cr_assert_eq(eu_watcher_new(&loop, dir, &ops, &s, &o, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n_changed, 1);

	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	run_until(&s.n_removed, 1, 3000);
	cr_assert_eq(s.n_removed, 1);
	cr_assert_str_eq(s.removed[0], "a.json");

	cr_assert_eq(mkdir(dir, 0700), 0);
	put("b.json", "pkg END");
	run_until(&s.n_changed, 2, 5000);
	cr_assert_eq(s.n_changed, 2, "the re-created directory was not scanned");
	cr_assert_str_eq(s.changed[1], "b.json");

	/* events inside the re-created directory are seen */
	put("c.json", "pkg END");
	run_until(&s.n_changed, 3, 3000);
	cr_assert_eq(s.n_changed, 3);
	cr_assert_str_eq(s.changed[2], "c.json");

	/* moved away: unloaded, and what happens in the moved directory is not ours */
	char moved[96];
	snprintf(moved, sizeof(moved), "%s.moved", dir);
	cr_assert_eq(rename(dir, moved), 0);
	run_until(&s.n_removed, 3, 3000);
	cr_assert_eq(s.n_removed, 3);
	snprintf(cmd, sizeof(cmd), "echo 'pkg END' > %s/d.json", moved);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(mkdir(dir, 0700), 0);
	put("e.json", "pkg END");
	run_until(&s.n_changed, 4, 5000);
	run_until(&s.n_changed, 5, 500);
	cr_assert_eq(s.n_changed, 4, "only e.json: d.json lives in the moved directory");
	cr_assert_str_eq(s.changed[3], "e.json");
	eu_watcher_close(w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", moved);
	cr_assert_eq(system(cmd), 0);
}

/* A detached signature (FILE.sig) of the package, of its sidecar or of a pair's object is part
 * of the package: one that arrives or changes offers the package again. */
Test(watcher, signatures_belong_to_their_package, .init = setup, .fini = teardown)
{
	put("a.json", "pkg END");
	put("p.skel.json", "pkg END");
	put("p.bpf.o", "obj");
	struct seen s = {0};
	struct eu_watcher *w;
	eu_error err = {0};
	struct eu_watcher_opts o = {.sz = sizeof(o), .debounce_ms = 100, .settle_ms = 800};
	cr_assert_eq(eu_watcher_new(&loop, dir, &ops, &s, &o, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(s.n_changed, 2);
	const char *sigs[] = {"a.json.sig", "p.bpf.o.sig", "a.params.json.sig"};
	const char *pkgs[] = {"a.json", "p.skel.json", "a.json"};
	for (int i = 0; i < 3; i++) {
		if (i == 2) { /* the sidecar first: itself a change of a.json */
			int with_sidecar = s.n_changed + 1;
			put("a.params.json", "{}");
			run_until(&s.n_changed, with_sidecar, 3000);
			cr_assert_eq(s.n_changed, with_sidecar);
		}
		int want = s.n_changed + 1;
		put(sigs[i], "sig");
		run_until(&s.n_changed, want, 3000);
		cr_assert_eq(s.n_changed, want, "%s did not offer %s again", sigs[i], pkgs[i]);
		cr_assert_str_eq(s.changed[want - 1], pkgs[i]);
	}
	run_until(&s.n_changed, s.n_changed + 1, 400);
	cr_assert_eq(s.n_removed, 0, "a .sig file is not a package of its own");
	eu_watcher_close(w);
}

Test(watcher, missing_dir_is_an_error, .init = setup, .fini = teardown)
{
	struct seen s = {0};
	struct eu_watcher *w = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_watcher_new(&loop, "/nonexistent-eu-dir", &ops, &s, NULL, &w, &err),
		     -ENOENT);
	cr_assert(strstr(err.msg, "/nonexistent-eu-dir"), "%s", err.msg);
}

/* A loaded file rewritten with a part that does not parse yet (answered -EAGAIN) and then
 * deleted before it settles is reported removed: the owner still holds its package. */
Test(watcher, removed_while_waiting_to_settle, .init = setup, .fini = teardown)
{
	put("g.json", "pkg END");
	struct seen s = {0};
	struct eu_watcher *w;
	eu_error err = {0};
	cr_assert_eq(eu_watcher_new(&loop, dir, &ops, &s,
				    &(struct eu_watcher_opts){.sz = sizeof(struct eu_watcher_opts), .debounce_ms = 50,
							     .settle_ms = 1500},
				    &w, &err),
		     0, "%s", err.msg);
	cr_assert_eq(s.n_changed, 1);
	put("g.json", "pkg, the first part");
	run_until(&s.again, 1, 2000);
	cr_assert_geq(s.again, 1);
	char p[256];
	path_of(p, "g.json");
	cr_assert_eq(unlink(p), 0);
	run_until(&s.n_removed, 1, 3000);
	cr_assert_eq(s.n_removed, 1, "a vanished file offered -EAGAIN is reported removed");
	cr_assert_str_eq(s.removed[0], "g.json");

	/* a new file that never parsed and is deleted: reported too (its slot goes) */
	put("h.json", "never complete");
	run_until(&s.again, 2, 2000);
	path_of(p, "h.json");
	cr_assert_eq(unlink(p), 0);
	run_until(&s.n_removed, 2, 3000);
	cr_assert_eq(s.n_removed, 2);
	cr_assert_str_eq(s.removed[1], "h.json");
	eu_watcher_close(w);
}
