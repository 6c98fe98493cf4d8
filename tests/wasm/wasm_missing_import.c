/* A module that imports a host function nobody provides: the runtime must refuse it at load,
 * naming the import, before any of it runs. */
#include <stdio.h>

__attribute__((import_module("wasm_bpf"), import_name("wasm_bpf_no_such_function")))
int no_such_function(int x);

int main(void)
{
	printf("ran\n");
	return no_such_function(1);
}
