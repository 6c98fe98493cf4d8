/* Directory watching for the daemon (rules in watcher.h). */
#include "watcher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eunomia/log.h"

#define WATCH_MASK                                                                          \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |      \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct file_id {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

/* a package file and the files that belong to it, each with its detached signature
 * (FILE.sig): a signature arriving or changing is a change of the package */
struct sig {
	struct file_id main, object, sidecar;
	struct file_id main_sig, object_sig, sidecar_sig;
};

struct wentry {
	struct wentry *next;
	char *name;
	struct sig seen;        /* at the last scan */
	uint64_t seen_since_ms; /* when `seen` was first observed */
	struct sig done;        /* the identity last handled */
	bool have_done;
	/* offered to file_changed at least once: the owner may hold a package (or a slot
	 * waiting for the file) for it, so its disappearance must be reported even when the
	 * last offer was answered -EAGAIN */
	bool offered;
	bool present;
};

struct eu_watcher {
	uv_loop_t *loop;
	char *dir;
	const struct eu_watcher_ops *ops;
	void *ctx;
	uint32_t debounce_ms, settle_ms;
	int ifd, wd;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_timer_t rewatch; /* runs while the directory is gone, to watch it again */
	int open_handles;
	bool closing;
	bool scanning;
	struct wentry *entries;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

bool eu_watch_name_is_package(const char *name)
{
	size_t n = strlen(name);
	if (!n || name[0] == '.' || name[n - 1] == '~' || (name[0] == '#' && name[n - 1] == '#'))
		return false;
	static const char *const skip[] = {".swp", ".swx", ".tmp", ".part", ".rpmnew", ".rpmsave",
					   ".params.json"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (has_suffix(name, skip[i]))
			return false;
	if (strstr(name, ".dpkg-"))
		return false;
	return (has_suffix(name, ".json") && n > 5) || (has_suffix(name, ".bpf.o") && n > 6) ||
	       (has_suffix(name, ".tar") && n > 4) || (has_suffix(name, ".wasm") && n > 5);
}

bool eu_watch_name_stem(const char *name, char *out, size_t size)
{
	if (!eu_watch_name_is_package(name))
		return false;
	size_t n = strlen(name);
	if (has_suffix(name, ".skel.json") && n > 10)
		n -= 10;
	else if (has_suffix(name, ".bpf.o"))
		n -= 6;
	else if (has_suffix(name, ".tar"))
		n -= 4;
	else if (has_suffix(name, ".wasm"))
		n -= 5;
	else
		n -= 5;
	if (n + 1 > size)
		return false;
	memcpy(out, name, n);
	out[n] = '\0';
	return true;
}

static void get_id(int dfd, const char *name, struct file_id *id)
{
	struct stat st;
	memset(id, 0, sizeof(*id));
	/* follows symlinks: ConfigMap files are links into ..data */
	if (fstatat(dfd, name, &st, 0) || !S_ISREG(st.st_mode))
		return;
	id->present = true;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

static bool id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->present == b->present && (!a->present || (a->dev == b->dev && a->ino == b->ino &&
							    a->size == b->size &&
							    a->mtime_ns == b->mtime_ns));
}

static bool sig_eq(const struct sig *a, const struct sig *b)
{
	return id_eq(&a->main, &b->main) && id_eq(&a->object, &b->object) &&
	       id_eq(&a->sidecar, &b->sidecar) && id_eq(&a->main_sig, &b->main_sig) &&
	       id_eq(&a->object_sig, &b->object_sig) && id_eq(&a->sidecar_sig, &b->sidecar_sig);
}

/* name's identity into id and that of name.sig into sig_id */
static void get_id_signed(int dfd, const char *name, struct file_id *id, struct file_id *sig_id)
{
	char sig_name[320];
	get_id(dfd, name, id);
	snprintf(sig_name, sizeof(sig_name), "%s.sig", name);
	get_id(dfd, sig_name, sig_id);
}

static int64_t sig_newest_mtime_ms(const struct sig *s)
{
	const struct file_id *all[] = {&s->object, &s->sidecar, &s->main_sig, &s->object_sig,
				       &s->sidecar_sig};
	int64_t m = s->main.mtime_ns;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->present && all[i]->mtime_ns > m)
			m = all[i]->mtime_ns;
	return m / 1000000;
}

static struct wentry *entry_get(struct eu_watcher *w, const char *name)
{
	for (struct wentry *e = w->entries; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	struct wentry *e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		free(e);
		return NULL;
	}
	e->next = w->entries;
	w->entries = e;
	return e;
}

static char *join(const char *dir, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* The next time a scan is needed (0: none). */
static void arm(struct eu_watcher *w, uint64_t *next, uint64_t at)
{
	if (!*next || at < *next)
		*next = at;
}

/* whole: the events say files are complete: changed files need not wait for the debounce. */
static void scan(struct eu_watcher *w, bool whole, bool force)
{
	if (w->closing || w->scanning)
		return;
	w->scanning = true;
	uint64_t now = now_ms(), next = 0;
	int64_t real_now = (int64_t)real_ms();
	for (struct wentry *e = w->entries; e; e = e->next)
		e->present = false;

	int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		eu_log(EU_LOG_WARN, "watch %s: cannot read the directory: %s", w->dir,
		       strerror(errno));
	}
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char stem[256], side[300];
		if (!eu_watch_name_stem(de->d_name, stem, sizeof(stem)))
			continue;
		struct sig s;
		memset(&s, 0, sizeof(s));
		if (has_suffix(de->d_name, ".bpf.o")) {
			/* part of NAME.skel.json when that exists */
			snprintf(side, sizeof(side), "%s.skel.json", stem);
			struct file_id skel;
			get_id(dirfd(d), side, &skel);
			if (skel.present)
				continue;
		}
		get_id_signed(dirfd(d), de->d_name, &s.main, &s.main_sig);
		if (!s.main.present)
			continue;
		if (has_suffix(de->d_name, ".skel.json")) {
			snprintf(side, sizeof(side), "%s.bpf.o", stem);
			get_id_signed(dirfd(d), side, &s.object, &s.object_sig);
		}
		snprintf(side, sizeof(side), "%s.params.json", stem);
		get_id_signed(dirfd(d), side, &s.sidecar, &s.sidecar_sig);

		struct wentry *e = entry_get(w, de->d_name);
		if (!e)
			continue;
		e->present = true;
		if (!sig_eq(&s, &e->seen) || !e->seen_since_ms) {
			e->seen = s;
			e->seen_since_ms = now;
		}
		if (e->have_done && sig_eq(&s, &e->done) && !force)
			continue;
		/* a file last modified long enough ago has no writer: take it */
		int64_t age_ms = real_now - sig_newest_mtime_ms(&s);
		uint64_t stable_ms = now - e->seen_since_ms;
		if (age_ms > 0 && (uint64_t)age_ms > stable_ms)
			stable_ms = (uint64_t)age_ms;
		if (!whole && !force && stable_ms < w->debounce_ms) {
			arm(w, &next, now + (w->debounce_ms - stable_ms));
			continue;
		}
		bool settled = stable_ms >= w->settle_ms;
		char *path = join(w->dir, de->d_name);
		if (!path)
			continue;
		int ret = w->ops->file_changed(w->ctx, path, settled);
		free(path);
		e->offered = true;
		if (ret == -EAGAIN && !settled) {
			arm(w, &next, now + (w->settle_ms - stable_ms));
			e->have_done = false;
		} else {
			e->done = s;
			e->have_done = true;
		}
	}
	if (d)
		closedir(d);

	struct wentry **pp = &w->entries;
	while (*pp) {
		struct wentry *e = *pp;
		if (e->present) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		if (e->offered) {
			char *path = join(w->dir, e->name);
			if (path)
				w->ops->file_removed(w->ctx, path);
			free(path);
		}
		free(e->name);
		free(e);
	}
	w->scanning = false;
	if (next && !w->closing) {
		uint64_t delay = next > now ? next - now : 1;
		/* keep an earlier pending debounce if there is one */
		uint64_t due = uv_timer_get_due_in(&w->timer);
		if (!uv_is_active((uv_handle_t *)&w->timer) || due > delay)
			uv_timer_start(&w->timer, w->timer.timer_cb, delay, 0);
	}
}

static void on_timer(uv_timer_t *t)
{
	scan(t->data, false, false);
}

/* How often a removed directory is looked for again. Polling rather than a watch on the
 * parent: the parent may be gone too, or be a read-only mount point we may not watch. */
#define REWATCH_MS 1000

static void on_rewatch(uv_timer_t *t)
{
	struct eu_watcher *w = t->data;
	int wd = inotify_add_watch(w->ifd, w->dir, WATCH_MASK);
	if (wd < 0)
		return;
	w->wd = wd;
	uv_timer_stop(&w->rewatch);
	eu_log(EU_LOG_INFO, "watch %s: the directory is back: watching it again", w->dir);
	scan(w, true, false);
}

static void on_inotify(uv_poll_t *p, int status, int events)
{
	struct eu_watcher *w = p->data;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool whole = false, debounce = false, gone = false;
	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *q = buf; q < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)q;
			q += sizeof(*ev) + ev->len;
			const char *name = ev->len ? ev->name : "";
			if (ev->mask & IN_Q_OVERFLOW) {
				whole = true;
			} else if (ev->wd != w->wd) {
				/* the tail of a watch already dropped (its IN_IGNORED) */
			} else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				gone = true;
				whole = true;
			} else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) ||
				   !strncmp(name, "..", 2)) {
				whole = true;
			} else {
				debounce = true;
			}
		}
	}
	if (gone) {
		/* a moved directory keeps its watch: drop it, the path is what we watch */
		inotify_rm_watch(w->ifd, w->wd);
		w->wd = -1;
		eu_log(EU_LOG_WARN,
		       "watch %s: the directory was removed or moved: its packages are unloaded; "
		       "it is watched again when it is back",
		       w->dir);
		if (!w->closing)
			uv_timer_start(&w->rewatch, on_rewatch, REWATCH_MS, REWATCH_MS);
	}
	if (whole)
		scan(w, true, false);
	else if (debounce)
		uv_timer_start(&w->timer, on_timer, w->debounce_ms, 0);
}

int eu_watcher_new(uv_loop_t *loop, const char *dir, const struct eu_watcher_ops *ops, void *ctx,
		   const struct eu_watcher_opts *opts, struct eu_watcher **out, eu_error *err)
{
	*out = NULL;
	struct eu_watcher *w = calloc(1, sizeof(*w));
	if (!w || !(w->dir = strdup(dir))) {
		free(w);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	size_t n = strlen(w->dir);
	while (n > 1 && w->dir[n - 1] == '/')
		w->dir[--n] = '\0';
	w->loop = loop;
	w->ops = ops;
	w->ctx = ctx;
	w->debounce_ms = opts && opts->debounce_ms ? opts->debounce_ms : 150;
	w->settle_ms = opts && opts->settle_ms ? opts->settle_ms : 2000;
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0) {
		int e = errno;
		free(w->dir);
		free(w);
		return eu_error_set(err, -e, "watch %s: inotify: %s", dir, strerror(e));
	}
	w->wd = inotify_add_watch(w->ifd, w->dir, WATCH_MASK);
	if (w->wd < 0) {
		int e = errno;
		close(w->ifd);
		free(w->dir);
		free(w);
		return eu_error_set(err, -e, "watch %s: %s", dir,
				    e == ENOTDIR ? "not a directory" : strerror(e));
	}
	uv_poll_init(loop, &w->poll, w->ifd);
	uv_timer_init(loop, &w->timer);
	uv_timer_init(loop, &w->rewatch);
	w->poll.data = w->timer.data = w->rewatch.data = w;
	w->open_handles = 3;
	w->timer.timer_cb = on_timer;
	uv_poll_start(&w->poll, UV_READABLE, on_inotify);
	*out = w;
	scan(w, true, false);
	return 0;
}

void eu_watcher_rescan(struct eu_watcher *w, bool force)
{
	scan(w, force, force);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct eu_watcher *w = h->data;
	if (--w->open_handles)
		return;
	close(w->ifd);
	while (w->entries) {
		struct wentry *e = w->entries;
		w->entries = e->next;
		free(e->name);
		free(e);
	}
	free(w->dir);
	free(w);
}

void eu_watcher_close(struct eu_watcher *w)
{
	if (!w || w->closing)
		return;
	w->closing = true;
	uv_close((uv_handle_t *)&w->poll, on_handle_closed);
	uv_close((uv_handle_t *)&w->timer, on_handle_closed);
	uv_close((uv_handle_t *)&w->rewatch, on_handle_closed);
}

const char *eu_watcher_dir(const struct eu_watcher *w)
{
	return w->dir;
}
