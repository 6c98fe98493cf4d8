/* eunomia-agent (also installed as ecli): dispatches to the command. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli_api.h"
#include "cli_daemon.h"
#include "cli_priv.h"
#include "eunomia/log.h"

void cli_log_sink(void *ctx, enum eu_log_level level, const char *msg)
{
	const char *prefix = level == EU_LOG_ERROR ? "error: " : level == EU_LOG_WARN ? "warning: " : "";
	fprintf(stderr, CLI_NAME ": %s%s\n", prefix, msg);
}

static void usage(FILE *f, const char *self)
{
	fprintf(f,
		"Usage: %s COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  run PKG|URL|REF [OPTIONS] [PACKAGE OPTIONS]   load one eBPF package and print its events\n"
		"                                            (%s run --help for the options)\n"
		"  pull REF [-o FILE]                        fetch a package or Wasm module from an OCI\n"
		"                                            registry (pull --help)\n"
		"  push FILE REF                             store one in an OCI registry\n"
		"  ctl COMMAND                               talk to a running agent's control API\n"
		"                                            (ctl --help)\n"
		"\n"
		"  -h, --help       this help\n"
		"  -V, --version    the version\n"
		"\n%s",
		self, self, eu_cli_daemon_usage());
	if (!strcmp(self, "ecli"))
		fprintf(f, "\n`ecli PKG ...` is short for `ecli run PKG ...`.\n");
}

int main(int argc, char **argv)
{
	const char *self = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	self = self ? self + 1 : (argc > 0 && argv[0] ? argv[0] : CLI_NAME);
	bool ecli = !strcmp(self, "ecli");

	/* a closed stdout shows up as EPIPE from write(), handled where we write */
	signal(SIGPIPE, SIG_IGN);
	eu_log_set_sink(cli_log_sink, NULL);
	eu_log_set_level(EU_LOG_INFO);
	eu_log_route_libbpf();

	if (argc < 2) {
		usage(stderr, self);
		return CLI_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout, self);
		return CLI_EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("%s %s\n", CLI_NAME, EU_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(cmd, "run"))
		return cli_run(argc - 2, argv + 2);
	if (!strcmp(cmd, "ctl"))
		return cli_ctl(argc - 2, argv + 2);
	if (!strcmp(cmd, "pull"))
		return cli_pull(argc - 2, argv + 2);
	if (!strcmp(cmd, "push"))
		return cli_push(argc - 2, argv + 2);
	/* no command, only options: the daemon (`eunomia-agent --watch DIR ...`) */
	if (cmd[0] == '-')
		return eu_cli_daemon(argc - 1, argv + 1);
	if (ecli && cmd[0] != '-')
		return cli_run(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", self, cmd);
	usage(stderr, self);
	return CLI_EXIT_USAGE;
}
