/* Listener addresses parsed and their sockets opened (http_socket.h). */
#include "http_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "http_server.h"

bool eu_http_addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

int eu_http_spec_parse(const char *spec, struct eu_http_spec *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!strncmp(spec, "unix:", 5)) {
		const char *p = spec + 5;
		if (!*p)
			return eu_error_set(err, -EINVAL, "listener '%s': no socket path", spec);
		if (strlen(p) >= sizeof(out->path))
			return eu_error_set(err, -ENAMETOOLONG,
					    "listener '%s': socket path longer than %zu bytes", spec,
					    sizeof(out->path) - 1);
		out->is_unix = true;
		strcpy(out->path, p);
		return 0;
	}
	if (strncmp(spec, "tcp:", 4))
		return eu_error_set(err, -EINVAL,
				    "listener '%s': expected unix:PATH or tcp:ADDR:PORT", spec);
	const char *a = spec + 4;
	const char *colon = strrchr(a, ':');
	if (!colon || colon == a || !colon[1])
		return eu_error_set(err, -EINVAL, "listener '%s': expected tcp:ADDR:PORT", spec);
	char host[128], port[16];
	size_t hl = (size_t)(colon - a);
	if (a[0] == '[' && hl >= 2 && a[hl - 1] == ']') {
		a++;
		hl -= 2;
	}
	if (hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		return eu_error_set(err, -EINVAL, "listener '%s': address too long", spec);
	memcpy(host, a, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	char *end;
	unsigned long pn = strtoul(port, &end, 10);
	if (*end || pn > 65535)
		return eu_error_set(err, -EINVAL, "listener '%s': bad port '%s'", spec, port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc || !ai)
		return eu_error_set(err, -EINVAL, "listener '%s': cannot resolve '%s': %s", spec, host,
				    gai_strerror(rc));
	memcpy(&out->sa, ai->ai_addr, ai->ai_addrlen);
	out->sa_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int eu_http_spec_check(const char *spec, bool *is_loopback, eu_error *err)
{
	struct eu_http_spec sp;
	int ret = eu_http_spec_parse(spec, &sp, err);
	if (!ret && is_loopback)
		*is_loopback = sp.is_unix || eu_http_addr_loopback((struct sockaddr *)&sp.sa);
	return ret;
}

/* A socket file left by an agent that died is replaced; one another agent listens on is not. */
static int unix_prepare(const char *spec, const char *path, eu_error *err)
{
	struct stat st;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return eu_error_set(err, -errno, "listener '%s': cannot create %s: %s", spec,
					    dir, strerror(errno));
	}
	if (lstat(path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return eu_error_set(err, -EEXIST, "listener '%s': %s exists and is not a socket",
				    spec, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return eu_error_set(err, -errno, "listener '%s': socket: %s", spec, strerror(errno));
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	strcpy(un.sun_path, path);
	int rc = connect(fd, (struct sockaddr *)&un, sizeof(un));
	close(fd);
	if (rc == 0)
		return eu_error_set(err, -EADDRINUSE,
				    "listener '%s': another process is listening on %s", spec, path);
	unlink(path);
	return 0;
}

int eu_http_socket_open(const char *spec, const struct eu_http_spec *sp, eu_error *err)
{
	int fam = sp->is_unix ? AF_UNIX : sp->sa.ss_family;
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return eu_error_set(err, -errno, "listener '%s': socket: %s", spec, strerror(errno));
	int ret;
	if (sp->is_unix) {
		if ((ret = unix_prepare(spec, sp->path, err)))
			goto fail;
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		strcpy(un.sun_path, sp->path);
		if (bind(fd, (struct sockaddr *)&un, sizeof(un))) {
			ret = eu_error_set(err, -errno, "listener '%s': bind: %s", spec,
					   strerror(errno));
			goto fail;
		}
		/* before listen(): nobody can connect while the mode is still the umask's */
		if (chmod(sp->path, 0600)) {
			ret = eu_error_set(err, -errno, "listener '%s': chmod 0600: %s", spec,
					   strerror(errno));
			unlink(sp->path);
			goto fail;
		}
	} else {
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&sp->sa, sp->sa_len)) {
			ret = eu_error_set(err, -errno, "listener '%s': bind: %s", spec,
					   strerror(errno));
			goto fail;
		}
	}
	if (listen(fd, 64)) {
		ret = eu_error_set(err, -errno, "listener '%s': listen: %s", spec, strerror(errno));
		if (sp->is_unix)
			unlink(sp->path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}
