/* Turning code addresses into function names: kernel addresses from /proc/kallsyms, user
 * addresses from /proc/PID/maps and the ELF symbol tables of the mapped files.
 *
 * Both tables are loaded once and kept (a process's table by pid, an ELF file's symbols by
 * path, size and mtime), so symbolising a stream of stacks reads each file once. Nothing is
 * thread-safe: one owner (the consumer's loop thread) per table. */
#ifndef EUNOMIA_SYMBOLS_H
#define EUNOMIA_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/error.h"

/* --- kernel --- */
struct eu_ksyms;

/* Reads path (NULL: /proc/kallsyms). Addresses all zero (kptr_restrict) is -EPERM with a
 * message saying so. */
int eu_ksyms_load(const char *path, struct eu_ksyms **out, eu_error *err);
void eu_ksyms_free(struct eu_ksyms *k);
/* The function containing addr, or NULL; *offset (may be NULL) gets addr - its start. */
const char *eu_ksyms_lookup(const struct eu_ksyms *k, uint64_t addr, uint64_t *offset);
/* Whether a text symbol of this name exists; *module (may be NULL) gets its module name
 * ("" for vmlinux), valid while k lives. */
bool eu_ksyms_find(const struct eu_ksyms *k, const char *name, const char **module);
size_t eu_ksyms_count(const struct eu_ksyms *k);

#endif
