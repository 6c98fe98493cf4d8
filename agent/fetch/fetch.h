/* Fetching a package over http(s) with libcurl (blocking: `run` fetches before its loop starts;
 * the daemon uses its own non-blocking client). */
#ifndef EUNOMIA_FETCH_H
#define EUNOMIA_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"

struct eu_fetch_opts {
	size_t sz;
	size_t max_bytes;        /* 0: EU_PACKAGE_MAX_BYTES */
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;         /* whole transfer; 0: 60 s */
	long max_redirects;      /* 0: 5; negative: none followed */
};

/* Whether s looks like an http:// or https:// URL. */
bool eu_fetch_is_url(const char *s);

/* Downloads url into a malloc'd buffer (*data, *size; NUL-terminated beyond size). Only
 * http and https, also across redirects. Errors name the URL and the HTTP status or the
 * transport's reason. */
int eu_fetch_url(const char *url, const struct eu_fetch_opts *opts, void **data, size_t *size,
		 eu_error *err);

#endif
