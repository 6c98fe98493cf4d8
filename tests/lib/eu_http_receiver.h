/* A real HTTP/1.1 receiver on 127.0.0.1 for exporter tests: accepts POSTs on keep-alive
 * connections (one thread each), gunzips Content-Encoding: gzip bodies, records every request
 * and answers from a script (status, Retry-After, body, or closing the connection without an
 * answer); past the script it answers 200 with an empty body. */
#ifndef EU_HTTP_RECEIVER_H
#define EU_HTTP_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eu_http_step {
	int status;              /* 0 with close=false: 200 */
	const char *retry_after; /* Retry-After header value, or NULL */
	bool close;              /* read the request, then close without answering */
	const void *body;        /* response body (application/x-protobuf) */
	size_t body_len;
	unsigned delay_ms;       /* wait this long before answering (a slow collector) */
};

struct eu_http_request {
	char method[16];
	char path[256];
	char *headers;       /* the raw header block, lines joined by "\r\n" */
	unsigned char *body; /* decompressed when it was gzip */
	size_t body_len;
	size_t wire_len;     /* Content-Length as sent */
	bool gzip;
	unsigned char gzip_xfl; /* the gzip header's XFL: 4 fastest level, 2 slowest, 0 others */
	int status;          /* what the receiver answered (0: closed the connection) */
	uint64_t at_ms;      /* CLOCK_MONOTONIC when it arrived */
	unsigned conn;       /* which connection (0, 1, ... in accept order) carried it */
};

struct eu_http_receiver;

/* port 0: any free port. NULL on failure. */
struct eu_http_receiver *eu_http_receiver_start(uint16_t port);
uint16_t eu_http_receiver_port(const struct eu_http_receiver *r);
/* Serves HTTP on an already connected stream fd (e.g. a socketpair end whose peer is a TLS
 * terminator such as `openssl s_server`), like an accepted connection; the receiver closes
 * it when stopped. 0 or -1. */
int eu_http_receiver_adopt(struct eu_http_receiver *r, int fd);
/* Answers for the next n requests, in order (replaces what is left of an earlier script). */
void eu_http_receiver_script(struct eu_http_receiver *r, const struct eu_http_step *steps,
			     size_t n);
size_t eu_http_receiver_count(struct eu_http_receiver *r);
/* Request i (0-based); valid until the receiver is freed. */
const struct eu_http_request *eu_http_receiver_request(struct eu_http_receiver *r, size_t i);
/* Waits until at least n requests have arrived: true, or false after timeout_ms. */
bool eu_http_receiver_wait(struct eu_http_receiver *r, size_t n, int timeout_ms);
/* Value of a header of a recorded request (case-insensitive name), malloc'd, or NULL. */
char *eu_http_request_header(const struct eu_http_request *req, const char *name);
/* Stops listening and closes every connection, then frees everything. */
void eu_http_receiver_stop(struct eu_http_receiver *r);

uint64_t eu_http_now_ms(void);

#endif
