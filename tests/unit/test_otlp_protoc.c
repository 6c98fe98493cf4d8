/* Our OTLP bytes read by a decoder that is not ours: protoc --decode against the official
 * OpenTelemetry .proto files shipped in npm's @opentelemetry/otlp-grpc-exporter-base@0.38.0
 * (fetched with `npm pack` into the build directory once). Those files predate LogRecord's
 * event_name (field 12), so protoc shows it as the unknown field 12. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eu_test.h"
#include "sinks/otlp/otlp.h"
#include "otlp_fixture.h"

#define NPM_PKG "@opentelemetry/otlp-grpc-exporter-base@0.38.0"
#define PROTO_DIR EU_BINARY_DIR "/otlp-npm-protos"

/* The official protos' root, or NULL with *why set (the caller fails the test: only missing
 * kernel features may skip). */
static const char *official_protos(const char **why)
{
	static const char root[] = PROTO_DIR "/package/build/protos";
	struct stat st;
	if (system("command -v protoc >/dev/null 2>&1")) {
		*why = "protoc is not installed (Debian protobuf-compiler; scripts/install-deps.sh)";
		return NULL;
	}
	if (!stat(root, &st))
		return root;
	if (system("command -v npm >/dev/null 2>&1")) {
		*why = "npm is not installed";
		return NULL;
	}
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && mkdir -p '%s' && cd '%s' && "
		 "timeout 120 npm pack --silent " NPM_PKG " >npm.log 2>&1 && "
		 "tar xzf opentelemetry-otlp-grpc-exporter-base-0.38.0.tgz",
		 PROTO_DIR, PROTO_DIR, PROTO_DIR);
	if (system(cmd) || stat(root, &st)) {
		*why = "npm pack " NPM_PKG " failed (registry unreachable?): see " PROTO_DIR
		       "/npm.log";
		return NULL;
	}
	return root;
}

/* protoc --decode=type of data with the protos under root; returns the text (malloc'd). */
static char *protoc_decode(const char *root, const char *proto, const char *type,
			   const void *data, size_t len)
{
	char in[] = "/tmp/otlp-protoc-in-XXXXXX";
	int fd = mkstemp(in);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	char out[sizeof(in) + 8];
	snprintf(out, sizeof(out), "%s.txt", in);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "protoc --decode=%s -I '%s' '%s/%s' <'%s' >'%s' 2>&1", type, root,
		 root, proto, in, out);
	int rc = system(cmd);
	char *text = eu_test_read_file(out, NULL);
	unlink(in);
	unlink(out);
	cr_assert_eq(rc, 0, "protoc failed: %s", text ? text : "");
	cr_assert_not_null(text);
	return text;
}

/* Copy of s with every run of blanks and newlines as one space: protoc's indentation is not
 * what is being checked. */
static char *squash(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	cr_assert_not_null(out);
	bool blank = false;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\n') {
			blank = true;
			continue;
		}
		if (blank && o != out)
			*o++ = ' ';
		blank = false;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void assert_has(const char *text, const char *needle)
{
	char *t = squash(text), *n = squash(needle);
	cr_assert(strstr(t, n), "protoc output lacks <%s>:\n%s", needle, text);
	free(t);
	free(n);
}

Test(otlp_protoc, official_protos_decode_our_logs)
{
	const char *why = NULL;
	const char *root = official_protos(&why);
	cr_assert(root, "%s", why); /* a missing tool is a failure: CI installs protoc and npm */
	struct exec_fixture f;
	exec_fixture(&f);
	eu_buf res, rec, req;
	eu_buf_init(&res);
	eu_buf_init(&rec);
	eu_buf_init(&req);
	struct eu_otlp_resource_opts o = {.host_name = "node-1"};
	cr_assert_eq(eu_otlp_resource_encode(&o, &res, NULL), 0);
	struct eu_otlp_log_event ev = {.package = "bootstrap", .event_type = "event",
				       .plan = f.plan, .data = f.rec, .size = f.size,
				       .time_unix_nano = 1700000000123456789ull,
				       .observed_time_unix_nano = 1700000000223456789ull};
	cr_assert_eq(eu_otlp_log_encode(&ev, &rec, NULL), 0);
	struct eu_otlp_scoped_record sr = {"bootstrap", "1.2.3", rec.data, rec.len};
	cr_assert_eq(eu_otlp_logs_request(res.data, res.len, &sr, 1, &req), 0);
	char *text = protoc_decode(root, "opentelemetry/proto/collector/logs/v1/logs_service.proto",
				   "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
				   req.data, req.len);
	assert_has(text, "key: \"host.name\"\n      value {\n        string_value: \"node-1\"");
	assert_has(text, "scope {\n        name: \"bootstrap\"\n        version: \"1.2.3\"");
	assert_has(text, "time_unix_nano: 1700000000123456789");
	assert_has(text, "observed_time_unix_nano: 1700000000223456789");
	assert_has(text, "severity_number: SEVERITY_NUMBER_INFO");
	assert_has(text, "severity_text: \"INFO\"");
	assert_has(text, "key: \"process.pid\"\n          value {\n            int_value: 4242");
	assert_has(text, "key: \"file.path\"\n          value {\n            string_value: "
			 "\"/usr/bin/bash\"");
	assert_has(text, "key: \"exit_event\"\n          value {\n            bool_value: true");
	assert_has(text, "double_value: 0.25");
	assert_has(text, "bytes_value: \"\\001\\000\\376\\177\"");
	assert_has(text, "array_value {\n              values {\n                int_value: -1");
	assert_has(text, "kvlist_value {\n              values {\n                key: \"a\"");
	/* event_name is field 12, unknown to these 2023 protos */
	assert_has(text, "12: \"bootstrap.event\"");
	free(text);

	/* and our own protos agree on the name */
	text = protoc_decode(EU_SOURCE_DIR "/proto",
			     "opentelemetry/proto/collector/logs/v1/logs_service.proto",
			     "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
			     req.data, req.len);
	assert_has(text, "event_name: \"bootstrap.event\"");
	free(text);
	eu_buf_free(&res);
	eu_buf_free(&rec);
	eu_buf_free(&req);
	exec_fixture_free(&f);
}

Test(otlp_protoc, official_protos_decode_our_metrics)
{
	const char *why = NULL;
	const char *root = official_protos(&why);
	cr_assert(root, "%s", why); /* a missing tool is a failure: CI installs protoc and npm */
	struct eu_otlp_kv attrs[] = {{"program", "bootstrap"}};
	struct eu_otlp_counter c[] = {{"eunomia.events.received", "d", "{event}", 42, attrs, 1, false}};
	eu_buf req;
	eu_buf_init(&req);
	cr_assert_eq(eu_otlp_metrics_request("", 0, "eunomia-agent", "0.1.0", 5, 6, c, 1, &req,
					     NULL), 0);
	char *text = protoc_decode(
		root, "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
		"opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest", req.data,
		req.len);
	assert_has(text, "name: \"eunomia.events.received\"");
	assert_has(text, "unit: \"{event}\"");
	assert_has(text, "start_time_unix_nano: 5");
	assert_has(text, "time_unix_nano: 6");
	assert_has(text, "as_int: 42");
	assert_has(text, "aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE");
	assert_has(text, "is_monotonic: true");
	assert_has(text, "string_value: \"bootstrap\"");
	free(text);
	eu_buf_free(&req);
}
