/* User-space frames named from this process's own mappings and ELF symbols (proc_syms.c),
 * the cache answering the same way twice, and what cannot be named. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbols/symbols.h"

static __attribute__((noinline)) int eu_test_symbolised_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

Test(stack_syms, own_function_and_libc_by_address)
{
	struct eu_usyms *u = NULL;
	cr_assert_eq(eu_usyms_new(&u), 0);
	uint64_t addr = (uint64_t)(uintptr_t)&eu_test_symbolised_function + 2;
	uint64_t off = 99;
	const char *module = NULL;
	for (int round = 0; round < 2; round++) {
		const char *name = eu_usyms_lookup(u, (uint32_t)getpid(), addr, &off, &module);
		cr_assert(name, "round %d: no name for our own function", round);
		cr_expect_str_eq(name, "eu_test_symbolised_function");
		cr_expect_eq(off, 2);
		cr_expect(module && strstr(module, "unit_test_stack_syms"), "module %s", module);
	}
	/* a libc function through .dynsym */
	const char *name = eu_usyms_lookup(u, (uint32_t)getpid(),
					   (uint64_t)(uintptr_t)&getppid, NULL, NULL);
	cr_expect(name && strstr(name, "getppid"), "libc's getppid named %s", name ? name : "NULL");
	cr_expect_eq(eu_test_symbolised_function(1), 4);
	eu_usyms_free(u);
}

Test(stack_syms, unnamed_addresses)
{
	struct eu_stack_syms *s = NULL;
	cr_assert_eq(eu_stack_syms_new(&s), 0);
	/* anonymous executable memory has no file and no name */
	void *anon = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(anon, MAP_FAILED);
	cr_expect_str_eq(eu_stack_syms_name(s, (uint32_t)getpid(), (uint64_t)(uintptr_t)anon, true),
			 "[unknown]");
	/* an address no mapping covers, and a pid that does not exist */
	cr_expect_str_eq(eu_stack_syms_name(s, (uint32_t)getpid(), 0x10, true), "[unknown]");
	cr_expect_str_eq(eu_stack_syms_name(s, 0x7ffffff0u, 0x400000, true), "[unknown]");
	/* without names: the address */
	cr_expect_str_eq(eu_stack_syms_name(s, (uint32_t)getpid(), 0xffffffff81000010ull, false),
			 "0xffffffff81000010");
	cr_expect(eu_stack_addr_is_kernel(0xffffffff81000010ull));
	cr_expect(!eu_stack_addr_is_kernel(0x7f0000001000ull));
	munmap(anon, 4096);
	eu_stack_syms_free(s);
}
