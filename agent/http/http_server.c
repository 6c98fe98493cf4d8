/* libmicrohttpd on a libuv loop (http_server.h): the server, its options and its end. The
 * parts are listed in http_server_priv.h. */
#include <errno.h>
#include <stdlib.h>

#include "http_server_priv.h"

#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_CONNS 64
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_HEARTBEAT_S 15
#define DEFAULT_HEAD_TIMEOUT_S 10
#define DEFAULT_BODY_TIMEOUT_S 120

int eu_http_server_new(uv_loop_t *loop, const struct eu_http_opts *opts,
		       struct eu_http_server **out, eu_error *err)
{
	*out = NULL;
	struct eu_http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return eu_error_set(err, -ENOMEM, "out of memory");
	s->loop = loop;
	s->lingers.loop = loop;
	s->max_body = opts && opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
	s->max_conns = opts && opts->max_conns ? opts->max_conns : DEFAULT_MAX_CONNS;
	s->timeout_s = opts && opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S;
	s->heartbeat_s = opts && opts->heartbeat_s ? opts->heartbeat_s : DEFAULT_HEARTBEAT_S;
	s->what = opts && opts->what ? opts->what : "API";
	s->head_timeout_s = opts && opts->head_timeout_s ? opts->head_timeout_s :
							    DEFAULT_HEAD_TIMEOUT_S;
	s->body_timeout_s = opts && opts->body_timeout_s ? opts->body_timeout_s :
							    DEFAULT_BODY_TIMEOUT_S;
	*out = s;
	return 0;
}

static void on_beat_closed(uv_handle_t *h)
{
	free(h->data);
}

void eu_http_server_close(struct eu_http_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_ls; i++)
		eu_http_listener_close(s->ls[i]);
	free(s->ls);
	eu_http_linger_stop_all(&s->lingers);
	for (size_t i = 0; i < s->n_routes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].path);
	}
	free(s->routes);
	/* the timer handle lives in s: freed once closed */
	if (s->beat_init)
		uv_close((uv_handle_t *)&s->beat, on_beat_closed);
	else
		free(s);
}
