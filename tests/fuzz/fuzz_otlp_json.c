/* Fuzzes the record-line JSON reader of the otlp sink (eu_otlp_log_from_json). Accepted input
 * must produce a LogRecord that the generated protobuf-c decoder reads back with only UTF-8
 * strings; refused input must append nothing and carry a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"

#include "sinks/otlp/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const char *s)
{
	if (eu_utf8_valid_prefix(s, strlen(s)) != strlen(s))
		abort();
}

static void check_value(const Opentelemetry__Proto__Common__V1__AnyValue *v)
{
	if (!v)
		return;
	if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
		check_utf8(v->string_value);
	if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE)
		for (size_t i = 0; i < v->array_value->n_values; i++)
			check_value(v->array_value->values[i]);
	if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE)
		for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
			check_utf8(v->kvlist_value->values[i]->key);
			check_value(v->kvlist_value->values[i]->value);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	eu_buf out;
	eu_buf_init(&out);
	char *pkg = NULL, *ver = NULL;
	eu_error err = {0};
	struct eu_otlp_json_opts o = {.observed_unix_nano = 1};
	int ret = eu_otlp_log_from_json((const char *)data, size, &o, &out, &pkg, &ver, &err);
	if (ret) {
		if (out.len || !err.msg[0] || pkg || ver)
			abort();
	} else {
		Opentelemetry__Proto__Logs__V1__LogRecord *lr =
			opentelemetry__proto__logs__v1__log_record__unpack(NULL, out.len,
									   (uint8_t *)out.data);
		if (!lr)
			abort();
		check_utf8(lr->event_name);
		for (size_t i = 0; i < lr->n_attributes; i++) {
			check_utf8(lr->attributes[i]->key);
			check_value(lr->attributes[i]->value);
		}
		opentelemetry__proto__logs__v1__log_record__free_unpacked(lr, NULL);
	}
	free(pkg);
	free(ver);
	eu_buf_free(&out);
	return 0;
}
