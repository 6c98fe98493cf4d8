/* OTLP/HTTP JSON (the protocol http/json): a finished protobuf request rewritten as the
 * specification's JSON Protobuf Encoding, by walking its bytes with the request's schema.
 * The encoder and the queue stay protobuf-only (so do the spool files); only the request
 * body of an http/json export is transcoded, once per request, just before compression.
 *
 * The mapping is proto3's JSON with OTLP's deviations:
 *   field names          lowerCamelCase (timeUnixNano, logRecords, kvlistValue, ...)
 *   traceId, spanId      lowercase hex, not base64
 *   enums                integers (severityNumber 9, aggregationTemporality 2)
 *   int64, fixed64, sfixed64  decimal strings ("18446744073709551615")
 *   uint32, fixed32      numbers
 *   double               numbers, "NaN", "Infinity", "-Infinity"
 *   bytes                standard base64 with padding
 *   string               JSON strings (the bytes must be UTF-8, as protobuf requires)
 * Fields appear in wire order; a repeated field's occurrences make one array even when other
 * fields come between them.
 *
 * It is a parser of bytes that may come from disk (the spool): anything that is not a
 * well-formed message of the schema (truncation, a bad varint, a wire type the field does
 * not have, a field number the schema lacks, a singular field or oneof given twice, a string
 * that is not UTF-8, nesting deeper than the limit) is refused with -EINVAL and err naming
 * the message, the field and the byte offset. A field the schema lacks is refused rather than
 * skipped: the encoder writing something this table does not know would otherwise be lost
 * without a word. */
#ifndef EUNOMIA_OTLP_WIRE_JSON_H
#define EUNOMIA_OTLP_WIRE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "eunomia/buf.h"
#include "eunomia/error.h"

enum eu_otlp_wire_request {
	EU_OTLP_WIRE_LOGS,    /* ExportLogsServiceRequest */
	EU_OTLP_WIRE_METRICS, /* ExportMetricsServiceRequest */
};

/* Message nesting the transcoder follows (a request is 1): deep enough for the encoder's
 * deepest value (40 nested structs or arrays, three messages each), bounded for the stack. */
#define EU_OTLP_WIRE_MAX_DEPTH 160

/* Appends the JSON of the request in pb[0..len) to out: 0; -EINVAL (malformed, err says
 * where; out is left as it was); -ENOMEM. */
int eu_otlp_wire_json(enum eu_otlp_wire_request kind, const void *pb, size_t len, eu_buf *out,
		      eu_error *err);

/* The partial success of an http/json Export response body (the collector answers in the
 * request's encoding): *rejected (rejectedLogRecords or rejectedDataPoints, 0 when absent)
 * and the errorMessage in msg ("" when none). 0, or -EINVAL when body is not such a JSON
 * object. A response is read once per request, not per record. */
int eu_otlp_wire_json_partial(enum eu_otlp_wire_request kind, const void *body, size_t len,
			      int64_t *rejected, char *msg, size_t msg_size, eu_error *err);

#endif
