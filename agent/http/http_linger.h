/* Lingering close for http_server.c: after an answer given before the request's body ended
 * (413 in the middle of an upload), the client is still sending. Closing the socket with its
 * data unread makes the kernel answer with a reset, and a client blocked in its next send
 * (curl among them) fails there and never reads the 413 waiting in its socket. So the socket
 * stays open a short while (its sending side already shut), read and discarded, until the
 * client closes its side, LINGER_MS pass or LINGER_MAX_BYTES were discarded; at most
 * LINGER_MAX sockets linger at once (beyond that they close at once, as before). */
#ifndef EUNOMIA_HTTP_LINGER_H
#define EUNOMIA_HTTP_LINGER_H

#include <uv.h>

struct eu_http_linger;

struct eu_http_linger_set {
	uv_loop_t *loop;
	struct eu_http_linger *head;
	unsigned n;
};

/* Takes fd (a duplicate of the connection's socket, whose owner closes its own): lingers on
 * it, or closes it at once when it cannot. */
void eu_http_linger_start(struct eu_http_linger_set *set, int fd);
/* Ends every lingering socket (the server closes). */
void eu_http_linger_stop_all(struct eu_http_linger_set *set);

#endif
