/* `eunomia-agent run PKG|URL [--json] [--duration S] [--sample-freq HZ] [--map-size MAP=N]... [--attach PROG=BIN:FUNC[@PID]]... [--perf-event PROG=EVENT]... [-v] [--log-level L] [PACKAGE OPTIONS]`:
 * one package in the foreground, events on stdout, logs on stderr.
 *
 * Run options are recognised anywhere on the line; everything else (and everything after
 * `--`) is a package option. A package variable named like a run option (json, duration,
 * verbose, log-level, help) is therefore reachable only after `--`. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cli_priv.h"
#include "core/file.h"
#include "eunomia/consumer.h"
#include "eunomia/features.h"
#include "fetch/fetch.h"
#include "fetch/oci.h"
#include "kbtf/kbtf_cache.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/params.h"
#include "eunomia/program.h"
#include "wasm/wasm_module.h"

#define TRACEFS_DIR "/sys/kernel/tracing"

struct run_ctx {
	/* command line */
	const char *pkg_arg;
	struct eu_oci_blob *image; /* pkg_arg's image pulled once, or stdin's bytes (cli_run) */
	bool json, record, verbose, help, trace_pipe, raw_values;
	bool level_set;
	enum eu_log_level level;
	double duration;
	uint32_t sample_freq; /* --sample-freq: perf_event programs, Hz (0: 49) */
	struct eu_map_size *map_sizes; /* --map-size NAME=N (names malloc'd) */
	size_t n_map_sizes;
	const char *btf_archive; /* --btf-archive DIR: CO-RE targets for kernels without BTF */
	const char *export_type; /* --export-type: the struct records are decoded as */
	uint32_t interval_ms;    /* --interval: maps printed without @sample (0: 1 s) */
	const char **attach_specs; /* --attach PROGRAM=BINARY:FUNCTION[@PID] (argv strings) */
	size_t n_attach_specs;
	const char **perf_event_specs; /* --perf-event PROGRAM=EVENT[:period=N|:freq=HZ] */
	size_t n_perf_event_specs;
	char **pkg_argv;
	int pkg_argc;

	/* state */
	struct timespec t0;
	struct eu_features features;
	struct eu_kbtf_cache *kbtf; /* trimmed BTF from the on-disk store; NULL: libbpf's own */
	struct eu_package *pkg;
	struct eu_program *prog;
	struct eu_consumer *consumer;
	uv_loop_t loop;
	bool loop_init;
	uv_signal_t sigint, sigterm;
	uv_timer_t duration_timer;
	bool handles_init, duration_init;
	bool stopping;
	struct cli_output out;
	struct cli_trace trace;
	eu_error err;
};

void cli_run_usage(eu_buf *out)
{
	eu_buf_puts(out,
		    "Usage: " CLI_NAME " run PKG|URL|REF [OPTIONS] [PACKAGE OPTIONS]\n"
		    "\n"
		    "Loads one eBPF package, attaches its programs and prints its events until\n"
		    "interrupted. PKG is a package.json, a NAME.skel.json beside NAME.bpf.o, a bare\n"
		    "libbpf .bpf.o, a 2022-format package, a .tar package (package.json with a\n"
		    "btfhub-archive/ beside it), an http(s) URL of one of those, or - (read from\n"
		    "stdin, a package or a Wasm module, as upstream's `ecli run -`). REF is an OCI\n"
		    "image (registry/repo:tag or @sha256:DIGEST) pushed by `push` or upstream's\n"
		    "ecli; its login: $EUNOMIA_REGISTRY_USER or ~/.docker/config.json.\n"
		    "A WebAssembly module (wasm-bpf) runs with `" CLI_NAME " run [OPTIONS] MODULE.wasm\n"
		    "[MODULE ARGS]`: every argument after the module is the module's.\n"
		    "\n"
		    "Options:\n"
		    "  -j, --json            one JSON object per event instead of a text table\n"
		    "  --record              one daemon record per event (JSON: time, package,\n"
		    "                        version, event, host, fields), as the daemon's sinks\n"
		    "  --format FORMAT       text or auto (the table, the default), json (--json)\n"
		    "                        or record (--record)\n"
		    "  --duration SECONDS    stop after this long\n"
		    "  --sample-freq HZ      sampling frequency of perf_event programs (default 49)\n"
		    "  --map-size MAP=N      max_entries of a map (repeatable); maps the object leaves\n"
		    "                        at 0 get defaults (hash 10240, stack traces 16384)\n"
		    "  --btf-archive DIR     a btfhub-archive directory: on a kernel without BTF, the\n"
		    "                        CO-RE target is DIR/<ID>/<VERSION_ID>/<machine>/<release>.btf\n"
		    "  --trace-pipe          also print the kernel's trace pipe (bpf_printk output)\n"
		    "  --interval SECONDS    how often maps the programs fill are printed (default 1;\n"
		    "                        also at exit; @sample maps keep their own interval)\n"
		    "  --raw-values          print values as stored: no addresses, ports, signal,\n"
		    "                        errno or TCP state names read from field names\n"
		    "  --export-type NAME    decode events as this exported struct (default: the one\n"
		    "                        the programs send; -v says which and why)\n"
		    "  --attach PROG=BINARY:FUNCTION[@PID]\n"
		    "                        where a uprobe/uretprobe program attaches (usdt:\n"
		    "                        BINARY:PROVIDER:PROBE); needed for SEC(\"uprobe\")\n"
		    "  --perf-event PROG=EVENT[:period=N|:freq=HZ]\n"
		    "                        what a perf_event program samples on (default cpu-clock\n"
		    "                        at --sample-freq): hw:cache-misses, cpu-cycles,\n"
		    "                        instructions, sw:page-faults, task-clock, raw:0x1a,\n"
		    "                        TYPE:CONFIG; wins over the package's eu_perf_event\n"
		    "  -v, --verbose         debug logging, libbpf's included; counters at exit\n"
		    "  --log-level LEVEL     error, warn, info (default), debug or trace\n"
		    "  -p, --prog-type TYPE  JsonEunomia or WasmModule (default: from the name or\n"
		    "                        the content; a .wasm module runs as in `run x.wasm`)\n"
		    "  -h, --help            this help; after PKG, the package's options too\n"
		    "  --                    everything after it is a package option\n");
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static int parse_args(struct run_ctx *r, int argc, char **argv)
{
	r->pkg_argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!r->pkg_argv)
		return -ENOMEM;
	bool rest = false;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		bool opt;
		const char *v;
		if (rest) {
			r->pkg_argv[r->pkg_argc++] = argv[i];
			continue;
		}
		if (!strcmp(arg, "--")) {
			rest = true;
		} else if (!strcmp(arg, "--json") || !strcmp(arg, "-j")) {
			r->json = true;
		} else if (!strcmp(arg, "--record")) {
			r->record = true;
		} else if ((v = cli_option_value(argc, argv, &i, "--format", &opt)) || opt) {
			/* the daemon's option, spelled for run: the table is run's text */
			if (v && (!strcmp(v, "text") || !strcmp(v, "auto"))) {
				r->json = r->record = false;
			} else if (v && !strcmp(v, "json")) {
				r->json = true;
			} else if (v && !strcmp(v, "record")) {
				r->record = true;
			} else {
				fprintf(stderr, CLI_NAME ": --format takes text, auto, json or record\n");
				return -EINVAL;
			}
		} else if (!strcmp(arg, "--verbose") || !strcmp(arg, "-v")) {
			r->verbose = true;
		} else if (!strcmp(arg, "--trace-pipe")) {
			r->trace_pipe = true;
		} else if (!strcmp(arg, "--raw-values")) {
			r->raw_values = true;
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			r->help = true;
		} else if ((v = cli_option_value(argc, argv, &i, "--prog-type", &opt)) || opt ||
			   (v = cli_option_value(argc, argv, &i, "-p", &opt)) || opt) {
			/* a Wasm type never gets here (cli_wasm_wanted); the others are packages */
			if (!v || cli_prog_type(v) < 0) {
				fprintf(stderr, CLI_NAME ": -p/--prog-type takes JsonEunomia (json), "
					"WasmModule (wasm) or Tar\n");
				return -EINVAL;
			}
		} else if ((v = cli_option_value(argc, argv, &i, "--duration", &opt)) || opt) {
			char *end = NULL;
			double d = v ? strtod(v, &end) : 0;
			if (!v || !*v || *end || !isfinite(d) || d <= 0) {
				fprintf(stderr, CLI_NAME ": --duration needs a positive number of seconds%s%s%s\n",
					v ? " (got '" : "", v ? v : "", v ? "')" : "");
				return -EINVAL;
			}
			r->duration = d;
		} else if ((v = cli_option_value(argc, argv, &i, "--sample-freq", &opt)) || opt) {
			char *end = NULL;
			unsigned long hz = v ? strtoul(v, &end, 10) : 0;
			if (!v || !*v || *end || hz < 1 || hz > 100000) {
				fprintf(stderr, CLI_NAME ": --sample-freq takes 1..100000 (Hz)\n");
				return -EINVAL;
			}
			r->sample_freq = (uint32_t)hz;
		} else if ((v = cli_option_value(argc, argv, &i, "--map-size", &opt)) || opt) {
			char name[128];
			uint32_t entries;
			eu_error e = {0};
			if (eu_map_size_parse(v, name, sizeof(name), &entries, &e)) {
				fprintf(stderr, CLI_NAME ": --map-size: %s\n", e.msg);
				return -EINVAL;
			}
			struct eu_map_size *ms = realloc(r->map_sizes,
							 (r->n_map_sizes + 1) * sizeof(*ms));
			char *copy = strdup(name);
			if (!ms || !copy) {
				free(copy);
				if (ms)
					r->map_sizes = ms;
				return -ENOMEM;
			}
			r->map_sizes = ms;
			ms[r->n_map_sizes++] = (struct eu_map_size){.map = copy, .max_entries = entries};
		} else if ((v = cli_option_value(argc, argv, &i, "--btf-archive", &opt)) || opt) {
			if (!v || !*v) {
				fprintf(stderr, CLI_NAME ": --btf-archive needs a directory\n");
				return -EINVAL;
			}
			r->btf_archive = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--interval", &opt)) || opt) {
			char *end = NULL;
			double d = v ? strtod(v, &end) : 0;
			if (!v || !*v || *end || !isfinite(d) || d < 0.01 || d > 86400) {
				fprintf(stderr, CLI_NAME ": --interval takes 0.01..86400 seconds\n");
				return -EINVAL;
			}
			r->interval_ms = (uint32_t)(d * 1000.0);
		} else if ((v = cli_option_value(argc, argv, &i, "--export-type", &opt)) || opt) {
			if (!v || !*v) {
				fprintf(stderr, CLI_NAME ": --export-type needs a struct name\n");
				return -EINVAL;
			}
			r->export_type = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--attach", &opt)) || opt) {
			if (!v || !strchr(v, '=')) {
				fprintf(stderr, CLI_NAME ": --attach takes PROGRAM=BINARY:FUNCTION[@PID]\n");
				return -EINVAL;
			}
			const char **as = realloc(r->attach_specs,
						  (r->n_attach_specs + 1) * sizeof(*as));
			if (!as)
				return -ENOMEM;
			r->attach_specs = as;
			as[r->n_attach_specs++] = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--perf-event", &opt)) || opt) {
			const char *eq = v ? strchr(v, '=') : NULL;
			struct eu_perf_event ev;
			eu_error e = {0};
			if (!eq || eq == v) {
				fprintf(stderr, CLI_NAME ": --perf-event takes PROGRAM=EVENT"
					"[:period=N|:freq=HZ]\n");
				return -EINVAL;
			}
			if (eu_perf_event_parse(eq + 1, &ev, &e)) {
				fprintf(stderr, CLI_NAME ": --perf-event: %s\n", e.msg);
				return -EINVAL;
			}
			const char **ps = realloc(r->perf_event_specs,
						  (r->n_perf_event_specs + 1) * sizeof(*ps));
			if (!ps)
				return -ENOMEM;
			r->perf_event_specs = ps;
			ps[r->n_perf_event_specs++] = v;
		} else if ((v = cli_option_value(argc, argv, &i, "--log-level", &opt)) || opt) {
			if (!v || eu_log_level_parse(v, &r->level)) {
				fprintf(stderr, CLI_NAME ": --log-level takes error, warn, info, debug or trace\n");
				return -EINVAL;
			}
			r->level_set = true;
		} else if (!r->pkg_arg && (arg[0] != '-' || !strcmp(arg, "-"))) {
			r->pkg_arg = arg;
		} else if (!r->pkg_arg) {
			fprintf(stderr, CLI_NAME ": unknown run option '%s' (package options go after the package)\n",
				arg);
			return -EINVAL;
		} else {
			r->pkg_argv[r->pkg_argc++] = argv[i];
		}
	}
	return 0;
}

/* An image reference that is not a file here, pulled from its registry (fetch/oci.h), or
 * the bytes read from stdin for `run -`. */
static int read_package_image(struct run_ctx *r)
{
	struct eu_oci_blob *b = r->image;
	if (!b || !b->data)
		return eu_error_set(&r->err, -EINVAL, "%s: the image was not pulled", r->pkg_arg);
	if (!strcmp(r->pkg_arg, "-"))
		return eu_package_parse(b->data, b->size, "stdin", &r->pkg, &r->err);
	eu_log(EU_LOG_DEBUG, "pulled %s: %zu bytes, %s, manifest %s", r->pkg_arg, b->size,
	       b->media_type, b->digest);
	return eu_package_parse(b->data, b->size, r->pkg_arg, &r->pkg, &r->err);
}

/* `run -` (upstream's ecli reads the program from stdin): the whole input, then its bytes
 * say whether it is a package (any form a file may be) or a Wasm module. */
static int read_stdin(struct eu_oci_blob *out)
{
	eu_error err = {0};
	if (isatty(0)) {
		eu_log(EU_LOG_ERROR, "run -: stdin is a terminal; pipe a package or a Wasm module "
		       "into it (" CLI_NAME " run - < package.json)");
		return -EINVAL;
	}
	if (eu_fd_read(0, "stdin", EU_PACKAGE_MAX_BYTES, &out->data, &out->size, &err)) {
		eu_log(EU_LOG_ERROR, "run -: %s", err.msg);
		return err.code;
	}
	if (!out->size) {
		eu_log(EU_LOG_ERROR, "run -: stdin was empty: pipe a package or a Wasm module into it");
		return -ENODATA;
	}
	return 0;
}

bool cli_arg_is_image(const char *arg)
{
	return eu_oci_is_reference(arg) && access(arg, F_OK) != 0;
}

static int read_package(struct run_ctx *r)
{
	if (r->image)
		return read_package_image(r);
	if (!eu_fetch_is_url(r->pkg_arg))
		return eu_package_read_file(r->pkg_arg, &r->pkg, &r->err);
	void *data = NULL;
	size_t size = 0;
	int ret = eu_fetch_url(r->pkg_arg, NULL, &data, &size, &r->err);
	if (ret)
		return ret;
	ret = eu_package_parse(data, size, r->pkg_arg, &r->pkg, &r->err);
	free(data);
	return ret;
}

static void print_help(struct run_ctx *r)
{
	eu_buf b;
	eu_buf_init(&b);
	cli_run_usage(&b);
	if (r->pkg) {
		const struct eu_doc *doc = &r->pkg->doc;
		eu_buf_printf(&b, "\nPackage %s", r->pkg->name ? r->pkg->name : r->pkg_arg);
		if (doc->version)
			eu_buf_printf(&b, " %s", doc->version);
		if (doc->brief)
			eu_buf_printf(&b, ": %s", doc->brief);
		eu_buf_putc(&b, '\n');
		if (doc->description)
			eu_buf_printf(&b, "%s\n", doc->description);
		if (doc->details)
			eu_buf_printf(&b, "%s\n", doc->details);
		eu_buf_putc(&b, '\n');
		eu_params_help(r->prog ? eu_program_params(r->prog) : NULL, &b);
	}
	fputs(b.data ? b.data : "", stdout);
	fflush(stdout);
	eu_buf_free(&b);
}

/* Tracepoints need tracefs; mount it if nobody has (the build and tests mount nothing). */
void cli_ensure_tracefs(struct eu_features *features)
{
	if (eu_features_has(features, EU_FEATURE_TRACEFS))
		return;
	/* mounted, but not ours to enter: the load says which privilege is missing */
	if (eu_features_reason(features, EU_FEATURE_TRACEFS) == -EACCES)
		return;
	if (mount("tracefs", TRACEFS_DIR, "tracefs", 0, NULL) == 0) {
		eu_log(EU_LOG_INFO, "tracefs was not mounted: mounted it on " TRACEFS_DIR);
	} else {
		eu_log(EU_LOG_WARN,
		       "tracefs is not mounted and mounting it on " TRACEFS_DIR " failed (%s): "
		       "tracepoint programs will not attach; as root: mount -t tracefs tracefs "
		       TRACEFS_DIR, strerror(errno));
	}
	eu_features_forget(features, EU_FEATURE_TRACEFS);
	eu_features_forget(features, EU_FEATURE_KPROBES);
	eu_features_forget(features, EU_FEATURE_UPROBES);
}

static void print_counters(struct run_ctx *r)
{
	if (!r->verbose || !r->consumer)
		return;
	for (size_t i = 0; i < eu_consumer_export_count(r->consumer); i++) {
		const struct eu_export *exp = eu_consumer_export(r->consumer, i);
		struct eu_export_stats s;
		eu_export_get_stats(exp, &s);
		eu_log(EU_LOG_INFO,
		       "%s: %s: received %llu, decoded %llu, lost %llu, decode errors %llu, "
		       "reserve failures %llu, drains %llu",
		       eu_program_name(r->prog), eu_export_map_name(exp),
		       (unsigned long long)s.received, (unsigned long long)s.decoded,
		       (unsigned long long)s.lost, (unsigned long long)s.decode_errors,
		       (unsigned long long)s.reserve_failures, (unsigned long long)s.drains);
	}
}

static void run_stop(struct run_ctx *r)
{
	if (r->stopping)
		return;
	r->stopping = true;
	cli_trace_stop(&r->trace);
	if (r->consumer) {
		eu_consumer_stop(r->consumer);
		if (!r->out.broken)
			eu_consumer_drain(r->consumer);
		cli_output_flush(&r->out);
		print_counters(r);
		eu_consumer_close(r->consumer, NULL, NULL);
		r->consumer = NULL;
	}
	if (r->handles_init) {
		uv_close((uv_handle_t *)&r->sigint, NULL);
		uv_close((uv_handle_t *)&r->sigterm, NULL);
	}
	if (r->duration_init)
		uv_close((uv_handle_t *)&r->duration_timer, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct run_ctx *r = h->data;
	eu_log(EU_LOG_DEBUG, "%s: stopping", strsignal(signum));
	run_stop(r);
}

static void on_duration(uv_timer_t *t)
{
	run_stop(t->data);
}

static void on_event(void *ctx, const struct eu_export *exp, const void *data, size_t size)
{
	struct run_ctx *r = ctx;
	cli_output_event(&r->out, exp, data, size);
}

static void on_sample(void *ctx, const struct eu_export *exp, const void *key, size_t ks,
		      const void *value, size_t vs)
{
	struct run_ctx *r = ctx;
	cli_output_sample(&r->out, exp, key, ks, value, vs);
}

static void on_batch(void *ctx, const struct eu_export *exp)
{
	struct run_ctx *r = ctx;
	if (!cli_output_flush(&r->out)) {
		eu_log(EU_LOG_DEBUG, "stdout closed: stopping");
		run_stop(r);
	}
}

static int fail(struct run_ctx *r)
{
	eu_log(EU_LOG_ERROR, "%s", r->err.msg[0] ? r->err.msg : "failed");
	return CLI_EXIT_FAIL;
}

/* Prints the verifier's last lines after a rejected load. */
static void print_load_log(struct run_ctx *r)
{
	const char *log = eu_program_load_log(r->prog);
	if (!*log)
		return;
	const char *start = log + strlen(log);
	int lines = 0;
	while (start > log && lines < 25) {
		start--;
		if (*start == '\n' && start[1])
			lines++;
	}
	if (*start == '\n')
		start++;
	eu_log(EU_LOG_ERROR, "verifier log (last lines):\n%s", start);
}

/* Sets up the loop and starts consuming before anything is attached: a perf event array
 * only delivers to CPUs whose buffer is open, so events sent between attach and a later
 * consumer start would be lost. */
static int run_prepare(struct run_ctx *r)
{
	int ret = uv_loop_init(&r->loop);
	if (ret) {
		eu_error_set(&r->err, ret, "cannot create the event loop: %s", uv_strerror(ret));
		return fail(r);
	}
	r->loop_init = true;
	struct eu_consumer_opts co = {.sz = sizeof(co), .on_event = on_event, .on_sample = on_sample,
				      .on_batch = on_batch, .ctx = r, .export_type = r->export_type,
				      .sample_interval_ms = r->interval_ms,
				      .raw_values = r->raw_values};
	if (eu_consumer_new(&r->loop, r->prog, &co, &r->consumer, &r->err))
		return fail(r);
	uv_signal_init(&r->loop, &r->sigint);
	uv_signal_init(&r->loop, &r->sigterm);
	r->sigint.data = r->sigterm.data = r;
	r->handles_init = true;
	uv_signal_start(&r->sigint, on_signal, SIGINT);
	uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	if (eu_consumer_export_count(r->consumer) == 1)
		cli_output_header(&r->out, eu_consumer_export(r->consumer, 0));
	cli_output_flush(&r->out);
	if (eu_consumer_start(r->consumer, &r->err))
		return fail(r);
	return CLI_EXIT_OK;
}

/* Silence is an error: a package that would print nothing fails here (after attach, so a
 * program that cannot attach reports that first), unless it prints with bpf_printk, whose
 * lines go to the trace pipe (--trace-pipe prints them). */
static int check_output(struct run_ctx *r)
{
	const char *silence = eu_consumer_silence(r->consumer);
	bool printk = eu_consumer_uses_printk(r->consumer);
	if (silence && !printk && !r->trace_pipe) {
		eu_log(EU_LOG_ERROR, "%s", silence);
		return CLI_EXIT_FAIL;
	}
	if (silence && printk && !r->trace_pipe)
		eu_log(EU_LOG_INFO, "%s: the programs print with bpf_printk: their lines go to the "
		       "kernel's trace pipe (" TRACEFS_DIR "/trace_pipe), not here; run with "
		       "--trace-pipe to print them", eu_program_name(r->prog));
	if (r->trace_pipe && cli_trace_start(&r->trace, &r->loop, &r->out))
		return CLI_EXIT_FAIL;
	return CLI_EXIT_OK;
}

static int run_loop(struct run_ctx *r)
{
	if (r->duration > 0) {
		uv_timer_init(&r->loop, &r->duration_timer);
		r->duration_timer.data = r;
		r->duration_init = true;
		double ms = r->duration * 1000.0;
		uv_timer_start(&r->duration_timer, on_duration, ms > 1 ? (uint64_t)ms : 1, 0);
	}
	uv_run(&r->loop, UV_RUN_DEFAULT);
	return CLI_EXIT_OK;
}

int cli_run(int argc, char **argv)
{
	int target = -1;
	bool wasm = cli_wasm_wanted(argc, argv, &target);
	struct eu_oci_blob image = {0};
	if (target >= 0 && !strcmp(argv[target], "-")) {
		if (read_stdin(&image))
			return CLI_EXIT_FAIL;
		if (wasm || eu_wasm_is_module(image.data, image.size))
			return cli_wasm_run(argc, argv, target, &image);
	} else if (wasm) {
		return cli_wasm_run(argc, argv, target, NULL);
	}
	/* an image is pulled once, here: its bytes say whether it is a module or a package */
	if (target >= 0 && !image.data && cli_arg_is_image(argv[target])) {
		eu_error err = {0};
		if (eu_oci_pull(argv[target], NULL, &image, &err)) {
			eu_log(EU_LOG_ERROR, "%s", err.msg);
			return CLI_EXIT_FAIL;
		}
		const char *type = eu_oci_media_type_of(image.data, image.size);
		if (type && !strcmp(type, EU_OCI_TYPE_WASM)) {
			int code = cli_wasm_run(argc, argv, target, &image);
			eu_oci_blob_free(&image);
			return code;
		}
	}
	struct run_ctx r;
	memset(&r, 0, sizeof(r));
	r.image = image.data ? &image : NULL;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	eu_features_init(&r.features);
	cli_output_init(&r.out, 1, false, true);
	int code = CLI_EXIT_OK;

	if (parse_args(&r, argc, argv)) {
		code = CLI_EXIT_USAGE;
		goto out;
	}
	if (r.verbose)
		eu_log_set_level(EU_LOG_TRACE);
	if (r.level_set)
		eu_log_set_level(r.level);
	r.out.json = r.json;
	if (!r.pkg_arg) {
		if (r.help) {
			print_help(&r);
			goto out;
		}
		fprintf(stderr, CLI_NAME ": run needs a package (see " CLI_NAME " run --help)\n");
		code = CLI_EXIT_USAGE;
		goto out;
	}

	if (read_package(&r)) {
		code = fail(&r);
		goto out;
	}
	eu_log(EU_LOG_DEBUG, "%s: read in %.1f ms", r.pkg_arg, elapsed_ms(&r.t0));
	r.out.print_header = r.pkg->print_header;
	/* a package loaded before on this boot skips the kernel BTF parse (kbtf_store.h);
	 * EUNOMIA_BTF_TRIM=0 leaves every load to libbpf, as in the daemon */
	const char *trim = getenv("EUNOMIA_BTF_TRIM");
	if (!trim || strcmp(trim, "0")) {
		struct eu_kbtf_cache_opts ko = {.defer_trim = true};
		if (eu_kbtf_cache_new_opts(&r.kbtf, &ko, NULL))
			r.kbtf = NULL;
	}
	if (r.record)
		cli_output_use_records(&r.out, r.pkg);
	struct eu_program_opts po = {.sz = sizeof(po), .features = &r.features,
				     .perf_sample_freq = r.sample_freq, .map_sizes = r.map_sizes,
				     .n_map_sizes = r.n_map_sizes, .btf_archive_dir = r.btf_archive,
				     .attach_specs = r.attach_specs,
				     .n_attach_specs = r.n_attach_specs, .kbtf_cache = r.kbtf,
				     .perf_event_specs = r.perf_event_specs,
				     .n_perf_event_specs = r.n_perf_event_specs};
	if (eu_program_open(r.pkg, &po, &r.prog, &r.err)) {
		if (r.help) {
			/* still show what we know */
			print_help(&r);
			goto out;
		}
		code = fail(&r);
		goto out;
	}
	if (r.help) {
		print_help(&r);
		goto out;
	}
	eu_log(EU_LOG_DEBUG, "%s: opened at %.1f ms", eu_program_name(r.prog), elapsed_ms(&r.t0));
	if (eu_params_parse_argv(eu_program_params(r.prog), r.pkg_argc, r.pkg_argv, &r.err)) {
		eu_log(EU_LOG_ERROR, "%s (see " CLI_NAME " run %s --help)", r.err.msg, r.pkg_arg);
		code = CLI_EXIT_USAGE;
		goto out;
	}
	cli_ensure_tracefs(&r.features);
	if (eu_program_load(r.prog, &r.err)) {
		eu_error_prefix(&r.err, "%s", eu_program_name(r.prog));
		code = fail(&r);
		print_load_log(&r);
		goto out;
	}
	eu_log(EU_LOG_DEBUG, "%s: loaded at %.1f ms", eu_program_name(r.prog), elapsed_ms(&r.t0));
	code = run_prepare(&r);
	if (code != CLI_EXIT_OK)
		goto out;
	if (eu_program_attach(r.prog, &r.err)) {
		eu_error_prefix(&r.err, "%s", eu_program_name(r.prog));
		code = fail(&r);
		goto out;
	}
	size_t n = eu_program_attached_count(r.prog);
	if ((code = check_output(&r)) != CLI_EXIT_OK)
		goto out;
	eu_log(EU_LOG_INFO, "%s: attached %zu program%s in %.1f ms", eu_program_name(r.prog), n,
	       n == 1 ? "" : "s", elapsed_ms(&r.t0));
	if (r.kbtf)
		eu_kbtf_cache_fill_later(r.kbtf);
	code = run_loop(&r);
	if (r.out.broken)
		code = CLI_EXIT_OK;

out:
	if (r.loop_init) {
		if (!r.stopping)
			run_stop(&r);
		uv_run(&r.loop, UV_RUN_DEFAULT);
		uv_loop_close(&r.loop);
	}
	cli_output_flush(&r.out);
	cli_output_free(&r.out);
	eu_program_close(r.prog);
	eu_kbtf_cache_free(r.kbtf);
	eu_package_free(r.pkg);
	free(r.pkg_argv);
	for (size_t i = 0; i < r.n_map_sizes; i++)
		free((char *)r.map_sizes[i].map);
	free(r.map_sizes);
	eu_oci_blob_free(&image);
	free(r.attach_specs);
	free(r.perf_event_specs);
	return code;
}
