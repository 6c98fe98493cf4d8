/* Choosing the CO-RE target BTF for a package (the order is in kbtf.h). */
#include "kbtf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/file.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "kbtf_cache.h"
#include "kbtf_ext.h"

/* How many covered kernels an error lists before "and N more". */
#define LIST_MAX 8

/* VALUE of KEY=VALUE in os-release text, unquoted, into out. */
static void os_release_value(const char *text, const char *key, char *out, size_t size)
{
	size_t k = strlen(key);
	out[0] = '\0';
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, k) || line[k] != '=')
			continue;
		const char *v = line + k + 1;
		size_t n = strcspn(v, "\n");
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		if (n >= size)
			n = size - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return;
	}
}

int eu_kbtf_archive_name(char *out, size_t size, eu_error *err)
{
	char text[4096] = "";
	FILE *f = fopen("/etc/os-release", "r");
	if (!f)
		f = fopen("/usr/lib/os-release", "r");
	if (f) {
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	char id[64], version[64];
	os_release_value(text, "ID", id, sizeof(id));
	os_release_value(text, "VERSION_ID", version, sizeof(version));
	if (!*id)
		snprintf(id, sizeof(id), "linux");
	struct utsname u;
	if (uname(&u))
		return eu_error_set(err, -errno, "uname: %s", strerror(errno));
	int w = snprintf(out, size, "%s/%s/%s/%s.btf", id, version, u.machine, u.release);
	if (w < 0 || (size_t)w >= size)
		return eu_error_set(err, -ENAMETOOLONG, "the kernel's archive name is too long");
	return 0;
}

static int use_path(struct eu_kbtf_choice *out, const char *path, const char *source,
		    const char *what, eu_error *err)
{
	struct stat st;
	if (stat(path, &st))
		return eu_error_set(err, -errno, "%s%s: %s (the CO-RE target BTF file)", what, path,
				    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return eu_error_set(err, -EINVAL, "%s%s: not a regular file (the CO-RE target BTF)",
				    what, path);
	if (!(out->path = strdup(path)))
		return eu_error_set(err, -ENOMEM, "out of memory");
	out->source = source;
	return 0;
}

static bool has_core_relos(const struct eu_package *pkg)
{
	struct eu_core_relos r;
	eu_error scratch;
	if (eu_core_relos_read(pkg->object, pkg->object_size, &r, &scratch))
		return true;  /* unreadable: let libbpf say what is wrong */
	bool any = r.n > 0;
	eu_core_relos_free(&r);
	return any;
}

/* "; the package's archive covers N kernels: a, b, ..." */
static void describe_covered(const struct eu_package *pkg, char *out, size_t size)
{
	size_t k = 0;
	out[0] = '\0';
	if (!pkg->n_btf_files) {
		snprintf(out, size, "; the package carries no btfhub-archive");
		return;
	}
	k += (size_t)snprintf(out, size, "; the package's btfhub-archive covers %zu kernel%s: ",
			      pkg->n_btf_files, pkg->n_btf_files == 1 ? "" : "s");
	for (size_t i = 0; i < pkg->n_btf_files && i < LIST_MAX && k < size; i++)
		k += (size_t)snprintf(out + k, size - k, "%s%s", i ? ", " : "", pkg->btf_files[i].name);
	if (pkg->n_btf_files > LIST_MAX && k < size)
		snprintf(out + k, size - k, " and %zu more", pkg->n_btf_files - LIST_MAX);
}

static int from_archives(const struct eu_package *pkg, const struct eu_kbtf_request *req,
			 const char *kpath, struct eu_kbtf_choice *out, eu_error *err)
{
	char name[512];
	int rc = eu_kbtf_archive_name(name, sizeof(name), err);
	if (rc)
		return rc;
	for (size_t i = 0; i < pkg->n_btf_files; i++) {
		const struct eu_btf_file *f = &pkg->btf_files[i];
		if (strcmp(f->name, name))
			continue;
		rc = eu_kbtf_memfd(f->data, f->size, &out->fd, &out->path, err);
		if (rc)
			return rc;
		out->source = "the package's btfhub-archive";
		eu_log(EU_LOG_INFO, "%s: the kernel has no BTF (%s): using btfhub-archive/%s from "
		       "the package", pkg->name ? pkg->name : pkg->origin, kpath, name);
		return 0;
	}
	char dir_path[4096] = "";
	if (req->archive_dir) {
		snprintf(dir_path, sizeof(dir_path), "%s/%s", req->archive_dir, name);
		if (access(dir_path, F_OK) == 0) {
			eu_log(EU_LOG_INFO, "%s: the kernel has no BTF (%s): using %s",
			       pkg->name ? pkg->name : pkg->origin, kpath, dir_path);
			return use_path(out, dir_path, "--btf-archive", "--btf-archive: ", err);
		}
	}
	if (!has_core_relos(pkg))
		return 0;  /* nothing to relocate: libbpf needs no target */
	char covered[1024];
	describe_covered(pkg, covered, sizeof(covered));
	return eu_error_set(err, -ENOENT,
			    "this kernel has no BTF (%s is missing) and no CO-RE target was found "
			    "for it: looked for btfhub-archive/%s in the package%s%s%s%s; set "
			    "BTF_FILE_PATH=FILE or pass --btf-archive DIR",
			    kpath, name, dir_path[0] ? " and " : "", dir_path,
			    dir_path[0] ? "" : " (no --btf-archive given)", covered);
}

int eu_kbtf_choose(const struct eu_package *pkg, const struct eu_kbtf_request *req,
		   struct eu_kbtf_choice *out, eu_error *err)
{
	static const struct eu_kbtf_request none = {0};
	if (!req)
		req = &none;
	*out = (struct eu_kbtf_choice){.fd = -1};
	if (req->explicit_path)
		return use_path(out, req->explicit_path, "explicit", "BTF file ", err);
	const char *env = getenv("BTF_FILE_PATH");
	if (env && *env)
		return use_path(out, env, "BTF_FILE_PATH", "BTF_FILE_PATH=", err);
	const char *kpath = eu_kbtf_kernel_path();
	if (access(kpath, R_OK) == 0) {
		if (req->cache && eu_kbtf_cache_trimmed(req->cache, pkg, out) == 0)
			return 0;
		if (strcmp(kpath, EU_KBTF_DEFAULT_PATH))
			return use_path(out, kpath, "EUNOMIA_KERNEL_BTF", "EUNOMIA_KERNEL_BTF=", err);
		out->source = "libbpf";
		return 0;
	}
	return from_archives(pkg, req, kpath, out, err);
}

void eu_kbtf_choice_release(struct eu_kbtf_choice *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	*c = (struct eu_kbtf_choice){.fd = -1};
}
