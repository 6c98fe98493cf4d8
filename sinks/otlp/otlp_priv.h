/* Shared by agent/otlp_*.c only. */
#ifndef EUNOMIA_OTLP_PRIV_H
#define EUNOMIA_OTLP_PRIV_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "otlp.h"

/* A copy of s[0..n) where every byte that is not part of valid UTF-8 becomes U+FFFD: protobuf
 * strings must be UTF-8 and receivers reject records that are not. malloc'd; NULL on OOM. */
char *eu_otlp_utf8_dup(const char *s, size_t n);

/* The variable from the caller's source (or getenv), NULL when unset or empty. */
const char *eu_otlp_env(eu_otlp_getenv_fn fn, void *ctx, const char *name);

/* Protobuf wire helpers for assembling requests around already-packed messages. */
static inline size_t eu_pb_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}
void eu_pb_put_varint(eu_buf *b, uint64_t v);
/* s[0..n) with every byte that is not part of valid UTF-8 replaced by U+FFFD. */
void eu_pb_put_utf8(eu_buf *b, const char *s, size_t n);
/* A length-delimited field header: tag (field << 3 | 2) and the length. */
void eu_pb_put_len_field(eu_buf *b, uint32_t field, size_t len);
static inline size_t eu_pb_len_field_size(uint32_t field, size_t len)
{
	return eu_pb_varint_len((uint64_t)field << 3 | 2) + eu_pb_varint_len(len) + len;
}

/* A packed InstrumentationScope (name and version, invalid UTF-8 replaced) appended to out:
 * 0 or -ENOMEM. */
int eu_otlp_scope_pack(const char *name, const char *version, eu_buf *out);

/* Record i of a request: its scope's index and its packed LogRecord. */
struct eu_otlp_rec {
	uint32_t scope;
	const void *data;
	size_t len;
};
typedef void (*eu_otlp_rec_fn)(void *ctx, size_t i, struct eu_otlp_rec *out);

/* Appends an ExportLogsServiceRequest of n records (rec(ctx, i) gives each): one ResourceLogs
 * with the packed resource, one ScopeLogs per scope index used, in order of first appearance,
 * with scopes[index] as its packed scope and its records in their order. scope_len is the
 * caller's room for n_scopes sizes (so nothing is allocated per request). 0 or -ENOMEM. */
int eu_otlp_logs_assemble(const void *resource, size_t resource_len, const eu_buf *scopes,
			  size_t n_scopes, size_t n, eu_otlp_rec_fn rec, void *ctx,
			  size_t *scope_len, eu_buf *out);

/* Appends an ExportMetricsServiceRequest of one ResourceMetrics: the packed resource and one
 * ScopeMetrics (the scope's name and version, and metrics[0..n)). 0 or -ENOMEM. */
struct Opentelemetry__Proto__Metrics__V1__Metric;
int eu_otlp_metrics_wrap(const void *resource, size_t resource_len, const char *scope_name,
			 const char *scope_version,
			 struct Opentelemetry__Proto__Metrics__V1__Metric **metrics, size_t n,
			 eu_buf *out);

/* ---- the exporter's queued records, packed into reused chunks (otlp_pool.c) ---- */
struct eu_otlp_chunk;
struct eu_otlp_item {
	struct eu_otlp_chunk *chunk;
	uint32_t scope; /* logs: the exporter's scope index */
	size_t len;
	unsigned char data[];
};
struct eu_otlp_pool {
	struct eu_otlp_chunk *fill;   /* where new items go */
	struct eu_otlp_chunk *spares; /* drained chunks kept for reuse */
	size_t n_spares;
};
/* An item with room for len bytes of data (len set, scope and data the caller's); NULL on
 * OOM. It stays valid until eu_otlp_item_free, whatever else is allocated or freed. */
struct eu_otlp_item *eu_otlp_item_new(struct eu_otlp_pool *p, size_t len);
void eu_otlp_item_free(struct eu_otlp_pool *p, struct eu_otlp_item *it);
/* Frees the pool's memory: every item must have been freed. */
void eu_otlp_pool_free(struct eu_otlp_pool *p);

/* ---- libcurl multi on a libuv loop (otlp_http.c) ---- */
struct eu_otlp_http;
/* A finished transfer, already removed from the multi handle. */
typedef void (*eu_otlp_http_done_fn)(void *ctx, CURL *easy, CURLcode code);

int eu_otlp_http_new(struct uv_loop_s *loop, eu_otlp_http_done_fn done, void *ctx,
		     struct eu_otlp_http **out);
/* easy speaks h2c (http:// with HTTP/2 prior knowledge) and keeps its connection between
 * transfers (see otlp_http.c for how, around libcurl's bug): it must not set
 * CURLOPT_HTTP_VERSION, CURLOPT_FRESH_CONNECT or CURLOPT_OPENSOCKETFUNCTION itself.
 * 0 or -ENOMEM. */
int eu_otlp_http_h2c(struct eu_otlp_http *h, CURL *easy);
/* Starts a transfer: false when curl refuses it (or h is closing). */
bool eu_otlp_http_add(struct eu_otlp_http *h, CURL *easy);
/* Abandons a transfer in progress (no done call for it). */
void eu_otlp_http_remove(struct eu_otlp_http *h, CURL *easy);
/* Stops every callback and closes the loop handles; h is freed once they are closed, and
 * then closed(ctx) runs (the loop must run for that). Transfers must be removed first. */
void eu_otlp_http_close(struct eu_otlp_http *h, void (*closed)(void *ctx));

/* ---- OTLP/gRPC framing and status (otlp_grpc.c) ---- */
enum {
	EU_GRPC_OK = 0,
	EU_GRPC_CANCELLED = 1,
	EU_GRPC_UNKNOWN = 2,
	EU_GRPC_INVALID_ARGUMENT = 3,
	EU_GRPC_DEADLINE_EXCEEDED = 4,
	EU_GRPC_PERMISSION_DENIED = 7,
	EU_GRPC_RESOURCE_EXHAUSTED = 8,
	EU_GRPC_ABORTED = 10,
	EU_GRPC_OUT_OF_RANGE = 11,
	EU_GRPC_UNIMPLEMENTED = 12,
	EU_GRPC_INTERNAL = 13,
	EU_GRPC_UNAVAILABLE = 14,
	EU_GRPC_DATA_LOSS = 15,
	EU_GRPC_UNAUTHENTICATED = 16,
};

/* What a response said about the call, gathered from its header and trailer lines. */
struct eu_otlp_grpc_status {
	int code;            /* grpc-status; -1 while none was seen */
	char message[256];   /* grpc-message, percent-decoded */
	bool retry_info;     /* grpc-status-details-bin carried a google.rpc.RetryInfo */
	int64_t retry_delay_ms; /* its delay (-1: none) */
};

/* A message is framed as: the compressed flag (1 byte), its length (4 bytes, big-endian),
 * the message. begin appends the prefix and returns where it is (or -ENOMEM); append the
 * message, then end fills the prefix in. */
int eu_otlp_grpc_frame_begin(eu_buf *out);
void eu_otlp_grpc_frame_end(eu_buf *out, size_t at, bool compressed);
/* The single message of a unary response body: 0 (msg NULL when the body is empty), or
 * -EINVAL when the body is not exactly one frame. */
int eu_otlp_grpc_unframe(const void *body, size_t len, const uint8_t **msg, size_t *msg_len,
			 bool *compressed);
void eu_otlp_grpc_status_reset(struct eu_otlp_grpc_status *st);
/* Feeds one header or trailer line as libcurl hands it over ("name: value\r\n"). */
void eu_otlp_grpc_header(struct eu_otlp_grpc_status *st, const char *line, size_t len);
/* The RetryInfo delay in a packed google.rpc.Status: 0, -ENOENT (none) or -EINVAL. */
int eu_otlp_grpc_retry_info(const void *status, size_t len, int64_t *delay_ms);
/* The OTLP specification's retryable codes (RESOURCE_EXHAUSTED only with RetryInfo). */
bool eu_otlp_grpc_retryable(const struct eu_otlp_grpc_status *st);
/* The code an HTTP status stands for when no grpc-status came (a proxy answered). */
int eu_otlp_grpc_code_from_http(long status);
const char *eu_otlp_grpc_code_name(int code);

/* ---- the on-disk spool (otlp_spool.c) ---- */
struct eu_otlp_spool;

struct eu_otlp_spool_rec {
	const char *scope_name; /* not NUL-terminated: name_len bytes */
	size_t name_len;
	const char *scope_version;
	size_t version_len;
	const void *record;
	size_t len;
};

struct eu_otlp_spool_batch {
	struct eu_otlp_spool_rec *recs; /* point into data */
	size_t n;
	void *data;
	bool damaged; /* the file had a bad header or a damaged tail (what came before is in recs) */
};

/* Creates dir (0700) when missing, lists its batch files and removes unfinished writes. */
int eu_otlp_spool_open(const char *dir, uint64_t max_bytes, bool fsync_on,
		       struct eu_otlp_spool **out, eu_error *err);
void eu_otlp_spool_close(struct eu_otlp_spool *s);
/* A sequence number for a batch to be written later: files replay in this order. */
uint64_t eu_otlp_spool_reserve(struct eu_otlp_spool *s);
/* Writes one batch file; -ENOSPC (nothing written) when it would pass max_bytes. */
int eu_otlp_spool_write(struct eu_otlp_spool *s, uint64_t seq,
			const struct eu_otlp_scoped_record *recs, size_t n, eu_error *err);
/* Reads the file with the lowest sequence number; -ENOENT when there is none. */
int eu_otlp_spool_oldest(struct eu_otlp_spool *s, uint64_t *seq,
			 struct eu_otlp_spool_batch *out, eu_error *err);
void eu_otlp_spool_batch_free(struct eu_otlp_spool_batch *b);
void eu_otlp_spool_remove(struct eu_otlp_spool *s, uint64_t seq);
/* Write-ahead: appends one record to the open batch file (opening one with the next sequence
 * number when none is). 0; -ENOSPC past max_bytes; or the write's error. On an error the
 * record is not in the spool. */
int eu_otlp_spool_append(struct eu_otlp_spool *s, const struct eu_otlp_scoped_record *rec,
			 eu_error *err);
/* Records and bytes in the open write-ahead file (0 when none is open). */
size_t eu_otlp_spool_open_records(const struct eu_otlp_spool *s);
uint64_t eu_otlp_spool_open_bytes(const struct eu_otlp_spool *s);
/* fdatasync of the open file when something was appended since the last one: 0 or -errno. */
int eu_otlp_spool_sync(struct eu_otlp_spool *s);
/* Closes the open file (fdatasync'd under the fsync policy): it becomes the newest batch file
 * to replay (removed when empty). */
void eu_otlp_spool_seal(struct eu_otlp_spool *s);
size_t eu_otlp_spool_files(const struct eu_otlp_spool *s);
uint64_t eu_otlp_spool_bytes(const struct eu_otlp_spool *s);
/* a's and b's max_bytes become one budget: each refuses what would take both past it. Either
 * may be closed first. */
void eu_otlp_spool_share_cap(struct eu_otlp_spool *a, struct eu_otlp_spool *b);

#endif
