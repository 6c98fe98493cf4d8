/* The daemon's command line: `eunomia-agent --watch DIR ...`. */
#ifndef EUNOMIA_CLI_DAEMON_H
#define EUNOMIA_CLI_DAEMON_H

/* argv holds the options only (main calls eu_cli_daemon(argc - 1, argv + 1)). Returns the
 * exit code: 0 after a clean stop (SIGINT/SIGTERM) or a valid --check-config, 1 when the
 * daemon cannot start, 2 for a bad command line or config. */
int eu_cli_daemon(int argc, char **argv);

/* The --help text. */
const char *eu_cli_daemon_usage(void);

#endif
