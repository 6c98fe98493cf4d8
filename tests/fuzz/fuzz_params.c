/* Fuzzes the package-option value parser. The first input byte picks a type (int of every
 * width and signedness, bool, char[16], float, double, enum, 128-bit ints), the rest is the
 * text. A parse must never write outside the value; an accepted integer, bool, char[N] or
 * enum must print back to text that parses to the same bytes; a refusal must carry a message
 * naming the option. */
#include <bpf/btf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_TYPES 12
#define GUARD 0xa5

static struct eu_param_type types[N_TYPES];
static struct btf *btf;

static void init_types(void)
{
	btf = btf__new_empty();
	if (!btf)
		abort();
	int ids[N_TYPES];
	ids[0] = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	ids[1] = btf__add_int(btf, "unsigned long long", 8, 0);
	ids[2] = btf__add_int(btf, "signed char", 1, BTF_INT_SIGNED);
	ids[3] = btf__add_int(btf, "unsigned short", 2, 0);
	ids[4] = btf__add_typedef(btf, "__u32", btf__add_int(btf, "unsigned int", 4, 0));
	ids[5] = btf__add_int(btf, "_Bool", 1, BTF_INT_BOOL);
	int c = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
	ids[6] = btf__add_array(btf, ids[0], c, 16);
	ids[7] = btf__add_float(btf, "float", 4);
	ids[8] = btf__add_float(btf, "double", 8);
	ids[9] = btf__add_enum(btf, "color", 4);
	btf__add_enum_value(btf, "RED", -1);
	btf__add_enum_value(btf, "GREEN", 1);
	btf__add_enum_value(btf, "BLUE", 0x7fffffff);
	ids[10] = btf__add_int(btf, "__int128", 16, BTF_INT_SIGNED);
	ids[11] = btf__add_int(btf, "unsigned __int128", 16, 0);
	for (int i = 0; i < N_TYPES; i++)
		if (ids[i] <= 0 || eu_param_type_from_btf(btf, (uint32_t)ids[i], &types[i], NULL))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!btf)
		init_types();
	if (size < 1 || size > 4096)
		return 0;
	const struct eu_param_type *t = &types[data[0] % N_TYPES];
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	uint8_t value[16 + 8];
	memset(value, GUARD, sizeof(value));
	eu_error err;
	eu_error_clear(&err);
	int ret = eu_param_parse_value(t, "--opt", text, value, &err);
	for (size_t i = t->size; i < sizeof(value); i++)
		if (value[i] != GUARD)
			abort(); /* wrote past the variable */
	if (ret) {
		if (ret != err.code || strncmp(err.msg, "--opt", 5))
			abort();
		free(text);
		return 0;
	}
	if (t->kind != EU_PARAM_FLOAT) {
		eu_buf b;
		eu_buf_init(&b);
		eu_param_format_value(t, value, &b);
		uint8_t again[16];
		memset(again, 0, sizeof(again));
		/* char[N] values print escaped: only plain printable text round-trips */
		bool plain = t->kind != EU_PARAM_CHARS;
		if (!plain) {
			plain = true;
			for (const char *p = text; *p; p++)
				plain &= (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f &&
					 *p != '\\';
		}
		if (plain && b.data) {
			if (eu_param_parse_value(t, "--opt", b.data, again, NULL))
				abort();
			if (memcmp(again, value, t->size))
				abort();
		}
		eu_buf_free(&b);
	}
	free(text);
	return 0;
}
