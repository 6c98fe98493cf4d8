/* One listener: its socket and libmicrohttpd daemon, run from the libuv loop (its epoll fd on a
 * uv_poll, its timeouts on a uv_timer, the slow-client sweep on another), and its close. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "http_server_priv.h"
#include "http_socket.h"

#define SWEEP_MS 500

static void on_timer(uv_timer_t *t);

static void listener_run(struct eu_http_listener *l)
{
	if (!l->mhd)
		return;
	MHD_run(l->mhd);
	/* At the connection limit libmicrohttpd takes its listening socket out of its epoll set;
	 * it puts it back only at the start of a later run, after a close has freed a slot. With
	 * nothing else to wake us, a connection waiting in the listen queue would wait for the
	 * next idle timeout: run again at once when the count went down. */
	const union MHD_DaemonInfo *ci =
		MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	unsigned conns = ci ? ci->num_connections : 0;
	bool freed = conns < l->conns;
	l->conns = conns;
	MHD_UNSIGNED_LONG_LONG ms;
	if (freed)
		uv_timer_start(&l->timer, on_timer, 0, 0);
	else if (MHD_get_timeout(l->mhd, &ms) == MHD_YES)
		uv_timer_start(&l->timer, on_timer, ms > 3600000 ? 3600000 : (uint64_t)ms, 0);
	else
		uv_timer_stop(&l->timer);
}

static void on_timer(uv_timer_t *t)
{
	listener_run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	listener_run(p->data);
}

void eu_http_listener_kick(struct eu_http_listener *l)
{
	if (l && l->mhd)
		uv_timer_start(&l->timer, on_timer, 0, 0);
}

static void on_sweep(uv_timer_t *t)
{
	struct eu_http_listener *l = t->data;
	if (l->guard && eu_http_guard_sweep(l->guard, eu_http_now_ms()))
		eu_http_listener_kick(l);
}

static void describe(struct eu_http_listener *l, int fd, const struct eu_http_spec *sp)
{
	if (sp->is_unix) {
		snprintf(l->addr, sizeof(l->addr), "unix:%s", sp->path);
		return;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (!getsockname(fd, (struct sockaddr *)&ss, &len)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(l->addr, sizeof(l->addr), ss.ss_family == AF_INET6 ? "tcp:[%s]:%u" : "tcp:%s:%u",
		 host, port);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct eu_http_listener *l = h->data;
	if (--l->open_handles == 0)
		free(l);
}

void eu_http_listener_close(struct eu_http_listener *l)
{
	if (l->mhd) {
		/* a suspended connection must be resumed before the daemon stops */
		for (struct eu_http_stream *st = l->s->streams; st; st = st->next) {
			if (st->l != l)
				continue;
			st->closing = true;
			if (st->suspended) {
				st->suspended = false;
				MHD_resume_connection(st->conn);
			}
		}
		for (struct eu_http_req *r = l->s->deferred; r; r = r->next_deferred)
			if (r->l == l)
				MHD_resume_connection(r->conn);
		MHD_run(l->mhd);
	}
	if (l->open_handles) {
		uv_close((uv_handle_t *)&l->poll, on_handle_closed);
		uv_close((uv_handle_t *)&l->timer, on_handle_closed);
		uv_close((uv_handle_t *)&l->sweep, on_handle_closed);
	}
	if (l->mhd)
		MHD_stop_daemon(l->mhd);
	l->mhd = NULL;
	/* after the daemon: stopping it reports its last connections closed */
	eu_http_guard_free(l->guard);
	l->guard = NULL;
	struct stat st;
	if (l->unix_path && !lstat(l->unix_path, &st) && st.st_dev == l->unix_dev &&
	    st.st_ino == l->unix_ino)
		unlink(l->unix_path);
	free(l->unix_path);
	free(l->token);
	l->unix_path = l->token = NULL;
	if (!l->open_handles)
		free(l);
}

int eu_http_server_listen(struct eu_http_server *s, const char *spec, const char *token,
			  eu_error *err)
{
	struct eu_http_spec sp;
	int ret = eu_http_spec_parse(spec, &sp, err);
	if (ret)
		return ret;
	if (token && !*token)
		token = NULL;
	if (!sp.is_unix && !token && !eu_http_addr_loopback((struct sockaddr *)&sp.sa))
		return eu_error_set(err, -EPERM,
				    "listener '%s': not a loopback address: a bearer token is "
				    "required (--api-token-file FILE)", spec);
	struct eu_http_listener **ls = realloc(s->ls, (s->n_ls + 1) * sizeof(*ls));
	if (!ls)
		return eu_error_set(err, -ENOMEM, "out of memory");
	s->ls = ls;
	struct eu_http_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return eu_error_set(err, -ENOMEM, "out of memory");
	l->s = s;
	if ((token && !(l->token = strdup(token))) ||
	    (sp.is_unix && !(l->unix_path = strdup(sp.path)))) {
		eu_http_listener_close(l);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	int fd = eu_http_socket_open(spec, &sp, err);
	if (fd < 0) {
		free(l->unix_path);
		l->unix_path = NULL;
		eu_http_listener_close(l);
		return fd;
	}
	describe(l, fd, &sp);
	struct stat st;
	if (sp.is_unix && !lstat(sp.path, &st)) {
		l->unix_dev = st.st_dev;
		l->unix_ino = st.st_ino;
	}
	/* a reserve of slots slow clients cannot take (http_guard.h) */
	unsigned reserve = s->max_conns / 8 ? s->max_conns / 8 : 1;
	struct eu_http_guard_limits lim = {
		.head_s = s->head_timeout_s, .body_s = s->body_timeout_s,
		.per_addr = s->max_conns / 2 ? s->max_conns / 2 : 1,
		.max_waiting = s->max_conns > reserve ? s->max_conns - reserve : 1};
	if (!(l->guard = eu_http_guard_new(&lim, l->addr))) {
		close(fd);
		eu_http_listener_close(l);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
				  NULL, NULL, eu_http_on_access, l,
				  MHD_OPTION_EXTERNAL_LOGGER, eu_http_mhd_log, l,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, s->max_conns,
				  MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
				  MHD_OPTION_NOTIFY_COMPLETED, eu_http_on_completed, l,
				  MHD_OPTION_NOTIFY_CONNECTION, eu_http_on_connection, l,
				  MHD_OPTION_END);
	if (!l->mhd) {
		close(fd);
		eu_http_listener_close(l);
		return eu_error_set(err, -EIO, "listener '%s': libmicrohttpd did not start", spec);
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || (ret = uv_poll_init(s->loop, &l->poll, info->epoll_fd))) {
		eu_http_listener_close(l);
		return eu_error_set(err, -EIO,
				    "listener '%s': cannot poll libmicrohttpd's epoll fd", spec);
	}
	uv_timer_init(s->loop, &l->timer);
	uv_timer_init(s->loop, &l->sweep);
	l->poll.data = l->timer.data = l->sweep.data = l;
	l->open_handles = 3;
	uv_poll_start(&l->poll, UV_READABLE, on_poll);
	uv_timer_start(&l->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
	/* the sweep alone must not keep a loop alive that has nothing else to do */
	uv_unref((uv_handle_t *)&l->sweep);
	s->ls[s->n_ls++] = l;
	eu_http_heartbeat_start(s);
	listener_run(l);
	eu_log(EU_LOG_INFO, "%s listening on %s%s", s->what, l->addr,
	       l->token ? " (bearer token)" : "");
	return 0;
}

const char *eu_http_server_address(struct eu_http_server *s, size_t i)
{
	return i < s->n_ls ? s->ls[i]->addr : NULL;
}

size_t eu_http_server_listener_count(struct eu_http_server *s)
{
	return s->n_ls;
}
