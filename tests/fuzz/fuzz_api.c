/* Fuzzes the control API's request handling without sockets: routing, query and header
 * parsing, JSON bodies (upstream's /task form, /log, /stop), base64 and parameters. Input:
 * "METHOD URL\n" then "Name: value\n" header lines, an empty line, and the body. Every answer
 * must have a status, and every error must be a JSON {"error": {"code", "message"}}. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/api.h"
#include "http/http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16

static struct eu_api *api;
static uv_loop_t loop;

static char *take_line(char **p, char *end)
{
	char *s = *p;
	if (s >= end)
		return NULL;
	char *nl = memchr(s, '\n', (size_t)(end - s));
	if (!nl)
		nl = end;
	*nl = '\0';
	*p = nl < end ? nl + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!api) {
		uv_loop_init(&loop);
		struct eu_api_opts o = {.sz = sizeof(o), .max_body = 1 << 16};
		eu_error err = {0};
		if (eu_api_new(NULL, &loop, &o, &api, &err))
			abort();
	}
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *p = buf, *end = buf + size;
	char *first = take_line(&p, end);
	if (!first) {
		free(buf);
		return 0;
	}
	char *sp = strchr(first, ' ');
	const char *method = first, *url = "/";
	if (sp) {
		*sp = '\0';
		url = sp + 1;
	}
	const char *headers[MAX_HEADERS + 1];
	size_t nh = 0;
	char *line;
	while (nh < MAX_HEADERS && (line = take_line(&p, end)) && *line)
		headers[nh++] = line;
	headers[nh] = NULL;
	struct eu_http_result res;
	if (eu_http_server_dispatch(eu_api_server(api), method, url, headers, p, (size_t)(end - p),
				    &res) == 0) {
		if (res.status < 200 || res.status > 599)
			abort();
		if (res.status >= 400) {
			cJSON *j = cJSON_ParseWithLength(res.body.data ? res.body.data : "",
							 res.body.len);
			cJSON *e = cJSON_GetObjectItem(j, "error");
			if (!cJSON_GetStringValue(cJSON_GetObjectItem(e, "code")) ||
			    !cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")))
				abort();
			cJSON_Delete(j);
		}
		eu_http_result_free(&res);
	}
	free(buf);
	return 0;
}
