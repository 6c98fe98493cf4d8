/* POST /v1/programs?image=REF: the package or module is pulled from its OCI registry on
 * libuv's thread pool (a pull may take seconds; the loop never waits for a registry), then
 * loaded exactly as an uploaded one, with the same signature rule (X-Eunomia-Signature). The
 * answer is deferred until then. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_priv.h"
#include "eunomia/log.h"
#include "fetch/oci.h"
#include "wasm/wasm_module.h"

/* the registry gets this long per request before the load is refused */
#define API_PULL_TIMEOUT_MS 30000

struct api_image_job {
	uv_work_t work;
	struct eu_api *a; /* NULL once the API is gone */
	struct eu_http_req *r;
	struct api_image_job *next;
	char *ref, *name, *sig;
	char *module_name; /* the name a module gets without ?name= */
	struct api_params p;
	struct eu_oci_blob blob;
	eu_error err;
	int ret;
};

static void job_free(struct api_image_job *j)
{
	free(j->ref);
	free(j->name);
	free(j->module_name);
	free(j->sig);
	api_params_free(&j->p);
	eu_oci_blob_free(&j->blob);
	free(j);
}

static void job_unlink(struct api_image_job *j)
{
	if (!j->a)
		return;
	for (struct api_image_job **p = &j->a->image_jobs; *p; p = &(*p)->next) {
		if (*p == j) {
			*p = j->next;
			break;
		}
	}
}

static void pull_work(uv_work_t *w)
{
	struct api_image_job *j = w->data;
	struct eu_oci_opts o = {.sz = sizeof(o), .timeout_ms = API_PULL_TIMEOUT_MS};
	j->ret = eu_oci_pull(j->ref, &o, &j->blob, &j->err);
}

static unsigned pull_status(int ret)
{
	switch (ret) {
	case -ENOENT:
		return 404;
	case -EACCES:
		return 403;
	case -EINVAL:
		return 400;
	default:
		return 502; /* the registry failed us */
	}
}

static void pull_done(uv_work_t *w, int status)
{
	struct api_image_job *j = w->data;
	if (!j->a) {
		eu_http_reply_error(j->r, 503, "shutting_down", "the agent stopped while pulling %s",
				    j->ref);
	} else if (status == UV_ECANCELED) {
		eu_http_reply_error(j->r, 503, "canceled", "the pull of %s was canceled", j->ref);
	} else if (j->ret) {
		eu_log(EU_LOG_WARN, "API: cannot load image: %s", j->err.msg);
		eu_http_reply_error(j->r, pull_status(j->ret), "pull_failed", "%s", j->err.msg);
	} else {
		eu_log(EU_LOG_INFO, "API: pulled %s (%zu bytes, manifest %s)", j->ref, j->blob.size,
		       j->blob.digest);
		const char *name = j->name;
		if (!name && eu_wasm_is_module(j->blob.data, j->blob.size))
			name = j->module_name;
		api_load_and_reply(j->a, j->r, name, j->blob.data, j->blob.size, j->sig, &j->p,
				   false);
	}
	job_unlink(j);
	job_free(j);
}

void api_load_image(struct eu_api *a, struct eu_http_req *r, const char *ref,
		    struct api_params *p)
{
	struct api_image_job *j = calloc(1, sizeof(*j));
	if (!j) {
		api_params_free(p);
		eu_http_reply_error(r, 500, "out_of_memory", "out of memory");
		return;
	}
	j->p = *p;
	p->n = 0;
	j->a = a;
	j->r = r;
	j->work.data = j;
	/* everything the answer needs is copied now: the client may leave before it */
	const char *name = eu_http_req_query(r, "name");
	const char *sig = eu_http_req_header(r, "X-Eunomia-Signature");
	j->ref = strdup(ref);
	j->name = name && *name ? strdup(name) : NULL;
	j->sig = sig ? strdup(sig) : NULL;
	if (!j->ref || (name && *name && !j->name) || (sig && !j->sig)) {
		job_free(j);
		eu_http_reply_error(r, 500, "out_of_memory", "out of memory");
		return;
	}
	struct eu_oci_ref parsed;
	eu_error err = {0};
	if (eu_oci_ref_parse(ref, &parsed, &err)) {
		job_free(j);
		eu_http_reply_error(r, 400, "bad_reference", "%s", err.msg);
		return;
	}
	/* a Wasm module has no name of its own: without ?name= it takes the repository's last
	 * component ("reg/eunomia/bootstrap:v1" runs as "bootstrap") */
	const char *last = strrchr(parsed.repository, '/');
	j->module_name = strdup(last ? last + 1 : parsed.repository);
	eu_oci_ref_free(&parsed);
	if (!j->module_name) {
		job_free(j);
		eu_http_reply_error(r, 500, "out_of_memory", "out of memory");
		return;
	}
	if (eu_http_req_defer(r)) {
		job_free(j);
		eu_http_reply_error(r, 501, "not_deferrable",
				    "image loads need a connection (not available here)");
		return;
	}
	int ret = uv_queue_work(a->loop, &j->work, pull_work, pull_done);
	if (ret) {
		eu_http_reply_error(r, 500, "internal", "cannot start the pull: %s", uv_strerror(ret));
		job_free(j);
		return;
	}
	j->next = a->image_jobs;
	a->image_jobs = j;
}

void api_image_detach(struct eu_api *a)
{
	for (struct api_image_job *j = a->image_jobs; j; j = j->next)
		j->a = NULL;
	a->image_jobs = NULL;
}
