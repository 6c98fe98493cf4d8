/* A loopback HTTP/1.1 receiver for exporter tests (see eu_http_receiver.h). */
#include "eu_http_receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_CONNS 64
#define MAX_STEPS 64
#define MAX_HEADER (64 << 10)

struct conn {
	struct eu_http_receiver *r;
	int fd;
	pthread_t thread;
	bool started;
};

struct eu_http_receiver {
	int lfd;
	uint16_t port;
	pthread_t accept_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	struct conn conns[MAX_CONNS];
	size_t n_conns;
	struct eu_http_step steps[MAX_STEPS];
	size_t n_steps, next_step;
	struct eu_http_request **reqs;
	size_t n_reqs, cap_reqs;
};

uint64_t eu_http_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

static bool gunzip(const unsigned char *in, size_t n, unsigned char **out, size_t *out_len)
{
	z_stream zs = {0};
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return false;
	size_t cap = n * 4 + 1024, len = 0;
	unsigned char *buf = malloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	int ret = Z_OK;
	while (buf && ret != Z_STREAM_END) {
		if (len == cap) {
			cap *= 2;
			unsigned char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		zs.next_out = buf + len;
		zs.avail_out = (uInt)(cap - len);
		ret = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (ret != Z_OK && ret != Z_STREAM_END) {
			free(buf);
			buf = NULL;
		}
	}
	inflateEnd(&zs);
	*out = buf;
	*out_len = len;
	return buf != NULL;
}

char *eu_http_request_header(const struct eu_http_request *req, const char *name)
{
	size_t nl = strlen(name);
	const char *p = req->headers;
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			return strndup(v, (size_t)(p + ll - v));
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

/* Reads one request into req; false when the peer closed or sent garbage. buf/len keep bytes
 * read past the request (pipelining never happens with our client, but keep them anyway). */
static bool read_request(int fd, char *buf, size_t *len, struct eu_http_request *req)
{
	char *end;
	for (;;) {
		buf[*len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (*len >= MAX_HEADER)
			return false;
		ssize_t n = recv(fd, buf + *len, MAX_HEADER - *len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		*len += (size_t)n;
	}
	size_t hlen = (size_t)(end - buf) + 4;
	char *line_end = strstr(buf, "\r\n");
	if (sscanf(buf, "%15s %255s", req->method, req->path) != 2)
		return false;
	req->headers = strndup(line_end + 2, (size_t)(end - line_end - 2) + 2);
	char *cl = eu_http_request_header(req, "Content-Length");
	size_t body = cl ? strtoull(cl, NULL, 10) : 0;
	free(cl);
	unsigned char *raw = malloc(body + 1);
	if (!raw)
		return false;
	size_t have = *len - hlen < body ? *len - hlen : body;
	memcpy(raw, buf + hlen, have);
	size_t rest = *len - hlen - have;
	memmove(buf, buf + hlen + have, rest);
	*len = rest;
	while (have < body) {
		ssize_t n = recv(fd, raw + have, body - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(raw);
			return false;
		}
		have += (size_t)n;
	}
	req->wire_len = body;
	char *ce = eu_http_request_header(req, "Content-Encoding");
	req->gzip = ce && !strcasecmp(ce, "gzip");
	free(ce);
	if (req->gzip) {
		req->gzip_xfl = body > 8 ? (unsigned char)raw[8] : 0;
		if (!gunzip(raw, body, &req->body, &req->body_len)) {
			free(raw);
			return false;
		}
		free(raw);
	} else {
		req->body = raw;
		req->body_len = body;
	}
	return true;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct eu_http_receiver *r = c->r;
	char *buf = malloc(MAX_HEADER + 1);
	size_t len = 0;
	while (buf) {
		struct eu_http_request *req = calloc(1, sizeof(*req));
		if (!req || !read_request(c->fd, buf, &len, req)) {
			if (req) {
				free(req->headers);
				free(req->body);
			}
			free(req);
			break;
		}
		req->at_ms = eu_http_now_ms();
		req->conn = (unsigned)(c - r->conns);
		pthread_mutex_lock(&r->mu);
		struct eu_http_step step = {.status = 200};
		if (r->next_step < r->n_steps)
			step = r->steps[r->next_step++];
		if (!step.status && !step.close)
			step.status = 200;
		req->status = step.close ? 0 : step.status;
		if (r->n_reqs == r->cap_reqs) {
			size_t ncap = r->cap_reqs ? r->cap_reqs * 2 : 16;
			struct eu_http_request **nr = realloc(r->reqs, ncap * sizeof(*nr));
			if (nr) {
				r->reqs = nr;
				r->cap_reqs = ncap;
			}
		}
		if (r->n_reqs < r->cap_reqs)
			r->reqs[r->n_reqs++] = req;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		if (step.close)
			break;
		if (step.delay_ms) {
			struct timespec ts = {step.delay_ms / 1000, (long)(step.delay_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
		char head[512];
		int hl = snprintf(head, sizeof(head),
				  "HTTP/1.1 %d Status\r\nContent-Type: application/x-protobuf\r\n"
				  "Content-Length: %zu\r\n%s%s%s\r\n",
				  step.status, step.body_len, step.retry_after ? "Retry-After: " : "",
				  step.retry_after ? step.retry_after : "",
				  step.retry_after ? "\r\n" : "");
		if (!write_all(c->fd, head, (size_t)hl) ||
		    (step.body_len && !write_all(c->fd, step.body, step.body_len)))
			break;
	}
	free(buf);
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct eu_http_receiver *r = arg;
	for (;;) {
		int fd = accept(r->lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		pthread_mutex_lock(&r->mu);
		if (r->stopping || r->n_conns == MAX_CONNS) {
			pthread_mutex_unlock(&r->mu);
			close(fd);
			if (r->stopping)
				break;
			continue;
		}
		struct conn *c = &r->conns[r->n_conns];
		c->r = r;
		c->fd = fd;
		c->started = pthread_create(&c->thread, NULL, conn_main, c) == 0;
		r->n_conns++;
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

int eu_http_receiver_adopt(struct eu_http_receiver *r, int fd)
{
	pthread_mutex_lock(&r->mu);
	if (r->stopping || r->n_conns == MAX_CONNS) {
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	struct conn *c = &r->conns[r->n_conns];
	c->r = r;
	c->fd = fd;
	c->started = pthread_create(&c->thread, NULL, conn_main, c) == 0;
	r->n_conns++;
	pthread_mutex_unlock(&r->mu);
	return c->started ? 0 : -1;
}

struct eu_http_receiver *eu_http_receiver_start(uint16_t port)
{
	struct eu_http_receiver *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(r->lfd, 64) || getsockname(r->lfd, (struct sockaddr *)&sa, &sl) ||
	    pthread_create(&r->accept_thread, NULL, accept_main, r)) {
		if (r->lfd >= 0)
			close(r->lfd);
		free(r);
		return NULL;
	}
	r->port = ntohs(sa.sin_port);
	return r;
}

uint16_t eu_http_receiver_port(const struct eu_http_receiver *r)
{
	return r->port;
}

void eu_http_receiver_script(struct eu_http_receiver *r, const struct eu_http_step *steps,
			     size_t n)
{
	pthread_mutex_lock(&r->mu);
	if (n > MAX_STEPS)
		n = MAX_STEPS;
	memcpy(r->steps, steps, n * sizeof(*steps));
	r->n_steps = n;
	r->next_step = 0;
	pthread_mutex_unlock(&r->mu);
}

size_t eu_http_receiver_count(struct eu_http_receiver *r)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->n_reqs;
	pthread_mutex_unlock(&r->mu);
	return n;
}

const struct eu_http_request *eu_http_receiver_request(struct eu_http_receiver *r, size_t i)
{
	pthread_mutex_lock(&r->mu);
	const struct eu_http_request *req = i < r->n_reqs ? r->reqs[i] : NULL;
	pthread_mutex_unlock(&r->mu);
	return req;
}

bool eu_http_receiver_wait(struct eu_http_receiver *r, size_t n, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	while (r->n_reqs < n) {
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
			break;
	}
	bool ok = r->n_reqs >= n;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

void eu_http_receiver_stop(struct eu_http_receiver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_mutex_unlock(&r->mu);
	shutdown(r->lfd, SHUT_RDWR);
	pthread_join(r->accept_thread, NULL);
	close(r->lfd);
	for (size_t i = 0; i < r->n_conns; i++) {
		shutdown(r->conns[i].fd, SHUT_RDWR);
		if (r->conns[i].started)
			pthread_join(r->conns[i].thread, NULL);
		close(r->conns[i].fd);
	}
	for (size_t i = 0; i < r->n_reqs; i++) {
		free(r->reqs[i]->headers);
		free(r->reqs[i]->body);
		free(r->reqs[i]);
	}
	free(r->reqs);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
