/* Option values on the command line, shared by every command's parser. */
#include <string.h>

#include "cli_priv.h"

const char *cli_option_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);
	*matched = false;
	if (strncmp(arg, name, n) || (arg[n] && arg[n] != '='))
		return NULL;
	*matched = true;
	if (arg[n] == '=')
		return arg + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}
