/* OTLP/HTTP protobuf export: configuration from the OTEL_* environment, the resource, events
 * as LogRecords, counters as Sums, and an exporter that batches, compresses and posts them
 * from a libuv loop with libcurl's multi interface (retries, backoff, drop accounting).
 *
 * Encoding is split from transport so each piece is testable alone:
 *   eu_otlp_resource_encode   -> packed opentelemetry.proto.resource.v1.Resource
 *   eu_otlp_log_encode        -> packed opentelemetry.proto.logs.v1.LogRecord (one event or
 *                                sampled map entry), written straight from its plan
 *   eu_otlp_logs_request      -> ExportLogsServiceRequest from a resource and scoped records
 *   eu_otlp_metrics_request   -> ExportMetricsServiceRequest of monotonic cumulative Sums
 *   eu_otlp_exporter_*        -> queue, batch, gzip, POST, retry, optional disk spool
 * The exporter queues packed LogRecords (bytes): the queue is bounded in records and bytes,
 * and the request is assembled around the queued bytes without decoding them again.
 *
 * Attribute names: a top-level event field whose name has a semantic-convention counterpart
 * is sent under that name (the table is in sinks/otlp/otlp_semconv.c and the README):
 *   pid -> process.pid                 ppid -> process.parent_pid
 *   tid -> thread.id                   comm -> process.executable.name
 *   exit_code -> process.exit.code     filename, fname, path -> file.path
 *   uid -> process.user.id             cpu -> cpu.logical_number
 *   saddr -> source.address            daddr -> destination.address
 *   sport -> source.port               dport -> destination.port
 * Fields not in the table keep their own name. A caller's map (eu_otlp_attr_map) is looked
 * up first: an entry maps a field to another name, or to "" to drop it. */
#ifndef EUNOMIA_OTLP_H
#define EUNOMIA_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"
#include "metrics/metrics.h"

struct eu_plan;
struct uv_loop_s;

/* Where configuration comes from: NULL means the process environment (getenv). Tests and the
 * config file pass their own. */
typedef const char *(*eu_otlp_getenv_fn)(void *ctx, const char *name);

/* ---- key=value lists: OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS ----
 * Comma-separated key=value pairs (the W3C Baggage format without properties). Blanks around
 * keys and values are trimmed; values are percent-decoded. Empty members (",,") are skipped.
 * A member with no '=', an empty key, a bad %XX escape or a decoded value that is not valid
 * UTF-8 makes the whole list invalid (-EINVAL naming the member): the specification says to
 * discard the whole variable then. */
struct eu_otlp_kv {
	char *key;
	char *value;
};

struct eu_otlp_kvs {
	struct eu_otlp_kv *v;
	size_t n;
};

int eu_otlp_kvs_parse(const char *text, struct eu_otlp_kvs *out, eu_error *err);
void eu_otlp_kvs_free(struct eu_otlp_kvs *kvs);

/* ---- resource ---- */
struct eu_otlp_resource_opts {
	const char *service_version; /* NULL: the agent's version */
	const char *host_name;       /* NULL: uname()'s nodename */
	eu_otlp_getenv_fn getenv;
	void *getenv_ctx;
};

/* Appends a packed Resource: service.name (OTEL_SERVICE_NAME, else service.name from
 * OTEL_RESOURCE_ATTRIBUTES, else "eunomia-agent"), service.version, host.name, host.arch,
 * os.type, telemetry.sdk.name/language/version, then the OTEL_RESOURCE_ATTRIBUTES pairs
 * (which replace the detected values of the same key, except service.name as said). An
 * invalid OTEL_RESOURCE_ATTRIBUTES is ignored whole: the return is then 1 and err says why
 * (for the caller to log); 0 otherwise, or -ENOMEM. */
int eu_otlp_resource_encode(const struct eu_otlp_resource_opts *opts, eu_buf *out,
			    eu_error *err);

/* ---- attribute names ---- */
struct eu_otlp_attr_map {
	const char *field; /* a top-level event field */
	const char *attr;  /* the attribute name to use; "" drops the field */
};

/* The attribute name for a field: the caller's map, then the built-in table, then the field
 * name itself. NULL when the map drops it. */
const char *eu_otlp_attr_name(const char *field, const struct eu_otlp_attr_map *map,
			      size_t n_map);

/* ---- logs ---- */
#define EU_OTLP_SEVERITY_INFO 9

struct eu_otlp_log_event {
	const char *package;    /* e.g. "bootstrap" */
	const char *event_type; /* e.g. "event" (the struct name) */
	const struct eu_plan *plan;
	const void *data;
	size_t size;
	uint64_t time_unix_nano;          /* when it happened (0: unknown) */
	uint64_t observed_time_unix_nano; /* when the agent saw it */
	int severity_number;              /* 0: INFO (9) */
	const char *severity_text;        /* NULL: the text for severity_number's range */
	const struct eu_otlp_attr_map *map;
	size_t n_map;
	/* the attribute name of each top-level field (NULL: dropped), from eu_otlp_attr_names;
	 * when NULL, resolved from map for this record */
	const char *const *attr_names;
	eu_buf *scratch; /* kept across calls: no allocation per record (NULL: a temporary) */
	/* A sampled map entry: plan, data and size are then its value's, and the record's
	 * attributes are "key" and "value" (each a kvlist of the plan's fields, or with
	 * key_scalar/value_scalar the only field's value; no key plan: an empty value). */
	bool sample;
	const struct eu_plan *key_plan;
	const void *key;
	size_t key_size;
	bool key_scalar, value_scalar;
	/* The record's stacks named (record.h; NULL: none): each goes out as an attribute whose
	 * value is an array of strings, the frames innermost first ("[missing]" a frame of its
	 * own), under the inline field's name (replacing its addresses) or, for a stack id, the
	 * id's name without _id beside the id; a sample also gets "folded", its flame-graph
	 * line `comm;outermost;...;innermost`. */
	const struct eu_record_stacks *stacks;
	const void *stack_blob;
	size_t stack_blob_size;
	/* A record with no plan (a Wasm module's output line, or its JSON object's text): the
	 * body is this text as a string (invalid UTF-8 replaced), and there are no attributes. */
	const char *text;
	size_t text_len;
	/* What every record of this source shares, worked out once (eu_otlp_log_prep_new from
	 * an event with this one's package, event_type, severity and attr_names): the fields
	 * that never change, pre-encoded, and the attribute names measured and checked for
	 * UTF-8. The bytes are those encoded without it. NULL: worked out for this record. */
	const struct eu_otlp_log_prep *prep;
};

/* Appends one packed LogRecord, written as protobuf straight from the plan: times, severity,
 * body "<package>.<event_type>" (a record with text: that text), event_name
 * "<package>.<event_type>", and every top-level field as an
 * attribute keeping its type:
 *   signed integers, unsigned ones up to INT64_MAX  int_value
 *   unsigned 64-bit values above INT64_MAX           string_value, decimal
 *   128-bit integers (__int128, unsigned __int128)   string_value, decimal with a '-' when
 *                                                    negative (exact; what JSON prints)
 *   float, double                                    double_value
 *   bool                                             bool_value
 *   char[N]                                          string_value up to the first NUL, invalid
 *                                                    UTF-8 bytes replaced by U+FFFD
 *   other 8-bit arrays (__u8[N], unsigned/signed char[N])  bytes_value, every byte
 *   other arrays                                     array_value
 *   structs, unions                                  kvlist_value (members by name)
 *   enums                                            string_value: the name (the number as
 *                                                    text when no name matches)
 *   pointers, eu_ipv4_t/eu_ip_t, odd floats          string_value: their text
 * A record shorter than the plan's minimum is refused (-EINVAL, nothing appended). */
int eu_otlp_log_encode(const struct eu_otlp_log_event *ev, eu_buf *out, eu_error *err);

/* What eu_otlp_log_encode can work out once for many records of one source, from tmpl's
 * package, event_type, severity_number, severity_text and attr_names (the prep holds copies:
 * tmpl may go). 0 or -ENOMEM. */
struct eu_otlp_log_prep;
int eu_otlp_log_prep_new(const struct eu_otlp_log_event *tmpl, struct eu_otlp_log_prep **out);
void eu_otlp_log_prep_free(struct eu_otlp_log_prep *p);

/* The attribute name of each top-level field of plan (NULL: dropped by the map), as
 * eu_otlp_attr_name gives them; a name two fields map to goes to the first, the later keeps
 * its field name. *out is malloc'd; its strings point into map, the built-in table and plan. */
int eu_otlp_attr_names(const struct eu_plan *plan, const struct eu_otlp_attr_map *map,
		       size_t n_map, const char ***out);

/* Severity by name ("TRACE".."FATAL4", any case, as in SeverityNumber) or number 1..24:
 * 0 and the number, or -EINVAL. */
int eu_otlp_severity_parse(const char *text, int *number);

/* One record of a request and the instrumentation scope (package name and version) it
 * belongs to. */
struct eu_otlp_scoped_record {
	const char *scope_name;
	const char *scope_version;
	const void *record; /* a packed LogRecord */
	size_t len;
};

/* Appends an ExportLogsServiceRequest: one ResourceLogs with the packed resource, one
 * ScopeLogs per distinct (scope_name, scope_version) in order of first appearance, records in
 * their given order within each scope. */
int eu_otlp_logs_request(const void *resource, size_t resource_len,
			 const struct eu_otlp_scoped_record *recs, size_t n, eu_buf *out);

/* ---- metrics ---- */
struct eu_otlp_counter {
	const char *name;        /* consecutive counters with the same name are one Metric */
	const char *description;
	const char *unit;        /* e.g. "{event}" */
	uint64_t value;
	const struct eu_otlp_kv *attrs;
	size_t n_attrs;
	bool gauge;              /* a current value (a Gauge), not a count */
};

/* Appends an ExportMetricsServiceRequest: one scope, every counter a data point of a
 * monotonic cumulative Sum (start_unix_nano .. now_unix_nano, value as int), every gauge one
 * of a Gauge (at now_unix_nano). Values above INT64_MAX are clamped to it. */
int eu_otlp_metrics_request(const void *resource, size_t resource_len, const char *scope_name,
			    const char *scope_version, uint64_t start_unix_nano,
			    uint64_t now_unix_nano, const struct eu_otlp_counter *counters, size_t n,
			    eu_buf *out, eu_error *err);

/* ---- exporter configuration (the OTLP exporter specification's variables) ----
 * Per signal (logs, metrics), the first one set wins:
 *   protocol:    _<SIGNAL>_PROTOCOL, _PROTOCOL: "http/protobuf" (the default), "http/json" or
 *                "grpc", any case; anything else is reported and http/protobuf is used
 *   URL, http/protobuf and http/json: OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT as is; else the
 *                base (the
 *                endpoint given to eu_otlp_config_from_env, else OTEL_EXPORTER_OTLP_ENDPOINT,
 *                else http://localhost:4318) with "/v1/<signal>" appended after its path
 *   URL, grpc:   the same endpoints (default http://localhost:4317) name the server: their
 *                scheme and host:port are kept, the path becomes the service's Export method;
 *                an endpoint without a scheme is https://, or http:// when _<SIGNAL>_INSECURE
 *                or _INSECURE is true
 *   headers:     _<SIGNAL>_HEADERS, _HEADERS (key=value,... percent-decoded)
 *   compression: _<SIGNAL>_COMPRESSION, _COMPRESSION: "gzip" or "none" (default none);
 *                EUNOMIA_OTLP_COMPRESSION_LEVEL: gzip's level, 1..9 (default 1: bench/
 *                otlp_bench measures each level's time and size on real request bodies)
 *   timeout:     _<SIGNAL>_TIMEOUT, _TIMEOUT: milliseconds per request (default 10000)
 *   TLS:         _<SIGNAL>_CERTIFICATE, _CERTIFICATE (CA file); _CLIENT_CERTIFICATE and
 *                _CLIENT_KEY likewise (PEM files)
 * Metrics: every OTEL_METRIC_EXPORT_INTERVAL ms (default 60000), with the temporality
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE asks (cumulative, delta or lowmemory;
 * default cumulative).
 * Batching from OTEL_BLRP_MAX_QUEUE_SIZE (2048), OTEL_BLRP_MAX_EXPORT_BATCH_SIZE (512),
 * OTEL_BLRP_SCHEDULE_DELAY (1000 ms) and OTEL_BLRP_EXPORT_TIMEOUT (30000 ms: the whole
 * export of one batch, retries included).
 * As the specification asks, a value that is invalid (a timeout that is not a number, an
 * unknown enum value, a header list that does not parse) is logged as a warning naming the
 * variable and the value, and the default is used; only an endpoint that is not an http(s)
 * URL is an error (data must not silently go elsewhere). */
/* gzip level 1: on 512-record request bodies bench/otlp_bench measured level 6 at 2.2-2.5x
 * level 1's CPU for 8-13% fewer bytes; compression was the exporter's largest cost. */
#define EU_OTLP_GZIP_LEVEL 1
#define EU_OTLP_GZIP_LEVEL_MAX 9

/* The request bodies' gzip (otlp_gzip.c): level 1 is ISA-L's igzip, 2..9 libdeflate's. One per
 * exporter (it holds the level's tables), not for two threads at once; NULL when out of
 * memory or the level is not 1..EU_OTLP_GZIP_LEVEL_MAX. eu_otlp_gzip appends data as one gzip
 * member to out: 0 or -ENOMEM. */
struct eu_otlp_gzip;
struct eu_otlp_gzip *eu_otlp_gzip_new(int level);
void eu_otlp_gzip_free(struct eu_otlp_gzip *z);
int eu_otlp_gzip(struct eu_otlp_gzip *z, const void *data, size_t len, eu_buf *out);

enum eu_otlp_protocol {
	EU_OTLP_HTTP_PROTOBUF = 0,
	EU_OTLP_GRPC,
	EU_OTLP_HTTP_JSON, /* http/protobuf's request rewritten as JSON (otlp_wire_json.h) */
};

struct eu_otlp_signal_config {
	enum eu_otlp_protocol protocol;
	char *url;      /* http: the POST URL; grpc: scheme://host:port/<service>/Export */
	char **headers; /* "Key: value", ready for an HTTP request */
	size_t n_headers;
	bool gzip;
	uint32_t timeout_ms;
	char *ca_file;
	char *client_cert;
	char *client_key;
};

struct eu_otlp_config {
	struct eu_otlp_signal_config logs;
	struct eu_otlp_signal_config metrics;
	size_t max_queue;        /* records waiting; beyond it new ones are dropped */
	size_t max_queue_bytes;  /* bytes of packed records waiting (default 64 MiB) */
	size_t max_batch;        /* records per request */
	size_t max_batch_bytes;  /* uncompressed request bytes (default 4 MiB) */
	uint32_t schedule_delay_ms; /* a partial batch waits at most this long */
	uint32_t export_timeout_ms; /* a batch is given up (dropped, counted) after this long */
	uint32_t retry_initial_ms;  /* first backoff (default 1000), then x2 up to retry_max_ms */
	uint32_t retry_max_ms;      /* default 5000 */
	uint32_t max_attempts;      /* per batch, the first one included; 0: no limit but time */
	size_t max_metric_requests; /* metric requests waiting (default 16) */
	uint32_t metric_interval_ms; /* OTEL_METRIC_EXPORT_INTERVAL */
	enum eu_metrics_temporality temporality;
	int gzip_level;             /* 1 (fastest) .. 9 (smallest); default EU_OTLP_GZIP_LEVEL */
	/* Optional on-disk spool (NULL: none). With it, a batch whose retries run out, the
	 * oldest batch of a full queue, and whatever is queued or in flight at close are
	 * written to DIR (one file per batch, sequence-numbered) instead of being dropped, and
	 * replayed oldest first before newer records once the receiver takes requests again,
	 * also after a restart. Past spool_max_bytes they are dropped (dropped_spool_full).
	 * Metrics requests get the same in DIR/metrics, a spool of their own (the same cap),
	 * so neither signal replays as the other. */
	char *spool_dir;
	uint64_t spool_max_bytes;   /* default 256 MiB */
	bool spool_fsync;           /* fdatasync each batch file and its directory entry */
	/* Write-ahead: every log record is appended to the spool before eu_otlp_exporter_log
	 * returns and is sent from there, so a crash loses none of them (the daemon's default
	 * with a spool). Without it only the cases above reach the spool. Logs only: the
	 * metrics spool always takes only the cases above. */
	bool spool_write_ahead;
};

/* Fills cfg from the environment; base_endpoint (may be NULL) stands in for
 * OTEL_EXPORTER_OTLP_ENDPOINT (the daemon's "--sink otlp:URL"). */
int eu_otlp_config_from_env(struct eu_otlp_config *cfg, const char *base_endpoint,
			    eu_otlp_getenv_fn getenv_fn, void *ctx, eu_error *err);
void eu_otlp_config_free(struct eu_otlp_config *cfg);

/* Builds a signal's URL per the specification: an explicit per-signal endpoint is used as
 * is; a base gets "v1/<signal>" appended after one '/'. Returns a malloc'd string or NULL. */
char *eu_otlp_signal_url(const char *base, const char *signal);

/* The gRPC URL of a service's Export method on endpoint (see above): malloc'd or NULL. */
char *eu_otlp_grpc_url(const char *endpoint, bool insecure, const char *service);
/* "http/protobuf", "grpc", "http/json" */
const char *eu_otlp_protocol_name(enum eu_otlp_protocol p);

/* ---- exporter ---- */
struct eu_otlp_signal_stats {
	uint64_t queued;             /* records (logs) or requests (metrics) accepted */
	uint64_t exported;           /* acknowledged by the receiver (partial rejections included) */
	uint64_t rejected;           /* partial success: rejected_log_records / _data_points */
	uint64_t requests;           /* HTTP requests sent, retries included */
	uint64_t retries;            /* requests that were retries */
	uint64_t dropped_queue_full;
	uint64_t dropped_non_retryable; /* 4xx other than 429, other 5xx, bad response */
	uint64_t dropped_retries_exhausted; /* attempts or export timeout used up */
	uint64_t dropped_shutdown;   /* still queued or in flight at close (no spool) */
	uint64_t bytes_sent;         /* request bodies on the wire (after gzip) */
	uint64_t bytes_raw;          /* request bodies before gzip */
	size_t queue_len;
	long last_status;            /* last HTTP status (0: connection failure) */
	uint64_t spooled;            /* records written to the spool */
	uint64_t replayed;           /* records delivered from the spool */
	uint64_t dropped_spool_full; /* records that found the spool full too */
	size_t spool_files;          /* batch files waiting in the spool */
	uint64_t spool_bytes;
};

struct eu_otlp_stats {
	struct eu_otlp_signal_stats logs;
	struct eu_otlp_signal_stats metrics;
};

struct eu_otlp_exporter;

/* The exporter takes copies of cfg and the packed resource. All its work happens in
 * callbacks of loop; nothing blocks. */
int eu_otlp_exporter_new(struct uv_loop_s *loop, const struct eu_otlp_config *cfg,
			 const void *resource, size_t resource_len,
			 struct eu_otlp_exporter **out, eu_error *err);

/* Queues a packed LogRecord of scope (name, version). 0, or -ENOBUFS when the queue is full
 * (the record is dropped and counted). */
int eu_otlp_exporter_log(struct eu_otlp_exporter *exp, const char *scope_name,
			 const char *scope_version, const void *record, size_t len);
/* The same in two steps, for a caller that queues many records of one scope: the scope's
 * number (valid for the exporter's life; 0 or -ENOMEM), then records by that number. */
int eu_otlp_exporter_scope(struct eu_otlp_exporter *exp, const char *scope_name,
			   const char *scope_version, uint32_t *scope);
int eu_otlp_exporter_log_scope(struct eu_otlp_exporter *exp, uint32_t scope,
			       const void *record, size_t len);

/* Queues a whole ExportMetricsServiceRequest. 0 or -ENOBUFS (dropped, counted). */
int eu_otlp_exporter_metrics(struct eu_otlp_exporter *exp, const void *request, size_t len);

/* Sends what is queued without waiting for a full batch or the schedule delay. */
void eu_otlp_exporter_flush(struct eu_otlp_exporter *exp);
/* fdatasync of the records written ahead since the last call (a no-op without write-ahead):
 * 0 or -errno. */
int eu_otlp_exporter_sync(struct eu_otlp_exporter *exp);

/* True when nothing is queued, in flight or waiting to be retried. */
bool eu_otlp_exporter_idle(const struct eu_otlp_exporter *exp);

void eu_otlp_exporter_get_stats(const struct eu_otlp_exporter *exp, struct eu_otlp_stats *out);

/* Drops whatever is still queued or in flight (counted as dropped_shutdown), then closes the
 * loop handles; the memory is freed from their close callbacks, so run the loop once more
 * (uv_run(loop, UV_RUN_DEFAULT) returns when it is done). NULL is fine. */
void eu_otlp_exporter_close(struct eu_otlp_exporter *exp);

/* ---- helpers shared by the pieces (exported for tests and the bench) ---- */


/* Retry-After: delta-seconds or an HTTP-date, relative to now (seconds since the epoch).
 * Returns milliseconds to wait (0 for a date in the past), or -1 when unparseable. */
int64_t eu_otlp_retry_after_ms(const char *value, int64_t now);

#endif
