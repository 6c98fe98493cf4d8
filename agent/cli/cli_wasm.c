/* `eunomia-agent run [OPTIONS] MODULE.wasm|URL [MODULE ARGS]`: one wasm-bpf module in the
 * foreground. Its stdout and stderr are ours; we exit with its exit code. Options go before
 * the module: everything after it is the module's own (`run bootstrap.wasm -d 10`). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli_priv.h"
#include "core/file.h"
#include "eunomia/features.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "fetch/fetch.h"
#include "fetch/oci.h"
#include "wasm/wasm_module.h"

int cli_prog_type(const char *name)
{
	if (!strcmp(name, "WasmModule") || !strcmp(name, "wasm"))
		return 1;
	if (!strcmp(name, "JsonEunomia") || !strcmp(name, "json") || !strcmp(name, "Tar") ||
	    !strcmp(name, "tar"))
		return 0;
	return -1;
}

/* Run options that take a value (the scan below must skip their values). */
static bool takes_value(const char *arg)
{
	static const char *const names[] = {"--duration", "--sample-freq", "--log-level",
					    "--prog-type", "-p", "--callback-limit", "--map-size",
					    "--btf-archive", "--export-type"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(arg, names[i]))
			return true;
	return false;
}

static bool ends_with_wasm(const char *s)
{
	size_t n = strcspn(s, "?#"); /* a URL's query is not part of its name */
	return n >= 5 && !strncmp(s + n - 5, ".wasm", 5);
}

static bool file_is_wasm(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	unsigned char magic[4];
	bool yes = read(fd, magic, 4) == 4 && eu_wasm_is_module(magic, 4);
	close(fd);
	return yes;
}

bool cli_wasm_wanted(int argc, char **argv, int *target)
{
	int type = -1;
	*target = -1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			if (i + 1 < argc)
				*target = i + 1;
			break;
		}
		if (a[0] != '-' || !strcmp(a, "-")) { /* `-`: stdin (cli_run reads it) */
			*target = i;
			break;
		}
		const char *v = NULL;
		if (!strncmp(a, "--prog-type=", 12))
			v = a + 12;
		else if ((!strcmp(a, "-p") || !strcmp(a, "--prog-type")) && i + 1 < argc)
			v = argv[i + 1];
		if (v)
			type = cli_prog_type(v);
		if (takes_value(a))
			i++;
	}
	if (*target < 0 || type == 0)
		return false;
	if (type == 1)
		return true;
	const char *t = argv[*target];
	if (!strcmp(t, "-"))
		return false; /* its bytes decide, once read (cli_run) */
	return ends_with_wasm(t) || (!eu_fetch_is_url(t) && file_is_wasm(t));
}

static struct eu_wasm_module *volatile running;

static void on_stop_signal(int sig)
{
	struct eu_wasm_module *m = running;
	if (m)
		eu_wasm_module_stop(m);
}

static void install_signals(double duration)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a wait in progress returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (duration > 0) {
		struct itimerval it = {0};
		it.it_value.tv_sec = (time_t)duration;
		it.it_value.tv_usec = (suseconds_t)((duration - floor(duration)) * 1e6);
		if (!it.it_value.tv_sec && !it.it_value.tv_usec)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
}

static void restore_signals(void)
{
	struct itimerval off = {0};
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
}

static void usage_error(const char *what, const char *v)
{
	fprintf(stderr, CLI_NAME ": %s%s%s%s\n", what, v ? " (got '" : "", v ? v : "",
		v ? "')" : "");
}

struct wasm_args {
	double duration;
	uint32_t callback_limit_ms;
};

static int parse_options(int argc, char **argv, int target, struct wasm_args *w)
{
	for (int i = 0; i < target; i++) {
		const char *a = argv[i];
		const char *v;
		bool opt;
		if (!strcmp(a, "--") || !strcmp(a, "--json") || !strcmp(a, "-j")) {
			continue; /* events are the module's own output: --json changes nothing */
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			eu_log_set_level(EU_LOG_TRACE);
		} else if ((v = cli_option_value(argc, argv, &i, "--log-level", &opt)) || opt) {
			enum eu_log_level level;
			if (!v || eu_log_level_parse(v, &level)) {
				usage_error("--log-level takes error, warn, info, debug or trace", v);
				return -EINVAL;
			}
			eu_log_set_level(level);
		} else if ((v = cli_option_value(argc, argv, &i, "--duration", &opt)) || opt) {
			char *end = NULL;
			double d = v ? strtod(v, &end) : 0;
			if (!v || !*v || *end || !isfinite(d) || d <= 0 || d > 1e8) {
				usage_error("--duration needs a positive number of seconds", v);
				return -EINVAL;
			}
			w->duration = d;
		} else if ((v = cli_option_value(argc, argv, &i, "--callback-limit", &opt)) || opt) {
			char *end = NULL;
			unsigned long ms = v ? strtoul(v, &end, 10) : 0;
			if (!v || !*v || *end || ms < 1 || ms > 3600000) {
				usage_error("--callback-limit takes 1..3600000 (ms)", v);
				return -EINVAL;
			}
			w->callback_limit_ms = (uint32_t)ms;
		} else if ((v = cli_option_value(argc, argv, &i, "--prog-type", &opt)) || opt ||
			   (v = cli_option_value(argc, argv, &i, "-p", &opt)) || opt) {
			continue; /* cli_wasm_wanted read it */
		} else {
			fprintf(stderr, CLI_NAME ": '%s' is not a run option for a Wasm module "
				"(module options go after the module)\n", a);
			return -EINVAL;
		}
	}
	return 0;
}

static int read_module(const char *arg, struct eu_oci_blob *pulled, void **data, size_t *size,
		       eu_error *err)
{
	struct eu_oci_blob b = {0};
	if (pulled || cli_arg_is_image(arg)) {
		if (pulled) {
			b = *pulled;
			memset(pulled, 0, sizeof(*pulled));
		} else {
			int ret = eu_oci_pull(arg, NULL, &b, err);
			if (ret)
				return ret;
		}
		*data = b.data;
		*size = b.size;
		b.data = NULL;
		eu_oci_blob_free(&b);
		return 0;
	}
	if (eu_fetch_is_url(arg))
		return eu_fetch_url(arg, NULL, data, size, err);
	return eu_file_read(arg, EU_PACKAGE_MAX_BYTES, data, size, err);
}

int cli_wasm_run(int argc, char **argv, int target, struct eu_oci_blob *pulled)
{
	struct wasm_args w = {0};
	if (parse_options(argc, argv, target, &w))
		return CLI_EXIT_USAGE;
	const char *path = argv[target];
	eu_error err;
	eu_error_clear(&err);
	void *data = NULL;
	size_t size = 0;
	if (read_module(path, pulled, &data, &size, &err)) {
		eu_log(EU_LOG_ERROR, "%s", err.msg);
		return CLI_EXIT_FAIL;
	}
	const char *base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : path;
	/* argv[0] is the module's name, then the arguments after it */
	char **margv = calloc((size_t)(argc - target) + 1, sizeof(char *));
	if (!margv) {
		free(data);
		eu_log(EU_LOG_ERROR, "out of memory");
		return CLI_EXIT_FAIL;
	}
	margv[0] = (char *)base;
	for (int i = target + 1; i < argc; i++)
		margv[i - target] = argv[i];
	struct eu_wasm_opts o = {.sz = sizeof(o), .name = base, .argc = argc - target,
				 .argv = margv, .callback_limit_ms = w.callback_limit_ms};
	struct eu_wasm_module *m = NULL;
	int ret = eu_wasm_module_new(data, size, &o, &m, &err);
	free(data);
	free(margv);
	if (ret) {
		eu_log(EU_LOG_ERROR, "%s", err.msg);
		return CLI_EXIT_FAIL;
	}
	struct eu_features features;
	eu_features_init(&features);
	cli_ensure_tracefs(&features);

	running = m;
	install_signals(w.duration);
	int code = 0;
	enum eu_wasm_outcome out = eu_wasm_module_run(m, &code, &err);
	restore_signals();
	running = NULL;
	eu_wasm_module_free(m);
	switch (out) {
	case EU_WASM_EXITED:
		if (code)
			eu_log(EU_LOG_DEBUG, "%s exited with code %d", base, code);
		return code & 0xff;
	case EU_WASM_STOPPED:
		eu_log(EU_LOG_WARN, "%s", err.msg);
		return CLI_EXIT_OK;
	case EU_WASM_FAILED:
	default:
		eu_log(EU_LOG_ERROR, "%s", err.msg);
		return CLI_EXIT_FAIL;
	}
}
