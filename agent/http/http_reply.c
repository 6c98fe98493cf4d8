/* Answers to requests (http_server.h): now, or later for a deferred request; and the 413 for
 * a body over the limit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/log.h"
#include "http_server_priv.h"

void eu_http_deferred_unlink(struct eu_http_req *r)
{
	if (!r->s)
		return;
	for (struct eu_http_req **p = &r->s->deferred; *p; p = &(*p)->next_deferred) {
		if (*p == r) {
			*p = r->next_deferred;
			break;
		}
	}
	r->next_deferred = NULL;
}

int eu_http_req_defer(struct eu_http_req *r)
{
	if (!r->conn || r->answered || r->deferred)
		return -EINVAL;
	r->deferred = true;
	r->next_deferred = r->s->deferred;
	r->s->deferred = r;
	MHD_suspend_connection(r->conn);
	return 0;
}

int eu_http_queue(struct eu_http_req *r, unsigned status, struct MHD_Response *resp,
		  const char *content_type)
{
	if (!resp)
		return -ENOMEM;
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == 405 && r->route && r->route->method)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->route->method);
	if (r->deferred) {
		/* MHD takes a response only inside its access callback: resume, answer there */
		eu_http_deferred_unlink(r);
		r->pending = resp;
		r->pending_status = status;
		MHD_resume_connection(r->conn);
		eu_http_listener_kick(r->l);
		return 0;
	}
	enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ok == MHD_YES ? 0 : -EIO;
}

void eu_http_result_type(struct eu_http_result *res, const char *content_type)
{
	snprintf(res->content_type, sizeof(res->content_type), "%s",
		 content_type ? content_type : "");
}

int eu_http_reply(struct eu_http_req *r, unsigned status, const char *content_type,
		  const void *body, size_t len)
{
	if (r->answered)
		return -EALREADY;
	if (r->conn_gone) { /* a deferred answer for a client that left: nobody to tell */
		eu_http_req_free(r);
		return -EPIPE;
	}
	r->answered = true;
	if (!r->conn) {
		r->res->status = status;
		eu_http_result_type(r->res, content_type);
		eu_buf_append(&r->res->body, body, len);
		return 0;
	}
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	return eu_http_queue(r, status, resp, content_type);
}

int eu_http_reply_json(struct eu_http_req *r, unsigned status, const eu_buf *json)
{
	if (json->oom)
		return eu_http_reply_error(r, 500, "out_of_memory", "out of memory");
	return eu_http_reply(r, status, "application/json", json->data ? json->data : "",
			     json->len);
}

int eu_http_reply_error(struct eu_http_req *r, unsigned status, const char *code,
			const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, "{\"error\":{\"code\":");
	eu_buf_json_string(&b, code, strlen(code));
	eu_buf_puts(&b, ",\"message\":");
	eu_buf_json_string(&b, msg, strlen(msg));
	eu_buf_puts(&b, "}}\n");
	int ret = b.oom ? eu_http_reply(r, status, "application/json", "{}", 2) :
			  eu_http_reply(r, status, "application/json", b.data, b.len);
	eu_buf_free(&b);
	return ret;
}

void eu_http_reply_too_big(struct eu_http_req *r)
{
	eu_http_reply_error(r, 413, "body_too_large", "the request body is larger than %zu bytes",
			    r->s->max_body);
}

/* Over the limit in the middle of a body (a chunked one has no Content-Length to refuse up
 * front): libmicrohttpd takes no reply once the body is being received, so the 413 is written
 * to the socket here, the sending side shut (the client sees the answer and the end), and the
 * caller drops the connection instead of keeping the rest. A duplicate of the socket lingers
 * (http_linger.h), so the client reads the 413 rather than a reset. */
void eu_http_reply_too_big_mid_body(struct eu_http_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	r->answered = true;
	if (!ci)
		return;
	char body[160], msg[400];
	int bl = snprintf(body, sizeof(body),
			  "{\"error\":{\"code\":\"body_too_large\",\"message\":\"the request body "
			  "is larger than %zu bytes\"}}\n",
			  r->s->max_body);
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
			 bl, body);
	/* a few hundred bytes into an empty send buffer: one non-blocking send is enough */
	if (send(ci->connect_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n &&
	    !shutdown(ci->connect_fd, SHUT_WR))
		eu_http_linger_start(&r->s->lingers, fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0));
	eu_log(EU_LOG_DEBUG, "http %s: request body over %zu bytes: answered 413, connection "
	       "closed", r->l->addr, r->s->max_body);
}
