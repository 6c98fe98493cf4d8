/* A hostile wasm-bpf module: what it does is chosen by its argument.
 *
 *	pointers  every host function with out-of-bounds pointers, foreign fds and handles;
 *	          prints each result as "NAME VALUE" and "survived" at the end
 *	trap      a poll callback that traps (unreachable)
 *	endless   a poll callback that never returns
 *	badfn     a poll whose callback index is not in the function table
 *	spin      _start loops forever without calling the host */
#include <stdio.h>
#include <string.h>

#include "bootstrap.bpf.o.h"
#include "eunomia-wasm.h"

#define BAD ((void *)0xfffffff0u)

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int raw_fd_write(int fd, const void *iovs, int n, uint32_t *written);

static volatile unsigned long sink;

static int trap_cb(void *ctx, void *data, unsigned int size)
{
	__builtin_trap();
}

static int endless_cb(void *ctx, void *data, unsigned int size)
{
	for (;;)
		sink++;
	return 0;
}

static int count_cb(void *ctx, void *data, unsigned int size)
{
	return 0;
}

/* the end of the module's memory: a pointer there with a longer length is out of bounds */
static char *mem_end(void)
{
	return (char *)(__builtin_wasm_memory_size(0) * 65536);
}

static void pointers(uint64_t obj)
{
	char buf[256];
	uint32_t key = 1;
	printf("load_bad_ptr %llu\n", (unsigned long long)wasm_load_bpf_object(BAD, 100));
	printf("load_zero_size %llu\n",
	       (unsigned long long)wasm_load_bpf_object(bootstrap_bpf_o, 0));
	printf("load_garbage %llu\n", (unsigned long long)wasm_load_bpf_object("garbage!", 8));
	printf("attach_bad_name %d\n", wasm_attach_bpf_program(obj, BAD, ""));
	printf("attach_bad_target %d\n", wasm_attach_bpf_program(obj, "handle_exec", BAD));
	printf("attach_unknown_handle %d\n", wasm_attach_bpf_program(12345, "handle_exec", ""));
	printf("attach_missing_prog %d\n", wasm_attach_bpf_program(obj, "no_such_prog", ""));
	printf("map_fd_bad_name %d\n", wasm_bpf_map_fd_by_name(obj, BAD));
	printf("map_fd_missing %d\n", wasm_bpf_map_fd_by_name(obj, "no_such_map"));
	int fd = wasm_bpf_map_fd_by_name(obj, "exec_start");
	printf("map_lookup_bad_key %d\n", wasm_bpf_map_operate(fd, 1, BAD, buf, 0, 0));
	printf("map_lookup_key_at_end %d\n", wasm_bpf_map_operate(fd, 1, mem_end() - 2, buf, 0, 0));
	printf("map_lookup_value_at_end %d\n",
	       wasm_bpf_map_operate(fd, 1, &key, mem_end() - 4, 0, 0));
	printf("map_update_bad_value %d\n", wasm_bpf_map_operate(fd, 2, &key, BAD, 0, 0));
	printf("map_next_bad_next %d\n", wasm_bpf_map_operate(fd, 4, 0, 0, BAD, 0));
	printf("map_foreign_fd %d\n", wasm_bpf_map_operate(0, 1, &key, buf, 0, 0));
	printf("map_bad_cmd %d\n", wasm_bpf_map_operate(fd, 99, &key, buf, 0, 0));
	/* a per-CPU value is one slot per possible CPU: 8 bytes are too few on 2+ CPUs */
	int drops = wasm_bpf_map_fd_by_name(obj, "eu_rb_drops");
	uint32_t zero = 0;
	printf("map_percpu_short_value %d\n",
	       wasm_bpf_map_operate(drops, 1, &zero, mem_end() - 8, 0, 0));
	int rb = wasm_bpf_map_fd_by_name(obj, "rb");
	printf("poll_bad_buf %d\n", wasm_bpf_buffer_poll(obj, rb, count_cb, 0, BAD, 64, 0));
	printf("poll_foreign_fd %d\n", wasm_bpf_buffer_poll(obj, 0, count_cb, 0, buf, 64, 0));
	printf("poll_not_a_buffer %d\n", wasm_bpf_buffer_poll(obj, fd, count_cb, 0, buf, 64, 0));
	uint32_t written = 7;
	uint32_t iov[2] = {0xfffffff0u, 64};
	printf("fd_write_bad_iov %d\n", raw_fd_write(1, iov, 1, &written));
	printf("fd_write_bad_iovs %d\n", raw_fd_write(1, BAD, 4, &written));
	printf("close_unknown %d\n", wasm_close_bpf_object(999));
	printf("survived\n");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "spin")) {
		printf("spinning\n");
		fflush(stdout);
		for (;;)
			sink++;
	}
	static const char *const progs[] = {"handle_exec", "handle_exit", NULL};
	uint64_t obj = eu_bpf_open_and_attach(bootstrap_bpf_o, (int)bootstrap_bpf_o_len, progs);
	if (!obj)
		return 1;
	if (!strcmp(mode, "pointers")) {
		pointers(obj);
		wasm_close_bpf_object(obj);
		return 0;
	}
	eu_wasm_sample_fn fn = !strcmp(mode, "trap")      ? trap_cb
			       : !strcmp(mode, "endless") ? endless_cb
			       : !strcmp(mode, "badfn")   ? (eu_wasm_sample_fn)(uintptr_t)99999
							  : NULL;
	if (!fn) {
		fprintf(stderr, "usage: %s pointers|trap|endless|badfn|spin\n", argv[0]);
		return 2;
	}
	struct eu_bpf_buffer *b = eu_bpf_buffer_new(obj, "rb", fn, NULL, 256);
	printf("polling\n");
	fflush(stdout);
	int err;
	while ((err = eu_bpf_buffer_poll(b, 100)) >= 0) {
	}
	printf("poll returned %d\n", err);
	return 0;
}
