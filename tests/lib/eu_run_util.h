/* Helpers for the `run` integration tests (tests/integration/test_run_*.c): compiling a test
 * BPF source with clang, temporary directories, and finding the BPF programs a process holds. */
#ifndef EU_RUN_UTIL_H
#define EU_RUN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A fresh directory under /tmp (malloc'd path), removed by eu_tmpdir_remove. */
char *eu_tmpdir(const char *tag);
void eu_tmpdir_remove(const char *dir);

/* clang -g -O2 -target bpf src -o out (with the libbpf headers); returns 0 or clang's exit
 * status, *log (may be NULL) gets its output. */
int eu_compile_bpf(const char *src, const char *out, char **log);

/* Writes size bytes to path; 0 or -errno. */
int eu_write_file(const char *path, const void *data, size_t size);

/* The ids of the BPF programs process pid holds open (from /proc/PID/fdinfo): how many, or
 * -1 with errno when they cannot be read (ESRCH: the process is gone or a zombie), so that a
 * dead process is never taken for one that holds no program. */
ssize_t eu_prog_ids_of(pid_t pid, uint32_t *ids, size_t max);
/* The info of the BPF map named name (the kernel's 15-character name) that process pid holds
 * open; false when it holds none or is gone. */
struct bpf_map_info;
bool eu_map_info_of(pid_t pid, const char *name, struct bpf_map_info *info);
/* The ids of the BPF links process pid holds open: what the kernel has attached for it; -1
 * with errno as eu_prog_ids_of. */
ssize_t eu_link_ids_of(pid_t pid, uint32_t *ids, size_t max);
/* Whether a BPF program with this id still exists in the kernel. */
bool eu_prog_id_exists(uint32_t id);

/* Base64 of data (malloc'd, NUL-terminated), wrapped at wrap columns when wrap > 0. */
char *eu_base64(const void *data, size_t size, size_t wrap);

#endif
