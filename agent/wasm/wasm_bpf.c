/* The six `wasm_bpf` host functions on libbpf: objects opened from the module's memory,
 * programs attached, map fds, ring/perf buffer polling with a callback into the module per
 * event, map operations, close. Handles and map fds are the module's own: a module can only
 * reach maps of objects it loaded. Every pointer is checked against the module's memory for
 * the length used; a bad one gets -EFAULT (or handle 0). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "wasm_priv.h"

#define MAX_BUFFERS 8
#define MAX_OBJECT_BYTES (64u << 20)

struct wasm_buffer {
	int map_fd;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	int epfd; /* the buffer's own epoll fd and the module's stop fd */

	/* the poll in progress */
	struct eu_wasm_module *m;
	uint32_t sample_fn, ctx, buf, buf_size;
	int handled;
	bool failed;      /* a callback trapped or ran over its limit: the module ends */
	uint64_t lost;    /* perf buffer: events the kernel dropped */
	uint64_t lost_logged;
};

struct wasm_bpf_obj {
	uint64_t handle;
	struct bpf_object *obj;
	void *elf; /* the object's bytes: libbpf reads them until the load is done */
	struct bpf_link **links;
	size_t n_links;
	struct wasm_buffer *bufs[MAX_BUFFERS];
	bool polling; /* a poll is delivering events: a callback may not close or re-poll it */
};

static struct wasm_bpf_obj *obj_of(struct eu_wasm_module *m, uint64_t handle)
{
	if (!handle)
		return NULL;
	for (int i = 0; i < WASM_MAX_OBJECTS; i++)
		if (m->objs[i] && m->objs[i]->handle == handle)
			return m->objs[i];
	return NULL;
}

static void buffer_free(struct wasm_buffer *b)
{
	if (!b)
		return;
	ring_buffer__free(b->rb);
	perf_buffer__free(b->pb);
	if (b->epfd >= 0)
		close(b->epfd);
	free(b);
}

static void obj_free(struct eu_wasm_module *m, struct wasm_bpf_obj *o)
{
	for (int i = 0; i < MAX_BUFFERS; i++)
		buffer_free(o->bufs[i]);
	for (size_t i = 0; i < o->n_links; i++)
		bpf_link__destroy(o->links[i]);
	atomic_fetch_sub(&m->attached, o->n_links);
	free(o->links);
	bpf_object__close(o->obj);
	free(o->elf);
	free(o);
}

void wasm_bpf_close_all(struct eu_wasm_module *m)
{
	for (int i = 0; i < WASM_MAX_OBJECTS; i++) {
		if (m->objs[i]) {
			obj_free(m, m->objs[i]);
			m->objs[i] = NULL;
		}
	}
}

/* ---- wasm_load_bpf_object(obj_buf, obj_size) -> handle ------------------------------- */

static enum eu_wasm_host_rc load_object(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	int32_t size = (int32_t)(uint32_t)a[1];
	results[0] = 0;
	const uint8_t *src = size > 0 ? eu_wasm_vm_mem(vm, (uint32_t)a[0], (uint32_t)size) : NULL;
	if (!src || (uint32_t)size > MAX_OBJECT_BYTES) {
		eu_log(EU_LOG_ERROR, "%s: wasm_load_bpf_object: the object at %u (%d bytes) is %s",
		       m->name, (uint32_t)a[0], size,
		       size <= 0 ? "empty" : (uint32_t)size > MAX_OBJECT_BYTES ? "too large"
									: "outside the module's memory");
		return EU_WASM_HOST_OK;
	}
	int slot = -1;
	for (int i = 0; i < WASM_MAX_OBJECTS && slot < 0; i++)
		if (!m->objs[i])
			slot = i;
	if (slot < 0) {
		eu_log(EU_LOG_ERROR, "%s: wasm_load_bpf_object: %d objects are open already",
		       m->name, WASM_MAX_OBJECTS);
		return EU_WASM_HOST_OK;
	}
	struct wasm_bpf_obj *o = calloc(1, sizeof(*o));
	if (!o || !(o->elf = malloc((size_t)size))) {
		free(o);
		return EU_WASM_HOST_OK;
	}
	memcpy(o->elf, src, (size_t)size);
	/* libbpf would name the object after its address; the module's name says more */
	char oname[64];
	snprintf(oname, sizeof(oname), "%.*s", (int)strcspn(m->name, "."), m->name);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = oname);
	o->obj = bpf_object__open_mem(o->elf, (size_t)size, &oo);
	if (!o->obj) {
		char why[128];
		libbpf_strerror(errno, why, sizeof(why));
		eu_log(EU_LOG_ERROR, "%s: wasm_load_bpf_object: not a BPF object libbpf can open "
		       "(%s)", m->name, why);
		free(o->elf);
		free(o);
		return EU_WASM_HOST_OK;
	}
	int ret = bpf_object__load(o->obj);
	if (ret) {
		char why[128];
		libbpf_strerror(ret, why, sizeof(why));
		eu_log(EU_LOG_ERROR,
		       "%s: wasm_load_bpf_object: loading %s failed: %s (run with --log-level trace "
		       "for libbpf's log)", m->name, bpf_object__name(o->obj), why);
		obj_free(m, o);
		return EU_WASM_HOST_OK;
	}
	/* the generation keeps a closed handle from naming a later object in the same slot */
	o->handle = (++m->next_handle_gen << 8) | (uint64_t)(slot + 1);
	m->objs[slot] = o;
	eu_log(EU_LOG_DEBUG, "%s: loaded BPF object %s", m->name, bpf_object__name(o->obj));
	results[0] = o->handle;
	return EU_WASM_HOST_OK;
}

/* ---- wasm_attach_bpf_program(obj, prog_name, attach_target) -> 0 / -errno ---------- */

static struct bpf_link *attach_to(struct bpf_program *prog, const char *target)
{
	enum bpf_prog_type type = bpf_program__type(prog);
	if (target && *target && type == BPF_PROG_TYPE_XDP) {
		unsigned int ifindex = if_nametoindex(target);
		if (!ifindex)
			return NULL;
		return bpf_program__attach_xdp(prog, (int)ifindex);
	}
	if (target && *target && type == BPF_PROG_TYPE_SOCK_OPS) {
		int fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		struct bpf_link *l = bpf_program__attach_cgroup(prog, fd);
		int e = errno;
		close(fd);
		errno = e;
		return l;
	}
	return bpf_program__attach(prog);
}

static enum eu_wasm_host_rc attach_program(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					   uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	struct wasm_bpf_obj *o = obj_of(m, a[0]);
	const char *name = eu_wasm_vm_str(vm, (uint32_t)a[1]);
	const char *target = a[2] ? eu_wasm_vm_str(vm, (uint32_t)a[2]) : "";
	if (!name || !target) {
		results[0] = (uint32_t)-EFAULT;
		return EU_WASM_HOST_OK;
	}
	if (!o) {
		results[0] = (uint32_t)-EINVAL;
		return EU_WASM_HOST_OK;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(o->obj, name);
	if (!prog) {
		eu_log(EU_LOG_ERROR, "%s: wasm_attach_bpf_program: object %s has no program '%s'",
		       m->name, bpf_object__name(o->obj), name);
		results[0] = (uint32_t)-ENOENT;
		return EU_WASM_HOST_OK;
	}
	struct bpf_link **links = realloc(o->links, (o->n_links + 1) * sizeof(*links));
	if (!links) {
		results[0] = (uint32_t)-ENOMEM;
		return EU_WASM_HOST_OK;
	}
	o->links = links;
	errno = 0;
	struct bpf_link *link = attach_to(prog, target);
	if (!link) {
		int e = errno ? errno : EINVAL;
		eu_log(EU_LOG_ERROR, "%s: wasm_attach_bpf_program: attaching %s%s%s failed: %s",
		       m->name, name, *target ? " to " : "", target, strerror(e));
		results[0] = (uint32_t)-e;
		return EU_WASM_HOST_OK;
	}
	o->links[o->n_links++] = link;
	atomic_fetch_add(&m->attached, 1);
	eu_log(EU_LOG_DEBUG, "%s: attached %s", m->name, name);
	results[0] = 0;
	return EU_WASM_HOST_OK;
}

/* ---- wasm_bpf_map_fd_by_name(obj, map_name) -> fd / -errno ------------------------- */

static enum eu_wasm_host_rc map_fd_by_name(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					   uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	struct wasm_bpf_obj *o = obj_of(m, a[0]);
	const char *name = eu_wasm_vm_str(vm, (uint32_t)a[1]);
	if (!name) {
		results[0] = (uint32_t)-EFAULT;
		return EU_WASM_HOST_OK;
	}
	if (!o) {
		results[0] = (uint32_t)-EINVAL;
		return EU_WASM_HOST_OK;
	}
	int fd = bpf_object__find_map_fd_by_name(o->obj, name);
	if (fd < 0)
		eu_log(EU_LOG_WARN, "%s: wasm_bpf_map_fd_by_name: object %s has no map '%s'",
		       m->name, bpf_object__name(o->obj), name);
	results[0] = (uint32_t)(fd < 0 ? -ENOENT : fd);
	return EU_WASM_HOST_OK;
}

/* The map of one of the module's objects whose fd is map_fd (NULL: not the module's). */
static struct bpf_map *module_map(struct eu_wasm_module *m, int map_fd)
{
	if (map_fd < 0)
		return NULL;
	for (int i = 0; i < WASM_MAX_OBJECTS; i++) {
		if (!m->objs[i])
			continue;
		struct bpf_map *map;
		bpf_object__for_each_map(map, m->objs[i]->obj)
			if (bpf_map__fd(map) == map_fd)
				return map;
	}
	return NULL;
}

/* ---- wasm_bpf_buffer_poll ------------------------------------------------------------ */

/* One event: copied into the module's buffer, then the module's callback. */
static int deliver(struct wasm_buffer *b, const void *data, size_t size)
{
	if (b->failed)
		return -ECANCELED;
	struct eu_wasm_vm *vm = b->m->vm;
	uint8_t *dst = eu_wasm_vm_mem(vm, b->buf, b->buf_size);
	if (!dst) {
		eu_wasm_vm_trap(vm, "wasm_bpf_buffer_poll: the event buffer at %u (%u bytes) is "
			       "outside the module's memory", b->buf, b->buf_size);
		b->failed = true;
		return -ECANCELED;
	}
	memcpy(dst, data, size < b->buf_size ? size : b->buf_size);
	uint32_t args[3] = {b->ctx, b->buf, (uint32_t)size};
	int32_t ret = 0;
	if (eu_wasm_vm_call_table(vm, b->sample_fn, args, 3, &ret,
				  b->m->opts.callback_limit_ms) != EU_WASM_RETURNED) {
		b->failed = true;
		return -ECANCELED;
	}
	b->handled++;
	return ret;
}

static int on_ring_sample(void *ctx, void *data, size_t size)
{
	return deliver(ctx, data, size);
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	deliver(ctx, data, size);
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
	struct wasm_buffer *b = ctx;
	b->lost += count;
}

static struct wasm_buffer *buffer_open(struct eu_wasm_module *m, struct wasm_bpf_obj *o,
				       int map_fd, int *err)
{
	struct bpf_map *map = module_map(m, map_fd);
	if (!map) {
		eu_log(EU_LOG_ERROR, "%s: wasm_bpf_buffer_poll: fd %d is not a map of the module's "
		       "objects", m->name, map_fd);
		*err = -EINVAL;
		return NULL;
	}
	int slot = -1;
	for (int i = 0; i < MAX_BUFFERS && slot < 0; i++)
		if (!o->bufs[i])
			slot = i;
	struct wasm_buffer *b = slot < 0 ? NULL : calloc(1, sizeof(*b));
	if (!b) {
		*err = slot < 0 ? -EMFILE : -ENOMEM;
		return NULL;
	}
	b->map_fd = map_fd;
	b->epfd = -1;
	int src_fd = -1;
	enum bpf_map_type type = bpf_map__type(map);
	if (type == BPF_MAP_TYPE_RINGBUF) {
		b->rb = ring_buffer__new(map_fd, on_ring_sample, b, NULL);
		src_fd = b->rb ? ring_buffer__epoll_fd(b->rb) : -1;
	} else if (type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
		b->pb = perf_buffer__new(map_fd, 64, on_perf_sample, on_perf_lost, b, NULL);
		src_fd = b->pb ? perf_buffer__epoll_fd(b->pb) : -1;
	} else {
		eu_log(EU_LOG_ERROR, "%s: wasm_bpf_buffer_poll: map %s is neither a ring buffer nor "
		       "a perf event array", m->name, bpf_map__name(map));
		free(b);
		*err = -EINVAL;
		return NULL;
	}
	if (src_fd < 0) {
		*err = errno ? -errno : -EINVAL;
		eu_log(EU_LOG_ERROR, "%s: wasm_bpf_buffer_poll: cannot open %s: %s", m->name,
		       bpf_map__name(map), strerror(-*err));
		buffer_free(b);
		return NULL;
	}
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	int ret = b->epfd < 0 ? -1 : epoll_ctl(b->epfd, EPOLL_CTL_ADD, src_fd, &ev);
	ev.events = EPOLLIN;
	ev.data.fd = m->stop_fd;
	if (!ret)
		ret = epoll_ctl(b->epfd, EPOLL_CTL_ADD, m->stop_fd, &ev);
	if (ret) {
		*err = -errno;
		buffer_free(b);
		return NULL;
	}
	o->bufs[slot] = b;
	return b;
}

static struct wasm_buffer *buffer_of(struct wasm_bpf_obj *o, int map_fd)
{
	for (int i = 0; i < MAX_BUFFERS; i++)
		if (o->bufs[i] && o->bufs[i]->map_fd == map_fd)
			return o->bufs[i];
	return NULL;
}

/* (obj, map_fd, sample_fn, ctx, buf, buf_size, timeout_ms) -> events handled / -errno */
static enum eu_wasm_host_rc buffer_poll(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	struct wasm_bpf_obj *o = obj_of(m, a[0]);
	int map_fd = (int)(uint32_t)a[1];
	int timeout = (int)(uint32_t)a[6];
	uint32_t buf = (uint32_t)a[4], buf_size = (uint32_t)a[5];
	if (!eu_wasm_vm_mem(vm, buf, buf_size)) {
		results[0] = (uint32_t)-EFAULT;
		return EU_WASM_HOST_OK;
	}
	if (!o) {
		results[0] = (uint32_t)-EINVAL;
		return EU_WASM_HOST_OK;
	}
	if (wasm_stopping(m)) {
		results[0] = (uint32_t)-EINTR;
		return EU_WASM_HOST_OK;
	}
	if (o->polling) {
		results[0] = (uint32_t)-EBUSY;
		return EU_WASM_HOST_OK;
	}
	int err = 0;
	struct wasm_buffer *b = buffer_of(o, map_fd);
	if (!b && !(b = buffer_open(m, o, map_fd, &err))) {
		results[0] = (uint32_t)err;
		return EU_WASM_HOST_OK;
	}
	b->m = m;
	b->sample_fn = (uint32_t)a[2];
	b->ctx = (uint32_t)a[3];
	b->buf = buf;
	b->buf_size = buf_size;
	b->handled = 0;

	struct epoll_event ev[2];
	int n = epoll_wait(b->epfd, ev, 2, timeout < 0 ? -1 : timeout);
	if (n < 0 || wasm_stopping(m)) {
		results[0] = (uint32_t)(n < 0 && errno != EINTR ? -errno : -EINTR);
		return EU_WASM_HOST_OK;
	}
	int ret = 0;
	if (n > 0) {
		o->polling = true;
		ret = b->rb ? ring_buffer__consume(b->rb) : perf_buffer__consume(b->pb);
		o->polling = false;
	}
	if (b->failed)
		return EU_WASM_HOST_TRAP; /* the callback's failure is the trap's message */
	if (b->lost > b->lost_logged) {
		eu_log(EU_LOG_WARN, "%s: the kernel dropped %llu perf buffer events (%llu so far): "
		       "the module reads too slowly", m->name,
		       (unsigned long long)(b->lost - b->lost_logged), (unsigned long long)b->lost);
		b->lost_logged = b->lost;
	}
	results[0] = (uint32_t)(ret < 0 ? ret : b->handled);
	return EU_WASM_HOST_OK;
}

/* ---- wasm_bpf_map_operate(map_fd, cmd, key, value, next_key, flags) ------------------ */

enum { MAP_LOOKUP = 1, MAP_UPDATE = 2, MAP_DELETE = 3, MAP_NEXT_KEY = 4 };

static enum eu_wasm_host_rc map_operate(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	int fd = (int)(uint32_t)a[0];
	uint32_t cmd = (uint32_t)a[1], key_p = (uint32_t)a[2], value_p = (uint32_t)a[3],
		 next_p = (uint32_t)a[4];
	uint64_t flags = a[5];
	struct bpf_map *map = module_map(m, fd);
	if (!map) {
		results[0] = (uint32_t)-EBADF;
		return EU_WASM_HOST_OK;
	}
	uint32_t ks = bpf_map__key_size(map), vs = bpf_map__value_size(map);
	enum bpf_map_type t = bpf_map__type(map);
	if (t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	    t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE) {
		int ncpus = libbpf_num_possible_cpus();
		vs = ncpus > 0 ? ((vs + 7) & ~7u) * (uint32_t)ncpus : vs;
	}
	/* key 0 is "no key" only for the first step of a key walk */
	void *key = cmd == MAP_NEXT_KEY && !key_p ? NULL : eu_wasm_vm_mem(vm, key_p, ks);
	int ret;
	switch (cmd) {
	case MAP_LOOKUP: {
		void *value = eu_wasm_vm_mem(vm, value_p, vs);
		ret = key && value ? bpf_map_lookup_elem_flags(fd, key, value, flags) : -EFAULT;
		break;
	}
	case MAP_UPDATE: {
		void *value = eu_wasm_vm_mem(vm, value_p, vs);
		ret = key && value ? bpf_map_update_elem(fd, key, value, flags) : -EFAULT;
		break;
	}
	case MAP_DELETE:
		ret = key ? (flags ? bpf_map_delete_elem_flags(fd, key, flags)
				   : bpf_map_delete_elem(fd, key))
			  : -EFAULT;
		break;
	case MAP_NEXT_KEY: {
		void *next = eu_wasm_vm_mem(vm, next_p, ks);
		ret = (key || !key_p) && next ? bpf_map_get_next_key(fd, key, next) : -EFAULT;
		break;
	}
	default:
		ret = -EINVAL;
	}
	results[0] = (uint32_t)ret;
	return EU_WASM_HOST_OK;
}

/* ---- wasm_close_bpf_object(obj) -> 0 ------------------------------------------------- */

static enum eu_wasm_host_rc close_object(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					 uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	for (int i = 0; i < WASM_MAX_OBJECTS; i++) {
		if (m->objs[i] && m->objs[i]->handle == a[0]) {
			if (m->objs[i]->polling) {
				results[0] = (uint32_t)-EBUSY;
				return EU_WASM_HOST_OK;
			}
			obj_free(m, m->objs[i]);
			m->objs[i] = NULL;
		}
	}
	results[0] = 0;
	return EU_WASM_HOST_OK;
}

#define BPF "wasm_bpf"

const struct eu_wasm_import eu_wasm_bpf_imports[] = {
	{BPF, "wasm_load_bpf_object", "ii", "I", load_object},
	{BPF, "wasm_attach_bpf_program", "Iii", "i", attach_program},
	{BPF, "wasm_bpf_map_fd_by_name", "Ii", "i", map_fd_by_name},
	{BPF, "wasm_bpf_buffer_poll", "Iiiiiii", "i", buffer_poll},
	{BPF, "wasm_bpf_map_operate", "iiiiiI", "i", map_operate},
	{BPF, "wasm_close_bpf_object", "I", "i", close_object},
};
const size_t eu_wasm_bpf_import_count = sizeof(eu_wasm_bpf_imports) / sizeof(eu_wasm_bpf_imports[0]);
