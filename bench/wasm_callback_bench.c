/* What a poll callback costs in the Wasm interpreter: the same two callbacks (an empty one,
 * and one formatting a bootstrap row) called through the module's function table exactly as
 * wasm_bpf_buffer_poll calls them (eu_wasm_vm_call_table with the poll's time limit), and
 * natively through a function pointer, side by side in one run. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/file.h"
#include "wasm/wasm_vm.h"
#include "wasm_bench_callbacks.h"

#define CALLS 200000
#define WARMUP 2000
#define LIMIT_MS 5000 /* the poll's default callback limit: its deadline check is part of the cost */

static const char *const names[2] = {"empty callback", "format a bootstrap row"};
static double wasm_ns[2];

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* bench.drive(fn, data, size, which): calls fn CALLS times as the poll does */
static enum eu_wasm_host_rc drive(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				  uint64_t *results)
{
	uint32_t args[3] = {0, (uint32_t)a[1], (uint32_t)a[2]};
	uint32_t which = (uint32_t)a[3];
	int32_t ret;
	double t0 = 0;
	for (int i = 0; i < WARMUP + CALLS; i++) {
		if (i == WARMUP)
			t0 = now_ns();
		if (eu_wasm_vm_call_table(vm, (uint32_t)a[0], args, 3, &ret, LIMIT_MS) !=
		    EU_WASM_RETURNED)
			return EU_WASM_HOST_TRAP;
	}
	if (which < 2)
		wasm_ns[which] = (now_ns() - t0) / CALLS;
	results[0] = 0;
	return EU_WASM_HOST_OK;
}

/* wasi-libc's stdio links fd_close/fd_seek/fd_write in; snprintf never calls them */
static enum eu_wasm_host_rc wasi_unused(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					uint64_t *results)
{
	results[0] = 52; /* ENOSYS */
	return EU_WASM_HOST_OK;
}

static double native(int (*volatile fn)(void *, void *, unsigned int))
{
	struct bench_event e = bench_sample;
	for (int i = 0; i < WARMUP; i++)
		fn(NULL, &e, sizeof(e));
	double t0 = now_ns();
	for (int i = 0; i < CALLS; i++)
		fn(NULL, &e, sizeof(e));
	return (now_ns() - t0) / CALLS;
}

int main(void)
{
	void *bytes = NULL;
	size_t size = 0;
	eu_error err;
	if (eu_file_read(EU_BENCH_WASM, 64u << 20, &bytes, &size, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	static const struct eu_wasm_import imports[] = {
		{"bench", "drive", "iiii", "i", drive},
		{"wasi_snapshot_preview1", "fd_close", "i", "i", wasi_unused},
		{"wasi_snapshot_preview1", "fd_seek", "iIii", "i", wasi_unused},
		{"wasi_snapshot_preview1", "fd_write", "iiii", "i", wasi_unused},
	};
	struct eu_wasm_vm_opts o = {.sz = sizeof(o), .name = "bench.wasm", .imports = imports,
				    .n_imports = sizeof(imports) / sizeof(imports[0])};
	struct eu_wasm_vm *vm = NULL;
	if (eu_wasm_vm_new(bytes, size, &o, &vm, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	free(bytes);
	if (eu_wasm_vm_run_start(vm, &err) != EU_WASM_RETURNED) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	eu_wasm_vm_free(vm);
	double nat[2] = {native(bench_empty_cb), native(bench_format_cb)};
	printf("wasm_callback_bench: %d calls each, wabt interpreter vs native C, same run\n",
	       CALLS);
	printf("%-24s %14s %12s %8s\n", "callback", "wasm ns/call", "native ns", "ratio");
	for (int i = 0; i < 2; i++)
		printf("%-24s %14.0f %12.1f %7.0fx\n", names[i], wasm_ns[i], nat[i],
		       nat[i] > 0 ? wasm_ns[i] / nat[i] : 0);
	return 0;
}
