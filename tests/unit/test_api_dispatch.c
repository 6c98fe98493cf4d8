/* The control API's request handling without a daemon or sockets (as the fuzzer drives it):
 * routes, methods, JSON errors, the /task form's validation. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "api/api.h"
#include "http/http_server.h"

static uv_loop_t loop;
static struct eu_api *api;

static void setup(void)
{
	uv_loop_init(&loop);
	struct eu_api_opts o = {.sz = sizeof(o), .max_body = 1000};
	eu_error err = {0};
	cr_assert_eq(eu_api_new(NULL, &loop, &o, &api, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
	eu_api_free(api);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
}

static unsigned call(const char *method, const char *url, const char *body, char *code,
		     size_t code_size)
{
	struct eu_http_result res;
	cr_assert_eq(eu_http_server_dispatch(eu_api_server(api), method, url, NULL, body,
					     body ? strlen(body) : 0, &res), 0);
	code[0] = '\0';
	if (res.status >= 400) {
		cJSON *j = cJSON_ParseWithLength(res.body.data, res.body.len);
		const char *c = cJSON_GetStringValue(
			cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code"));
		cr_assert(c, "not a JSON error: %.*s", (int)res.body.len, res.body.data);
		cr_assert(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"),
								   "message")));
		snprintf(code, code_size, "%s", c);
		cJSON_Delete(j);
	}
	unsigned st = res.status;
	eu_http_result_free(&res);
	return st;
}

Test(api_dispatch, routes_and_errors, .init = setup, .fini = teardown)
{
	char code[64];
	cr_assert_eq(call("GET", "/nope", NULL, code, sizeof(code)), 404);
	cr_assert_str_eq(code, "not_found");
	cr_assert_eq(call("PATCH", "/v1/programs", NULL, code, sizeof(code)), 405);
	cr_assert_str_eq(code, "method_not_allowed");
	cr_assert_eq(call("POST", "/v1/programs/x", NULL, code, sizeof(code)), 405);
	cr_assert_eq(call("GET", "/v1/programs/x/pause", NULL, code, sizeof(code)), 405);
	cr_assert_eq(call("GET", "/v1/programs/x/other", NULL, code, sizeof(code)), 404);
	/* well-formed requests reach the daemon part: none here */
	cr_assert_eq(call("GET", "/v1/programs", NULL, code, sizeof(code)), 503);
	cr_assert_str_eq(code, "no_daemon");
	cr_assert_eq(call("GET", "/healthz", NULL, code, sizeof(code)), 503);
	cr_assert_eq(call("POST", "/v1/programs/x/pause", NULL, code, sizeof(code)), 503);
	/* input errors come first */
	cr_assert_eq(call("POST", "/v1/programs", NULL, code, sizeof(code)), 400);
	cr_assert_eq(call("POST", "/v1/programs?params=%7Bbad", "x", code, sizeof(code)), 400);
	cr_assert_eq(call("POST", "/v1/programs?params=%7B%22a%22%3A%5B%5D%7D", "x", code,
			  sizeof(code)), 400);
	cr_assert_eq(call("GET", "/v1/programs/x/events?cursor=-1", NULL, code, sizeof(code)), 400);
	cr_assert_eq(call("GET", "/v1/programs/x/events?cursor=abc", NULL, code, sizeof(code)), 400);
	char big[2000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(call("POST", "/v1/programs", big, code, sizeof(code)), 413);
	cr_assert_str_eq(code, "body_too_large");
}

Test(api_dispatch, upstream_task_form, .init = setup, .fini = teardown)
{
	char code[64];
	cr_assert_eq(call("POST", "/task", "{", code, sizeof(code)), 400);
	cr_assert_str_eq(code, "bad_json");
	cr_assert_eq(call("POST", "/task", "[1]", code, sizeof(code)), 400);
	cr_assert_eq(call("POST", "/task", "{\"program_type\":\"json\"}", code, sizeof(code)), 400);
	cr_assert_eq(call("POST", "/task", "{\"program_data_buf\":\"!!\"}", code, sizeof(code)), 400);
	cr_assert_eq(call("POST", "/task", "{\"program_data_buf\":\"AA==\",\"program_type\":\"tar\"}",
			  code, sizeof(code)), 422);
	cr_assert_str_eq(code, "unsupported_type");
	/* a module's extra_args are its arguments as given (no --name form needed) */
	cr_assert_eq(call("POST", "/task", "{\"program_data_buf\":\"AGFzbQEAAAA=\",\"program_type\":"
			  "\"wasm\",\"extra_args\":[\"trap\"]}", code, sizeof(code)), 503);
	cr_assert_eq(call("POST", "/task", "{\"program_data_buf\":\"AGFzbQEAAAA=\",\"program_type\":"
			  "\"WasmModule\",\"extra_args\":[1]}", code, sizeof(code)), 400);
	cr_assert_eq(call("POST", "/task",
			  "{\"program_data_buf\":\"AA==\",\"extra_args\":[\"noflag\"]}", code,
			  sizeof(code)), 400);
	cr_assert_eq(call("POST", "/task",
			  "{\"program_data_buf\":\"AA==\",\"extra_args\":[\"--a\",\"1\",\"--b=2\"]}",
			  code, sizeof(code)), 503);
	cr_assert_eq(call("POST", "/stop", "{}", code, sizeof(code)), 400);
	cr_assert_eq(call("POST", "/stop", "{\"id\":3}", code, sizeof(code)), 503);
	cr_assert_eq(call("GET", "/stop", NULL, code, sizeof(code)), 405);
	cr_assert_eq(call("POST", "/log", "{\"id\":\"x\",\"log_cursor\":-5}", code, sizeof(code)), 503);
}
