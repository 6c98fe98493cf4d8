/* Lingering close after an early answer (http_linger.h). */
#include "http_linger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* long enough for a client on a loaded machine to read the answer and stop sending */
#define LINGER_MS 2000
#define LINGER_MAX 16
#define LINGER_MAX_BYTES (64u << 20)

struct eu_http_linger {
	struct eu_http_linger *next, *prev;
	struct eu_http_linger_set *set;
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	int handles;
	uint64_t discarded;
};

static void on_closed(uv_handle_t *h)
{
	struct eu_http_linger *li = h->data;
	if (h == (uv_handle_t *)&li->poll)
		close(li->fd); /* only once nothing polls it */
	if (--li->handles == 0)
		free(li);
}

static void linger_end(struct eu_http_linger *li)
{
	struct eu_http_linger_set *set = li->set;
	if (li->prev)
		li->prev->next = li->next;
	else
		set->head = li->next;
	if (li->next)
		li->next->prev = li->prev;
	set->n--;
	uv_close((uv_handle_t *)&li->poll, on_closed);
	uv_close((uv_handle_t *)&li->timer, on_closed);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	(void)events;
	struct eu_http_linger *li = p->data;
	static char sink[65536];
	for (;;) {
		ssize_t n = status < 0 ? -1 : read(li->fd, sink, sizeof(sink));
		if (n > 0) {
			li->discarded += (uint64_t)n;
			if (li->discarded < LINGER_MAX_BYTES)
				continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR) && status >= 0) {
			return;
		}
		/* the client's end of stream, an error, or enough discarded */
		linger_end(li);
		return;
	}
}

static void on_timeout(uv_timer_t *t)
{
	linger_end(t->data);
}

void eu_http_linger_start(struct eu_http_linger_set *set, int fd)
{
	if (fd < 0)
		return;
	struct eu_http_linger *li = set->n < LINGER_MAX ? calloc(1, sizeof(*li)) : NULL;
	int fl = fcntl(fd, F_GETFL);
	if (!li || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ||
	    uv_poll_init(set->loop, &li->poll, fd)) {
		free(li);
		close(fd);
		return;
	}
	li->fd = fd;
	li->set = set;
	li->poll.data = li->timer.data = li;
	uv_timer_init(set->loop, &li->timer);
	li->handles = 2;
	li->next = set->head;
	if (set->head)
		set->head->prev = li;
	set->head = li;
	set->n++;
	uv_poll_start(&li->poll, UV_READABLE | UV_DISCONNECT, on_readable);
	uv_timer_start(&li->timer, on_timeout, LINGER_MS, 0);
}

void eu_http_linger_stop_all(struct eu_http_linger_set *set)
{
	while (set->head)
		linger_end(set->head);
}
