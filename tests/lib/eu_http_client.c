#include "eu_http_client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct eu_http_resp *r = ud;
	char *nb = realloc(r->body, r->len + sz * n + 1);
	if (!nb)
		return 0; /* libcurl fails the transfer: the test sees a negative status */
	r->body = nb;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

struct eu_http_resp eu_http_request(const char *url, const struct eu_http_call *call)
{
	static const struct eu_http_call get = {0};
	if (!call)
		call = &get;
	struct eu_http_resp r = {0};
	CURL *c = curl_easy_init();
	if (!c) {
		r.status = -(long)CURLE_FAILED_INIT;
		r.body = strdup("");
		return r;
	}
	/* "Expect: 100-continue" would hold a POST body back for a second */
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; call->headers && call->headers[i]; i++)
		h = curl_slist_append(h, call->headers[i]);
	if (call->unix_socket)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, call->unix_socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method ? call->method : "GET");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, call->timeout_ms ? call->timeout_ms : 10000L);
	if (call->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, call->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->len);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	else
		r.status = -(long)rc;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (!r.body)
		r.body = strdup("");
	return r;
}

void eu_http_resp_free(struct eu_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

char *eu_http_get(const char *url)
{
	struct eu_http_resp r = eu_http_request(url, NULL);
	if (r.status != 200) {
		eu_http_resp_free(&r);
		return NULL;
	}
	return r.body;
}
