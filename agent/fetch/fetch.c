#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eunomia/package.h"

struct fetch_buf {
	char *data;
	size_t len, cap, max;
	bool too_big;
};

bool eu_fetch_is_url(const char *s)
{
	return s && (!strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8));
}

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct fetch_buf *b = userdata;
	size_t n = size * nmemb;
	if (n > b->max - b->len) {
		b->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

int eu_fetch_url(const char *url, const struct eu_fetch_opts *opts_in, void **data, size_t *size,
		 eu_error *err)
{
	struct eu_fetch_opts opts = {0};
	if (opts_in)
		memcpy(&opts, opts_in, opts_in->sz < sizeof(opts) ? opts_in->sz : sizeof(opts));
	*data = NULL;
	*size = 0;
	if (!eu_fetch_is_url(url))
		return eu_error_set(err, -EINVAL, "%s: not an http(s) URL", url);
	struct fetch_buf b = {.max = opts.max_bytes ? opts.max_bytes : EU_PACKAGE_MAX_BYTES};
	CURL *h = curl_easy_init();
	if (!h)
		return eu_error_set(err, -ENOMEM, "%s: cannot initialise libcurl", url);
	char curl_err[CURL_ERROR_SIZE] = "";
	long redirects = opts.max_redirects ? opts.max_redirects : 5;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, redirects > 0 ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, redirects > 0 ? redirects : 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 opts.connect_timeout_ms ? opts.connect_timeout_ms : 10000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, opts.timeout_ms ? opts.timeout_ms : 60000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "eunomia-agent/" EU_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip'd JSON is much smaller */
	if ((size_t)b.max < (size_t)1 << 62)
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b.max);

	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	int ret = 0;
	if (b.too_big || rc == CURLE_FILESIZE_EXCEEDED)
		ret = eu_error_set(err, -EFBIG, "%s: larger than the %zu-byte package limit", url,
				   b.max);
	else if (rc == CURLE_TOO_MANY_REDIRECTS)
		ret = eu_error_set(err, -ELOOP, "%s: more than %ld redirects", url, redirects);
	else if (rc != CURLE_OK)
		ret = eu_error_set(err, -EIO, "%s: %s", url,
				   curl_err[0] ? curl_err : curl_easy_strerror(rc));
	else if (status < 200 || status >= 300)
		ret = eu_error_set(err, -ENOENT, "%s: HTTP status %ld", url, status);
	if (ret) {
		free(b.data);
		return ret;
	}
	if (!b.data) {
		b.data = calloc(1, 1);
		if (!b.data)
			return eu_error_set(err, -ENOMEM, "out of memory");
	}
	*data = b.data;
	*size = b.len;
	return 0;
}
