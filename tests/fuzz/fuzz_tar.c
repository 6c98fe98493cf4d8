/* libFuzzer target for the in-memory tar reader: any bytes give members or an error with a
 * message, never a crash; and whatever it accepts keeps its promises (every member inside the
 * input, no absolute name, no ".." component, no duplicate). Seeds: tests/fuzz/seeds/fuzz_tar. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "package/tar_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_dotdot(const char *name)
{
	for (const char *p = name; (p = strstr(p, "..")); p += 2)
		if ((p == name || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eu_tar tar;
	eu_error err = {0};
	int rc = eu_tar_read(data, size, 1u << 20, "fuzz.tar", &tar, &err);
	if (rc) {
		if (tar.n || tar.members || err.code != rc || !err.msg[0])
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < tar.n; i++) {
		const struct eu_tar_member *m = &tar.members[i];
		if (m->data < data || m->size > size || m->data + m->size > data + size)
			__builtin_trap();
		if (!m->name[0] || m->name[0] == '/' || has_dotdot(m->name) || m->size > (1u << 20))
			__builtin_trap();
		if (eu_tar_find(&tar, m->name) != m)
			__builtin_trap();  /* a duplicate came through */
	}
	eu_tar_free(&tar);
	return 0;
}
