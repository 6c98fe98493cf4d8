/* Daemon options for the control API and package security (cli_api.h). */
#include "cli_api.h"
#include "cli_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http/http_server.h"
#include "eunomia/log.h"

static int parse_count(const char *opt, const char *v, size_t *out)
{
	char *end = NULL;
	unsigned long long n = v ? strtoull(v, &end, 10) : 0;
	if (!v || !*v || *end || n < 1 || n > 1000000) {
		fprintf(stderr, "eunomia-agent: %s takes 1..1000000\n", opt);
		return -1;
	}
	*out = (size_t)n;
	return 1;
}

int cli_api_parse(struct cli_api_args *a, int argc, char **argv, int *i)
{
	bool m;
	const char *v;
	if (!strcmp(argv[*i], "--insecure-watch-dir")) {
		a->insecure_watch_dir = true;
		return 1;
	}
	if ((v = cli_option_value(argc, argv, i, "--api", &m)) || m) {
		if (!v || !*v) {
			fprintf(stderr, "eunomia-agent: --api needs unix:PATH, tcp:ADDR:PORT or none\n");
			return -1;
		}
		if (!strcmp(v, "none")) {
			a->none = true;
			return 1;
		}
		eu_error err = {0};
		if (eu_http_spec_check(v, NULL, &err)) {
			fprintf(stderr, "eunomia-agent: --api: %s\n", err.msg);
			return -1;
		}
		if (a->n_listen >= CLI_API_MAX_LISTEN) {
			fprintf(stderr, "eunomia-agent: --api: at most %d listeners\n", CLI_API_MAX_LISTEN);
			return -1;
		}
		a->listen[a->n_listen++] = v;
		return 1;
	}
	if ((v = cli_option_value(argc, argv, i, "--api-token-file", &m)) || m) {
		if (!v || !*v) {
			fprintf(stderr, "eunomia-agent: --api-token-file needs a file\n");
			return -1;
		}
		a->token_file = v;
		return 1;
	}
	if ((v = cli_option_value(argc, argv, i, "--require-signatures", &m)) || m) {
		if (!v || !*v) {
			fprintf(stderr, "eunomia-agent: --require-signatures needs a directory of "
					"trusted public keys\n");
			return -1;
		}
		a->trusted_keys = v;
		return 1;
	}
	if ((v = cli_option_value(argc, argv, i, "--api-max-body", &m)) || m) {
		char *end = NULL;
		unsigned long long n = v ? strtoull(v, &end, 10) : 0;
		if (!v || !*v || *end || n < 1024 || n > (1ull << 30)) {
			fprintf(stderr, "eunomia-agent: --api-max-body takes 1024..1073741824 bytes\n");
			return -1;
		}
		a->max_body = (size_t)n;
		return 1;
	}
	if ((v = cli_option_value(argc, argv, i, "--api-max-programs", &m)) || m)
		return parse_count("--api-max-programs", v, &a->max_programs);
	if ((v = cli_option_value(argc, argv, i, "--api-ring", &m)) || m)
		return parse_count("--api-ring", v, &a->events_ring);
	if ((v = cli_option_value(argc, argv, i, "--api-max-connections", &m)) || m)
		return parse_count("--api-max-connections", v, &a->max_conns);
	if ((v = cli_option_value(argc, argv, i, "--api-idle-timeout", &m)) || m)
		return parse_count("--api-idle-timeout", v, &a->idle_timeout_s);
	return 0;
}

void cli_api_daemon_opts(const struct cli_api_args *a, struct eu_daemon_opts *o)
{
	o->insecure_watch_dir = a->insecure_watch_dir;
	o->trusted_keys_dir = a->trusted_keys;
	o->max_programs = a->max_programs;
	o->events_ring = a->events_ring;
}

char *cli_api_read_token(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "eunomia-agent: token file %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (!fstat(fileno(f), &st) && (st.st_mode & 077)) {
		fprintf(stderr, "eunomia-agent: token file %s: readable by others (mode %04o): "
				"chmod 600 it\n", path, (unsigned)(st.st_mode & 07777));
		fclose(f);
		return NULL;
	}
	/* a Kubernetes service-account token is a JWT of a kilobyte or two */
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	bool more = n == sizeof(buf) - 1 && fgetc(f) != EOF;
	fclose(f);
	buf[n] = '\0';
	if (more) {
		fprintf(stderr, "eunomia-agent: token file %s: longer than %zu bytes\n", path,
			sizeof(buf) - 1);
		return NULL;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!n || strpbrk(buf, " \t\r\n")) {
		fprintf(stderr, "eunomia-agent: token file %s: expected one token on one line\n", path);
		return NULL;
	}
	return strdup(buf);
}

static const char *const default_listen[] = {"unix:" EU_API_DEFAULT_SOCKET};

static struct eu_api_opts api_opts(const struct cli_api_args *a, const char *token)
{
	bool is_default = !a->n_listen;
	return (struct eu_api_opts){.sz = sizeof(struct eu_api_opts),
				    .listen = is_default ? default_listen : a->listen,
				    .n_listen = is_default ? 1 : a->n_listen, .token = token,
				    .max_body = a->max_body, .max_conns = (unsigned)a->max_conns,
				    .timeout_s = (unsigned)a->idle_timeout_s};
}

int cli_api_check(const struct cli_api_args *a)
{
	if (a->none)
		return 0;
	char *token = NULL;
	if (a->token_file && !(token = cli_api_read_token(a->token_file)))
		return -EINVAL;
	struct eu_api_opts o = api_opts(a, token);
	eu_error err = {0};
	int ret = eu_api_check_opts(&o, &err);
	if (ret)
		eu_log(EU_LOG_ERROR, "control API: %s", err.msg);
	free(token);
	return ret;
}

int cli_api_start(const struct cli_api_args *a, struct eu_daemon *d, struct eu_api **out)
{
	*out = NULL;
	if (a->none)
		return 0;
	char *token = NULL;
	if (a->token_file && !(token = cli_api_read_token(a->token_file)))
		return -EINVAL;
	bool is_default = !a->n_listen;
	struct eu_api_opts o = api_opts(a, token);
	eu_error err = {0};
	int ret = eu_api_new(d, NULL, &o, out, &err);
	free(token);
	if (ret && is_default) {
		eu_log(EU_LOG_WARN, "control API not started: %s (give --api to choose)", err.msg);
		return 0;
	}
	if (ret)
		eu_log(EU_LOG_ERROR, "control API: %s", err.msg);
	return ret;
}
