/* The kernel's own BTF (where it is read from) and a BTF handed to libbpf as a path: the
 * lowest part of kbtf, used by the cache and by the choice of a package's target alike. */
#include "kbtf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/file.h"

const char *eu_kbtf_kernel_path(void)
{
	const char *env = getenv("EUNOMIA_KERNEL_BTF");
	return env && *env ? env : EU_KBTF_DEFAULT_PATH;
}

int eu_kbtf_memfd(const void *data, size_t size, int *fd, char **path, eu_error *err)
{
	*fd = -1;
	*path = NULL;
	int m = memfd_create("eunomia-btf", MFD_CLOEXEC);
	if (m < 0)
		return eu_error_set(err, -errno, "memfd_create: %s", strerror(errno));
	int rc = eu_write_all(m, data, size);
	if (rc) {
		close(m);
		return eu_error_set(err, rc, "writing a BTF memfd: %s", strerror(-rc));
	}
	if (asprintf(path, "/proc/self/fd/%d", m) < 0) {
		*path = NULL;
		close(m);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	*fd = m;
	return 0;
}
