/* Which BTF a package's CO-RE relocations are resolved against, and keeping the kernel's BTF
 * parsed once.
 *
 * The order, first match wins:
 *   1. an explicit path (eu_program_opts.btf_custom_path), then $BTF_FILE_PATH: it must
 *      exist (the error names it);
 *   2. the kernel has BTF ($EUNOMIA_KERNEL_BTF, default /sys/kernel/btf/vmlinux): with a
 *      cache (the daemon) a minimal BTF trimmed for this package from the cached kernel BTF
 *      (kbtf_trim.c), else libbpf's own lookup;
 *   3. the kernel has none: btfhub-archive/<ID>/<VERSION_ID>/<machine>/<release>.btf from the
 *      package's .tar, then <DIR>/<ID>/<VERSION_ID>/<machine>/<release>.btf under the
 *      archive directory (--btf-archive DIR); ID and VERSION_ID from /etc/os-release, machine
 *      and release from uname. No match for an object with CO-RE relocations is an error
 *      naming the paths looked for and the kernels the archives cover.
 * Setting EUNOMIA_KERNEL_BTF=/nonexistent runs as if the kernel had no BTF (tests). */
#ifndef EUNOMIA_KBTF_H
#define EUNOMIA_KBTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"

struct eu_package;
struct eu_kbtf_cache;

#define EU_KBTF_DEFAULT_PATH "/sys/kernel/btf/vmlinux"

/* The kernel's BTF file: $EUNOMIA_KERNEL_BTF or /sys/kernel/btf/vmlinux. */
const char *eu_kbtf_kernel_path(void);

/* "<ID>/<VERSION_ID>/<machine>/<release>.btf" for the running system. */
int eu_kbtf_archive_name(char *out, size_t size, eu_error *err);

struct eu_kbtf_request {
	const char *explicit_path;   /* NULL: none */
	const char *archive_dir;     /* NULL: none */
	struct eu_kbtf_cache *cache; /* NULL: no trimming, libbpf parses the kernel BTF itself */
};

struct eu_kbtf_choice {
	int fd;           /* memfd behind path, -1 when none; released by eu_kbtf_choice_release */
	char *path;       /* btf_custom_path for libbpf; NULL: libbpf's default */
	const char *source; /* how it was chosen, for logs: "BTF_FILE_PATH", "trimmed", ... */
};

/* Chooses the CO-RE target for pkg (see the order above). */
int eu_kbtf_choose(const struct eu_package *pkg, const struct eu_kbtf_request *req,
		   struct eu_kbtf_choice *out, eu_error *err);
void eu_kbtf_choice_release(struct eu_kbtf_choice *c);

/* A memfd holding data, and its /proc/self/fd path (malloc'd). */
int eu_kbtf_memfd(const void *data, size_t size, int *fd, char **path, eu_error *err);

#endif
