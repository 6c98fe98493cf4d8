/* Trimmed BTFs kept on disk between processes, so that `run` and a restarted daemon need not
 * parse the kernel's BTF (megabytes) to load a package they have loaded before on this boot.
 *
 * An entry is keyed by the BPF object's sha256 and the kernel's identity (the BTF file's path,
 * inode, size and mtime, uname's release and version, and the boot id), so a reboot or another
 * kernel never sees an entry made for a different one. The directory is
 * $EUNOMIA_BTF_CACHE_DIR (empty: no store), else /run/eunomia-agent/btf for root and
 * $XDG_RUNTIME_DIR/eunomia-agent/btf for others; it must be ours and private (0700), and an
 * entry is used only when it is a regular file we own that nobody else can write and that
 * parses as BTF. Anything else is a miss, never an error: the load goes on without it. */
#ifndef EUNOMIA_KBTF_STORE_H
#define EUNOMIA_KBTF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eu_kbtf_store;

/* NULL when there is no usable directory (the reason logged once at debug level; a directory
 * that exists but is not private is told at warning level). kernel_path: the kernel BTF the
 * entries are trimmed from. */
struct eu_kbtf_store *eu_kbtf_store_open(const char *kernel_path);
void eu_kbtf_store_close(struct eu_kbtf_store *s);

/* The entry for an object (its sha256): 0 and a malloc'd copy in *btf, or -ENOENT. */
int eu_kbtf_store_get(struct eu_kbtf_store *s, const uint8_t obj_sha256[32], void **btf,
		      size_t *size);
/* Writes an entry (a temporary file renamed into place); failures are logged at debug level
 * and otherwise ignored. */
void eu_kbtf_store_put(struct eu_kbtf_store *s, const uint8_t obj_sha256[32], const void *btf,
		       size_t size);

#endif
