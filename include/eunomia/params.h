/* Run-time parameters: the global variables of a package's data sections (.rodata, .bss,
 * .data, ...) as command-line options, typed by their BTF VAR type and written at their BTF
 * DATASEC offset into the section's initial bytes before load.
 *
 * Option names: `--NAME VALUE`, `--NAME=VALUE`, cmdarg.long instead of NAME, `-S VALUE` /
 * `-SVALUE` for cmdarg.short. Bools take no value: `--NAME` sets true; `--enable-NAME` and
 * `--disable-NAME` set true/false (help shows the one that changes the default);
 * `--NAME=true|false|1|0|yes|no`. Integers: decimal or 0x hex, a minus sign only for signed
 * types, range-checked. char[N]: the text plus a NUL must fit. Floats: strtod syntax, stored in
 * native (little-endian) byte order. Enums: an enumerator name or a number. Arrays of those
 * (`const volatile __u16 target_ports[8]`): comma-separated elements, each checked like a
 * scalar, the rest zero; a variable named `<NAME>_len`, `_cnt`, `_count`, `n_<NAME>` or
 * `nr_<NAME>` that the user did not set gets the number of elements given.
 *
 * Order of values: the ELF's initial bytes, then the meta's `value` preset, then
 * `cmdarg.default`, then the command line. Variables whose type cannot be set from text
 * (pointers, structs, arrays of arrays) and `__eunomia_dummy*` ones are not options. */
#ifndef EUNOMIA_PARAMS_H
#define EUNOMIA_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"

struct btf;
struct eu_package;

enum eu_param_kind {
	EU_PARAM_INT = 1,  /* 1..16 bytes, signed or unsigned */
	EU_PARAM_BOOL,
	EU_PARAM_CHARS,    /* char[N] */
	EU_PARAM_FLOAT,    /* 4 or 8 bytes */
	EU_PARAM_ENUM,
	EU_PARAM_ARRAY,    /* T[N] of integers, bools, floats or enums: "80,443" */
};

struct eu_param_type {
	enum eu_param_kind kind;
	uint32_t size;      /* bytes of the variable */
	bool is_signed;
	const struct btf *btf; /* enums: where the enumerators are */
	uint32_t type_id;   /* the resolved type (typedefs and modifiers skipped) */
	char name[64];      /* the C spelling for messages: "unsigned long long", "__u32", "char[16]" */
	/* EU_PARAM_ARRAY: the element's kind and size (size is the whole array) */
	enum eu_param_kind elem_kind;
	uint32_t elem_size;
	uint32_t n_elems;
};

/* Classifies BTF type type_id. -EOPNOTSUPP for types that cannot be parameters. */
int eu_param_type_from_btf(const struct btf *btf, uint32_t type_id, struct eu_param_type *out,
			   eu_error *err);

/* Parses text as a value of type t into out (t->size bytes, fully written on success).
 * option names the option in messages ("--min_duration_ns"). */
int eu_param_parse_value(const struct eu_param_type *t, const char *option, const char *text,
			 void *out, eu_error *err);

/* Appends value (t->size bytes) as text: what --help shows as the default. */
void eu_param_format_value(const struct eu_param_type *t, const void *value, eu_buf *out);

/* The accepted range of an integer type as text, "0..4294967295". */
void eu_param_range_text(const struct eu_param_type *t, eu_buf *out);

struct eu_param {
	const char *name;        /* the variable */
	const char *long_name;   /* cmdarg.long or the variable name */
	char short_name;         /* cmdarg.short, or 0 */
	const char *section;     /* ".rodata" */
	uint32_t offset;         /* in the section (BTF DATASEC) */
	struct eu_param_type type;
	const char *help;        /* cmdarg.help or description, or NULL */
	const char *default_text; /* the value before the command line, as text */
	bool set;                /* differs from the ELF: preset or command line */
};

struct eu_params;

/* Gives the current initial bytes of a section (".rodata"), or NULL when the object has no
 * such section. */
typedef const void *(*eu_section_data_fn)(void *ctx, const char *section, size_t *size);

struct eu_params_opts {
	size_t sz;
	eu_section_data_fn section_data; /* NULL: every variable starts as zero bytes */
	void *ctx;
};

/* Builds the option table from the package's data-section meta and the object's BTF (its
 * DATASECs give each variable's type and offset). With no meta sections (a bare object), every
 * variable of every data DATASEC is an option. btf must outlive the table. */
int eu_params_new(const struct eu_package *pkg, const struct btf *btf,
		  const struct eu_params_opts *opts, struct eu_params **out, eu_error *err);
void eu_params_free(struct eu_params *p);

size_t eu_params_count(const struct eu_params *p);
const struct eu_param *eu_params_at(const struct eu_params *p, size_t i);
/* Index of the option with this long name (without dashes), or -1. */
int eu_params_find(const struct eu_params *p, const char *long_name);
/* Current bytes of option i (type.size of them). */
const void *eu_params_value(const struct eu_params *p, size_t i);

int eu_params_set(struct eu_params *p, size_t i, const char *text, eu_error *err);

/* Parses package options: every element of argv must be one (or its value). */
int eu_params_parse_argv(struct eu_params *p, int argc, char *const argv[], eu_error *err);

/* Writes every option that is set into data (the section's initial bytes, size of them). */
int eu_params_patch_section(const struct eu_params *p, const char *section, void *data,
			    size_t size, eu_error *err);

/* Appends the "Options:" part of --help: one entry per option with its type, default and
 * help text. */
void eu_params_help(const struct eu_params *p, eu_buf *out);

/* A parameter value given as JSON (a NAME.params.json sidecar, the control API's params) as
 * the text eu_params_set takes: a string as is, a bool as "true"/"false", a number in num
 * (integers exactly, others with full precision). NULL for any other JSON type. */
struct cJSON;
#define EU_PARAM_NUM_MAX 64
const char *eu_param_json_text(const struct cJSON *v, char num[EU_PARAM_NUM_MAX]);

#endif
