/* Shared by api.c (routes, loading), api_info.c (listing, features, health, metrics) and
 * api_events.c (record streams). */
#ifndef EUNOMIA_API_PRIV_H
#define EUNOMIA_API_PRIV_H

#include "api.h"
#include "eunomia/buf.h"
#include "http/http_server.h"

struct api_stream;

struct eu_api {
	struct eu_daemon *d;
	uv_loop_t *loop;
	struct eu_http_server *http;
	eu_buf features;            /* the /v1/features body, probed once */
};

/* api.c */
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

/* api_events.c: GET /v1/programs/NAME/events and upstream's POST /log */
void api_events(struct eu_api *a, struct eu_http_req *r, const char *name);
void api_log_page(struct eu_api *a, struct eu_http_req *r, const char *name, uint64_t cursor,
		  size_t max);

#endif
