/* `eunomia-agent --watch DIR [--watch DIR2] [--sink TYPE[:ARG]] [--config FILE]
 * [--check-config] [--log-level LEVEL]`: the daemon (daemon.h). Records go to the sinks,
 * logs to stderr. */
#include "cli_daemon.h"
#include "cli_api.h"
#include "cli_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "daemon/config.h"
#include "daemon/config_check.h"
#include "daemon/daemon.h"
#include "eunomia/features.h"
#include "eunomia/log.h"
#include "http/http_server.h"
#include "metrics/metrics_rules.h"
#include "program/privileges.h"
#include "sinks/sink.h"

#define DAEMON_EXIT_OK 0
#define DAEMON_EXIT_FAIL 1
#define DAEMON_EXIT_USAGE 2

static const char usage_head[] =
	"Usage: eunomia-agent --watch DIR [OPTIONS]\n"
	"\n"
	"Runs every eBPF package found in the watched directories, loading, reloading and\n"
	"unloading them as files appear, change and go; events become JSON records on the\n"
	"sinks.\n"
	"\n"
	"Options:\n"
	"  --watch DIR           a package directory (repeatable)\n";
static const char usage_tail[] =
	"  --help-sinks          every sink type's config keys (Markdown tables)\n"
	"  --config FILE         YAML config (watch dirs, sinks, package params, queues);\n"
	"                        re-read on SIGHUP\n"
	"  --check-config        validate the config and the options, then exit\n"
	"  --queue-size N        records each sink may queue before dropping\n"
	"  --prometheus ADDR:PORT  serve metrics at http://ADDR:PORT/metrics (off by default;\n"
	"                        e.g. 127.0.0.1:9464) and /healthz (no token, for probes)\n"
	"  --prometheus-without-type-suffix  counters keep their configured name on\n"
	"                        /metrics, no _total added (as upstream's exporter)\n"
	"  --metrics-token-file FILE  bearer token GET /metrics requires (mode 0600, or\n"
	"                        0400 from a Secret); required when ADDR is not loopback\n"
	"  --exporter-config FILE  upstream's exporter YAML: its programs are loaded and\n"
	"                        their metrics: rules apply\n"
	"  --log-level LEVEL     error, warn, info (default), debug or trace\n"
	"  --btf-archive DIR     a btfhub-archive directory: on a kernel without BTF, the\n"
	"                        CO-RE target is DIR/<ID>/<VERSION_ID>/<machine>/<release>.btf\n"
	"  --api SPEC            control API: unix:PATH (default unix:/run/eunomia/agent.sock),\n"
	"                        tcp:ADDR:PORT (repeatable; needs --api-token-file)\n"
	"                        or none\n"
	"  --api-token-file FILE bearer token the TCP listeners require (mode 0600)\n"
	"  --api-max-body BYTES  largest request body / uploaded package (default 16 MiB)\n"
	"  --api-max-programs N  packages loaded through the API (default 256)\n"
	"  --api-ring N          recent records kept per package for the API (default 256)\n"
	"  --api-max-connections N  connections per listener (default 64; more wait in\n"
	"                        the listen queue)\n"
	"  --api-idle-timeout S  seconds a connection may stay silent (default 30)\n"
	"  --insecure-watch-dir  load packages even where users other than root can write\n"
	"  --require-signatures DIR  every package needs X.sig (ed25519) by a key in DIR\n"
	"  -h, --help            this help\n"
	"\n"
	"Signals: SIGTERM/SIGINT stop (sinks flushed, exit 0); SIGHUP reopens sink files and\n"
	"reloads the config; SIGUSR1 logs the counters.\n";

/* The sinks' lines (--sink's types, the options plugins declare) come from the registry. */
const char *eu_cli_daemon_usage(void)
{
	static eu_buf text;
	if (!text.len) {
		eu_buf_puts(&text, usage_head);
		eu_sink_usage(&text);
		eu_buf_puts(&text, usage_tail);
	}
	return text.data;
}

struct daemon_args {
	struct eu_config cli;
	const char *config;
	bool check, help, help_sinks;
	struct cli_api_args api;     /* --api, --require-signatures, ... (cli_api.c) */
	const char *prometheus;      /* --prometheus ADDR:PORT */
	const char *metrics_token_file; /* --metrics-token-file FILE */
	const char *exporter_config; /* --exporter-config FILE */
	const char *btf_archive;     /* --btf-archive DIR */
	bool prom_without_type_suffix; /* --prometheus-without-type-suffix */
};

/* An option a sink plugin's key declares (stdout's --format): 1 taken, 0 not one, or
 * -EINVAL (said). A repeated option keeps its last value. */
static int sink_option(struct daemon_args *a, int argc, char **argv, int *i)
{
	const char *name;
	for (size_t n = 0; (name = eu_sink_option_at(n)); n++) {
		bool opt;
		const char *v = cli_option_value(argc, argv, i, name, &opt);
		if (!opt)
			continue;
		eu_error err = {0};
		if (eu_sink_option_check(name, v, &err)) {
			fprintf(stderr, "eunomia-agent: %s\n", err.msg);
			return -EINVAL;
		}
		size_t k = 0;
		while (k < a->cli.n_sink_options && strcmp(a->cli.sink_options[k].option, name))
			k++;
		if (k == EU_SINK_MAX_OPTIONS)
			return -EINVAL; /* more options than plugins declare: cannot happen */
		a->cli.sink_options[k] = (struct eu_sink_option){.option = name, .value = v};
		if (k == a->cli.n_sink_options)
			a->cli.n_sink_options++;
		return 1;
	}
	return 0;
}

static int parse_args(struct daemon_args *a, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		int sink_opt;
		bool opt;
		const char *v;
		const char *arg = argv[i];
		int api = cli_api_parse(&a->api, argc, argv, &i);
		if (api < 0)
			return -EINVAL;
		if (api > 0)
			continue;
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			a->help = true;
		} else if (!strcmp(arg, "--help-sinks")) {
			a->help_sinks = true;
		} else if (!strcmp(arg, "--check-config")) {
			a->check = true;
		} else if (!strcmp(arg, "--prometheus-without-type-suffix")) {
			a->prom_without_type_suffix = true;
		} else if ((v = cli_option_value(argc, argv, &i, "--watch", &opt)) || opt) {
			if (!v || !*v) {
				fprintf(stderr, "eunomia-agent: --watch needs a directory\n");
				return -EINVAL;
			}
			if (eu_config_add_watch(&a->cli, v))
				return -ENOMEM;
		} else if ((v = cli_option_value(argc, argv, &i, "--sink", &opt)) || opt) {
			struct eu_sink_config s;
			eu_error err = {0};
			if (!v) {
				fprintf(stderr, "eunomia-agent: --sink needs TYPE[:ARG] (types: %s)\n",
					eu_sink_plugin_names());
				return -EINVAL;
			}
			if (eu_sink_config_from_spec(v, &s, &err)) {
				fprintf(stderr, "eunomia-agent: --sink: %s\n", err.msg);
				return -EINVAL;
			}
			if (eu_config_add_sink(&a->cli, &s)) {
				eu_sink_config_free(&s);
				return -ENOMEM;
			}
		} else if ((v = cli_option_value(argc, argv, &i, "--prometheus", &opt)) || opt) {
			if (!v || !*v || !strchr(v, ':')) {
				fprintf(stderr, "eunomia-agent: --prometheus needs ADDR:PORT (e.g. 127.0.0.1:9464)\n");
				return -EINVAL;
			}
			a->prometheus = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--metrics-token-file", &opt)) ||
			   opt) {
			if (!v || !*v) {
				fprintf(stderr, "eunomia-agent: --metrics-token-file needs a file\n");
				return -EINVAL;
			}
			a->metrics_token_file = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--exporter-config", &opt)) || opt) {
			if (!v || !*v) {
				fprintf(stderr, "eunomia-agent: --exporter-config needs a file\n");
				return -EINVAL;
			}
			a->exporter_config = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--btf-archive", &opt)) || opt) {
			if (!v || !*v) {
				fprintf(stderr, "eunomia-agent: --btf-archive needs a directory\n");
				return -EINVAL;
			}
			a->btf_archive = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--config", &opt)) || opt) {
			if (!v || !*v) {
				fprintf(stderr, "eunomia-agent: --config needs a file\n");
				return -EINVAL;
			}
			a->config = v;
		} else if ((sink_opt = sink_option(a, argc, argv, &i)) < 0) {
			return sink_opt;
		} else if (sink_opt) {
			continue;
		} else if ((v = cli_option_value(argc, argv, &i, "--queue-size", &opt)) || opt) {
			char *end = NULL;
			unsigned long long n = v ? strtoull(v, &end, 10) : 0;
			if (!v || !*v || *end || n == 0 || n > (1u << 30)) {
				fprintf(stderr, "eunomia-agent: --queue-size takes 1..1073741824 records\n");
				return -EINVAL;
			}
			a->cli.queue_size = (size_t)n;
		} else if ((v = cli_option_value(argc, argv, &i, "--log-level", &opt)) || opt) {
			if (!v || eu_log_level_parse(v, &a->cli.log_level)) {
				fprintf(stderr, "eunomia-agent: --log-level takes error, warn, info, debug or trace\n");
				return -EINVAL;
			}
			a->cli.log_level_set = true;
		} else {
			fprintf(stderr, "eunomia-agent: unknown option '%s' (see eunomia-agent --help)\n",
				arg);
			return -EINVAL;
		}
	}
	return 0;
}

/* --prometheus beyond loopback needs a token, and the token file must be one. */
static int check_prometheus(const struct daemon_args *a)
{
	char spec[300];
	snprintf(spec, sizeof(spec), "%s%s", strncmp(a->prometheus, "tcp:", 4) ? "tcp:" : "",
		 a->prometheus);
	bool loopback = false;
	eu_error err = {0};
	if (eu_http_spec_check(spec, &loopback, &err)) {
		fprintf(stderr, "eunomia-agent: --prometheus %s: %s\n", a->prometheus, err.msg);
		return -EINVAL;
	}
	if (!a->metrics_token_file) {
		if (loopback)
			return 0;
		fprintf(stderr, "eunomia-agent: --prometheus %s: not a loopback address: give "
			"--metrics-token-file FILE\n", a->prometheus);
		return -EINVAL;
	}
	char *token = cli_api_read_token(a->metrics_token_file);
	free(token);
	return token ? 0 : -EINVAL;
}

/* --check-config: what the daemon would refuse at start-up, without starting it: the config,
 * the options, and every package it knows (watched files, the exporter config's programs)
 * opened without the kernel, with its parameters and metric rules (config_check.h). Every
 * problem is listed; exit 0 only when there is none. */
static int check_config(struct daemon_args *a)
{
	struct eu_config cfg = {0};
	eu_error err = {0};
	if (a->config && eu_config_load_file(a->config, &cfg, &err)) {
		fprintf(stderr, "eunomia-agent: config: %s\n", err.msg);
		return DAEMON_EXIT_USAGE;
	}
	int code = DAEMON_EXIT_OK;
	for (size_t i = 0; i < a->cli.n_watch; i++)
		if (eu_config_add_watch(&cfg, a->cli.watch[i])) {
			eu_config_free(&cfg);
			return DAEMON_EXIT_FAIL;
		}
	size_t n_watch = cfg.n_watch;
	size_t n_packages = cfg.n_packages; /* the config file's own sections */
	struct eu_exporter_program *progs = NULL;
	size_t n_progs = 0;
	/* into cfg, as the daemon merges it: its rules meet the packages like the config's */
	if (a->exporter_config &&
	    eu_exporter_config_load(a->exporter_config, &cfg, &progs, &n_progs, &err)) {
		fprintf(stderr, "eunomia-agent: exporter config: %s\n", err.msg);
		code = DAEMON_EXIT_USAGE;
	}
	if (!n_watch && !n_progs) {
		fprintf(stderr, "eunomia-agent: nothing to watch: give --watch DIR or watch: in the config\n");
		code = DAEMON_EXIT_USAGE;
	}
	for (size_t i = 0; i < n_watch; i++) {
		const char *dir = cfg.watch[i];
		struct stat st;
		if (stat(dir, &st) || !S_ISDIR(st.st_mode))
			fprintf(stderr, "eunomia-agent: warning: watch %s: %s\n", dir,
				errno == ENOENT ? "does not exist (yet)" : "not a directory");
	}
	if (a->prometheus && check_prometheus(a))
		code = DAEMON_EXIT_USAGE;
	size_t problems = code == DAEMON_EXIT_OK ? eu_config_check_packages(&cfg, progs, n_progs,
									     stderr)
						 : 0;
	if (problems) {
		fprintf(stderr, "eunomia-agent: %zu problem%s with the packages: they would fail to "
			"load\n", problems, problems == 1 ? "" : "s");
		code = DAEMON_EXIT_FAIL;
	}
	size_t n_sinks = a->cli.n_sinks ? a->cli.n_sinks : (cfg.n_sinks ? cfg.n_sinks : 1);
	if (code == DAEMON_EXIT_OK)
		printf("%s: OK: %zu watch director%s, %zu sink%s, %zu package setting%s\n",
		       a->config ? a->config : "(command line)", n_watch, n_watch == 1 ? "y" : "ies",
		       n_sinks, n_sinks == 1 ? "" : "s", n_packages, n_packages == 1 ? "" : "s");
	if (code == DAEMON_EXIT_OK && n_progs)
		printf("%s: OK: %zu program%s with metric rules\n", a->exporter_config, n_progs,
		       n_progs == 1 ? "" : "s");
	eu_exporter_programs_free(progs, n_progs);
	eu_config_free(&cfg);
	return code;
}

/* Tracepoint packages need tracefs; mount it when nobody has (as `run` does). */
static void ensure_tracefs(void)
{
	struct eu_features f;
	eu_features_init(&f);
	if (eu_features_has(&f, EU_FEATURE_TRACEFS) ||
	    eu_features_reason(&f, EU_FEATURE_TRACEFS) == -EACCES)
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
		eu_log(EU_LOG_INFO, "tracefs was not mounted: mounted it on /sys/kernel/tracing");
	else
		eu_log(EU_LOG_WARN, "tracefs is not mounted and mounting it failed (%s): tracepoint "
		       "packages will not attach", strerror(errno));
}

int eu_cli_daemon(int argc, char **argv)
{
	struct daemon_args a;
	memset(&a, 0, sizeof(a));
	int code = DAEMON_EXIT_OK;
	char *metrics_token = NULL;
	if (parse_args(&a, argc, argv)) {
		code = DAEMON_EXIT_USAGE;
		goto out;
	}
	if (a.help) {
		fputs(eu_cli_daemon_usage(), stdout);
		goto out;
	}
	if (a.help_sinks) {
		eu_sink_help(stdout);
		goto out;
	}
	if (a.check) {
		code = check_config(&a);
		goto out;
	}
	if (a.cli.log_level_set)
		eu_log_set_level(a.cli.log_level);
	if (a.metrics_token_file && !(metrics_token = cli_api_read_token(a.metrics_token_file))) {
		code = DAEMON_EXIT_USAGE;
		goto out;
	}
	if (cli_api_check(&a.api)) {
		code = DAEMON_EXIT_USAGE;
		goto out;
	}
	/* a daemon that cannot call bpf() at all is told so now, not once per package */
	struct eu_privileges priv;
	eu_privileges_current(&priv);
	eu_error perr = {0};
	if (eu_privileges_check(&priv, EU_PRIV_BPF, &perr)) {
		eu_log(EU_LOG_ERROR, "%s", perr.msg);
		code = DAEMON_EXIT_FAIL;
		goto out;
	}
	ensure_tracefs();
	struct eu_daemon_opts o = {.sz = sizeof(o), .config_path = a.config, .cli = &a.cli,
				   .prometheus = a.prometheus, .exporter_config = a.exporter_config,
				   .btf_archive_dir = a.btf_archive, .metrics_token = metrics_token,
				   .prom_without_type_suffix = a.prom_without_type_suffix};
	cli_api_daemon_opts(&a.api, &o);
	struct eu_daemon *d = NULL;
	eu_error err = {0};
	if (eu_daemon_new(&o, &d, &err)) {
		eu_log(EU_LOG_ERROR, "%s", err.msg);
		code = err.code == -EINVAL ? DAEMON_EXIT_USAGE : DAEMON_EXIT_FAIL;
		goto out;
	}
	/* the API's socket is bound before any package attaches: a port in use fails the start
	 * at once, with nothing loaded */
	struct eu_api *api = NULL;
	if (cli_api_start(&a.api, d, &api)) {
		eu_daemon_free(d);
		code = DAEMON_EXIT_USAGE;
		goto out;
	}
	if (eu_daemon_watch(d, &err)) {
		eu_log(EU_LOG_ERROR, "%s", err.msg);
		eu_api_free(api);
		eu_daemon_free(d);
		code = DAEMON_EXIT_FAIL;
		goto out;
	}
	code = eu_daemon_run(d) ? DAEMON_EXIT_FAIL : DAEMON_EXIT_OK;
	eu_api_free(api);
	eu_daemon_free(d);
out:
	free(metrics_token);
	eu_config_free(&a.cli);
	return code;
}
