/* Fuzzes what a gRPC peer sends back to the OTLP exporter: the response body's length-prefixed
 * message (eu_otlp_grpc_unframe), header and trailer lines (grpc-status, a percent-encoded
 * grpc-message, a base64 grpc-status-details-bin) and the google.rpc.Status protobuf walked for
 * a RetryInfo. The input is split at '\n' into header lines; the whole input is also tried as
 * a body and as a packed Status. Invariants: a message found lies inside the body, a RetryInfo
 * delay is never negative, the status message stays NUL-terminated in its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "sinks/otlp/otlp_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *msg;
	size_t len;
	bool compressed;
	if (!eu_otlp_grpc_unframe(data, size, &msg, &len, &compressed) && msg &&
	    (msg < data || msg + len > data + size))
		abort();

	int64_t ms = -1;
	if (!eu_otlp_grpc_retry_info(data, size, &ms) && ms < 0)
		abort();

	struct eu_otlp_grpc_status st;
	eu_otlp_grpc_status_reset(&st);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		eu_otlp_grpc_header(&st, p, ll);
		p += ll;
	}
	/* the same bytes as a details header: base64 of the input */
	char *b64 = eu_base64_encode(data, size, 0, NULL);
	if (b64) {
		size_t bl = strlen(b64);
		char *line = malloc(bl + 32);
		if (line) {
			memcpy(line, "grpc-status-details-bin: ", 25);
			memcpy(line + 25, b64, bl);
			eu_otlp_grpc_header(&st, line, 25 + bl);
			free(line);
		}
		free(b64);
	}
	if (memchr(st.message, '\0', sizeof(st.message)) == NULL)
		abort();
	if (st.retry_info && st.retry_delay_ms < 0)
		abort();
	(void)eu_otlp_grpc_retryable(&st);
	(void)eu_otlp_grpc_code_name(st.code);
	return 0;
}
