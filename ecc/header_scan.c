/* Finding the structs a header defines, so ecc can keep each one in the object's BTF with an
 * unused pointer variable (clang emits BTF only for types the program references). A token
 * scanner is enough: the header is C declarations, and only `struct NAME {` matters. */
#include "ecc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Skips whitespace, comments, and preprocessor lines (with continuations). */
static const char *skip_space(const char *p, bool *line_start)
{
	for (;;) {
		if (*p == '\n') {
			*line_start = true;
			p++;
		} else if (isspace((unsigned char)*p)) {
			p++;
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end ? end + 2 : p + strlen(p);
		} else if (*p == '#' && *line_start) {
			while (*p && *p != '\n') {
				if (*p == '\\' && p[1] == '\n')
					p++;
				p++;
			}
		} else {
			return p;
		}
	}
}

static const char *skip_quoted(const char *p)
{
	char q = *p++;
	while (*p && *p != q && *p != '\n') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	return *p == q ? p + 1 : p;
}

static int add_name(char ***names, size_t *n, const char *s, size_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*names)[i]) == len && strncmp((*names)[i], s, len) == 0)
			return 0;
	char **grown = realloc(*names, (*n + 1) * sizeof(**names));
	if (!grown)
		return -ENOMEM;
	*names = grown;
	grown[*n] = strndup(s, len);
	if (!grown[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

void ecc_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int ecc_header_structs(const char *text, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	/* the last three significant tokens: "struct", NAME, then "{" completes a definition */
	enum { NONE, SAW_STRUCT, SAW_NAME } state = NONE;
	const char *name = NULL;
	size_t name_len = 0;
	bool line_start = true;
	const char *p = text;
	for (;;) {
		p = skip_space(p, &line_start);
		if (!*p)
			break;
		line_start = false;
		if (*p == '"' || *p == '\'') {
			p = skip_quoted(p);
			state = NONE;
			continue;
		}
		if (ident_start(*p)) {
			const char *s = p;
			while (ident_char(*p))
				p++;
			size_t len = (size_t)(p - s);
			if (len == 6 && strncmp(s, "struct", 6) == 0) {
				state = SAW_STRUCT;
			} else if (state == SAW_STRUCT) {
				state = SAW_NAME;
				name = s;
				name_len = len;
			} else {
				state = NONE;
			}
			continue;
		}
		if (*p == '{' && state == SAW_NAME) {
			int r = add_name(names, n, name, name_len);
			if (r) {
				ecc_free_names(*names, *n);
				*names = NULL;
				*n = 0;
				return r;
			}
		}
		/* `struct __attribute__((packed)) NAME {` is rare in event headers: not handled */
		state = NONE;
		p++;
	}
	return 0;
}
