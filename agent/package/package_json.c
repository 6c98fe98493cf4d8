/* Typed reads from cJSON whose every error names the origin, the JSON path and the reason. */
#include "package_priv.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eu_pj_init(struct eu_pj *c, const char *origin, eu_error *err)
{
	c->origin = origin;
	c->err = err;
	c->len = 0;
	c->path[0] = '\0';
}

static size_t pj_append(struct eu_pj *c, const char *s)
{
	size_t old = c->len;
	size_t n = strlen(s);
	size_t room = sizeof(c->path) - 1 - c->len;
	if (n > room) {
		/* an absurdly deep path: keep the start, mark the cut */
		if (room >= 3) {
			memcpy(c->path + c->len, s, room - 3);
			memcpy(c->path + c->len + room - 3, "...", 3);
		}
		n = room;
	} else {
		memcpy(c->path + c->len, s, n);
	}
	c->len += n;
	c->path[c->len] = '\0';
	return old;
}

size_t eu_pj_push_key(struct eu_pj *c, const char *key)
{
	size_t old = c->len;
	if (c->len)
		pj_append(c, ".");
	pj_append(c, key);
	return old;
}

size_t eu_pj_push_index(struct eu_pj *c, size_t index)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "[%zu]", index);
	return pj_append(c, tmp);
}

void eu_pj_pop(struct eu_pj *c, size_t len)
{
	if (len <= c->len) {
		c->len = len;
		c->path[len] = '\0';
	}
}

static int pj_vfail(struct eu_pj *c, int code, const char *fmt, va_list ap)
{
	char msg[EU_ERROR_MSG_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->len)
		return eu_error_set(c->err, code, "%s: %s: %s", c->origin, c->path, msg);
	return eu_error_set(c->err, code, "%s: %s", c->origin, msg);
}

int eu_pj_fail(struct eu_pj *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = pj_vfail(c, code, fmt, ap);
	va_end(ap);
	return rc;
}

int eu_pj_fail_key(struct eu_pj *c, const char *key, int code, const char *fmt, ...)
{
	size_t mark = eu_pj_push_key(c, key);
	va_list ap;
	va_start(ap, fmt);
	int rc = pj_vfail(c, code, fmt, ap);
	va_end(ap);
	eu_pj_pop(c, mark);
	return rc;
}

const char *eu_pj_type_name(const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	return "invalid value";
}

int eu_pj_type_error(struct eu_pj *c, const char *key, const char *want, const cJSON *v)
{
	return eu_pj_fail_key(c, key, -EINVAL, "expected %s, got %s", want, eu_pj_type_name(v));
}

static int pj_missing(struct eu_pj *c, const char *key, const char *want)
{
	return eu_pj_fail_key(c, key, -EINVAL, "missing (required: %s)", want);
}

const cJSON *eu_pj_get(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return v && !cJSON_IsNull(v) ? v : NULL;
}

char *eu_pj_strdup(struct eu_pj *c, const char *s)
{
	char *d = strdup(s);
	if (!d)
		eu_pj_fail(c, -ENOMEM, "out of memory");
	return d;
}

int eu_pj_cstr(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
	       const char **out)
{
	const cJSON *v = eu_pj_get(obj, key);
	*out = NULL;
	if (!v)
		return required ? pj_missing(c, key, "a string") : 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return eu_pj_type_error(c, key, "a string", v);
	*out = v->valuestring;
	return 0;
}

int eu_pj_string(struct eu_pj *c, const cJSON *obj, const char *key, bool required, char **out)
{
	const char *text;
	int rc = eu_pj_cstr(c, obj, key, required, &text);
	if (rc || !text)
		return rc;
	char *s = eu_pj_strdup(c, text);
	if (!s)
		return -ENOMEM;
	free(*out);
	*out = s;
	return 0;
}

int eu_pj_bool(struct eu_pj *c, const cJSON *obj, const char *key, bool def, bool *out)
{
	const cJSON *v = eu_pj_get(obj, key);
	*out = def;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return eu_pj_type_error(c, key, "a boolean", v);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* A JSON number that must be an integer in [lo, hi]. */
static int pj_integer(struct eu_pj *c, const char *key, const cJSON *v, double lo, double hi,
		      double *out)
{
	if (!cJSON_IsNumber(v))
		return eu_pj_fail_key(c, key, -EINVAL, "expected an integer, got %s",
				      eu_pj_type_name(v));
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < lo || d > hi)
		return eu_pj_fail_key(c, key, -EINVAL, "expected an integer from %.0f to %.0f, got %.17g",
				      lo, hi, d);
	*out = d;
	return 0;
}

int eu_pj_u32(struct eu_pj *c, const cJSON *obj, const char *key, bool required, uint32_t def,
	      uint32_t *out)
{
	const cJSON *v = eu_pj_get(obj, key);
	*out = def;
	if (!v)
		return required ? pj_missing(c, key, "an integer") : 0;
	double d = 0;
	int rc = pj_integer(c, key, v, 0, (double)UINT32_MAX, &d);
	if (!rc)
		*out = (uint32_t)d;
	return rc;
}

int eu_pj_int(struct eu_pj *c, const cJSON *obj, const char *key, int def, int *out)
{
	const cJSON *v = eu_pj_get(obj, key);
	*out = def;
	if (!v)
		return 0;
	double d = 0;
	int rc = pj_integer(c, key, v, (double)INT32_MIN, (double)INT32_MAX, &d);
	if (!rc)
		*out = (int)d;
	return rc;
}

int eu_pj_size(struct eu_pj *c, const cJSON *obj, const char *key, uint64_t max, uint64_t *out,
	       bool *present)
{
	const cJSON *v = eu_pj_get(obj, key);
	*out = 0;
	*present = false;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return eu_pj_type_error(c, key, "an integer", v);
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < 0)
		return eu_pj_fail_key(c, key, -EINVAL, "expected a byte count, got %.17g", d);
	if (d > (double)max)
		return eu_pj_fail_key(c, key, -EFBIG, "%.0f bytes exceeds the limit of %llu bytes", d,
				      (unsigned long long)max);
	*out = (uint64_t)d;
	*present = true;
	return 0;
}

int eu_pj_object(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
		 const cJSON **out)
{
	const cJSON *v = eu_pj_get(obj, key);
	*out = NULL;
	if (!v)
		return required ? pj_missing(c, key, "an object") : 0;
	if (!cJSON_IsObject(v))
		return eu_pj_type_error(c, key, "an object", v);
	*out = v;
	return 0;
}

int eu_pj_array(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
		const cJSON **out, size_t *count)
{
	const cJSON *v = eu_pj_get(obj, key);
	*out = NULL;
	*count = 0;
	if (!v)
		return required ? pj_missing(c, key, "an array") : 0;
	if (!cJSON_IsArray(v))
		return eu_pj_type_error(c, key, "an array", v);
	size_t n = 0;
	for (const cJSON *e = v->child; e; e = e->next)
		n++;
	*out = v;
	*count = n;
	return 0;
}

/* The largest integer a JSON number (a double) holds with every neighbour distinct: 2^53 - 1 */
#define JSON_EXACT_INT_MAX 9007199254740991.0

/* Shortest "%.*g" that reads back as the same double. */
static void format_double(char *buf, size_t size, double d)
{
	if (isfinite(d) && d == floor(d) && fabs(d) < 1e19) {
		snprintf(buf, size, "%.0f", d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

int eu_pj_scalar_text(struct eu_pj *c, const cJSON *obj, const char *key, char **out)
{
	const cJSON *v = eu_pj_get(obj, key);
	if (!v)
		return 0;
	char tmp[64];
	const char *text;
	if (cJSON_IsBool(v)) {
		text = cJSON_IsTrue(v) ? "true" : "false";
	} else if (cJSON_IsNumber(v)) {
		/* cJSON keeps only the double: past 2^53 the digits written are already lost, and
		 * 64-bit presets would change silently */
		double d = v->valuedouble;
		if (isfinite(d) && d == floor(d) && fabs(d) > JSON_EXACT_INT_MAX)
			return eu_pj_fail_key(c, key, -ERANGE,
					      "%.0f is past 2^53, where JSON numbers lose digits: "
					      "write it as a string (\"%.0f\")",
					      d, d);
		format_double(tmp, sizeof(tmp), d);
		text = tmp;
	} else if (cJSON_IsString(v) && v->valuestring) {
		text = v->valuestring;
	} else {
		return eu_pj_type_error(c, key, "a boolean, number or string", v);
	}
	char *s = eu_pj_strdup(c, text);
	if (!s)
		return -ENOMEM;
	free(*out);
	*out = s;
	return 0;
}

int eu_pj_parse_array(struct eu_pj *c, const cJSON *obj, const char *key, bool required,
		      size_t elem_size, void **items, size_t *count, eu_pj_elem_fn fn)
{
	const cJSON *arr;
	size_t n;
	*items = NULL;
	int rc = eu_pj_array(c, obj, key, required, &arr, &n);
	if (rc || !n)
		return rc;
	char *base = calloc(n, elem_size);
	if (!base)
		return eu_pj_fail(c, -ENOMEM, "out of memory for %zu items", n);
	*items = base;
	size_t mark = eu_pj_push_key(c, key);
	size_t i = 0;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		size_t imark = eu_pj_push_index(c, i);
		*count = i + 1;
		if ((rc = fn(c, e, base + i * elem_size)))
			return rc;
		eu_pj_pop(c, imark);
	}
	eu_pj_pop(c, mark);
	return 0;
}

int eu_pj_expect_object(struct eu_pj *c, const cJSON *e)
{
	if (!cJSON_IsObject(e))
		return eu_pj_fail(c, -EINVAL, "expected an object, got %s", eu_pj_type_name(e));
	return 0;
}
