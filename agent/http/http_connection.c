/* libmicrohttpd's callbacks for one listener: a request's head (routing, token, size), its
 * body, its handler, its end; connections opening and closing (the slow-client guard). */
#include <stdio.h>
#include <string.h>

#include "eunomia/log.h"
#include "http_server_priv.h"

enum MHD_Result eu_http_on_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct eu_http_listener *l = cls;
	struct eu_http_req *r = *con_cls;
	unsigned st;
	if (!r) {
		r = eu_http_req_new(l->s, method, url, strlen(url));
		if (!r)
			return MHD_NO;
		r->l = l;
		r->conn = conn;
		*con_cls = r;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		r->gc = ci ? ci->socket_context : NULL;
		eu_http_guard_head(r->gc, eu_http_now_ms());
		st = eu_http_route_find(r);
		bool open_route = r->route && r->route->open && !st;
		if (l->token && !open_route && !eu_http_token_ok(r, l->token)) {
			r->route = NULL;
			eu_http_reply_error(r, 401, "unauthorized",
					    "this listener needs Authorization: Bearer TOKEN");
		} else if (st)
			eu_http_route_fail(r, st);
		else if (eu_http_body_too_big(r))
			eu_http_reply_too_big(r);
		if (r->answered)
			eu_http_guard_handled(r->gc);
		return MHD_YES;
	}
	if (r->pending) { /* a deferred answer, back on the resumed connection */
		enum MHD_Result ok = MHD_queue_response(conn, r->pending_status, r->pending);
		MHD_destroy_response(r->pending);
		r->pending = NULL;
		r->deferred = false;
		return ok;
	}
	if (r->deferred) /* resumed only to be closed (the server stops) */
		return MHD_YES;
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->answered)
			return MHD_YES;
		if (r->body.len + n > r->s->max_body) {
			eu_http_reply_too_big_mid_body(r);
			return MHD_NO;
		}
		eu_buf_append(&r->body, upload, n);
		return r->body.oom ? MHD_NO : MHD_YES;
	}
	if (!r->answered)
		eu_http_run_handler(r);
	eu_http_guard_handled(r->gc);
	return MHD_YES;
}

void eu_http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			  enum MHD_RequestTerminationCode toe)
{
	struct eu_http_req *r = *con_cls;
	if (r && r->deferred && !r->pending) {
		/* its handler still answers later: the request lives on, detached, and is freed
		 * then (the server may be gone by that time) */
		eu_http_deferred_unlink(r);
		r->conn_gone = true;
		r->conn = NULL;
		r->s = NULL;
		r->l = NULL;
		r->gc = NULL;
		*con_cls = NULL;
		return;
	}
	/* the connection may carry another request: its head has a deadline again */
	if (r && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		eu_http_guard_request_done(r->gc, eu_http_now_ms());
	eu_http_req_free(r);
	*con_cls = NULL;
}

void eu_http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			   enum MHD_ConnectionNotificationCode toe)
{
	struct eu_http_listener *l = cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		eu_http_guard_closed(*socket_context);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fd =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *sa =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	*socket_context = fd && l->guard ? eu_http_guard_opened(l->guard, fd->connect_fd,
								 sa ? sa->client_addr : NULL,
								 eu_http_now_ms()) :
					   NULL;
}

void eu_http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct eu_http_listener *l = cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	eu_log(EU_LOG_DEBUG, "http %s: %s", l->addr, msg);
}
