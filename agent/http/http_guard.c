/* Slow-client shedding for the HTTP listeners (rules in http_guard.h). */
#include "http_guard.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eunomia/log.h"

/* shed connections are reported at most this often (a slowloris would flood the log) */
#define REPORT_EVERY_MS 60000

enum phase { WAIT_HEAD, WAIT_BODY, HANDLED, SHED };

struct eu_http_guard_conn {
	struct eu_http_guard_conn *next, *prev;
	struct eu_http_guard *g;
	int fd;
	enum phase phase;
	uint64_t since_ms; /* start of the current phase */
	bool has_addr;     /* a TCP peer: counted per address */
	struct sockaddr_storage addr;
};

struct eu_http_guard {
	struct eu_http_guard_limits lim;
	const char *name;
	/* oldest first: the one to shed is at the head of the waiting ones */
	struct eu_http_guard_conn *head, *tail;
	unsigned waiting;
	uint64_t shed_late, shed_cap, reported_late, reported_cap, last_report_ms;
};

static bool waiting(const struct eu_http_guard_conn *c)
{
	return c->phase == WAIT_HEAD || c->phase == WAIT_BODY;
}

static bool same_addr(const struct eu_http_guard_conn *a, const struct eu_http_guard_conn *b)
{
	if (!a->has_addr || !b->has_addr || a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->addr)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&b->addr)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
		       &((const struct sockaddr_in6 *)&b->addr)->sin6_addr, sizeof(struct in6_addr));
}

static void set_phase(struct eu_http_guard_conn *c, enum phase p, uint64_t now_ms)
{
	bool was = waiting(c);
	c->phase = p;
	c->since_ms = now_ms;
	bool is = waiting(c);
	if (was && !is)
		c->g->waiting--;
	else if (!was && is)
		c->g->waiting++;
}

static void shed(struct eu_http_guard_conn *c, bool late)
{
	/* the library notices the end of the stream and closes its side */
	shutdown(c->fd, SHUT_RDWR);
	set_phase(c, SHED, c->since_ms);
	if (late)
		c->g->shed_late++;
	else
		c->g->shed_cap++;
}

static void report(struct eu_http_guard *g, uint64_t now_ms)
{
	if ((g->shed_late == g->reported_late && g->shed_cap == g->reported_cap) ||
	    (g->last_report_ms && now_ms - g->last_report_ms < REPORT_EVERY_MS))
		return;
	eu_log(EU_LOG_WARN,
	       "http %s: closed slow connections: %llu without a whole request within %u s "
	       "(head) / %u s (body), %llu over the caps of %u waiting per address and %u in all "
	       "(totals since start)",
	       g->name, (unsigned long long)g->shed_late, g->lim.head_s, g->lim.body_s,
	       (unsigned long long)g->shed_cap, g->lim.per_addr, g->lim.max_waiting);
	g->reported_late = g->shed_late;
	g->reported_cap = g->shed_cap;
	g->last_report_ms = now_ms;
}

struct eu_http_guard *eu_http_guard_new(const struct eu_http_guard_limits *lim, const char *name)
{
	struct eu_http_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->lim = *lim;
	g->name = name;
	return g;
}

void eu_http_guard_free(struct eu_http_guard *g)
{
	if (!g)
		return;
	/* connections still open belong to the library, which is stopping: forget them */
	while (g->head) {
		struct eu_http_guard_conn *c = g->head;
		g->head = c->next;
		free(c);
	}
	free(g);
}

struct eu_http_guard_conn *eu_http_guard_opened(struct eu_http_guard *g, int fd,
						const struct sockaddr *sa, uint64_t now_ms)
{
	struct eu_http_guard_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->g = g;
	c->fd = fd;
	c->phase = HANDLED;
	if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		c->has_addr = true;
		memcpy(&c->addr, sa,
		       sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
						  sizeof(struct sockaddr_in6));
	}
	/* caps count the newcomer: make room among the older waiting ones first */
	unsigned same = 0;
	for (struct eu_http_guard_conn *o = g->head; o; o = o->next)
		same += waiting(o) && same_addr(o, c);
	for (struct eu_http_guard_conn *o = g->head; o && c->has_addr && same >= g->lim.per_addr;
	     o = o->next) {
		if (waiting(o) && same_addr(o, c)) {
			shed(o, false);
			same--;
		}
	}
	for (struct eu_http_guard_conn *o = g->head; o && g->waiting >= g->lim.max_waiting;
	     o = o->next)
		if (waiting(o))
			shed(o, false);
	c->prev = g->tail;
	if (g->tail)
		g->tail->next = c;
	else
		g->head = c;
	g->tail = c;
	set_phase(c, WAIT_HEAD, now_ms);
	report(g, now_ms);
	return c;
}

void eu_http_guard_head(struct eu_http_guard_conn *c, uint64_t now_ms)
{
	if (c && c->phase == WAIT_HEAD)
		set_phase(c, WAIT_BODY, now_ms);
}

void eu_http_guard_handled(struct eu_http_guard_conn *c)
{
	if (c && waiting(c))
		set_phase(c, HANDLED, c->since_ms);
}

void eu_http_guard_request_done(struct eu_http_guard_conn *c, uint64_t now_ms)
{
	if (!c || c->phase == SHED)
		return;
	set_phase(c, WAIT_HEAD, now_ms);
	/* the oldest waiting connection is the one shed first: move it to the end */
	struct eu_http_guard *g = c->g;
	if (g->tail == c)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	c->next->prev = c->prev;
	c->prev = g->tail;
	c->next = NULL;
	g->tail->next = c;
	g->tail = c;
}

void eu_http_guard_closed(struct eu_http_guard_conn *c)
{
	if (!c)
		return;
	struct eu_http_guard *g = c->g;
	if (waiting(c))
		g->waiting--;
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		g->tail = c->prev;
	free(c);
}

unsigned eu_http_guard_sweep(struct eu_http_guard *g, uint64_t now_ms)
{
	unsigned n = 0;
	for (struct eu_http_guard_conn *c = g->head; c; c = c->next) {
		uint64_t limit_ms = (uint64_t)(c->phase == WAIT_HEAD ? g->lim.head_s : g->lim.body_s) *
				    1000;
		if (waiting(c) && now_ms - c->since_ms >= limit_ms) {
			shed(c, true);
			n++;
		}
	}
	report(g, now_ms);
	return n;
}

unsigned eu_http_guard_waiting(const struct eu_http_guard *g)
{
	return g->waiting;
}
