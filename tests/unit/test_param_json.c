/* JSON parameter values (sidecar files, the control API) as command-line text. */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <string.h>

#include "eunomia/params.h"

static void check(const char *json, const char *want)
{
	cJSON *v = cJSON_Parse(json);
	cr_assert_not_null(v, "%s", json);
	char num[EU_PARAM_NUM_MAX];
	memset(num, 'x', sizeof(num));
	const char *got = eu_param_json_text(v, num);
	if (want)
		cr_assert_str_eq(got, want, "%s", json);
	else
		cr_assert_null(got, "%s gave %s", json, got);
	cJSON_Delete(v);
}

Test(param_json, strings_and_bools_as_they_are)
{
	check("\"eth0\"", "eth0");
	check("\"\"", "");
	check("true", "true");
	check("false", "false");
}

Test(param_json, whole_numbers_exactly)
{
	check("42", "42");
	check("-7", "-7");
	check("0", "0");
	check("1e3", "1000");
	/* 2^53 - 1 is the last whole double printed as an integer */
	check("9007199254740991", "9007199254740991");
	check("9007199254740992", "9007199254740992");
}

Test(param_json, fractions_with_full_precision)
{
	check("0.5", "0.5");
	check("0.1", "0.10000000000000001");
	check("-2.25", "-2.25");
}

Test(param_json, other_types_have_no_text)
{
	check("null", NULL);
	check("[1]", NULL);
	check("{\"a\": 1}", NULL);
}
