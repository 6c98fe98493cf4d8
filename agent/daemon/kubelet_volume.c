/* The kubelet's volume layout, recognised exactly (kubelet_volume.h). */
#include "kubelet_volume.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA_LINK "..data"

bool eu_kubelet_payload_name(const char *s)
{
	/* "..2006_01_02_15_04_05." (Go's layout) then MkdirTemp's random digits */
	static const char shape[] = "..dddd_dd_dd_dd_dd_dd.";
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	}
	s += sizeof(shape) - 1;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool eu_kubelet_volume_is(const char *dir)
{
	struct stat st;
	char p[4096];
	snprintf(p, sizeof(p), "%s/" DATA_LINK, dir);
	return !lstat(p, &st);
}

/* A link's text, NUL-terminated; -errno, or -ENAMETOOLONG when it does not fit. */
static int link_text(int dfd, const char *name, char *out, size_t size)
{
	ssize_t n = readlinkat(dfd, name, out, size);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

/* Owned by root and writable by nobody else: what root wrote stays root's. */
static bool roots_only(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

#define REFUSE(...)                                                                             \
	do {                                                                                    \
		ret = eu_error_set(err, -EPERM, __VA_ARGS__);                                   \
		goto out;                                                                       \
	} while (0)

int eu_kubelet_volume_open(const char *dir, const char *name, int *fd, eu_error *err)
{
	*fd = -1;
	int ret = 0, dfd = -1, tfd = -1;
	char payload[256], text[512], want[512];
	struct stat st;
	const char *why = "a kubelet volume (..data) only when";
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st)) {
		ret = eu_error_set(err, -errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (st.st_uid != 0)
		REFUSE("%s: refused: writable by others (mode %04o) and owned by uid %u: %s the "
		       "volume's directory is root's", dir, (unsigned)(st.st_mode & 07777),
		       (unsigned)st.st_uid, why);
	int lr = link_text(dfd, DATA_LINK, payload, sizeof(payload));
	if (lr == -ENOENT)
		REFUSE("%s: refused: writable by others (mode %04o) and no ..data link: not a "
		       "kubelet volume", dir, (unsigned)(st.st_mode & 07777));
	if (lr)
		REFUSE("%s/" DATA_LINK ": refused: not a link to the payload (%s): %s it is one",
		       dir, strerror(-lr), why);
	if (!eu_kubelet_payload_name(payload))
		REFUSE("%s/" DATA_LINK ": refused: points to '%s', not a kubelet payload directory "
		       "(..YYYY_MM_DD_HH_MM_SS.N beside it)", dir, payload);
	tfd = openat(dfd, payload, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0) {
		if (errno == ENOENT) {
			/* the kubelet is between its swap and its clean-up: the caller retries on
			 * the next change */
			ret = eu_error_set(err, -ENOENT, "%s/%s: gone (the volume is being updated)",
					   dir, payload);
			goto out;
		}
		REFUSE("%s/%s: refused: not a directory of its own (%s): %s it is one", dir, payload,
		       strerror(errno), why);
	}
	if (fstat(tfd, &st)) {
		ret = eu_error_set(err, -errno, "%s/%s: %s", dir, payload, strerror(errno));
		goto out;
	}
	if (!roots_only(&st))
		REFUSE("%s/%s: refused: owned by uid %u, mode %04o: %s the payload directory is "
		       "root's and writable by root only", dir, payload, (unsigned)st.st_uid,
		       (unsigned)(st.st_mode & 07777), why);
	lr = link_text(dfd, name, text, sizeof(text));
	snprintf(want, sizeof(want), DATA_LINK "/%s", name);
	if (lr == -ENOENT) {
		ret = eu_error_set(err, -ENOENT, "%s/%s: %s", dir, name, strerror(ENOENT));
		goto out;
	}
	if (lr || strcmp(text, want))
		REFUSE("%s/%s: refused: in a writable kubelet volume a file must be the kubelet's "
		       "link %s -> %s (%s)", dir, name, name, want,
		       lr == -EINVAL ? "this is no link" : lr ? strerror(-lr) : "this one points elsewhere");
	*fd = openat(tfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		ret = errno == ELOOP ? eu_error_set(err, -EPERM, "%s/%s/%s: refused: a link inside "
						   "the payload directory", dir, payload, name)
				     : eu_error_set(err, -errno, "%s/%s/%s: %s", dir, payload, name,
						    strerror(errno));
		goto out;
	}
	if (fstat(*fd, &st)) {
		ret = eu_error_set(err, -errno, "%s/%s/%s: %s", dir, payload, name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode))
		REFUSE("%s/%s/%s: refused: not a regular file", dir, payload, name);
	if (!roots_only(&st))
		REFUSE("%s/%s/%s: refused: owned by uid %u, mode %04o: %s the file is root's and "
		       "writable by root only (the volume's defaultMode without group/other write)",
		       dir, payload, name, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), why);
out:
	if (ret && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (tfd >= 0)
		close(tfd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}
