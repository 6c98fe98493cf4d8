#include "eu_run_util.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_agent.h"

char *eu_tmpdir(const char *tag)
{
	char tmpl[256];
	snprintf(tmpl, sizeof(tmpl), "/tmp/eu-%s-XXXXXX", tag);
	char *dir = mkdtemp(tmpl);
	return dir ? strdup(dir) : NULL;
}

void eu_tmpdir_remove(const char *dir)
{
	if (!dir || strncmp(dir, "/tmp/eu-", 8))
		return;
	const char *argv[] = {"/bin/rm", "-rf", dir, NULL};
	eu_run_capture(argv, 10000, NULL);
}

int eu_compile_bpf(const char *src, const char *out, char **log)
{
	char arch_inc[128];
#if defined(__x86_64__)
	snprintf(arch_inc, sizeof(arch_inc), "-I/usr/include/x86_64-linux-gnu");
#elif defined(__aarch64__)
	snprintf(arch_inc, sizeof(arch_inc), "-I/usr/include/aarch64-linux-gnu");
#else
	snprintf(arch_inc, sizeof(arch_inc), "-I/usr/include");
#endif
	const char *argv[] = {"/usr/bin/clang", "-g", "-O2", "-target", "bpf", arch_inc, "-c",
			      src, "-o", out, NULL};
	return eu_run_capture(argv, 60000, log);
}

int eu_write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	const char *p = data;
	while (size) {
		ssize_t n = write(fd, p, size);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		p += n;
		size -= (size_t)n;
	}
	return close(fd) ? -errno : 0;
}

/* Whether pid is a live process: not gone and not a zombie (a zombie's fdinfo directory
 * still opens, empty, so without this a dead daemon would look like one holding nothing). */
static bool process_alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (comm) S ...": the state follows the last ')' (comm may hold one) */
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X' && p[2] != '\0';
}

/* The distinct "<key> N" values of a process's fdinfo files ("prog_id:", "map_id:"): how
 * many, or -1 with errno (ESRCH: the process is gone or a zombie). */
static ssize_t fdinfo_ids(pid_t pid, const char *key, uint32_t *ids, size_t max)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		char path[384], line[256];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue; /* that fd was closed meanwhile */
		while (fgets(line, sizeof(line), f)) {
			unsigned id;
			size_t kl = strlen(key);
			if (!strncmp(line, key, kl) && sscanf(line + kl, " %u", &id) == 1) {
				bool dup = false;
				for (size_t i = 0; i < n; i++)
					dup |= ids[i] == id;
				if (!dup && n < max)
					ids[n++] = id;
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	/* checked after the read: a process that died during it counts as gone too */
	if (!process_alive(pid)) {
		errno = ESRCH;
		return -1;
	}
	return (ssize_t)n;
}

ssize_t eu_prog_ids_of(pid_t pid, uint32_t *ids, size_t max)
{
	return fdinfo_ids(pid, "prog_id:", ids, max);
}

ssize_t eu_link_ids_of(pid_t pid, uint32_t *ids, size_t max)
{
	return fdinfo_ids(pid, "link_id:", ids, max);
}

bool eu_map_info_of(pid_t pid, const char *name, struct bpf_map_info *info)
{
	uint32_t ids[256];
	ssize_t n = fdinfo_ids(pid, "map_id:", ids, 256);
	for (ssize_t i = 0; i < n; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		memset(info, 0, sizeof(*info));
		__u32 len = sizeof(*info);
		bool hit = !bpf_obj_get_info_by_fd(fd, info, &len) && !strcmp(info->name, name);
		close(fd);
		if (hit)
			return true;
	}
	return false;
}

bool eu_prog_id_exists(uint32_t id)
{
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return errno != ENOENT;
	close(fd);
	return true;
}

char *eu_base64(const void *data, size_t size, size_t wrap)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t out_len = (size + 2) / 3 * 4;
	size_t lines = wrap ? out_len / wrap + 1 : 0;
	char *out = malloc(out_len + lines + 1);
	if (!out)
		return NULL;
	const unsigned char *in = data;
	size_t o = 0, col = 0;
	for (size_t i = 0; i < size; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < size)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < size)
			v |= in[i + 2];
		char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
			     i + 1 < size ? tbl[(v >> 6) & 63] : '=', i + 2 < size ? tbl[v & 63] : '='};
		for (int k = 0; k < 4; k++) {
			if (wrap && col == wrap) {
				out[o++] = '\n';
				col = 0;
			}
			out[o++] = q[k];
			col++;
		}
	}
	out[o] = '\0';
	return out;
}
