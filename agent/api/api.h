/* The daemon's HTTP/JSON control API (README "Control API"), served by http_server.h on the
 * daemon's loop: list, load (our package or upstream's POST /task form), unload, pause,
 * resume, stream a package's records (NDJSON or server-sent events, resumable by sequence
 * number), /healthz, /v1/features, /metrics. */
#ifndef EUNOMIA_API_H
#define EUNOMIA_API_H

#include <stddef.h>

#include "daemon/daemon.h"
#include "eunomia/error.h"

#define EU_API_DEFAULT_SOCKET "/run/eunomia/agent.sock"

struct eu_api_opts {
	size_t sz;
	const char *const *listen;  /* "unix:PATH" / "tcp:ADDR:PORT" */
	size_t n_listen;
	/* Bearer token for the TCP listeners, required for every one (loopback too: any local
	 * account can connect there); NULL: only unix listeners are accepted. The unix
	 * socket is guarded by its mode (0600) instead. */
	const char *token;
	size_t max_body;            /* 0: 16 MiB (also the largest package) */
	unsigned max_conns;         /* per listener; 0: 64 */
	unsigned timeout_s;         /* idle connections; 0: 30 */
};

struct eu_api;
struct eu_http_server;

/* What can be refused before any listener starts (a TCP listener without a token): the
 * daemon checks it before it loads anything. */
int eu_api_check_opts(const struct eu_api_opts *opts, eu_error *err);
/* d may be NULL (fuzzing, tests of the request handling): every route parses its input and
 * then answers 503. Listeners start at once; the API closes itself when the daemon stops. */
int eu_api_new(struct eu_daemon *d, uv_loop_t *loop, const struct eu_api_opts *opts,
	       struct eu_api **out, eu_error *err);
struct eu_http_server *eu_api_server(struct eu_api *a);
void eu_api_free(struct eu_api *a);

#endif
