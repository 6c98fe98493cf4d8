/* Shared by api.c (routes, loading), api_info.c (listing, features, health, metrics) and
 * api_events.c (record streams). */
#ifndef EUNOMIA_API_PRIV_H
#define EUNOMIA_API_PRIV_H

#include "api.h"
#include "eunomia/buf.h"
#include "http/http_server.h"

struct api_stream;
struct api_image_job;

#define API_MAX_PARAMS 256

/* package parameters given with a load (names and values as text), and a Wasm module's
 * arguments (?args=, or upstream's extra_args as given) */
struct api_params {
	char *names[API_MAX_PARAMS];
	char *values[API_MAX_PARAMS];
	size_t n;
	char *args[API_MAX_PARAMS];
	size_t n_args;
};

struct eu_api {
	struct eu_daemon *d;
	uv_loop_t *loop;
	struct eu_http_server *http;
	eu_buf features;            /* the /v1/features body, probed once */
	struct api_image_job *image_jobs; /* pulls in progress */
};

/* api.c */
void api_params_free(struct api_params *p);
/* Loads a package from memory and answers (201 with the package, or the daemon's error). */
void api_load_and_reply(struct eu_api *a, struct eu_http_req *r, const char *name,
			const void *data, size_t size, const char *sig, const struct api_params *p,
			bool upstream);
void api_reply_daemon_error(struct eu_http_req *r, const eu_error *e);
/* the package named by the path or body is refused when there is no daemon */
bool api_need_daemon(struct eu_api *a, struct eu_http_req *r);

/* api_info.c */
void api_h_healthz(void *ctx, struct eu_http_req *r);
void api_h_features(void *ctx, struct eu_http_req *r);
void api_h_metrics(void *ctx, struct eu_http_req *r);
void api_h_list(void *ctx, struct eu_http_req *r);
void api_h_task_list(void *ctx, struct eu_http_req *r);
/* one package as JSON ({"name":...}); -ENOENT when unknown */
int api_package_json(struct eu_api *a, const char *name, eu_buf *out);

/* api_image.c: POST /v1/programs?image=REF pulls on the thread pool, then loads; p is
 * taken (freed). api_image_detach: the API is going, jobs in flight answer 503. */
void api_load_image(struct eu_api *a, struct eu_http_req *r, const char *ref,
		    struct api_params *p);
void api_image_detach(struct eu_api *a);

/* api_events.c: GET /v1/programs/NAME/events and upstream's POST /log */
void api_events(struct eu_api *a, struct eu_http_req *r, const char *name);
void api_log_page(struct eu_api *a, struct eu_http_req *r, const char *name, uint64_t cursor,
		  size_t max);

#endif
