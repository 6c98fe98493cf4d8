/* The daemon's control-API and security options (--api, --api-token-file,
 * --insecure-watch-dir, --require-signatures, --api-max-body), parsed beside cli_daemon.c's. */
#ifndef EU_CLI_API_H
#define EU_CLI_API_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"
#include "daemon/daemon.h"

#define CLI_API_MAX_LISTEN 16

struct cli_api_args {
	const char *listen[CLI_API_MAX_LISTEN];
	size_t n_listen;
	bool none;                  /* --api none */
	const char *token_file;
	bool insecure_watch_dir;
	const char *trusted_keys;   /* --require-signatures DIR */
	size_t max_body;
	size_t max_programs;        /* --api-max-programs */
	size_t events_ring;         /* --api-ring: records kept per package */
	size_t max_conns;           /* --api-max-connections, per listener */
	size_t idle_timeout_s;      /* --api-idle-timeout */
};

/* 1: argv[*i] was one of ours (and *i moved past its value); 0: not ours; -1: bad usage
 * (printed). */
int cli_api_parse(struct cli_api_args *a, int argc, char **argv, int *i);
/* Sets the daemon options that are ours. */
void cli_api_daemon_opts(const struct cli_api_args *a, struct eu_daemon_opts *o);
/* Refuses, before the daemon loads anything, what would stop the API later (an unreadable
 * token file, a TCP listener without a token); prints the reason. */
int cli_api_check(const struct cli_api_args *a);
/* Starts the API on the daemon's loop (*out NULL with --api none). The default socket being
 * in use only warns; an explicit listener that fails is an error (printed). */
int cli_api_start(const struct cli_api_args *a, struct eu_daemon *d, struct eu_api **out);
/* Reads a bearer token file (refused when others may read it); prints the reason. */
char *cli_api_read_token(const char *path);

/* `eunomia-agent ctl ...` (cli_ctl.c): argv after "ctl". */
int cli_ctl(int argc, char **argv);

#endif
