/* libFuzzer target for the package reader: any bytes through eu_package_parse must give a
 * package or an error with a message, never a crash or a leak. Seeds: tests/fuzz/seeds/
 * fuzz_package (envelopes around a small object, legacy, bare object) plus the compat corpus
 * (scripts/fuzz.sh adds it). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "eunomia/package.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	libbpf_set_print(quiet);
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	/* the origin's file name matters for bare objects (it names the object) */
	int rc = eu_package_parse(data, size, "fuzz.bpf.o", &pkg, &err);
	if (rc == 0) {
		if (!pkg)
			__builtin_trap();
		/* touch what a runtime reads */
		for (size_t i = 0; i < pkg->n_maps; i++)
			if (eu_package_find_map(pkg, pkg->maps[i].name) == NULL)
				__builtin_trap();
		eu_package_free(pkg);
	} else if (pkg || err.code != rc || !err.msg[0] || !memchr(err.msg, '\0', sizeof(err.msg))) {
		__builtin_trap();
	}
	return 0;
}
