/* The daemon's kernel BTF, parsed once, and the trimmed BTF per package (kbtf_cache.h). */
#include "kbtf_cache.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include <bpf/btf.h>

#include "eunomia/log.h"
#include "eunomia/package.h"
#include "core/codec.h"
#include "kbtf.h"
#include "kbtf_store.h"
#include "kbtf_trim.h"

/* Trimmed BTFs kept; the oldest goes first beyond this. */
#define CACHE_MAX 256

struct entry {
	uint8_t sha256[32];  /* of the BPF object: the trimmed BTF depends on nothing else */
	void *btf;
	size_t size;
	uint64_t used;  /* tick of the last use, for eviction */
};

struct eu_kbtf_cache {
	pthread_mutex_t lock;
	struct btf *kernel;
	struct eu_kbtf_index *index;
	char build[512];  /* uname release + version + the BTF file's identity */
	struct entry *entries;
	size_t n;
	uint64_t tick;
	struct eu_kbtf_stats stats;
	bool defer;                    /* a miss leaves the trim to eu_kbtf_cache_fill_later */
	bool store_tried;
	struct eu_kbtf_store *store;   /* NULL: none usable */
	struct pending *pending;       /* deferred trims */
};

/* An object whose trim was deferred: a copy, since the package may be gone by then. */
struct pending {
	struct pending *next;
	uint8_t sha256[32];
	void *object;
	size_t size;
};

static const char *const fallback_names[EU_KBTF_FB_COUNT] = {
	[EU_KBTF_FB_KERNEL_BTF] = "kernel_btf",   [EU_KBTF_FB_OBJECT] = "object",
	[EU_KBTF_FB_MODULE] = "module_type",      [EU_KBTF_FB_UNSUPPORTED] = "unsupported",
	[EU_KBTF_FB_OTHER] = "other",
};

const char *eu_kbtf_fallback_name(enum eu_kbtf_fallback f)
{
	return f < EU_KBTF_FB_COUNT ? fallback_names[f] : "?";
}

int eu_kbtf_cache_new(struct eu_kbtf_cache **out, eu_error *err)
{
	return eu_kbtf_cache_new_opts(out, NULL, err);
}

int eu_kbtf_cache_new_opts(struct eu_kbtf_cache **out, const struct eu_kbtf_cache_opts *opts,
			   eu_error *err)
{
	struct eu_kbtf_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return eu_error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	c->defer = opts && opts->defer_trim;
	*out = c;
	return 0;
}

static void pending_free(struct pending *p)
{
	while (p) {
		struct pending *next = p->next;
		free(p->object);
		free(p);
		p = next;
	}
}

static void drop_kernel(struct eu_kbtf_cache *c)
{
	eu_kbtf_index_free(c->index);
	btf__free(c->kernel);
	c->index = NULL;
	c->kernel = NULL;
	for (size_t i = 0; i < c->n; i++)
		free(c->entries[i].btf);
	free(c->entries);
	c->entries = NULL;
	c->n = 0;
	c->build[0] = '\0';
}

void eu_kbtf_cache_free(struct eu_kbtf_cache *c)
{
	if (!c)
		return;
	drop_kernel(c);
	eu_kbtf_store_close(c->store);
	pending_free(c->pending);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* What identifies the kernel build: a reboot into another kernel changes it. */
static int kernel_build(const char *path, char *out, size_t size)
{
	struct utsname u;
	struct stat st;
	if (uname(&u) || stat(path, &st))
		return -errno;
	snprintf(out, size, "%s %s %s %llu %llu %lld", path, u.release, u.version,
		 (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
		 (long long)st.st_mtim.tv_sec);
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Forgets what was trimmed from another kernel BTF than the one there now (a test's
 * EUNOMIA_KERNEL_BTF file rewritten). Called locked. */
static int note_kernel(struct eu_kbtf_cache *c, eu_error *err)
{
	const char *path = eu_kbtf_kernel_path();
	char build[sizeof(c->build)];
	int rc = kernel_build(path, build, sizeof(build));
	if (rc)
		return eu_error_set(err, rc, "%s: %s", path, strerror(-rc));
	if (strcmp(build, c->build)) {
		drop_kernel(c);
		snprintf(c->build, sizeof(c->build), "%s", build);
	}
	return 0;
}

/* Parses the kernel BTF unless it is held. Called locked, after note_kernel. */
static int ensure_kernel(struct eu_kbtf_cache *c, eu_error *err)
{
	const char *path = eu_kbtf_kernel_path();
	if (c->kernel)
		return 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct btf *k = btf__parse(path, NULL);
	if (!k)
		return eu_error_set(err, -errno ? -errno : -EINVAL, "%s: cannot parse: %s", path,
				    strerror(errno ? errno : EINVAL));
	int rc = eu_kbtf_index_new(k, &c->index, err);
	if (rc) {
		btf__free(k);
		return rc;
	}
	c->kernel = k;
	c->stats.kernel_parses++;
	c->stats.kernel_parse_ms = ms_since(&t0);
	eu_log(EU_LOG_DEBUG, "kernel BTF %s parsed and indexed in %.1f ms (%u types)", path,
	       c->stats.kernel_parse_ms, btf__type_cnt(k) - 1);
	return 0;
}

static struct entry *find(struct eu_kbtf_cache *c, const uint8_t *sha)
{
	for (size_t i = 0; i < c->n; i++)
		if (!memcmp(c->entries[i].sha256, sha, 32))
			return &c->entries[i];
	return NULL;
}

static struct entry *insert(struct eu_kbtf_cache *c, const uint8_t *sha, void *btf, size_t size)
{
	if (c->n == CACHE_MAX) {
		size_t old = 0;
		for (size_t i = 1; i < c->n; i++)
			if (c->entries[i].used < c->entries[old].used)
				old = i;
		free(c->entries[old].btf);
		c->entries[old] = c->entries[--c->n];
	}
	struct entry *v = realloc(c->entries, (c->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	c->entries = v;
	struct entry *e = &v[c->n++];
	memcpy(e->sha256, sha, 32);
	e->btf = btf;
	e->size = size;
	return e;
}

static int fall_back(struct eu_kbtf_cache *c, const struct eu_package *pkg,
		     enum eu_kbtf_fallback why, const eu_error *err)
{
	c->stats.fallbacks[why]++;
	eu_log(EU_LOG_INFO, "%s: CO-RE against the whole kernel BTF (libbpf's own lookup): %s",
	       pkg->name ? pkg->name : pkg->origin, err->msg);
	return -1;
}

static struct eu_kbtf_store *store_of(struct eu_kbtf_cache *c)
{
	if (!c->store_tried) {
		c->store_tried = true;
		c->store = eu_kbtf_store_open(eu_kbtf_kernel_path());
	}
	return c->store;
}

static int defer_trim(struct eu_kbtf_cache *c, const struct eu_package *pkg,
		      const uint8_t sha[32])
{
	struct pending *p = calloc(1, sizeof(*p));
	if (p)
		p->object = malloc(pkg->object_size);
	if (!p || !p->object) {
		free(p);
		return -ENOMEM;
	}
	memcpy(p->sha256, sha, 32);
	memcpy(p->object, pkg->object, pkg->object_size);
	p->size = pkg->object_size;
	p->next = c->pending;
	c->pending = p;
	c->stats.deferred++;
	return -1;
}

int eu_kbtf_cache_trimmed(struct eu_kbtf_cache *c, const struct eu_package *pkg,
			  struct eu_kbtf_choice *out)
{
	eu_error err = {0};
	uint8_t sha[32];
	if (eu_sha256(pkg->object, pkg->object_size, sha))
		return -1;
	pthread_mutex_lock(&c->lock);
	int rc = note_kernel(c, &err);
	if (rc) {
		rc = fall_back(c, pkg, EU_KBTF_FB_KERNEL_BTF, &err);
		goto out;
	}
	struct entry *e = find(c, sha);
	struct eu_kbtf_store *store = store_of(c);
	void *btf = NULL;
	size_t size = 0;
	const char *source = "trimmed";
	if (e) {
		c->stats.hits++;
	} else if (store && eu_kbtf_store_get(store, sha, &btf, &size) == 0) {
		c->stats.store_hits++;
		source = "trimmed, from the store";
	} else if (c->defer) {
		/* libbpf's own lookup now; the trim is done off the load's path */
		rc = defer_trim(c, pkg, sha);
		goto out;
	} else if ((rc = ensure_kernel(c, &err))) {
		rc = fall_back(c, pkg, EU_KBTF_FB_KERNEL_BTF, &err);
		goto out;
	} else {
		rc = eu_kbtf_trim_object(c->kernel, c->index, pkg->object, pkg->object_size, true, &btf,
					 &size, &err);
		if (rc) {
			rc = fall_back(c, pkg, rc == -ENOENT ? EU_KBTF_FB_MODULE :
					       rc == -EOPNOTSUPP ? EU_KBTF_FB_UNSUPPORTED :
					       rc == -ENOMEM ? EU_KBTF_FB_OTHER : EU_KBTF_FB_OBJECT,
				       &err);
			goto out;
		}
		c->stats.trims++;
		if (store)
			eu_kbtf_store_put(store, sha, btf, size);
	}
	if (!e && !(e = insert(c, sha, btf, size))) {
		free(btf);
		eu_error_set(&err, -ENOMEM, "out of memory");
		rc = fall_back(c, pkg, EU_KBTF_FB_OTHER, &err);
		goto out;
	}
	e->used = ++c->tick;
	rc = eu_kbtf_memfd(e->btf, e->size, &out->fd, &out->path, &err);
	if (rc) {
		rc = fall_back(c, pkg, EU_KBTF_FB_OTHER, &err);
		goto out;
	}
	out->source = source;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* The deferred trims, in a process of their own (a grandchild, so nobody waits for it): it
 * may outlive the caller, which can exit at any moment without racing a thread that is
 * still inside libbpf; entries appear by rename, whole or not at all. */
static void fill_now(struct pending *list)
{
	/* only idle CPU: the process it came from is busy delivering events */
	struct sched_param sp = {0};
	sched_setscheduler(0, SCHED_IDLE, &sp);
	const char *path = eu_kbtf_kernel_path();
	struct eu_kbtf_store *store = eu_kbtf_store_open(path);
	struct btf *kernel = store ? btf__parse(path, NULL) : NULL;
	struct eu_kbtf_index *idx = NULL;
	eu_error err = {0};
	if (kernel && eu_kbtf_index_new(kernel, &idx, &err) == 0) {
		for (struct pending *p = list; p; p = p->next) {
			void *btf;
			size_t size;
			if (eu_kbtf_trim_object(kernel, idx, p->object, p->size, true, &btf, &size,
						&err) == 0) {
				eu_kbtf_store_put(store, p->sha256, btf, size);
				free(btf);
			}
		}
	}
}

void eu_kbtf_cache_fill_later(struct eu_kbtf_cache *c)
{
	pthread_mutex_lock(&c->lock);
	struct pending *list = c->pending;
	c->pending = NULL;
	pthread_mutex_unlock(&c->lock);
	if (!list)
		return;
	pid_t child = fork();
	if (child == 0) {
		if (fork() == 0) {
			/* hold nothing of the caller's: not its BPF links (its programs must
			 * detach when it exits), not the pipes a reader waits to see closed */
			close_range(0, ~0U, 0);
			int null = open("/dev/null", O_RDWR);
			if (null == 0) {
				dup2(null, 1);
				dup2(null, 2);
			}
			fill_now(list);
			_exit(0);
		}
		_exit(0);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
	pending_free(list);
}

void eu_kbtf_cache_stats(struct eu_kbtf_cache *c, struct eu_kbtf_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
