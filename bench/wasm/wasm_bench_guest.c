/* The guest of bench/wasm_callback_bench: hands each callback to the host's bench.drive,
 * which calls it through the function table as the poll does, many times. _start is ours
 * (built with -nostartfiles: no wasi-libc start-up, no arguments). */
#include "wasm_bench_callbacks.h"

typedef int (*bench_fn)(void *ctx, void *data, unsigned int size);

__attribute__((import_module("bench"), import_name("drive")))
int bench_drive(bench_fn fn, const void *data, int size, int which);

__attribute__((export_name("_start"))) void _start(void)
{
	bench_drive(bench_empty_cb, &bench_sample, (int)sizeof(bench_sample), 0);
	bench_drive(bench_format_cb, &bench_sample, (int)sizeof(bench_sample), 1);
}
