/* The control API's routes (api.h): loading (ours and upstream's /task form), unloading,
 * pausing; the read-only endpoints are in api_info.c, record streams in api_events.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "eunomia/log.h"
#include "core/codec.h"
#include "eunomia/params.h"
#include "wasm/wasm_module.h"

#define LOG_PAGE_DEFAULT 100
#define LOG_PAGE_MAX 10000

void api_reply_daemon_error(struct eu_http_req *r, const eu_error *e)
{
	unsigned st = 500;
	const char *code = "internal";
	switch (e->code) {
	case -ENOENT:
		st = 404, code = "not_found";
		break;
	case -EEXIST:
		st = 409, code = "name_in_use";
		break;
	case -EPERM:
		st = 409, code = "watched_package";
		break;
	case -ENOSPC:
		st = 429, code = "too_many_programs";
		break;
	case -EKEYREJECTED:
		st = 403, code = "signature_rejected";
		break;
	case -EBADMSG:
		st = 400, code = "bad_package";
		break;
	case -EINVAL:
		st = 400, code = "bad_request";
		break;
	case -ENOEXEC:
		st = 422, code = "load_failed";
		break;
	case -ESHUTDOWN:
		st = 503, code = "stopping";
		break;
	}
	eu_http_reply_error(r, st, code, "%s", e->msg[0] ? e->msg : strerror(-e->code));
}

bool api_need_daemon(struct eu_api *a, struct eu_http_req *r)
{
	if (a->d)
		return true;
	eu_http_reply_error(r, 503, "no_daemon", "no daemon behind this API");
	return false;
}

/* --- parameters --- */

void api_params_free(struct api_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->names[i]);
		free(p->values[i]);
	}
	p->n = 0;
	for (size_t i = 0; i < p->n_args; i++)
		free(p->args[i]);
	p->n_args = 0;
}

/* A Wasm module's arguments: a JSON array of strings (?args=, extra_args). */
static int args_from_array(const cJSON *arr, struct api_params *p, eu_error *err)
{
	if (!cJSON_IsArray(arr))
		return eu_error_set(err, -EINVAL, "args: expected a JSON array of strings");
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it))
			return eu_error_set(err, -EINVAL, "args: expected strings only");
		if (p->n_args >= API_MAX_PARAMS)
			return eu_error_set(err, -EINVAL, "args: %d at most", API_MAX_PARAMS);
		if (!(p->args[p->n_args] = strdup(it->valuestring)))
			return eu_error_set(err, -ENOMEM, "out of memory");
		p->n_args++;
	}
	return 0;
}

static int params_add(struct api_params *p, const char *name, size_t nlen, const char *value)
{
	if (p->n >= API_MAX_PARAMS)
		return -E2BIG;
	char *n = strndup(name, nlen), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	p->names[p->n] = n;
	p->values[p->n++] = v;
	return 0;
}

/* {"name": value}: strings, numbers and booleans, as the sidecar file takes them */
static int params_from_object(const cJSON *o, struct api_params *p, eu_error *err)
{
	if (!cJSON_IsObject(o))
		return eu_error_set(err, -EINVAL, "params: expected a JSON object of name: value");
	const cJSON *it;
	cJSON_ArrayForEach(it, o) {
		char num[EU_PARAM_NUM_MAX];
		const char *text = eu_param_json_text(it, num);
		if (!text)
			return eu_error_set(err, -EINVAL,
					    "params: %s: expected a string, a number or a bool",
					    it->string ? it->string : "?");
		if (!it->string || params_add(p, it->string, strlen(it->string), text))
			return eu_error_set(err, -EINVAL, "params: too many or unnamed");
	}
	return 0;
}

/* upstream's extra_args: ["--name", "value", "--flag", "--other=value"] */
static int params_from_args(const cJSON *arr, struct api_params *p, eu_error *err)
{
	if (!cJSON_IsArray(arr))
		return eu_error_set(err, -EINVAL, "extra_args: expected an array of strings");
	int n = cJSON_GetArraySize(arr);
	for (int i = 0; i < n; i++) {
		const char *a = cJSON_GetStringValue(cJSON_GetArrayItem(arr, i));
		if (!a)
			return eu_error_set(err, -EINVAL, "extra_args[%d]: expected a string", i);
		if (a[0] != '-' || !a[1])
			return eu_error_set(err, -EINVAL, "extra_args[%d]: '%s': expected --name", i,
					    a);
		a += a[1] == '-' ? 2 : 1;
		const char *eq = strchr(a, '=');
		const char *next = i + 1 < n ? cJSON_GetStringValue(cJSON_GetArrayItem(arr, i + 1)) :
					       NULL;
		int ret;
		if (eq)
			ret = params_add(p, a, (size_t)(eq - a), eq + 1);
		else if (next && next[0] != '-') {
			ret = params_add(p, a, strlen(a), next);
			i++;
		} else {
			ret = params_add(p, a, strlen(a), "true");
		}
		if (ret)
			return eu_error_set(err, -EINVAL, "extra_args: too many");
	}
	return 0;
}

/* --- loading --- */

struct first_ctx {
	struct eu_api *a;
	eu_buf *b;
	bool done;
};

static void first_pkg(void *ctx, const struct eu_daemon_pkg_info *i)
{
	struct first_ctx *c = ctx;
	if (c->done)
		return;
	c->done = true;
	api_package_json(c->a, i->name, c->b);
}

void api_load_and_reply(struct eu_api *a, struct eu_http_req *r, const char *name,
			const void *data, size_t size, const char *sig, const struct api_params *p,
			bool upstream)
{
	const char *hsig = eu_http_req_header(r, "X-Eunomia-Signature");
	if (!sig)
		sig = hsig;
	struct eu_daemon_load l = {
		.name = name && *name ? name : NULL,
		.data = data,
		.size = size,
		.sig = sig,
		.sig_size = sig ? strlen(sig) : 0,
		.param_names = (const char *const *)p->names,
		.param_values = (const char *const *)p->values,
		.n_params = p->n,
		.args = (const char *const *)p->args,
		.n_args = p->n_args,
	};
	eu_error err = {0};
	if (eu_daemon_load_buffer(a->d, &l, &err)) {
		api_reply_daemon_error(r, &err);
		return;
	}
	eu_buf b;
	eu_buf_init(&b);
	if (upstream)
		eu_buf_puts(&b, "{\"status\":\"Ok\",\"program\":");
	/* without ?name= it took the package's own: the newest package is listed first */
	struct first_ctx fc = {.a = a, .b = &b};
	if (l.name)
		api_package_json(a, l.name, &b);
	else
		eu_daemon_foreach_package(a->d, first_pkg, &fc);
	if (upstream)
		eu_buf_putc(&b, '}');
	eu_buf_putc(&b, '\n');
	eu_http_reply_json(r, upstream ? 200 : 201, &b);
	eu_buf_free(&b);
}

/* POST /v1/programs?name=N&params={json}: the body is the package as is; or, with
 * ?image=REF and no body, the package is pulled from an OCI registry (api_image.c). */
static void h_load(void *ctx, struct eu_http_req *r)
{
	struct eu_api *a = ctx;
	size_t len;
	const void *body = eu_http_req_body(r, &len);
	const char *image = eu_http_req_query(r, "image");
	if (image && len) {
		eu_http_reply_error(r, 400, "bad_request", "send either ?image=REF or the package "
				    "in the body, not both");
		return;
	}
	if (!len && !image) {
		eu_http_reply_error(r, 400, "bad_request", "empty body: send the package file");
		return;
	}
	struct api_params p = {0};
	eu_error err = {0};
	const char *pj = eu_http_req_query(r, "params");
	const char *aj = eu_http_req_query(r, "args");
	for (int i = 0; i < 2; i++) {
		const char *q = i ? aj : pj;
		if (!q)
			continue;
		cJSON *o = cJSON_Parse(q);
		int ret = !o ? eu_error_set(&err, -EINVAL, "%s: not valid JSON", i ? "args" : "params")
		      : i ? args_from_array(o, &p, &err) : params_from_object(o, &p, &err);
		cJSON_Delete(o);
		if (ret) {
			api_params_free(&p);
			eu_http_reply_error(r, 400, "bad_request", "%s", err.msg);
			return;
		}
	}
	if (image && api_need_daemon(a, r)) {
		api_load_image(a, r, image, &p); /* takes p */
		return;
	}
	if (api_need_daemon(a, r))
		api_load_and_reply(a, r, eu_http_req_query(r, "name"), body, len, NULL, &p, false);
	api_params_free(&p);
}

static cJSON *json_body(struct eu_http_req *r)
{
	size_t len;
	const char *body = eu_http_req_body(r, &len);
	cJSON *j = len ? cJSON_ParseWithLength(body, len) : NULL;
	if (!j || !cJSON_IsObject(j)) {
		eu_http_reply_error(r, 400, "bad_json", "expected a JSON object in the body");
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* upstream's POST /task {program_data_buf: base64, program_type: "json", program_name?,
 * extra_args?, export_json?} */
static void h_task_load(void *ctx, struct eu_http_req *r)
{
	struct eu_api *a = ctx;
	cJSON *j = json_body(r);
	if (!j)
		return;
	struct api_params p = {0};
	eu_error err = {0};
	uint8_t *pkg = NULL;
	size_t pkg_len = 0;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "program_type"));
	const char *data = cJSON_GetStringValue(cJSON_GetObjectItem(j, "program_data_buf"));
	const cJSON *name = cJSON_GetObjectItem(j, "program_name");
	const cJSON *args = cJSON_GetObjectItem(j, "extra_args");
	const char *sig = cJSON_GetStringValue(cJSON_GetObjectItem(j, "signature"));
	/* a Wasm module is told by its bytes; the type only has to be one we run */
	if (type && strcmp(type, "json") && strcmp(type, "wasm") && strcmp(type, "WasmModule")) {
		eu_http_reply_error(r, 422, "unsupported_type", "program_type '%s': only \"json\" "
				    "packages and \"wasm\" modules are supported", type);
		goto out;
	}
	if (!data) {
		eu_http_reply_error(r, 400, "bad_request", "program_data_buf: missing (base64 of the package)");
		goto out;
	}
	if (name && !cJSON_IsNull(name) && !cJSON_IsString(name)) {
		eu_http_reply_error(r, 400, "bad_request", "program_name: expected a string");
		goto out;
	}
	if (eu_base64_decode(data, strlen(data), &pkg, &pkg_len, NULL) || !pkg_len) {
		eu_http_reply_error(r, 400, "bad_request", "program_data_buf: not base64 of a package");
		goto out;
	}
	/* extra_args are a module's arguments as given, a package's parameters */
	bool module = eu_wasm_is_module(pkg, pkg_len);
	if (type && strcmp(type, "json") && !module) {
		eu_http_reply_error(r, 400, "bad_package", "program_data_buf: program_type '%s' but "
				    "not a WebAssembly module (no \\0asm magic)", type);
		goto out;
	}
	if (args && !cJSON_IsNull(args) &&
	    (module ? args_from_array(args, &p, &err) : params_from_args(args, &p, &err))) {
		eu_http_reply_error(r, 400, "bad_request", "%s", err.msg);
		goto out;
	}
	if (api_need_daemon(a, r))
		api_load_and_reply(a, r, cJSON_GetStringValue(name), pkg, pkg_len, sig, &p, true);
out:
	free(pkg);
	api_params_free(&p);
	cJSON_Delete(j);
}

/* --- one package --- */

static void act(struct eu_api *a, struct eu_http_req *r, const char *name, const char *what)
{
	eu_error err = {0};
	int ret;
	if (!strcmp(what, "unload"))
		ret = eu_daemon_unload(a->d, name, &err);
	else if (!strcmp(what, "pause"))
		ret = eu_daemon_pause(a->d, name, &err);
	else
		ret = eu_daemon_resume(a->d, name, &err);
	if (ret) {
		api_reply_daemon_error(r, &err);
		return;
	}
	eu_buf b;
	eu_buf_init(&b);
	if (!strcmp(what, "unload") || api_package_json(a, name, &b)) {
		eu_buf_reset(&b);
		eu_buf_printf(&b, "{\"status\":\"Ok\",\"name\":");
		eu_buf_json_string(&b, name, strlen(name));
		eu_buf_putc(&b, '}');
	}
	eu_buf_putc(&b, '\n');
	eu_http_reply_json(r, 200, &b);
	eu_buf_free(&b);
}

/* /v1/programs/NAME[/pause|/resume|/events] */
static void h_program(void *ctx, struct eu_http_req *r)
{
	struct eu_api *a = ctx;
	const char *rest = eu_http_req_rest(r);
	const char *method = eu_http_req_method(r);
	char name[128];
	const char *slash = strchr(rest, '/');
	size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *action = slash ? slash + 1 : "";
	if (!nl) {
		eu_http_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s", method,
				    eu_http_req_path(r));
		return;
	}
	if (nl >= sizeof(name)) {
		eu_http_reply_error(r, 404, "not_found", "no package by that name");
		return;
	}
	memcpy(name, rest, nl);
	name[nl] = '\0';
	const char *want;
	if (!*action)
		want = !strcmp(method, "DELETE") ? "DELETE" : "GET";
	else if (!strcmp(action, "pause") || !strcmp(action, "resume"))
		want = "POST";
	else if (!strcmp(action, "events"))
		want = "GET";
	else {
		eu_http_reply_error(r, 404, "not_found", "no such endpoint: %s", eu_http_req_path(r));
		return;
	}
	if (strcmp(method, want) && !(!strcmp(method, "HEAD") && !strcmp(want, "GET"))) {
		eu_http_reply_error(r, 405, "method_not_allowed", "%s is not allowed on %s", method,
				    eu_http_req_path(r));
		return;
	}
	if (!strcmp(action, "events")) {
		api_events(a, r, name);
		return;
	}
	if (!api_need_daemon(a, r))
		return;
	if (!*action && !strcmp(method, "DELETE")) {
		act(a, r, name, "unload");
	} else if (*action) {
		act(a, r, name, action);
	} else {
		eu_buf b;
		eu_buf_init(&b);
		if (api_package_json(a, name, &b)) {
			eu_http_reply_error(r, 404, "not_found", "no package '%s'", name);
		} else {
			eu_buf_putc(&b, '\n');
			eu_http_reply_json(r, 200, &b);
		}
		eu_buf_free(&b);
	}
}

/* upstream's POST /stop|/pause|/resume|/log {id}: the id, or a name */
static bool task_target(struct eu_http_req *r, cJSON *j, char *out, size_t n)
{
	const cJSON *id = cJSON_GetObjectItem(j, "id");
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(j, "name"));
	if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 1e15)
		snprintf(out, n, "%.0f", id->valuedouble);
	else if (cJSON_IsString(id) && *id->valuestring)
		snprintf(out, n, "%s", id->valuestring);
	else if (name && *name)
		snprintf(out, n, "%s", name);
	else {
		eu_http_reply_error(r, 400, "bad_request", "expected {\"id\": N}");
		return false;
	}
	return true;
}

static void task_action(struct eu_api *a, struct eu_http_req *r, const char *what)
{
	cJSON *j = json_body(r);
	if (!j)
		return;
	char name[128];
	if (task_target(r, j, name, sizeof(name)) && api_need_daemon(a, r))
		act(a, r, name, what);
	cJSON_Delete(j);
}

static void h_task_stop(void *ctx, struct eu_http_req *r)
{
	task_action(ctx, r, "unload");
}

static void h_task_pause(void *ctx, struct eu_http_req *r)
{
	task_action(ctx, r, "pause");
}

static void h_task_resume(void *ctx, struct eu_http_req *r)
{
	task_action(ctx, r, "resume");
}

static void h_task_log(void *ctx, struct eu_http_req *r)
{
	struct eu_api *a = ctx;
	cJSON *j = json_body(r);
	if (!j)
		return;
	char name[128];
	const cJSON *c = cJSON_GetObjectItem(j, "log_cursor");
	const cJSON *m = cJSON_GetObjectItem(j, "maximum_count");
	uint64_t cursor = cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble < 1e18 ?
				  (uint64_t)c->valuedouble : 0;
	size_t max = cJSON_IsNumber(m) && m->valuedouble >= 1 ?
			     (m->valuedouble > LOG_PAGE_MAX ? LOG_PAGE_MAX : (size_t)m->valuedouble) :
			     LOG_PAGE_DEFAULT;
	if (task_target(r, j, name, sizeof(name)) && api_need_daemon(a, r))
		api_log_page(a, r, name, cursor, max);
	cJSON_Delete(j);
}

/* --- set-up --- */

static void on_daemon_stop(void *ctx)
{
	struct eu_api *a = ctx;
	eu_http_server_close(a->http);
	a->http = NULL;
}

struct eu_http_server *eu_api_server(struct eu_api *a)
{
	return a->http;
}

static int add_routes(struct eu_api *a)
{
	static const struct {
		const char *method, *path;
		eu_http_handler fn;
	} routes[] = {
		{"GET", "/healthz", api_h_healthz},
		{"GET", "/v1/features", api_h_features},
		{"GET", "/features", api_h_features},
		{"GET", "/metrics", api_h_metrics},
		{"GET", "/v1/programs", api_h_list},
		{"POST", "/v1/programs", h_load},
		{NULL, "/v1/programs/", h_program},
		{"GET", "/task", api_h_task_list},
		{"POST", "/task", h_task_load},
		{"POST", "/stop", h_task_stop},
		{"POST", "/pause", h_task_pause},
		{"POST", "/resume", h_task_resume},
		{"POST", "/log", h_task_log},
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (eu_http_server_route(a->http, routes[i].method, routes[i].path, routes[i].fn, a))
			return -ENOMEM;
	return 0;
}

int eu_api_check_opts(const struct eu_api_opts *opts, eu_error *err)
{
	for (size_t i = 0; i < opts->n_listen; i++) {
		const char *spec = opts->listen[i];
		/* loopback is no authentication boundary: any local account can connect, and the
		 * API loads BPF programs with the agent's privileges */
		if (!strncmp(spec, "tcp:", 4) && (!opts->token || !*opts->token))
			return eu_error_set(err, -EPERM,
					    "listener '%s': a bearer token is required for every TCP "
					    "listener, loopback included (--api-token-file FILE): any "
					    "local user can connect to it; unix:PATH (mode 0600) needs "
					    "none", spec);
	}
	return 0;
}

int eu_api_new(struct eu_daemon *d, uv_loop_t *loop, const struct eu_api_opts *opts,
	       struct eu_api **out, eu_error *err)
{
	*out = NULL;
	struct eu_api *a = calloc(1, sizeof(*a));
	if (!a)
		return eu_error_set(err, -ENOMEM, "out of memory");
	a->d = d;
	a->loop = d ? eu_daemon_loop(d) : loop;
	eu_buf_init(&a->features);
	struct eu_http_opts ho = {.sz = sizeof(ho), .max_body = opts->max_body,
				  .max_conns = opts->max_conns, .timeout_s = opts->timeout_s};
	int ret = eu_http_server_new(a->loop, &ho, &a->http, err);
	if (!ret && add_routes(a))
		ret = eu_error_set(err, -ENOMEM, "out of memory");
	if (!ret)
		ret = eu_api_check_opts(opts, err);
	for (size_t i = 0; !ret && i < opts->n_listen; i++) {
		const char *spec = opts->listen[i];
		bool tcp = !strncmp(spec, "tcp:", 4);
		ret = eu_http_server_listen(a->http, spec, tcp ? opts->token : NULL, err);
	}
	if (ret) {
		eu_api_free(a);
		return ret;
	}
	if (d) {
		eu_daemon_set_stop_hook(d, on_daemon_stop, a);
		eu_daemon_keep_records(d, true);
	}
	*out = a;
	return 0;
}

void eu_api_free(struct eu_api *a)
{
	if (!a)
		return;
	if (a->d) {
		eu_daemon_set_stop_hook(a->d, NULL, NULL);
		eu_daemon_keep_records(a->d, false);
	}
	api_image_detach(a);
	eu_http_server_close(a->http);
	eu_buf_free(&a->features);
	free(a);
}
