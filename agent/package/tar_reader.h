/* Reading an uncompressed tar archive in memory, as upstream eunomia-bpf ships packages with a
 * btfhub-archive beside package.json. Nothing is ever written to disk: members are views into
 * the caller's buffer.
 *
 * The archive is untrusted. Any member that could escape or alias on extraction refuses the
 * whole archive (with the member's name in the message): absolute names, ".." components,
 * hard and symbolic links, devices and FIFOs, duplicate names, sizes over the limit or past
 * the end of the data, bad header checksums, and more members than the limit. Directories are
 * checked like files and then skipped. ustar, GNU (long names, 'L') and POSIX pax ("path" and
 * "size" records) headers are understood. */
#ifndef EUNOMIA_TAR_READER_H
#define EUNOMIA_TAR_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"

#define EU_TAR_BLOCK 512
#define EU_TAR_MAX_MEMBERS 65536u
#define EU_TAR_MAX_NAME 1024u

struct eu_tar_member {
	char *name;           /* normalised: no leading "./", no trailing "/" */
	const uint8_t *data;  /* borrowed from the archive buffer */
	size_t size;
};

struct eu_tar {
	struct eu_tar_member *members;  /* regular files only, in archive order */
	size_t n;
};

/* Whether data starts with a tar header (the ustar magic at its place and a valid checksum). */
bool eu_tar_looks_like(const void *data, size_t size);

/* Reads every member header. max_member caps one member's size. origin names the archive in
 * messages. On error nothing is left to free. */
int eu_tar_read(const void *data, size_t size, size_t max_member, const char *origin,
		struct eu_tar *out, eu_error *err);

/* The regular file called name (normalised as above), or NULL. */
const struct eu_tar_member *eu_tar_find(const struct eu_tar *tar, const char *name);

void eu_tar_free(struct eu_tar *tar);

#endif
