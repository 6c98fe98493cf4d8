/* Internal to the package reader (package*.c): typed access to cJSON values whose errors name
 * the origin and the JSON path ("x.json: meta.bpf_skel.maps[1].name: expected a string, got
 * number"), and the steps shared by the envelope, legacy and skeleton-pair readers. */
#ifndef EUNOMIA_PACKAGE_PRIV_H
#define EUNOMIA_PACKAGE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "eunomia/package.h"

#define EU_PJ_PATH_MAX 200

/* A walk through one JSON document: where it came from and where we are in it. */
struct eu_pj {
	const char *origin;
	eu_error *err;
	size_t len;                  /* strlen(path) */
	char path[EU_PJ_PATH_MAX];   /* "meta.bpf_skel.maps[1]", "" at the root */
};

void eu_pj_init(struct eu_pj *c, const char *origin, eu_error *err);
/* Appends ".key" (or "key" at the root) / "[i]"; returns the length to restore with eu_pj_pop. */
size_t eu_pj_push_key(struct eu_pj *c, const char *key);
size_t eu_pj_push_index(struct eu_pj *c, size_t index);
void eu_pj_pop(struct eu_pj *c, size_t len);

/* "origin: path: <message>" (or "origin: <message>" at the root), returns code. */
int eu_pj_fail(struct eu_pj *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with the failing key appended to the path for this one message. */
int eu_pj_fail_key(struct eu_pj *c, const char *key, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "expected <want>, got <json type of v>" at path.key */
int eu_pj_type_error(struct eu_pj *c, const char *key, const char *want, const cJSON *v);
/* The JSON type of v as a word: "string", "number", "boolean", "null", "array", "object". */
const char *eu_pj_type_name(const cJSON *v);

/* Member lookup: NULL when absent or JSON null (null means "not given" everywhere). */
const cJSON *eu_pj_get(const cJSON *obj, const char *key);

/* Typed getters. Each returns 0 or a negative errno with the message set. A missing optional
 * value leaves the default (strings: NULL; containers: NULL). */
int eu_pj_string(struct eu_pj *c, const cJSON *obj, const char *key, bool required, char **out);
int eu_pj_bool(struct eu_pj *c, const cJSON *obj, const char *key, bool def, bool *out);
int eu_pj_u32(struct eu_pj *c, const cJSON *obj, const char *key, bool required, uint32_t def,
	      uint32_t *out);
int eu_pj_int(struct eu_pj *c, const cJSON *obj, const char *key, int def, int *out);
/* An unsigned size up to max; *present says whether it was given. */
int eu_pj_size(struct eu_pj *c, const cJSON *obj, const char *key, uint64_t max, uint64_t *out,
	       bool *present);
int eu_pj_object(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
		 const cJSON **out);
int eu_pj_array(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
		const cJSON **out, size_t *count);
/* A boolean, number or string rendered as text ("true", "12345", "1.5", "abc"); NULL when
 * absent. */
int eu_pj_scalar_text(struct eu_pj *c, const cJSON *obj, const char *key, char **out);

/* A string borrowed from the document (NULL when absent). */
int eu_pj_cstr(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
	       const char **out);

typedef int (*eu_pj_elem_fn)(struct eu_pj *c, const cJSON *e, void *item);

/* Parses the array at key under obj into a calloc'd array of elem_size items, one fn call per
 * element with "[i]" on the path. *items is set before the elements are parsed and *count
 * counts the elements started, so a failure part-way still frees what was filled. */
int eu_pj_parse_array(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
		      size_t elem_size, void **items, size_t *count, eu_pj_elem_fn fn);

/* "expected an object, got ..." at the current path unless e is an object. */
int eu_pj_expect_object(struct eu_pj *c, const cJSON *e);

/* strdup that records -ENOMEM in the walk's error; returns NULL on failure. */
char *eu_pj_strdup(struct eu_pj *c, const char *s);

/* Decodes a base64 object (zlib-compressed or a raw ELF) found at key under the current
 * path, checks the declared size when has_declared, and checks it is a BPF ELF. */
int eu_pkg_decode_object(struct eu_pj *c, const char *key, const char *text, size_t len,
			 bool has_declared, uint64_t declared, void **obj, size_t *obj_size);

/* 0 when data is a 64-bit ELF for EM_BPF; else -EINVAL with the reason in why. */
int eu_pkg_check_elf(const void *data, size_t size, char *why, size_t why_len);
/* Section, symbol, relocation and BTF consistency: what libbpf indexes through unchecked. */
int eu_pkg_check_elf_layout(const void *data, size_t size, char *why, size_t why_len);

/* The legacy flat format (package_legacy.c). root is the document object. */
int eu_pkg_parse_legacy(struct eu_pj *c, const cJSON *root, struct eu_package *pkg);

/* Checks export type ids (and export_config type ids) against the object's BTF; meta_path is
 * the JSON path of the meta object ("meta", or "" for a bare skeleton) for messages. */
int eu_pkg_check_btf(const struct eu_package *pkg, const char *meta_path, eu_error *err);

/* Detects the format of data and parses it into pkg (a tar too); *meta_path is where the meta
 * sits in the document for BTF messages, NULL when there is nothing to check. */
int eu_pkg_parse_buffer(struct eu_package *pkg, const void *data, size_t size,
			const char **meta_path, eu_error *err);

/* A .tar package (package_tar.c): its package.json through eu_pkg_parse_buffer, its
 * btfhub-archive/ files into pkg->btf_files. */
int eu_pkg_parse_tar(struct eu_package *pkg, const void *data, size_t size,
		     const char **meta_path, eu_error *err);

#endif
