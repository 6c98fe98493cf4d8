/* .tar packages, as upstream eunomia-bpf's `ecc --btfgen` writes them: package.json at the
 * root and CO-RE target BTFs under btfhub-archive/. Read in memory by tar_reader.c; nothing
 * is extracted. */
#include "package_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tar_reader.h"

#define ARCHIVE_DIR "btfhub-archive/"

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int keep_btf_files(struct eu_package *pkg, const struct eu_tar *tar, eu_error *err)
{
	size_t n = 0;
	for (size_t i = 0; i < tar->n; i++) {
		const char *name = tar->members[i].name;
		if (!strncmp(name, ARCHIVE_DIR, strlen(ARCHIVE_DIR)) && has_suffix(name, ".btf"))
			n++;
	}
	if (!n)
		return 0;
	pkg->btf_files = calloc(n, sizeof(*pkg->btf_files));
	if (!pkg->btf_files)
		return eu_error_set(err, -ENOMEM, "%s: out of memory", pkg->origin);
	for (size_t i = 0; i < tar->n; i++) {
		const struct eu_tar_member *m = &tar->members[i];
		if (strncmp(m->name, ARCHIVE_DIR, strlen(ARCHIVE_DIR)) || !has_suffix(m->name, ".btf"))
			continue;
		struct eu_btf_file *f = &pkg->btf_files[pkg->n_btf_files++];
		f->name = strdup(m->name + strlen(ARCHIVE_DIR));
		f->data = malloc(m->size ? m->size : 1);
		f->size = m->size;
		if (!f->name || !f->data)
			return eu_error_set(err, -ENOMEM, "%s: out of memory", pkg->origin);
		if (m->size) /* an empty member may have no data pointer */
			memcpy(f->data, m->data, m->size);
	}
	return 0;
}

int eu_pkg_parse_tar(struct eu_package *pkg, const void *data, size_t size,
		     const char **meta_path, eu_error *err)
{
	struct eu_tar tar;
	int rc = eu_tar_read(data, size, EU_PACKAGE_MAX_BYTES, pkg->origin, &tar, err);
	if (rc)
		return rc;
	const struct eu_tar_member *json = eu_tar_find(&tar, "package.json");
	if (!json) {
		rc = eu_error_set(err, -ENOENT,
				  "%s: a tar package needs package.json at its root (it has %zu "
				  "file%s%s%s)",
				  pkg->origin, tar.n, tar.n == 1 ? "" : "s", tar.n ? ", the first " : "",
				  tar.n ? tar.members[0].name : "");
	} else if (eu_tar_looks_like(json->data, json->size)) {
		rc = eu_error_set(err, -EINVAL, "%s: its package.json is itself a tar archive",
				  pkg->origin);
	} else {
		rc = eu_pkg_parse_buffer(pkg, json->data, json->size, meta_path, err);
	}
	if (!rc)
		rc = keep_btf_files(pkg, &tar, err);
	eu_tar_free(&tar);
	return rc;
}
