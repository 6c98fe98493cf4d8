/* Fuzzes the http/json transcoder (otlp_wire_json.c), a parser of request bytes that may come
 * back from the disk spool: the first byte picks the request (logs or metrics), the rest is
 * its protobuf. Invariants: the answer is 0, -EINVAL or -ENOMEM; on 0 the output is UTF-8 and
 * one JSON value that cJSON reads whole; on failure the output is as it was. The whole input
 * is also read as an http/json Export response (its partial success). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/otlp/otlp_wire_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	enum eu_otlp_wire_request kind = data[0] & 1 ? EU_OTLP_WIRE_METRICS : EU_OTLP_WIRE_LOGS;
	eu_buf out;
	eu_buf_init(&out);
	eu_buf_puts(&out, "kept");
	eu_error err = {0};
	int ret = eu_otlp_wire_json(kind, data + 1, size - 1, &out, &err);
	if (ret == 0) {
		if (eu_utf8_valid_prefix(out.data, out.len) != out.len ||
		    strlen(out.data) != out.len)
			abort();
		const char *end = NULL;
		cJSON *j = cJSON_ParseWithOpts(out.data + 4, &end, true);
		if (!cJSON_IsObject(j))
			abort();
		cJSON_Delete(j);
	} else if (ret == -EINVAL) {
		if (out.len != 4 || strcmp(out.data, "kept") || !err.msg[0])
			abort();
	} else if (ret != -ENOMEM) {
		abort();
	}
	eu_buf_free(&out);

	int64_t rejected;
	char msg[64];
	ret = eu_otlp_wire_json_partial(kind, data, size, &rejected, msg, sizeof(msg), NULL);
	if (ret && ret != -EINVAL)
		abort();
	if (!memchr(msg, '\0', sizeof(msg)))
		abort();
	return 0;
}
