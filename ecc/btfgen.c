/* ecc --btfgen: the package as a .tar carrying, for every kernel of a btfhub-archive, the
 * minimal BTF its CO-RE relocations need, computed by the same trimmer the daemon uses per
 * load (agent/kbtf/kbtf_trim.c). */
#include "ecc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "kbtf/kbtf.h"
#include "kbtf/kbtf_trim.h"

/* Deeper than <ID>/<VERSION_ID>/<machine>/<release>.btf needs: a loop guard. */
#define MAX_DEPTH 8

struct kernel {
	char *name;  /* <ID>/<VERSION_ID>/<machine>/<release>.btf */
	char *path;  /* the file: .btf, or .btf.tar.xz to unpack */
};

struct kernels {
	struct kernel *v;
	size_t n, cap;
};

static bool ends_with(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a >= b && !strcmp(s + a - b, sfx);
}

static int add_kernel(struct kernels *k, const char *rel, const char *path)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		struct kernel *v = realloc(k->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	struct kernel *e = &k->v[k->n];
	e->name = strdup(rel);
	e->path = strdup(path);
	if (!e->name || !e->path)
		return -ENOMEM;
	if (ends_with(e->name, ".tar.xz"))
		e->name[strlen(e->name) - 7] = '\0';
	k->n++;
	return 0;
}

static int walk(struct kernels *k, const char *root, const char *rel, int depth)
{
	char dir_path[PATH_MAX];
	snprintf(dir_path, sizeof(dir_path), "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(dir_path);
	if (!d)
		return -errno;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX], path[PATH_MAX];
		int a = snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		int b = snprintf(path, sizeof(path), "%s/%s", root, sub);
		if (a < 0 || (size_t)a >= sizeof(sub) || b < 0 || (size_t)b >= sizeof(path))
			continue;  /* no kernel release is named anywhere near PATH_MAX */
		struct stat st;
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
			rc = walk(k, root, sub, depth + 1);
		else if (S_ISREG(st.st_mode) &&
			 (ends_with(sub, ".btf") || ends_with(sub, ".btf.tar.xz")))
			rc = add_kernel(k, sub, path);
	}
	closedir(d);
	return rc;
}

static int cmp_kernel(const void *a, const void *b)
{
	return strcmp(((const struct kernel *)a)->name, ((const struct kernel *)b)->name);
}

/* The kernel's BTF: parsed directly, or unpacked from btfhub's .btf.tar.xz first. */
static struct btf *parse_kernel(const struct kernel *k, const char *tmp_path, bool verbose)
{
	if (!ends_with(k->path, ".tar.xz"))
		return btf__parse(k->path, NULL);
	static const char *const names[] = {"tar", NULL};
	char *tar = ecc_find_tool("TAR", names);
	if (!tar) {
		fprintf(stderr, "ecc: tar not found: needed to unpack %s\n", k->path);
		return NULL;
	}
	const char *argv[] = {tar, "-xJOf", k->path, NULL};
	char *errout = NULL;
	int r = ecc_run(argv, tmp_path, &errout, verbose);
	free(tar);
	if (r) {
		fprintf(stderr, "ecc: cannot unpack %s (tar exit %d): %s\n", k->path, r,
			errout ? errout : "");
		free(errout);
		return NULL;
	}
	free(errout);
	return btf__parse(tmp_path, NULL);
}

static void free_kernels(struct kernels *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].name);
		free(k->v[i].path);
	}
	free(k->v);
}

int ecc_btfgen(const char *tar_path, const char *package_json, const void *obj, size_t obj_size,
	       const char *archive_dir, bool verbose)
{
	struct kernels ks = {0};
	eu_error err = {0};
	int rc = 0;
	if (archive_dir) {
		rc = walk(&ks, archive_dir, "", 0);
		if (rc) {
			fprintf(stderr, "ecc: --btfhub-archive %s: %s\n", archive_dir, strerror(-rc));
			free_kernels(&ks);
			return 1;
		}
		if (!ks.n) {
			fprintf(stderr, "ecc: --btfhub-archive %s holds no <ID>/<VERSION_ID>/<machine>/"
				"<release>.btf (or .btf.tar.xz) files\n", archive_dir);
			free_kernels(&ks);
			return 1;
		}
		qsort(ks.v, ks.n, sizeof(*ks.v), cmp_kernel);
	} else {
		char name[512];
		if (eu_kbtf_archive_name(name, sizeof(name), &err) ||
		    add_kernel(&ks, name, EU_KBTF_DEFAULT_PATH)) {
			fprintf(stderr, "ecc: --btfgen: %s\n", err.msg[0] ? err.msg : "out of memory");
			free_kernels(&ks);
			return 1;
		}
	}

	char tmp_path[PATH_MAX];
	const char *tmpdir = getenv("TMPDIR");
	snprintf(tmp_path, sizeof(tmp_path), "%s/ecc-btf-%d.btf", tmpdir && *tmpdir ? tmpdir : "/tmp",
		 (int)getpid());
	eu_buf tar;
	eu_buf_init(&tar);
	ecc_tar_add(&tar, "package.json", package_json, strlen(package_json));
	size_t btf_bytes = 0, largest = 0;
	for (size_t i = 0; i < ks.n && !rc; i++) {
		const struct kernel *k = &ks.v[i];
		struct btf *kernel = parse_kernel(k, tmp_path, verbose);
		if (!kernel) {
			fprintf(stderr, "ecc: %s: not a readable BTF file (%s)\n", k->path,
				strerror(errno ? errno : EINVAL));
			rc = 1;
			break;
		}
		struct eu_kbtf_index *idx = NULL;
		void *min = NULL;
		size_t size = 0;
		if (eu_kbtf_index_new(kernel, &idx, &err) ||
		    eu_kbtf_trim_object(kernel, idx, obj, obj_size, false, &min, &size, &err)) {
			fprintf(stderr, "ecc: %s: cannot compute the minimal BTF: %s\n", k->path,
				err.msg);
			rc = 1;
		} else {
			char member[PATH_MAX];
			snprintf(member, sizeof(member), "btfhub-archive/%s", k->name);
			ecc_tar_add(&tar, member, min, size);
			btf_bytes += size;
			if (size > largest)
				largest = size;
			if (verbose)
				fprintf(stderr, "ecc: %s: %zu bytes of BTF\n", member, size);
		}
		free(min);
		eu_kbtf_index_free(idx);
		btf__free(kernel);
	}
	unlink(tmp_path);
	ecc_tar_finish(&tar);
	if (!rc && tar.oom) {
		fprintf(stderr, "ecc: out of memory writing %s\n", tar_path);
		rc = 1;
	}
	if (!rc && ecc_write_file(tar_path, tar.data, tar.len, &err)) {
		fprintf(stderr, "ecc: %s\n", err.msg);
		rc = 1;
	}
	if (!rc)
		printf("ecc: %s: minimal BTF for %zu kernel%s%s%s (%zu bytes of BTF, the largest %zu; "
		       "the tar is %zu bytes)\n",
		       tar_path, ks.n, ks.n == 1 ? "" : "s", archive_dir ? "" : ", this machine's: ",
		       archive_dir ? "" : ks.v[0].name, btf_bytes, largest, tar.len);
	eu_buf_free(&tar);
	free_kernels(&ks);
	return rc;
}
