/* Trimmed BTFs on disk between processes (kbtf_store.h). */
#include "kbtf_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "core/codec.h"
#include "core/file.h"
#include "eunomia/log.h"

/* Entries kept; the least recently written go first beyond this. */
#define STORE_MAX 256
/* A trimmed BTF is kilobytes; anything this large is not one of ours. */
#define ENTRY_MAX_BYTES (16u << 20)

struct eu_kbtf_store {
	int dirfd;
	char identity[768]; /* the kernel's, see kernel_identity() */
};

static int kernel_identity(const char *path, char *out, size_t size)
{
	struct utsname u;
	struct stat st;
	if (uname(&u) || stat(path, &st))
		return -errno;
	char boot[64] = "";
	size_t len = 0;
	char *id = NULL;
	/* a reboot into a kernel with the same release and a BTF file of the same size must
	 * not find entries trimmed from the previous one */
	if (eu_file_read("/proc/sys/kernel/random/boot_id", 4096, (void **)&id, &len, NULL) == 0) {
		snprintf(boot, sizeof(boot), "%.*s", (int)(len < 63 ? len : 63), id);
		free(id);
	}
	snprintf(out, size, "%s %llu %llu %lld.%09ld|%s|%s|%s", path, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		 u.release, u.version, boot);
	return 0;
}

static const char *default_dir(char *buf, size_t size)
{
	const char *env = getenv("EUNOMIA_BTF_CACHE_DIR");
	if (env)
		return *env ? env : NULL;
	if (geteuid() == 0)
		return "/run/eunomia-agent/btf";
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || !*xdg)
		return NULL;
	snprintf(buf, size, "%s/eunomia-agent/btf", xdg);
	return buf;
}

/* mkdir -p of dir's parents (0755) and of dir itself (0700). */
static void make_dirs(const char *dir)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
	mkdir(tmp, 0700);
}

struct eu_kbtf_store *eu_kbtf_store_open(const char *kernel_path)
{
	char buf[4096];
	const char *dir = default_dir(buf, sizeof(buf));
	if (!dir) {
		eu_log(EU_LOG_DEBUG, "trimmed BTF store: none (EUNOMIA_BTF_CACHE_DIR is empty, or "
		       "no runtime directory)");
		return NULL;
	}
	struct eu_kbtf_store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (kernel_identity(kernel_path, s->identity, sizeof(s->identity))) {
		free(s);
		return NULL;
	}
	make_dirs(dir);
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (s->dirfd < 0 || fstat(s->dirfd, &st)) {
		eu_log(EU_LOG_DEBUG, "trimmed BTF store %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		/* another user could plant a BTF that makes CO-RE read the wrong fields */
		eu_log(EU_LOG_WARN, "trimmed BTF store %s is not private (owner %u, mode %04o): not "
		       "used; make it 0700 and owned by uid %u, or set EUNOMIA_BTF_CACHE_DIR",
		       dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
		goto fail;
	}
	return s;
fail:
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
	return NULL;
}

void eu_kbtf_store_close(struct eu_kbtf_store *s)
{
	if (!s)
		return;
	close(s->dirfd);
	free(s);
}

static void entry_name(const struct eu_kbtf_store *s, const uint8_t obj[32], char out[80])
{
	uint8_t key[EU_SHA256_LEN];
	char hex[2 * EU_SHA256_LEN + 1];
	eu_sha256_2(obj, 32, s->identity, strlen(s->identity), key);
	eu_sha256_hex(key, hex);
	snprintf(out, 80, "%s.btf", hex);
}

int eu_kbtf_store_get(struct eu_kbtf_store *s, const uint8_t obj_sha256[32], void **btf,
		      size_t *size)
{
	*btf = NULL;
	*size = 0;
	char name[80];
	entry_name(s, obj_sha256, name);
	int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	struct stat st;
	void *data = NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_size <= 0 || (size_t)st.st_size > ENTRY_MAX_BYTES)
		goto miss;
	data = malloc((size_t)st.st_size);
	if (!data || pread(fd, data, (size_t)st.st_size, 0) != st.st_size)
		goto miss;
	struct btf *check = btf__new(data, (uint32_t)st.st_size);
	if (!check) {
		eu_log(EU_LOG_DEBUG, "trimmed BTF store: entry %s does not parse: ignored", name);
		goto miss;
	}
	btf__free(check);
	close(fd);
	*btf = data;
	*size = (size_t)st.st_size;
	return 0;
miss:
	free(data);
	close(fd);
	return -ENOENT;
}

/* Keeps the store bounded: removes the oldest entries beyond STORE_MAX. */
static void prune(struct eu_kbtf_store *s)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (int round = 0; round < 4; round++) {
		size_t n = 0;
		char oldest[256] = "";
		struct timespec when = {0};
		rewinddir(d);
		for (struct dirent *e; (e = readdir(d));) {
			struct stat st;
			size_t len = strlen(e->d_name);
			if (len < 5 || strcmp(e->d_name + len - 4, ".btf") ||
			    fstatat(s->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
				continue;
			n++;
			if (!*oldest || st.st_mtim.tv_sec < when.tv_sec ||
			    (st.st_mtim.tv_sec == when.tv_sec && st.st_mtim.tv_nsec < when.tv_nsec)) {
				snprintf(oldest, sizeof(oldest), "%s", e->d_name);
				when = st.st_mtim;
			}
		}
		if (n <= STORE_MAX || !*oldest)
			break;
		unlinkat(s->dirfd, oldest, 0);
	}
	closedir(d);
}

void eu_kbtf_store_put(struct eu_kbtf_store *s, const uint8_t obj_sha256[32], const void *btf,
		       size_t size)
{
	char name[80], tmp[96];
	entry_name(s, obj_sha256, name);
	snprintf(tmp, sizeof(tmp), ".%s.%ld", name, (long)getpid());
	int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		eu_log(EU_LOG_DEBUG, "trimmed BTF store: %s: %s", tmp, strerror(errno));
		return;
	}
	bool ok = eu_write_all(fd, btf, size) == 0;
	if (close(fd))
		ok = false;
	if (!ok || renameat(s->dirfd, tmp, s->dirfd, name)) {
		eu_log(EU_LOG_DEBUG, "trimmed BTF store: writing %s failed", name);
		unlinkat(s->dirfd, tmp, 0);
		return;
	}
	prune(s);
}
