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

/* --- ELF files --- */
struct eu_elf_syms;

/* The function symbols of an ELF file (.symtab and .dynsym; a stripped file's .symtab from
 * /usr/lib/debug/.build-id/xx/yyyy.debug when installed), its executable PT_LOAD segments
 * and its GNU build-id. */
int eu_elf_syms_load(const char *path, struct eu_elf_syms **out, eu_error *err);
void eu_elf_syms_free(struct eu_elf_syms *e);
/* The function containing vaddr (an address as the ELF file lays it out), or NULL. */
const char *eu_elf_syms_lookup(const struct eu_elf_syms *e, uint64_t vaddr, uint64_t *offset);
/* A file offset (from /proc/PID/maps) as the ELF virtual address; false outside the
 * executable segments. */
bool eu_elf_syms_vaddr(const struct eu_elf_syms *e, uint64_t file_offset, uint64_t *vaddr);
/* Whether path defines a function of this name (a scan without building a table). */
bool eu_elf_defines_function(const char *path, const char *func);
/* The build-id as hex, "" when the file has none. */
const char *eu_elf_syms_build_id(const struct eu_elf_syms *e);

/* --- processes --- */
struct eu_usyms;

int eu_usyms_new(struct eu_usyms **out);
void eu_usyms_free(struct eu_usyms *u);
/* The function containing addr in process pid, or NULL; *module (may be NULL) gets the
 * mapped file's name or "[vdso]"-like name when the address is mapped at all (NULL when not).
 * Strings stay valid while u lives. */
const char *eu_usyms_lookup(struct eu_usyms *u, uint32_t pid, uint64_t addr, uint64_t *offset,
			    const char **module);

/* --- stack frames --- */
struct eu_stack_syms;

/* Kernel and user tables together, each loaded at its first use. */
int eu_stack_syms_new(struct eu_stack_syms **out);
void eu_stack_syms_free(struct eu_stack_syms *s);
/* Whether addr is a kernel address (the upper half of the address space). */
bool eu_stack_addr_is_kernel(uint64_t addr);
/* A frame's name: a kernel address from /proc/kallsyms, a user address from process pid's
 * mappings; "[unknown]" when it cannot be named (with_names false: "0x..." always). Valid
 * until the next call on s. kallsyms unreadable or hidden (kptr_restrict) is logged once. */
const char *eu_stack_syms_name(struct eu_stack_syms *s, uint32_t pid, uint64_t addr,
			       bool with_names);

#endif
