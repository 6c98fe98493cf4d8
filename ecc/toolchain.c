/* Finding and running clang, llvm-strip and bpftool: posix_spawn, never a shell, so paths
 * with spaces or quotes in them cannot change what runs. */
#include "ecc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file.h"

extern char **environ;

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static char *search_dirs(const char *dirs, const char *name)
{
	const char *p = dirs;
	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len) {
			char path[4096];
			int n = snprintf(path, sizeof(path), "%.*s/%s", (int)len, p, name);
			if (n > 0 && (size_t)n < sizeof(path) && is_executable(path))
				return strdup(path);
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

char *ecc_find_tool(const char *env, const char *const *names)
{
	const char *given = env ? getenv(env) : NULL;
	if (given && given[0]) {
		if (strchr(given, '/'))
			return is_executable(given) ? strdup(given) : NULL;
		names = (const char *const[]){given, NULL};
	}
	const char *path = getenv("PATH");
	for (size_t i = 0; names[i]; i++) {
		char *found = search_dirs(path ? path : "/usr/local/bin:/usr/bin:/bin", names[i]);
		if (!found)
			found = search_dirs("/usr/sbin:/sbin:/usr/local/sbin", names[i]);
		if (found)
			return found;
	}
	return NULL;
}

char *ecc_read_file(const char *path, size_t *size)
{
	void *data;
	size_t len;
	eu_error err = {0};
	int ret = eu_file_read(path, (size_t)1 << 30, &data, &len, &err);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	if (size)
		*size = len;
	return data;
}

int ecc_write_file(const char *path, const void *data, size_t size, eu_error *err)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return eu_error_set(err, -ENAMETOOLONG, "%s: path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return eu_error_set(err, -errno, "cannot create %s: %s", tmp, strerror(errno));
	const char *p = data;
	size_t left = size;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return eu_error_set(err, -e, "cannot write %s: %s", tmp, strerror(e));
		}
		p += w;
		left -= (size_t)w;
	}
	if (close(fd) || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return eu_error_set(err, -e, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

int ecc_run(const char *const *argv, const char *stdout_path, char **errout, bool verbose)
{
	if (verbose) {
		fprintf(stderr, "ecc: run:");
		for (size_t i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		if (stdout_path)
			fprintf(stderr, " > %s", stdout_path);
		fputc('\n', stderr);
	}
	/* stderr goes to an unlinked temporary file: no pipe to drain while waiting */
	FILE *errf = errout ? tmpfile() : NULL;
	if (errout && !errf)
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (stdout_path)
		posix_spawn_file_actions_addopen(&fa, 1, stdout_path, O_WRONLY | O_CREAT | O_TRUNC,
						 0644);
	if (errf)
		posix_spawn_file_actions_adddup2(&fa, fileno(errf), 2);
	pid_t pid;
	int r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		if (errf)
			fclose(errf);
		return -r;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = -1;
			break;
		}
	}
	if (errf) {
		fflush(errf);
		long len = ftell(errf);
		if (len < 0)
			len = 0;
		rewind(errf);
		char *text = malloc((size_t)len + 1);
		size_t got = text ? fread(text, 1, (size_t)len, errf) : 0;
		if (text)
			text[got] = '\0';
		fclose(errf);
		*errout = text;
	}
	if (st == -1)
		return -ECHILD;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
