/* A probe of the host's checks, run by tests/unit/test_wasm_bounds.c and
 * tests/integration/test_wasm_handles.c. It prints "NAME RESULT" per call; the mode is its
 * first argument:
 *
 *	bounds        every pointer argument of the wasm_bpf and WASI functions it imports,
 *	              out of the module's memory, across its end, or a string without its NUL
 *	              before the end (no BPF object needed, so no privileges)
 *	owner         loads bootstrap's object, prints "handle H fd F", sleeps 1.5 s, then uses
 *	              the object again ("after_*")
 *	intruder H F  another instance using the owner's handle and map fd */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasi/api.h>

#include "bootstrap.bpf.o.h"
#include "eunomia-wasm.h"

#define BAD ((void *)0xfffffff0u)

static int count_cb(void *ctx, void *data, unsigned int size)
{
	return 0;
}

/* A page of our own at the end of memory (grown here, so no allocator uses it): a pointer
 * near its end with a longer length crosses the end of memory. */
static char *end_page(void)
{
	static char *page;
	if (!page) {
		long at = __builtin_wasm_memory_grow(0, 1);
		page = at < 0 ? NULL : (char *)(at * 65536);
	}
	return page;
}

static void bounds(void)
{
	char *page = end_page();
	char *end = page + 65536;
	/* a string whose NUL would be past the end of memory */
	memset(end - 8, 'A', 8);
	const char *unterminated = end - 8;
	char buf[64];
	printf("load_bad_ptr %llu\n", (unsigned long long)wasm_load_bpf_object(BAD, 100));
	printf("load_across_end %llu\n", (unsigned long long)wasm_load_bpf_object(end - 10, 100));
	printf("load_zero_size %llu\n", (unsigned long long)wasm_load_bpf_object(buf, 0));
	printf("load_negative_size %llu\n", (unsigned long long)wasm_load_bpf_object(buf, -1));
	printf("attach_bad_name %d\n", wasm_attach_bpf_program(1, BAD, ""));
	printf("attach_unterminated_name %d\n", wasm_attach_bpf_program(1, unterminated, ""));
	printf("attach_bad_target %d\n", wasm_attach_bpf_program(1, "handle_exec", BAD));
	printf("attach_unterminated_target %d\n",
	       wasm_attach_bpf_program(1, "handle_exec", unterminated));
	printf("attach_unknown_handle %d\n", wasm_attach_bpf_program(1, "handle_exec", ""));
	printf("map_fd_bad_name %d\n", wasm_bpf_map_fd_by_name(1, BAD));
	printf("map_fd_unterminated_name %d\n", wasm_bpf_map_fd_by_name(1, unterminated));
	printf("map_fd_unknown_handle %d\n", wasm_bpf_map_fd_by_name(1, "rb"));
	printf("poll_bad_buf %d\n", wasm_bpf_buffer_poll(1, 3, count_cb, 0, BAD, 64, 0));
	printf("poll_buf_across_end %d\n",
	       wasm_bpf_buffer_poll(1, 3, count_cb, 0, end - 32, 64, 0));
	printf("poll_unknown_handle %d\n", wasm_bpf_buffer_poll(1, 3, count_cb, 0, buf, 64, 0));
	uint32_t key = 0;
	printf("map_operate_foreign_fd %d\n", wasm_bpf_map_operate(1, 1, &key, buf, 0, 0));
	printf("map_operate_bad_ptrs_foreign_fd %d\n", wasm_bpf_map_operate(2, 1, BAD, BAD, BAD, 0));
	printf("close_unknown %d\n", wasm_close_bpf_object(77));

	/* WASI: every pointer argument, out of bounds (WASI's EFAULT is 21) */
	__wasi_size_t a = 0, b = 0;
	uint8_t *bad = BAD;
	printf("args_sizes_get_bad_argc %d\n", __wasi_args_sizes_get((__wasi_size_t *)bad, &b));
	printf("args_sizes_get_bad_size %d\n", __wasi_args_sizes_get(&a, (__wasi_size_t *)bad));
	uint8_t *argv[4];
	printf("args_get_bad_argv %d\n", __wasi_args_get((uint8_t **)bad, (uint8_t *)buf));
	printf("args_get_bad_buf %d\n", __wasi_args_get(argv, bad));
	printf("args_get_buf_across_end %d\n", __wasi_args_get(argv, (uint8_t *)end - 2));
	printf("environ_sizes_get_bad %d\n", __wasi_environ_sizes_get((__wasi_size_t *)bad, &b));
	__wasi_timestamp_t ts;
	printf("clock_time_get_bad %d\n", __wasi_clock_time_get(0, 1, (__wasi_timestamp_t *)bad));
	printf("clock_time_get_across_end %d\n",
	       __wasi_clock_time_get(0, 1, (__wasi_timestamp_t *)(end - 4)));
	printf("clock_res_get_bad %d\n", __wasi_clock_res_get(0, (__wasi_timestamp_t *)bad));
	printf("clock_time_get_ok %d\n", __wasi_clock_time_get(1, 1, &ts));
	__wasi_ciovec_t iov = {.buf = (const uint8_t *)"x\n", .buf_len = 2};
	__wasi_ciovec_t bad_iov = {.buf = bad, .buf_len = 16};
	__wasi_size_t written = 0;
	printf("fd_write_bad_iovs %d\n", __wasi_fd_write(1, (__wasi_ciovec_t *)bad, 1, &written));
	printf("fd_write_bad_iov_buf %d\n", __wasi_fd_write(1, &bad_iov, 1, &written));
	printf("fd_write_bad_nwritten %d\n", __wasi_fd_write(1, &iov, 1, (__wasi_size_t *)bad));
	printf("fd_write_huge_count %d\n", __wasi_fd_write(1, &iov, 0x40000000, &written));
	__wasi_iovec_t riov = {.buf = (uint8_t *)buf, .buf_len = sizeof(buf)};
	printf("fd_read_bad_nread %d\n", __wasi_fd_read(0, &riov, 1, (__wasi_size_t *)bad));
	printf("fd_fdstat_get_bad %d\n", __wasi_fd_fdstat_get(1, (__wasi_fdstat_t *)bad));
	printf("random_get_bad %d\n", __wasi_random_get(bad, 16));
	printf("random_get_across_end %d\n", __wasi_random_get((uint8_t *)end - 8, 16));
	__wasi_subscription_t sub = {.u.tag = __WASI_EVENTTYPE_CLOCK,
				     .u.u.clock = {.id = __WASI_CLOCKID_MONOTONIC, .timeout = 1}};
	__wasi_event_t ev;
	__wasi_size_t nev = 0;
	printf("poll_oneoff_bad_in %d\n",
	       __wasi_poll_oneoff((__wasi_subscription_t *)bad, &ev, 1, &nev));
	printf("poll_oneoff_bad_out %d\n", __wasi_poll_oneoff(&sub, (__wasi_event_t *)bad, 1, &nev));
	printf("poll_oneoff_bad_nevents %d\n",
	       __wasi_poll_oneoff(&sub, &ev, 1, (__wasi_size_t *)bad));
	printf("poll_oneoff_ok %d %u\n", __wasi_poll_oneoff(&sub, &ev, 1, &nev), (unsigned)nev);
	printf("survived\n");
}

static void sleep_ms(int ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

static int owner(void)
{
	uint64_t obj = wasm_load_bpf_object(bootstrap_bpf_o, (int)bootstrap_bpf_o_len);
	if (!obj)
		return 1;
	int fd = wasm_bpf_map_fd_by_name(obj, "exec_start");
	printf("handle %llu fd %d\n", (unsigned long long)obj, fd);
	fflush(stdout);
	sleep_ms(1500);
	/* the intruder ran meanwhile: the object is still ours and whole */
	printf("after_map_fd %d\n", wasm_bpf_map_fd_by_name(obj, "exec_start") == fd);
	printf("after_attach %d\n", wasm_attach_bpf_program(obj, "handle_exec", ""));
	uint32_t key = 1, next = 0;
	printf("after_next_key %d\n", wasm_bpf_map_operate(fd, EU_BPF_MAP_NEXT_KEY, &key, 0, &next,
							 0));
	printf("after_close %d\n", wasm_close_bpf_object(obj));
	return 0;
}

static int intruder(uint64_t obj, int fd)
{
	char buf[64];
	uint32_t key = 1;
	printf("intruder_attach %d\n", wasm_attach_bpf_program(obj, "handle_exec", ""));
	printf("intruder_map_fd %d\n", wasm_bpf_map_fd_by_name(obj, "exec_start"));
	printf("intruder_lookup %d\n", wasm_bpf_map_operate(fd, EU_BPF_MAP_LOOKUP, &key, buf, 0, 0));
	printf("intruder_update %d\n", wasm_bpf_map_operate(fd, EU_BPF_MAP_UPDATE, &key, buf, 0, 0));
	printf("intruder_poll %d\n", wasm_bpf_buffer_poll(obj, fd, count_cb, 0, buf, 64, 0));
	printf("intruder_close %d\n", wasm_close_bpf_object(obj));
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "bounds")) {
		bounds();
		return 0;
	}
	if (!strcmp(mode, "owner"))
		return owner();
	if (!strcmp(mode, "intruder") && argc == 4)
		return intruder(strtoull(argv[2], NULL, 10), atoi(argv[3]));
	fprintf(stderr, "usage: %s bounds|owner|intruder HANDLE FD\n", argv[0]);
	return 2;
}
