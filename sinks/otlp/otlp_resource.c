/* The OTLP Resource: who is sending (service, host, SDK) plus OTEL_RESOURCE_ATTRIBUTES. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "opentelemetry/proto/resource/v1/resource.pb-c.h"

#include "otlp.h"
#include "otlp_priv.h"

#ifndef EU_VERSION
#define EU_VERSION "0.0.0"
#endif

#define MAX_ATTRS 128

struct attrs {
	Opentelemetry__Proto__Common__V1__KeyValue kv[MAX_ATTRS];
	Opentelemetry__Proto__Common__V1__AnyValue val[MAX_ATTRS];
	Opentelemetry__Proto__Common__V1__KeyValue *ptr[MAX_ATTRS];
	size_t n;
};

/* Sets key to value, replacing an earlier value of the same key. Strings are borrowed. */
static void set_attr(struct attrs *a, const char *key, const char *value)
{
	size_t i;
	for (i = 0; i < a->n; i++)
		if (!strcmp(a->kv[i].key, key))
			break;
	if (i == a->n) {
		if (a->n == MAX_ATTRS)
			return;
		a->n++;
	}
	opentelemetry__proto__common__v1__key_value__init(&a->kv[i]);
	opentelemetry__proto__common__v1__any_value__init(&a->val[i]);
	a->kv[i].key = (char *)key;
	a->kv[i].value = &a->val[i];
	a->val[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	a->val[i].string_value = (char *)value;
	a->ptr[i] = &a->kv[i];
}

/* uname's machine -> the host.arch values of the semantic conventions */
static const char *host_arch(const char *machine)
{
	static const struct {
		const char *uname, *arch;
	} map[] = {
		{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"i686", "x86"}, {"i386", "x86"},
		{"armv7l", "arm32"}, {"ppc64le", "ppc64"}, {"ppc64", "ppc64"}, {"s390x", "s390x"},
		{"ppc", "ppc32"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].uname, machine))
			return map[i].arch;
	return machine;
}

int eu_otlp_resource_encode(const struct eu_otlp_resource_opts *opts, eu_buf *out,
			    eu_error *err)
{
	struct eu_otlp_resource_opts none = {0};
	if (!opts)
		opts = &none;
	struct attrs *a = calloc(1, sizeof(*a));
	if (!a)
		return eu_error_set(err, -ENOMEM, "OTLP resource: out of memory");
	struct utsname uts;
	if (uname(&uts))
		memset(&uts, 0, sizeof(uts));

	struct eu_otlp_kvs env = {0};
	int warn = 0;
	const char *ra = eu_otlp_env(opts->getenv, opts->getenv_ctx, "OTEL_RESOURCE_ATTRIBUTES");
	if (ra && eu_otlp_kvs_parse(ra, &env, err) < 0) {
		if (err && err->code == -ENOMEM) {
			free(a);
			return -ENOMEM;
		}
		eu_error_prefix(err, "OTEL_RESOURCE_ATTRIBUTES ignored");
		warn = 1;
	}
	const char *service = eu_otlp_env(opts->getenv, opts->getenv_ctx, "OTEL_SERVICE_NAME");

	set_attr(a, "service.name", "eunomia-agent");
	set_attr(a, "service.version", opts->service_version ? opts->service_version : EU_VERSION);
	set_attr(a, "host.name", opts->host_name ? opts->host_name : uts.nodename);
	set_attr(a, "host.arch", host_arch(uts.machine));
	set_attr(a, "os.type", "linux");
	set_attr(a, "telemetry.sdk.name", "eunomia-agent");
	set_attr(a, "telemetry.sdk.language", "c");
	set_attr(a, "telemetry.sdk.version", EU_VERSION);
	for (size_t i = 0; i < env.n; i++)
		set_attr(a, env.v[i].key, env.v[i].value);
	if (service)
		set_attr(a, "service.name", service);

	/* the variables' values are UTF-8 checked, the detected ones may not be */
	char *fixed[MAX_ATTRS] = {0};
	int ret = 0;
	for (size_t i = 0; i < a->n; i++) {
		const char *v = a->val[i].string_value;
		if (eu_utf8_valid_prefix(v, strlen(v)) != strlen(v)) {
			fixed[i] = eu_otlp_utf8_dup(v, strlen(v));
			if (!fixed[i]) {
				ret = -ENOMEM;
				goto out;
			}
			a->val[i].string_value = fixed[i];
		}
	}

	Opentelemetry__Proto__Resource__V1__Resource res;
	opentelemetry__proto__resource__v1__resource__init(&res);
	res.n_attributes = a->n;
	res.attributes = a->ptr;
	size_t len = opentelemetry__proto__resource__v1__resource__get_packed_size(&res);
	if (!eu_buf_reserve(out, len)) {
		ret = -ENOMEM;
		goto out;
	}
	opentelemetry__proto__resource__v1__resource__pack(&res, (uint8_t *)out->data + out->len);
	out->len += len;
	out->data[out->len] = '\0';
	ret = warn;
out:
	for (size_t i = 0; i < MAX_ATTRS; i++)
		free(fixed[i]);
	eu_otlp_kvs_free(&env);
	free(a);
	if (ret == -ENOMEM)
		return eu_error_set(err, -ENOMEM, "OTLP resource: out of memory");
	return ret;
}
