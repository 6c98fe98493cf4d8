/* Shared by the control API's integration tests: the daemon (daemon_fixture.h) with its API on
 * a unix socket in the test's temp dir and on an ephemeral loopback port (with a bearer token:
 * every TCP listener needs one), HTTP requests with libcurl, and the `ctl` client. */
#ifndef EU_API_FIXTURE_H
#define EU_API_FIXTURE_H

#include <curl/curl.h>

#include "daemon_fixture.h"
#include "eu_http_client.h"
#include "eu_run_util.h"

struct afix {
	struct dfix f;
	char sock[192];
	char api_unix[200];
	char tcp[64];          /* "127.0.0.1:PORT" */
	char token_file[200];  /* ROOT/api.token (0600) */
	char auth[96];         /* "Authorization: Bearer TOKEN" once afix_start ran */
};

#define AFIX_TOKEN "t0ken-for-the-tests"

struct aresp {
	long status;
	char *body;
	size_t len;
	cJSON *json;           /* the body parsed, or NULL */
};

static inline void aresp_free(struct aresp *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/* A request over the unix socket (tcp NULL) or to tcp ("ADDR:PORT"); extra: one header.
 * TCP requests carry the fixture's token (a->auth) unless the caller passes a header. */
static inline struct aresp afix_req(struct afix *a, const char *tcp, const char *method,
				    const char *path, const void *body, size_t len,
				    const char *header)
{
	char url[512];
	snprintf(url, sizeof(url), "http://%s%s", tcp ? tcp : "localhost", path);
	const char *auth = header ? header : tcp && a->auth[0] ? a->auth : NULL;
	struct eu_http_call call = {.unix_socket = tcp ? NULL : a->sock,
				    .method = method,
				    .body = body,
				    .len = len,
				    .headers = (const char *const[]){auth, NULL},
				    .timeout_ms = 120000};
	struct eu_http_resp h = eu_http_request(url, &call);
	struct aresp r = {.status = h.status, .body = h.body, .len = h.len};
	r.json = cJSON_ParseWithLength(r.body, r.len);
	return r;
}

static inline const char *aresp_error_code(const struct aresp *r)
{
	const cJSON *e = cJSON_GetObjectItem(r->json, "error");
	return cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
}

/* Starts the daemon with the API on ROOT/run/api.sock and tcp:127.0.0.1:0 with the token
 * file (+ extra args). */
static inline void afix_start(struct afix *a, const char *const *extra)
{
	snprintf(a->sock, sizeof(a->sock), "%s/run/api.sock", a->f.root);
	snprintf(a->api_unix, sizeof(a->api_unix), "unix:%s", a->sock);
	snprintf(a->token_file, sizeof(a->token_file), "%s/api.token", a->f.root);
	dfix_sh("umask 077 && echo %s > %s", AFIX_TOKEN, a->token_file);
	snprintf(a->auth, sizeof(a->auth), "Authorization: Bearer %s", AFIX_TOKEN);
	const char *args[24];
	size_t n = 0;
	args[n++] = "--api";
	args[n++] = a->api_unix;
	args[n++] = "--api";
	args[n++] = "tcp:127.0.0.1:0";
	args[n++] = "--api-token-file";
	args[n++] = a->token_file;
	for (size_t i = 0; extra && extra[i] && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	dfix_start(&a->f, args);
	cr_assert(dfix_wait_log(&a->f, "API listening on tcp:127.0.0.1:", 1, 20000), "%s",
		  eu_agent_stderr(a->f.a));
	const char *p = strstr(eu_agent_stderr(a->f.a), "API listening on tcp:");
	sscanf(p, "API listening on tcp:%63s", a->tcp);
}

static inline void afix_init(struct afix *a)
{
	memset(a, 0, sizeof(*a));
	dfix_init(&a->f);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline void afix_fini(struct afix *a)
{
	if (a->f.a) {
		int rc = eu_agent_stop(a->f.a, 15000);
		cr_expect_eq(rc, 0, "the daemon did not exit cleanly: %s", eu_agent_stderr(a->f.a));
	}
	dfix_fini(&a->f);
}

/* Runs `eunomia-agent ctl --api unix:SOCK ARGS...`; its exit code, output in *out. */
static inline int afix_ctl(struct afix *a, char **out, const char *const *args)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = EU_AGENT_BIN;
	argv[n++] = "ctl";
	argv[n++] = "--api";
	argv[n++] = a->api_unix;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return eu_run_capture(argv, 60000, out);
}

/* The package's JSON from GET /v1/programs/NAME (caller frees), or NULL. */
static inline cJSON *afix_pkg(struct afix *a, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/v1/programs/%s", name);
	struct aresp r = afix_req(a, NULL, "GET", path, NULL, 0, NULL);
	cJSON *j = r.status == 200 ? r.json : NULL;
	if (j)
		r.json = NULL;
	aresp_free(&r);
	return j;
}

static inline size_t afix_count_programs(struct afix *a)
{
	struct aresp r = afix_req(a, NULL, "GET", "/v1/programs", NULL, 0, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "programs"));
	aresp_free(&r);
	return n;
}

#endif
