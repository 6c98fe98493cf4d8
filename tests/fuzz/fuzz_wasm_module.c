/* Module loading: wabt's binary reader and validator, our import check and the
 * instantiation with our limits, through the bridge (agent/wasm/wasm_vm.cc). Nothing runs:
 * _start is never called. Seeds: the test modules (the .wasm files in build/tests/wasm). */
#include <stddef.h>
#include <stdint.h>

#include "wasm/wasm_module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eu_wasm_opts o = {.sz = sizeof(o), .name = "fuzz.wasm"};
	struct eu_wasm_module *m = NULL;
	eu_error err;
	if (eu_wasm_module_new(data, size, &o, &m, &err) == 0)
		eu_wasm_module_free(m);
	return 0;
}
