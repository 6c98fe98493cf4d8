#include "eunomia/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int eu_error_set(eu_error *err, int code, const char *fmt, ...)
{
	if (code > 0)
		code = -code;
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int eu_error_prefix(eu_error *err, const char *fmt, ...)
{
	if (!err)
		return 0;
	char prefix[EU_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* prefix, ": ", then as much of the old message as still fits */
	char joined[EU_ERROR_MSG_MAX];
	size_t plen = strlen(prefix);
	if (plen > sizeof(joined) - 3)
		plen = sizeof(joined) - 3;
	memcpy(joined, prefix, plen);
	memcpy(joined + plen, ": ", 2);
	size_t room = sizeof(joined) - plen - 3;
	size_t mlen = strnlen(err->msg, room);
	memcpy(joined + plen + 2, err->msg, mlen);
	joined[plen + 2 + mlen] = '\0';
	memcpy(err->msg, joined, sizeof(err->msg));
	return err->code;
}

void eu_error_clear(eu_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
