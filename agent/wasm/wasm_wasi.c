/* The WASI preview1 subset a wasi-libc command needs: arguments, clocks, stdout/stderr,
 * exit, randomness, sleeping. There is no filesystem (no preopened directories: fd_prestat_get
 * says EBADF), no environment (the host's stays private) and stdin reads as empty.
 * Errors are WASI errno values, not Linux ones. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "wasm_priv.h"

/* WASI errno values (wasi_snapshot_preview1) */
enum {
	WASI_ESUCCESS = 0,
	WASI_EBADF = 8,
	WASI_EFAULT = 21,
	WASI_EINTR = 27,
	WASI_EINVAL = 28,
	WASI_EIO = 29,
	WASI_ENOTSUP = 58,
	WASI_ESPIPE = 70,
};

#define WASI_FILETYPE_CHARACTER_DEVICE 2
#define WASI_RIGHT_FD_SEEK (1ull << 2)
#define WASI_RIGHT_FD_TELL (1ull << 5)

#define RET(v) (results[0] = (uint32_t)(v), EU_WASM_HOST_OK)

static inline void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* (argc_ptr, argv_buf_size_ptr) */
static enum eu_wasm_host_rc args_sizes_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					   uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	uint8_t *pc = eu_wasm_vm_mem(vm, (uint32_t)a[0], 4);
	uint8_t *ps = eu_wasm_vm_mem(vm, (uint32_t)a[1], 4);
	if (!pc || !ps)
		return RET(WASI_EFAULT);
	size_t total = 0;
	for (int i = 0; i < m->argc; i++)
		total += strlen(m->argv[i]) + 1;
	put_u32(pc, (uint32_t)m->argc);
	put_u32(ps, (uint32_t)total);
	return RET(WASI_ESUCCESS);
}

/* (argv_ptr, argv_buf_ptr) */
static enum eu_wasm_host_rc args_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				     uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	uint32_t argv = (uint32_t)a[0], buf = (uint32_t)a[1];
	size_t total = 0;
	for (int i = 0; i < m->argc; i++)
		total += strlen(m->argv[i]) + 1;
	uint8_t *pv = eu_wasm_vm_mem(vm, argv, (uint32_t)m->argc * 4);
	uint8_t *pb = total <= UINT32_MAX ? eu_wasm_vm_mem(vm, buf, (uint32_t)total) : NULL;
	if (!pv || !pb)
		return RET(WASI_EFAULT);
	uint32_t off = 0;
	for (int i = 0; i < m->argc; i++) {
		size_t len = strlen(m->argv[i]) + 1;
		memcpy(pb + off, m->argv[i], len);
		put_u32(pv + 4 * i, buf + off);
		off += (uint32_t)len;
	}
	return RET(WASI_ESUCCESS);
}

/* The environment stays private to the host: a module sees none. */
static enum eu_wasm_host_rc environ_sizes_get(struct eu_wasm_vm *vm, void *ctx,
					      const uint64_t *a, uint64_t *results)
{
	uint8_t *pc = eu_wasm_vm_mem(vm, (uint32_t)a[0], 4);
	uint8_t *ps = eu_wasm_vm_mem(vm, (uint32_t)a[1], 4);
	if (!pc || !ps)
		return RET(WASI_EFAULT);
	put_u32(pc, 0);
	put_u32(ps, 0);
	return RET(WASI_ESUCCESS);
}

static enum eu_wasm_host_rc environ_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					uint64_t *results)
{
	return RET(WASI_ESUCCESS);
}

static int clock_of(uint32_t id, clockid_t *out)
{
	static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
					CLOCK_THREAD_CPUTIME_ID};
	if (id >= sizeof(ids) / sizeof(ids[0]))
		return -1;
	*out = ids[id];
	return 0;
}

/* (id, precision: i64, time_ptr) */
static enum eu_wasm_host_rc clock_time_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					   uint64_t *results)
{
	clockid_t id;
	if (clock_of((uint32_t)a[0], &id))
		return RET(WASI_EINVAL);
	uint8_t *p = eu_wasm_vm_mem(vm, (uint32_t)a[2], 8);
	if (!p)
		return RET(WASI_EFAULT);
	struct timespec ts;
	clock_gettime(id, &ts);
	put_u64(p, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	return RET(WASI_ESUCCESS);
}

/* (id, res_ptr) */
static enum eu_wasm_host_rc clock_res_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					  uint64_t *results)
{
	clockid_t id;
	if (clock_of((uint32_t)a[0], &id))
		return RET(WASI_EINVAL);
	uint8_t *p = eu_wasm_vm_mem(vm, (uint32_t)a[1], 8);
	if (!p)
		return RET(WASI_EFAULT);
	struct timespec ts;
	clock_getres(id, &ts);
	put_u64(p, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	return RET(WASI_ESUCCESS);
}

/* Writes the module's fd 1/2 output through opts.write or to the host fds. */
static ssize_t wasm_write_out(struct eu_wasm_module *m, int fd, const void *data, size_t len)
{
	if (m->opts.write)
		return m->opts.write(m->opts.write_ctx, fd, data, len);
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, (const char *)data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* (fd, iovs, iovs_len, nwritten_ptr): fds 1 and 2 only */
static enum eu_wasm_host_rc fd_write(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				     uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	uint32_t fd = (uint32_t)a[0], iovs = (uint32_t)a[1], n = (uint32_t)a[2];
	if (fd != 1 && fd != 2)
		return RET(WASI_EBADF);
	uint8_t *pn = eu_wasm_vm_mem(vm, (uint32_t)a[3], 4);
	const uint8_t *piov = n <= UINT32_MAX / 8 ? eu_wasm_vm_mem(vm, iovs, n * 8) : NULL;
	if (!pn || !piov)
		return RET(WASI_EFAULT);
	uint32_t total = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t buf = get_u32(piov + 8 * i), len = get_u32(piov + 8 * i + 4);
		const uint8_t *data = eu_wasm_vm_mem(vm, buf, len);
		if (!data)
			return RET(total ? WASI_ESUCCESS : WASI_EFAULT);
		ssize_t w = len ? wasm_write_out(m, (int)fd, data, len) : 0;
		if (w < 0)
			return RET(total ? WASI_ESUCCESS : WASI_EIO);
		total += (uint32_t)w;
		if ((uint32_t)w < len)
			break;
	}
	put_u32(pn, total);
	return RET(WASI_ESUCCESS);
}

/* (fd, iovs, iovs_len, nread_ptr): stdin is empty */
static enum eu_wasm_host_rc fd_read(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				    uint64_t *results)
{
	if (a[0] != 0)
		return RET(WASI_EBADF);
	uint8_t *pn = eu_wasm_vm_mem(vm, (uint32_t)a[3], 4);
	if (!pn)
		return RET(WASI_EFAULT);
	put_u32(pn, 0);
	return RET(WASI_ESUCCESS);
}

static enum eu_wasm_host_rc fd_close(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				     uint64_t *results)
{
	return RET(a[0] <= 2 ? WASI_ESUCCESS : WASI_EBADF);
}

/* (fd, stat_ptr): fds 0-2 are character devices, so wasi-libc line-buffers stdout and each
 * line reaches the host as it is printed (what a tracer's output needs). */
static enum eu_wasm_host_rc fd_fdstat_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					  uint64_t *results)
{
	if (a[0] > 2)
		return RET(WASI_EBADF);
	uint8_t *p = eu_wasm_vm_mem(vm, (uint32_t)a[1], 24);
	if (!p)
		return RET(WASI_EFAULT);
	memset(p, 0, 24);
	p[0] = WASI_FILETYPE_CHARACTER_DEVICE;
	put_u64(p + 8, ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL));
	return RET(WASI_ESUCCESS);
}

/* (fd, offset: i64, whence, newoffset_ptr) */
static enum eu_wasm_host_rc fd_seek(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				    uint64_t *results)
{
	return RET(a[0] <= 2 ? WASI_ESPIPE : WASI_EBADF);
}

/* No preopened directories: wasi-libc's start-up scan ends at the first EBADF. */
static enum eu_wasm_host_rc fd_prestat_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					   uint64_t *results)
{
	return RET(WASI_EBADF);
}

static enum eu_wasm_host_rc fd_prestat_dir_name(struct eu_wasm_vm *vm, void *ctx,
						const uint64_t *a, uint64_t *results)
{
	return RET(WASI_EBADF);
}

/* (code): ends the module; the runner reports the code */
static enum eu_wasm_host_rc proc_exit(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				      uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	m->exited = true;
	m->exit_code = (int)(uint32_t)a[0];
	eu_wasm_vm_trap(vm, "proc_exit(%d)", m->exit_code);
	return EU_WASM_HOST_TRAP;
}

/* (buf, len) */
static enum eu_wasm_host_rc random_get(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				       uint64_t *results)
{
	uint8_t *p = eu_wasm_vm_mem(vm, (uint32_t)a[0], (uint32_t)a[1]);
	if (!p)
		return RET(WASI_EFAULT);
	size_t done = 0, len = (uint32_t)a[1];
	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return RET(WASI_EIO);
		done += (size_t)n;
	}
	return RET(WASI_ESUCCESS);
}

static enum eu_wasm_host_rc sched_yield_(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					 uint64_t *results)
{
	sched_yield();
	return RET(WASI_ESUCCESS);
}

/* Subscriptions are 48 bytes (userdata u64 @0, tag u8 @8, then clock {id u32 @16, timeout
 * u64 @24, precision u64 @32, flags u16 @40} or fd {fd u32 @16}); events 32 bytes (userdata
 * u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24). */
#define SUB_SIZE 48
#define EVENT_SIZE 32
#define SUBCLOCK_ABSTIME 1

static uint64_t now_on(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Waits up to ns (UINT64_MAX: no clock) on the stop request; true when it came. */
static bool sleep_unless_stopped(struct eu_wasm_module *m, uint64_t ns)
{
	uint64_t end = now_on(CLOCK_MONOTONIC) + ns;
	for (;;) {
		if (wasm_stopping(m))
			return true;
		uint64_t now = now_on(CLOCK_MONOTONIC);
		if (ns != UINT64_MAX && now >= end)
			return false;
		uint64_t left = ns == UINT64_MAX ? 1000000000ull : end - now;
		int ms = (int)((left + 999999) / 1000000);
		struct pollfd p = {.fd = m->stop_fd, .events = POLLIN};
		poll(&p, 1, ms > 1000 ? 1000 : ms);
	}
}

/* (in, out, nsubscriptions, nevents_ptr): clocks sleep (a stop request ends the sleep with
 * EINTR); fd subscriptions on 0-2 are ready at once, others get EBADF. */
static enum eu_wasm_host_rc poll_oneoff(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					uint64_t *results)
{
	struct eu_wasm_module *m = ctx;
	uint32_t in = (uint32_t)a[0], out = (uint32_t)a[1], n = (uint32_t)a[2];
	if (n == 0 || n > 4096)
		return RET(WASI_EINVAL);
	if (!eu_wasm_vm_mem(vm, in, n * SUB_SIZE) || !eu_wasm_vm_mem(vm, out, n * EVENT_SIZE) ||
	    !eu_wasm_vm_mem(vm, (uint32_t)a[3], 4))
		return RET(WASI_EFAULT);
	uint64_t wait = UINT64_MAX;
	bool fd_ready = false;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *s = eu_wasm_vm_mem(vm, in + i * SUB_SIZE, SUB_SIZE);
		if (s[8] != 0) {
			fd_ready = true;
			continue;
		}
		clockid_t id;
		if (clock_of(get_u32(s + 16), &id))
			continue;
		uint64_t t = get_u64(s + 24);
		if ((get_u32(s + 40) & 0xffff) & SUBCLOCK_ABSTIME) {
			uint64_t now = now_on(id);
			t = t > now ? t - now : 0;
		}
		if (t < wait)
			wait = t;
	}
	bool stopped = false;
	if (!fd_ready && wait)
		stopped = sleep_unless_stopped(m, wait);
	/* memory may not move here (no guest code ran), but take the pointers again anyway */
	uint32_t count = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *s = eu_wasm_vm_mem(vm, in + i * SUB_SIZE, SUB_SIZE);
		uint8_t *e = eu_wasm_vm_mem(vm, out + count * EVENT_SIZE, EVENT_SIZE);
		uint8_t tag = s[8];
		memset(e, 0, EVENT_SIZE);
		memcpy(e, s, 8);
		e[10] = tag;
		uint16_t error = 0;
		if (tag == 0) {
			if (fd_ready && wait)
				continue;
			error = stopped ? WASI_EINTR : 0;
		} else {
			error = get_u32(s + 16) <= 2 ? 0 : WASI_EBADF;
		}
		memcpy(e + 8, &error, 2);
		count++;
	}
	put_u32(eu_wasm_vm_mem(vm, (uint32_t)a[3], 4), count);
	return RET(WASI_ESUCCESS);
}

#define WASI "wasi_snapshot_preview1"

const struct eu_wasm_import eu_wasm_wasi_imports[] = {
	{WASI, "args_get", "ii", "i", args_get},
	{WASI, "args_sizes_get", "ii", "i", args_sizes_get},
	{WASI, "environ_get", "ii", "i", environ_get},
	{WASI, "environ_sizes_get", "ii", "i", environ_sizes_get},
	{WASI, "clock_time_get", "iIi", "i", clock_time_get},
	{WASI, "clock_res_get", "ii", "i", clock_res_get},
	{WASI, "fd_write", "iiii", "i", fd_write},
	{WASI, "fd_read", "iiii", "i", fd_read},
	{WASI, "fd_close", "i", "i", fd_close},
	{WASI, "fd_fdstat_get", "ii", "i", fd_fdstat_get},
	{WASI, "fd_seek", "iIii", "i", fd_seek},
	{WASI, "fd_prestat_get", "ii", "i", fd_prestat_get},
	{WASI, "fd_prestat_dir_name", "iii", "i", fd_prestat_dir_name},
	{WASI, "proc_exit", "i", "", proc_exit},
	{WASI, "random_get", "ii", "i", random_get},
	{WASI, "sched_yield", "", "i", sched_yield_},
	{WASI, "poll_oneoff", "iiii", "i", poll_oneoff},
};
const size_t eu_wasm_wasi_import_count = sizeof(eu_wasm_wasi_imports) / sizeof(eu_wasm_wasi_imports[0]);
