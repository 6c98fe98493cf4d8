/* The command-line front end (linked into the executable only). */
#ifndef EUNOMIA_CLI_PRIV_H
#define EUNOMIA_CLI_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "eunomia/buf.h"
#include "eunomia/log.h"
#include "eunomia/record.h"

struct eu_export;

#define CLI_NAME "eunomia-agent"

/* Exit codes. */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,  /* the package could not be read, loaded or attached */
	CLI_EXIT_USAGE = 2, /* bad command line */
};

/* The value of `--name VALUE` or `--name=VALUE` at argv[*i] (advancing *i past a separate
 * value). *matched tells whether argv[*i] is --name at all: NULL with *matched set means the
 * value is missing. Callers test `(v = cli_option_value(...)) || matched`. */
const char *cli_option_value(int argc, char **argv, int *i, const char *name, bool *matched);

/* `pull` and `push` (cli_oci.c): argv excludes the command word. */
int cli_pull(int argc, char **argv);
int cli_push(int argc, char **argv);

/* `run`: argv excludes the command word. */
int cli_run(int argc, char **argv);
void cli_run_usage(eu_buf *out);
struct eu_features;
/* Mounts tracefs when it is missing (tracepoints need it); says so either way. */
void cli_ensure_tracefs(struct eu_features *features);

/* `run` of a WebAssembly module (cli_wasm.c). cli_wasm_wanted tells whether the run line
 * names one (by -p/--prog-type, the .wasm name or the file's magic) and where its argument
 * is; cli_wasm_run runs it. */
bool cli_wasm_wanted(int argc, char **argv, int *target);
struct eu_oci_blob;
/* pulled: the module when argv[target] is an image already pulled (taken), else NULL */
int cli_wasm_run(int argc, char **argv, int target, struct eu_oci_blob *pulled);
/* Whether a run argument names an OCI image (a reference that is no file here). */
bool cli_arg_is_image(const char *arg);
/* upstream's program types: 0 a package (JsonEunomia, json, Tar, tar), 1 a Wasm module
 * (WasmModule, wasm), -1 unknown */
int cli_prog_type(const char *name);

/* Event output to stdout: one buffer, written after each batch (not per event). */
struct cli_output {
	eu_buf buf;
	bool json;
	bool broken;      /* stdout is gone (EPIPE): stop quietly */
	int fd;
	time_t time_sec;  /* the second time_str was made for */
	char time_str[16];
	const struct eu_export *header_for; /* text mode: whose header was printed last */
	bool print_header;
	/* --record: the daemon's record envelope (eunomia/record.h) instead of bare structs */
	bool record;
	struct eu_record_meta meta;
	struct eu_record_clock clock;
	char version[13];
	char host[256];
	/* one record source per export, made as the daemon makes them; remade when the export's
	 * plan changes (a plan chosen by the first record's size) */
	struct cli_record_src {
		const struct eu_export *exp;
		const struct eu_plan *plan;
		struct eu_record_source *src;
	} *srcs;
	size_t n_srcs;
};

void cli_output_init(struct cli_output *o, int fd, bool json, bool print_header);
void cli_output_free(struct cli_output *o);
struct eu_package;
/* Switches to the daemon's records (JSON): package name and version from pkg. */
void cli_output_use_records(struct cli_output *o, const struct eu_package *pkg);
/* Prints the text header of exp (text mode) unless it is the last one printed. */
void cli_output_header(struct cli_output *o, const struct eu_export *exp);
void cli_output_event(struct cli_output *o, const struct eu_export *exp, const void *data,
		      size_t size);
void cli_output_sample(struct cli_output *o, const struct eu_export *exp, const void *key,
		       size_t key_size, const void *value, size_t value_size);
/* Writes the buffer out; false once stdout is broken. */
bool cli_output_flush(struct cli_output *o);

/* `run --trace-pipe` (cli_trace.c): the trace pipe's lines on stdout ({"trace_pipe": LINE} in
 * JSON) until stopped; stop prints what is still in the pipe and releases everything. */
struct cli_trace {
	uv_poll_t poll;
	int fd;
	bool active;
	struct cli_output *out;
	char *line;   /* the current line, up to its cap */
	size_t len;
	bool cut;
	uint64_t lines_cut;
};

int cli_trace_start(struct cli_trace *t, uv_loop_t *loop, struct cli_output *out);
void cli_trace_stop(struct cli_trace *t);

/* The stderr log sink main installs. */
void cli_log_sink(void *ctx, enum eu_log_level level, const char *msg);

#endif
