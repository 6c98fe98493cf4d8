/* Parameter values written as JSON, turned into the text the command line would give. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "eunomia/params.h"

const char *eu_param_json_text(const cJSON *v, char num[EU_PARAM_NUM_MAX])
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (!cJSON_IsNumber(v))
		return NULL;
	double d = v->valuedouble;
	/* below 2^53 a whole double is an exact integer: print it without exponent or ".0" */
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		snprintf(num, EU_PARAM_NUM_MAX, "%.0f", d);
	else
		snprintf(num, EU_PARAM_NUM_MAX, "%.17g", d);
	return num;
}
