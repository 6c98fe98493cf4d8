/* Error values: every failure in the library is a negative errno plus a message that names
 * the thing (file, field, program) and the reason. The library never prints or exits. */
#ifndef EUNOMIA_ERROR_H
#define EUNOMIA_ERROR_H

#include <stddef.h>

#define EU_ERROR_MSG_MAX 512

typedef struct eu_error {
	int code;                    /* negative errno, 0 when no error */
	char msg[EU_ERROR_MSG_MAX];  /* human-readable, no trailing newline */
} eu_error;

/* Records code (made negative) and the formatted message; returns the negative code so
 * callers can write `return eu_error_set(err, -EINVAL, "...")`. err may be NULL. */
int eu_error_set(eu_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (keeps the code); returns err->code. */
int eu_error_prefix(eu_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void eu_error_clear(eu_error *err);

#endif
