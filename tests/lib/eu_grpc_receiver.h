/* A real OTLP/gRPC receiver for exporter tests: tests/lib/otlp_grpc_receiver.py (grpcio's
 * server with the services built from the repository's official .proto files) run as a child
 * process on 127.0.0.1. Every call it receives is decoded by the protobuf runtime and kept as
 * one JSON object (service, answer, metadata, request with proto field names); it answers
 * from a script of steps (see the script's help: "unavailable", "resource_exhausted/retry:300",
 * "partial:2:why", ...), then OK. */
#ifndef EU_GRPC_RECEIVER_H
#define EU_GRPC_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct eu_grpc_receiver;

struct eu_grpc_receiver_opts {
	uint16_t port;      /* 0: any free port */
	const char *script; /* comma-separated steps, or NULL */
	const char *cert;   /* TLS: server certificate and key (PEM), or NULL for cleartext h2c */
	const char *key;
	bool no_record;     /* decode the calls but keep nothing (benchmarks) */
};

/* Starts the receiver and waits until it listens: NULL with *why set on failure. */
struct eu_grpc_receiver *eu_grpc_receiver_start(const struct eu_grpc_receiver_opts *o,
						const char **why);
uint16_t eu_grpc_receiver_port(const struct eu_grpc_receiver *r);
/* Calls received so far. */
size_t eu_grpc_receiver_count(struct eu_grpc_receiver *r);
/* Waits until at least n calls arrived: true, or false after timeout_ms. */
bool eu_grpc_receiver_wait(struct eu_grpc_receiver *r, size_t n, int timeout_ms);
/* Call i (0-based) as parsed JSON, owned by the receiver (valid until it is stopped). */
const struct cJSON *eu_grpc_receiver_call(struct eu_grpc_receiver *r, size_t i);
/* Kills the receiver and frees everything. */
void eu_grpc_receiver_stop(struct eu_grpc_receiver *r);

#endif
