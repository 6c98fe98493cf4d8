/* eunomia-wasm.h: the guest side of wasm-bpf modules, for a module written as one main.c.
 *
 *   clang -target bpf -O2 -g -c prog.bpf.c -o prog.bpf.o && xxd -i prog.bpf.o > prog.skel.h
 *   clang --target=wasm32-wasi -O2 -Wl,--export-table main.c -o prog.wasm
 *   eunomia-agent run prog.wasm [ARGS]
 *
 * It declares the six host functions of the `wasm_bpf` import module (what eunomia-agent and
 * upstream's wasm-bpf runtime provide), a ring/perf buffer reader that calls a function per
 * event, and map helpers. Structs shared with the BPF side must have the BPF side's layout on
 * wasm32 (4-byte pointers and longs): `ecc --wasm-header` writes them so. */
#ifndef EUNOMIA_WASM_GUEST_H
#define EUNOMIA_WASM_GUEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The host functions return Linux errno values (libbpf's), not wasi-libc's (whose EINTR is 27):
 * compare results with these. */
#define EU_ENOENT 2
#define EU_EINTR 4
#define EU_EBADF 9
#define EU_EFAULT 14
#define EU_EBUSY 16
#define EU_EINVAL 22

#define EU_WASM_BPF_IMPORT(name) \
	__attribute__((import_module("wasm_bpf"), import_name(#name)))

/* Called once per event: ctx as given to the poll, data the event (its first buf_size bytes),
 * size the event's full size. A negative return stops this poll (ring buffers). */
typedef int (*eu_wasm_sample_fn)(void *ctx, void *data, unsigned int size);

/* Opens and loads the BPF ELF object at obj (size bytes). Returns a handle, 0 on failure. */
EU_WASM_BPF_IMPORT(wasm_load_bpf_object)
uint64_t wasm_load_bpf_object(const void *obj, int size);

/* Attaches the program named prog_name (its C function name). attach_target "" means
 * auto-attach by section; an interface name for xdp, a cgroup path for sockops. 0 or -errno. */
EU_WASM_BPF_IMPORT(wasm_attach_bpf_program)
int wasm_attach_bpf_program(uint64_t obj, const char *prog_name, const char *attach_target);

/* The fd of the object's map named name, or -errno. */
EU_WASM_BPF_IMPORT(wasm_bpf_map_fd_by_name)
int wasm_bpf_map_fd_by_name(uint64_t obj, const char *name);

/* Polls the ring buffer or perf event array map_fd for up to timeout_ms, calling sample_fn
 * for each event after copying it into buf. The number of events, or -errno (-EINTR: the
 * host asks the module to stop; Linux values: EU_EINTR). */
EU_WASM_BPF_IMPORT(wasm_bpf_buffer_poll)
int wasm_bpf_buffer_poll(uint64_t obj, int map_fd, eu_wasm_sample_fn sample_fn, void *ctx,
			 void *buf, int buf_size, int timeout_ms);

/* One map operation (EU_BPF_MAP_*): key/value/next_key sizes are the map's. 0 or -errno. */
EU_WASM_BPF_IMPORT(wasm_bpf_map_operate)
int wasm_bpf_map_operate(int map_fd, int cmd, const void *key, void *value, void *next_key,
			 uint64_t flags);

/* Detaches and closes the object. */
EU_WASM_BPF_IMPORT(wasm_close_bpf_object)
int wasm_close_bpf_object(uint64_t obj);

enum {
	EU_BPF_MAP_LOOKUP = 1,
	EU_BPF_MAP_UPDATE = 2,
	EU_BPF_MAP_DELETE = 3,
	EU_BPF_MAP_NEXT_KEY = 4,
};

/* update flags, as the kernel's BPF_ANY, BPF_NOEXIST, BPF_EXIST */
#define EU_BPF_ANY 0
#define EU_BPF_NOEXIST 1
#define EU_BPF_EXIST 2

static inline int eu_bpf_map_lookup(int fd, const void *key, void *value)
{
	return wasm_bpf_map_operate(fd, EU_BPF_MAP_LOOKUP, key, value, 0, 0);
}

static inline int eu_bpf_map_update(int fd, const void *key, const void *value, uint64_t flags)
{
	return wasm_bpf_map_operate(fd, EU_BPF_MAP_UPDATE, key, (void *)value, 0, flags);
}

static inline int eu_bpf_map_delete(int fd, const void *key)
{
	return wasm_bpf_map_operate(fd, EU_BPF_MAP_DELETE, key, 0, 0, 0);
}

/* The key after key (key NULL: the first) into next; -EU_ENOENT after the last. */
static inline int eu_bpf_map_next_key(int fd, const void *key, void *next)
{
	return wasm_bpf_map_operate(fd, EU_BPF_MAP_NEXT_KEY, key, 0, next, 0);
}

/* A ring buffer or perf event array of one object, read event by event. */
struct eu_bpf_buffer {
	uint64_t obj;
	int fd;
	eu_wasm_sample_fn fn;
	void *ctx;
	void *buf;
	int buf_size;
};

/* Opens the map named map_name of obj for reading; events up to buf_size bytes are seen
 * whole. NULL when the map is missing or memory is short. */
static inline struct eu_bpf_buffer *eu_bpf_buffer_new(uint64_t obj, const char *map_name,
						      eu_wasm_sample_fn fn, void *ctx,
						      int buf_size)
{
	int fd = wasm_bpf_map_fd_by_name(obj, map_name);
	if (fd < 0)
		return NULL;
	struct eu_bpf_buffer *b = (struct eu_bpf_buffer *)calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->buf = malloc((size_t)buf_size);
	if (!b->buf) {
		free(b);
		return NULL;
	}
	b->obj = obj;
	b->fd = fd;
	b->fn = fn;
	b->ctx = ctx;
	b->buf_size = buf_size;
	return b;
}

/* Events handled, 0 on timeout, -errno (-EU_EINTR: stop now). */
static inline int eu_bpf_buffer_poll(struct eu_bpf_buffer *b, int timeout_ms)
{
	return wasm_bpf_buffer_poll(b->obj, b->fd, b->fn, b->ctx, b->buf, b->buf_size, timeout_ms);
}

static inline void eu_bpf_buffer_free(struct eu_bpf_buffer *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b);
}

/* Loads obj and attaches each of the programs named in progs (NULL-terminated), auto-attach.
 * Returns the handle, 0 after printing what failed to stderr. */
static inline uint64_t eu_bpf_open_and_attach(const void *obj, int size,
					      const char *const *progs)
{
	uint64_t h = wasm_load_bpf_object(obj, size);
	if (!h) {
		fprintf(stderr, "cannot load the BPF object (the host's log says why)\n");
		return 0;
	}
	for (; progs && *progs; progs++) {
		int err = wasm_attach_bpf_program(h, *progs, "");
		if (err) {
			fprintf(stderr, "cannot attach %s: error %d\n", *progs, err);
			wasm_close_bpf_object(h);
			return 0;
		}
	}
	return h;
}

#endif
