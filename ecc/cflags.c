/* What ecc adds to clang's command line besides its fixed flags: the BPF ISA level for this
 * kernel and the user's own compiler flags. */
#include "ecc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

const char *ecc_default_mcpu(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return "v1";
	unsigned v = major * 1000 + minor;
	/* v3 adds 32-bit jumps (kernel 5.1); v2 adds JLT/JLE/JSLT/JSLE (4.14) */
	if (v >= 5001)
		return "v3";
	if (v >= 4014)
		return "v2";
	return "v1";
}

int ecc_argv_add(char ***argv, size_t *n, const char *w, size_t len)
{
	char **v = realloc(*argv, (*n + 2) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	*argv = v;
	if (!(v[*n] = strndup(w, len)))
		return -ENOMEM;
	v[++*n] = NULL;
	return 0;
}

int ecc_split_flags(const char *text, char ***argv, size_t *n)
{
	size_t cap = strlen(text) + 1;
	char *word = malloc(cap);
	if (!word)
		return -ENOMEM;
	const char *p = text;
	int rc = 0;
	while (!rc) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		size_t len = 0;
		char quote = 0;
		for (; *p && (quote || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
			if (quote && *p == quote) {
				quote = 0;
			} else if (!quote && (*p == '\'' || *p == '"')) {
				quote = *p;
			} else if (*p == '\\' && p[1] && quote != '\'') {
				word[len++] = *++p;
			} else {
				word[len++] = *p;
			}
		}
		if (quote)
			rc = -EINVAL;
		else
			rc = ecc_argv_add(argv, n, word, len);
	}
	free(word);
	return rc;
}

void ecc_argv_free(char **argv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
}
