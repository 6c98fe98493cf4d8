/* Listener addresses ("unix:PATH", "tcp:HOST:PORT") parsed, and their sockets opened: the
 * socket side of the HTTP server, apart from requests and replies (http_server.c). */
#ifndef EU_HTTP_SOCKET_H
#define EU_HTTP_SOCKET_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "eunomia/error.h"

struct eu_http_spec {
	bool is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_storage sa;
	socklen_t sa_len;
};

/* Parses spec; 0, or -EINVAL with err naming what is wrong. */
int eu_http_spec_parse(const char *spec, struct eu_http_spec *out, eu_error *err);
/* 127.0.0.0/8, ::1 and v4-mapped 127/8. */
bool eu_http_addr_loopback(const struct sockaddr *sa);
/* A bound, listening, non-blocking socket for sp (a stale unix socket file replaced):
 * the fd, or a negative errno with err naming spec and the reason. */
int eu_http_socket_open(const char *spec, const struct eu_http_spec *sp, eu_error *err);

#endif
