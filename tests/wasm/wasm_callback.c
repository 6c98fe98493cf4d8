/* A freestanding module (no WASI, no libc) for tests/unit/test_wasm_bounds.c: it imports only
 * the test's own host functions, so the test drives the bridge (agent/wasm/wasm_vm.h) with
 * its own import table. `_start` asks the host to call back a quick function of its table,
 * reports the result, then asks for a callback that never returns. */
#include <stdint.h>

__attribute__((import_module("test"), import_name("call")))
int test_call(int table_index, int arg);
__attribute__((import_module("test"), import_name("report")))
void test_report(int value);

static volatile unsigned spin;

/* the host calls these as (ctx, buf, size) -> i32, as wasm_bpf_buffer_poll does */
static int quick(int ctx, int buf, int size)
{
	return ctx * 2 + size;
}

static int endless(int ctx, int buf, int size)
{
	for (;;)
		spin++;
	return 0;
}

void _start(void)
{
	test_report(test_call((int)(uintptr_t)quick, 21));
	test_report(test_call((int)(uintptr_t)endless, 0));
	test_report(-1); /* never reached: the host traps the call above */
}
