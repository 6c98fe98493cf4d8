/* ecc internals: the toolchain runner, the header scanner that injects the export-struct
 * dummies, and the `///` comment reader. main.c ties them to eu_meta_from_object. */
#ifndef ECC_H
#define ECC_H

#include <stdbool.h>
#include <stddef.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"
#include "eunomia/package.h"

/* An executable: the path in environment variable env (when set), else the first of names
 * found on PATH or in /usr/sbin, /sbin, /usr/local/sbin. malloc'd, or NULL. */
char *ecc_find_tool(const char *env, const char *const *names);

/* Runs argv (argv[0] a full path) with posix_spawn, no shell. stdout goes to stdout_path when
 * not NULL (created/truncated), else it is inherited; stderr is captured into *errout
 * (malloc'd, may be empty) when errout is not NULL. Returns the exit status, 128+signal, or
 * a negative errno when the program could not be started. */
int ecc_run(const char *const *argv, const char *stdout_path, char **errout, bool verbose);

/* Reads a whole file (NUL-terminated). NULL with errno set on failure. */
char *ecc_read_file(const char *path, size_t *size);
/* Writes data to path atomically (a temporary beside it, then rename). */
int ecc_write_file(const char *path, const void *data, size_t size, eu_error *err);

/* The names of every `struct NAME {` defined in a C header, in order, without duplicates;
 * comments, strings and character literals are skipped. *names is a malloc'd array of
 * malloc'd strings. */
int ecc_header_structs(const char *text, char ***names, size_t *n);
void ecc_free_names(char **names, size_t n);

/* Applies what the `///` comments of a .bpf.c source say to the meta: variable descriptions
 * and cmdargs, map samples and export configs, and the file's doc. Problems that make the
 * package wrong (bad JSON after @cmdarg, ...) are errors naming path:line; a comment on a
 * name the object does not have is reported through warn (may be NULL). */
/* summary.c: "NAME: N program(s), M map(s)" and what user space gets from the package:
 * the struct its ring buffer / perf event array sends, else its @sample maps and their
 * value types ("samples map hists (struct hist)"), else that it sends no events. */
void ecc_summary(const struct eu_package *pkg, eu_buf *out);

typedef void (*ecc_warn_fn)(void *ctx, const char *msg);
int ecc_apply_comments(struct eu_package *pkg, const char *src, const char *path, ecc_warn_fn warn,
		       void *warn_ctx, eu_error *err);

/* An uncompressed tar in memory (tar_write.c): one regular file per call, then the end. */
void ecc_tar_add(eu_buf *out, const char *name, const void *data, size_t size);
void ecc_tar_finish(eu_buf *out);

/* `ecc --btfgen` (btfgen.c): writes tar_path holding package_json as package.json and, per
 * kernel BTF under archive_dir (btfhub-archive layout, .btf or .btf.tar.xz files; NULL: this
 * machine's own BTF), the minimal BTF for obj as btfhub-archive/<ID>/<VERSION_ID>/<machine>/
 * <release>.btf. Prints how many kernels and the sizes. 0 or 1 (the message printed). */
int ecc_btfgen(const char *tar_path, const char *package_json, const void *obj, size_t obj_size,
	       const char *archive_dir, bool verbose);
struct eu_buf;
/* ecc --wasm-header: appends to out the C header (guard macro `guard`) with the object's
 * export structs and map key/value structs laid out for a wasm32 module (wasm_header.c). */
int ecc_wasm_header(const void *elf, size_t size, const char *guard, struct eu_buf *out,
		    eu_error *err);
/* Writes that header as DIR/NAME.wasm.h (DIR: out_dir, else the source's directory) for the
 * object or source named source; prints what it wrote or why not. 0 or 1. */
int ecc_write_wasm_header(const void *elf, size_t size, const char *source, const char *out_dir);

/* vmlinux.h from the kernel BTF at btf_path (vmlinux_gen.c): every type, then an
 * `extern ... __weak __ksym` declaration of each kfunc the BTF tags (bpf_kfunc decl tags),
 * inside #ifndef BPF_NO_KFUNC_PROTOTYPES. Written atomically; *n_kfuncs gets their number. */
int ecc_write_vmlinux_h(const char *btf_path, const char *out_path, size_t *n_kfuncs,
			eu_error *err);

/* clang's -mcpu for this machine's kernel (cflags.c): "v3" from 5.1 (32-bit jumps and
 * ALU32), "v2" from 4.14, else "v1". */
const char *ecc_default_mcpu(void);
/* Appends the words of text (split at blanks; '...' and "..." group words, \ escapes) to
 * *argv (*n words, malloc'd copies). -EINVAL for an unterminated quote. */
int ecc_split_flags(const char *text, char ***argv, size_t *n);
/* Appends a copy of w[0..len) to the NULL-terminated vector *argv of *n words. */
int ecc_argv_add(char ***argv, size_t *n, const char *w, size_t len);
/* Frees such a vector. */
void ecc_argv_free(char **argv, size_t n);

#endif
