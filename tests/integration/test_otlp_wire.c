/* What goes over the wire is what the protoc-checked encoder writes: the daemon runs the kinds
 * test program (tests/bpf/kinds: byte arrays, an enum, a nested struct, a bool, __int128 and
 * unsigned __int128, ...) with an otlp sink to a real HTTP receiver on loopback; this process
 * makes the event (getppid), and the request body the receiver got (gunzipped) is decoded with
 * `protoc --decode` against the official protos in proto/, then every field is checked by
 * value against what kinds.bpf.c writes. */
#include "daemon_fixture.h"


#include "eu_http_receiver.h"
#include "stacks_fixture.h"

#define KINDS_PKG EU_TESTBPF_BUILD_DIR "/kinds/package.json"

EU_DFIX_SUITE(F, otlp_wire, 120);

/* protoc's text of an Export<signal>ServiceRequest ("logs" or "metrics"), with every run of
 * blanks and newlines as one space (the indentation is not what is checked). */
static char *protoc_decode_as(const char *signal, const void *body, size_t len)
{
	cr_assert_eq(system("command -v protoc >/dev/null 2>&1"), 0,
		     "protoc is not installed (Debian protobuf-compiler; scripts/install-deps.sh)");
	char in[sizeof(F.root) + 16];
	snprintf(in, sizeof(in), "%s/body.pb", F.root);
	FILE *f = fopen(in, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(body, 1, len, f), len);
	fclose(f);
	char cmd[1024];
	bool logs = !strcmp(signal, "logs");
	snprintf(cmd, sizeof(cmd),
		 "protoc --decode=opentelemetry.proto.collector.%s.v1.Export%sServiceRequest "
		 "-I %s/proto %s/proto/opentelemetry/proto/collector/%s/v1/%s_service.proto "
		 "<%s >%s.txt 2>&1", signal, logs ? "Logs" : "Metrics", EU_SOURCE_DIR,
		 EU_SOURCE_DIR, signal, signal, in, in);
	int rc = system(cmd);
	char out[sizeof(in) + 8];
	snprintf(out, sizeof(out), "%s.txt", in);
	char *text = eu_test_read_file(out, NULL);
	cr_assert_eq(rc, 0, "protoc failed: %s", text ? text : "");
	cr_assert_not_null(text);
	char *o = text;
	bool blank = false;
	for (const char *s = text; *s; s++) {
		if (*s == ' ' || *s == '\n') {
			blank = true;
			continue;
		}
		if (blank && o != text)
			*o++ = ' ';
		blank = false;
		*o++ = *s;
	}
	*o = '\0';
	return text;
}

static char *protoc_decode(const void *body, size_t len)
{
	return protoc_decode_as("logs", body, len);
}

static void expect_attr(const char *text, const char *key, const char *value)
{
	char want[512];
	snprintf(want, sizeof(want), "attributes { key: \"%s\" value { %s } }", key, value);
	cr_expect(strstr(text, want), "no <%s> in what protoc decoded:\n%s", want, text);
}

/* A getppid(2) (from eu_stacks_outer, for the stack tests) every half second until the
 * receiver got a logs request (bounded: 15 s): that request. */
static const struct eu_http_request *first_logs_request(struct eu_http_receiver *rx)
{
	const struct eu_http_request *req = NULL;
	for (int i = 0; i < 30 && !req; i++) {
		cr_assert_eq(eu_stacks_outer(), getppid() + 1);
		eu_http_receiver_wait(rx, eu_http_receiver_count(rx) + 1, 500);
		for (size_t k = 0; k < eu_http_receiver_count(rx) && !req; k++)
			if (!strcmp(eu_http_receiver_request(rx, k)->path, "/v1/logs"))
				req = eu_http_receiver_request(rx, k);
	}
	cr_assert_not_null(req, "no logs request within 15 s:\n%s", eu_agent_stderr(F.a));
	return req;
}

/* A receiver on loopback and the daemon running pkg (as NAME.json, with its pid parameter
 * set to ours) with an otlp sink to it (gzip when asked), the package attached. */
static struct eu_http_receiver *start_with_receiver(const char *pkg, const char *name,
						    const char *pid_param, bool gzip)
{
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	char sink[64];
	snprintf(sink, sizeof(sink), "otlp:http://127.0.0.1:%u", eu_http_receiver_port(rx));
	dfix_sh("cp %s %s/%s.json", pkg, F.watch, name);
	dfix_sh("echo '{\"%s\": %d}' > %s/%s.params.json", pid_param, (int)getpid(), F.watch,
		name);
	if (gzip)
		setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	setenv("OTEL_BLRP_SCHEDULE_DELAY", "100", 1);
	dfix_start(&F, (const char *[]){"--sink", sink, NULL});
	unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
	unsetenv("OTEL_BLRP_SCHEDULE_DELAY");
	cr_assert(dfix_wait_log(&F, "attached in", 1, 20000), "%s not attached:\n%s", name,
		  eu_agent_stderr(F.a));
	return rx;
}

/* Every field of the kinds event as kinds.bpf.c writes it, in protoc's text of the request. */
static void expect_kinds(const char *text)
{
	cr_expect(strstr(text, "scope { name: \"kinds\""), "%s", text);
	cr_expect(strstr(text, "event_name: \"kinds.kinds_event\""), "%s", text);
	cr_expect(strstr(text, "severity_number: SEVERITY_NUMBER_INFO"), "%s", text);
	char pid[64];
	snprintf(pid, sizeof(pid), "int_value: %d", (int)getpid());
	expect_attr(text, "process.pid", pid);
	expect_attr(text, "i8", "int_value: -8");
	expect_attr(text, "u8v", "int_value: 200");
	expect_attr(text, "i16", "int_value: -16000");
	expect_attr(text, "u16v", "int_value: 60000");
	expect_attr(text, "i32", "int_value: -2000000000");
	expect_attr(text, "u32v", "int_value: 4000000000");
	expect_attr(text, "i64", "int_value: -9000000000000000000");
	/* beyond int64: exact, as decimal text */
	expect_attr(text, "u64v", "string_value: \"18000000000000000000\"");
	/* 128-bit integers: decimal text (what JSON prints too) */
	expect_attr(text, "i128", "string_value: \"-1267650600228229401496703205376\"");
	expect_attr(text, "u128", "string_value: \"170141183460469231731687303715884105733\"");
	expect_attr(text, "flag", "bool_value: true");
	expect_attr(text, "name", "string_value: \"kinds\"");
	/* __u8[4]: the bytes themselves, not an array of numbers */
	expect_attr(text, "bytes", "bytes_value: \"\\001\\002\\003\\004\"");
	expect_attr(text, "grid",
		    "array_value { values { array_value { values { int_value: 1 } values { "
		    "int_value: 2 } values { int_value: 3 } } } values { array_value { values { "
		    "int_value: 4 } values { int_value: 5 } values { int_value: 6 } } } }");
	expect_attr(text, "color", "string_value: \"KINDS_GREEN\"");
	expect_attr(text, "inner",
		    "kvlist_value { values { key: \"a\" value { int_value: -7 } } values { key: "
		    "\"tag\" value { string_value: \"abc\" } } }");
	expect_attr(text, "as_u32", "int_value: 67305985");
	expect_attr(text, "as_bytes", "bytes_value: \"\\001\\002\\003\\004\"");
	expect_attr(text, "ptr", "string_value: \"0xdeadbeef\"");
	expect_attr(text, "bf_a", "int_value: 5");
	expect_attr(text, "bf_b", "int_value: 17");
	expect_attr(text, "bf_c", "int_value: -9");
	expect_attr(text, "f32", "double_value: 1.5");
	expect_attr(text, "f64", "double_value: -2.25");
	expect_attr(text, "ip4", "string_value: \"127.0.0.1\"");
	expect_attr(text, "ip6", "string_value: \"::1\"");
	expect_attr(text, "v4", "string_value: \"192.0.2.1\"");
}

Test(otlp_wire, every_kind_arrives_as_its_otlp_type)
{
	struct eu_http_receiver *rx = start_with_receiver(KINDS_PKG, "kinds", "target_pid", true);
	const struct eu_http_request *req = first_logs_request(rx);
	cr_assert(req->gzip, "the request was not gzip");
	char *text = protoc_decode(req->body, req->body_len);

	expect_kinds(text);
	free(text);
	eu_agent_stop(F.a, 10000);
	eu_agent_free(F.a);
	F.a = NULL;
	eu_http_receiver_stop(rx);
}

/* An http/json request body read by the official protobuf runtime (tests/lib/
 * otlp_json_decode.py: python3-protobuf's json_format, strict, into the classes protoc makes
 * from proto/) and written back as protobuf: protoc's text of it. */
static char *json_decode(const char *signal, const struct eu_http_request *req)
{
	char in[sizeof(F.root) + 16], out[sizeof(F.root) + 16];
	snprintf(in, sizeof(in), "%s/body.json", F.root);
	snprintf(out, sizeof(out), "%s/body.bin", F.root);
	FILE *f = fopen(in, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(req->body, 1, req->body_len, f), req->body_len);
	fclose(f);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/lib/otlp_json_decode.py %s/proto %s "
		 "%s %s %s >%s.err 2>&1", EU_SOURCE_DIR, EU_SOURCE_DIR, F.root, signal, in, out, in);
	int rc = system(cmd);
	char errf[sizeof(in) + 8];
	snprintf(errf, sizeof(errf), "%s.err", in);
	char *why = eu_test_read_file(errf, NULL);
	cr_assert_eq(rc, 0, "the official JSON parser refused the %s request: %s\n%.*s", signal,
		     why ? why : "", (int)req->body_len, req->body);
	free(why);
	size_t len = 0;
	char *pb = eu_test_read_file(out, &len);
	cr_assert_not_null(pb);
	char *text = protoc_decode_as(signal, pb, len);
	free(pb);
	return text;
}

static void expect_in_json(const struct eu_http_request *req, const char *want)
{
	cr_expect(memmem(req->body, req->body_len, want, strlen(want)), "no <%s> in:\n%.*s", want,
		  (int)req->body_len, req->body);
}

/* OTEL_EXPORTER_OTLP_PROTOCOL=http/json: the same request as JSON, gzip'd, to /v1/logs and
 * /v1/metrics; what the official parser reads from it is what http/protobuf sends. */
Test(otlp_wire, every_kind_arrives_as_json)
{
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "500", 1);
	struct eu_http_receiver *rx = start_with_receiver(KINDS_PKG, "kinds", "target_pid", true);
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	unsetenv("OTEL_METRIC_EXPORT_INTERVAL");
	cr_expect(dfix_wait_log(&F, "/v1/logs (http/json, gzip", 1, 1000),
		  "the start-up line does not name http/json:\n%s", eu_agent_stderr(F.a));
	const struct eu_http_request *req = first_logs_request(rx);
	cr_assert(req->gzip, "the request was not gzip");
	char *ct = eu_http_request_header(req, "Content-Type");
	cr_assert_str_eq(ct, "application/json");
	free(ct);
	/* the specification's mapping, which the official parser would also take in other forms */
	expect_in_json(req, "\"eventName\":\"kinds.kinds_event\"");
	expect_in_json(req, "\"severityNumber\":9,"); /* an integer, not the name */
	expect_in_json(req, "{\"key\":\"i64\",\"value\":{\"intValue\":\"-9000000000000000000\"}}");
	expect_in_json(req, "{\"key\":\"bytes\",\"value\":{\"bytesValue\":\"AQIDBA==\"}}");
	expect_in_json(req, "\"observedTimeUnixNano\":\"");
	char *text = json_decode("logs", req);
	expect_kinds(text);
	free(text);

	/* a metrics request as well (every 500 ms), read by the same parser */
	const struct eu_http_request *mreq = NULL;
	for (int i = 0; i < 20 && !mreq; i++) {
		eu_http_receiver_wait(rx, eu_http_receiver_count(rx) + 1, 500);
		for (size_t k = 0; k < eu_http_receiver_count(rx) && !mreq; k++)
			if (!strcmp(eu_http_receiver_request(rx, k)->path, "/v1/metrics"))
				mreq = eu_http_receiver_request(rx, k);
	}
	cr_assert_not_null(mreq, "no metrics request within 10 s:\n%s", eu_agent_stderr(F.a));
	text = json_decode("metrics", mreq);
	/* the package runs (a gauge of 1), sums with their enum and bool */
	cr_expect(strstr(text, "metrics { name: \"eunomia.package.loaded\""), "%s", text);
	cr_expect(strstr(text, "as_int: 1 attributes { key: \"package\" value { string_value: "
			       "\"kinds\" } }"), "%s", text);
	cr_expect(strstr(text, "name: \"eunomia.package.events.received\""), "%s", text);
	cr_expect(strstr(text, "aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE "
			       "is_monotonic: true"), "%s", text);
	cr_expect(strstr(text, "scope { name: \"eunomia-agent/otlp-sink\""), "%s", text);
	free(text);
	eu_agent_stop(F.a, 10000);
	eu_agent_free(F.a);
	F.a = NULL;
	eu_http_receiver_stop(rx);
}

/* Stacks go out as attributes holding arrays of strings, the frames named as run names them:
 * an inline stack under its field's name, a stack id's frames beside it. */
Test(otlp_wire, stacks_arrive_as_arrays_of_frame_names)
{
	struct eu_http_receiver *rx = start_with_receiver(EU_TESTBPF_BUILD_DIR
							  "/stacksnoop/package.json",
							  "snoop", "targ_tgid", false);
	const struct eu_http_request *req = first_logs_request(rx);
	char *text = protoc_decode(req->body, req->body_len);
	/* the first record's attributes, each stack an array of string values */
	static const char *const keys[] = {"kstack", "ustack", "kern_stack"};
	for (size_t i = 0; i < 3; i++) {
		char head[128];
		snprintf(head, sizeof(head), "attributes { key: \"%s\" value { array_value { values {",
			 keys[i]);
		cr_expect(strstr(text, head), "no array attribute %s:\n%s", keys[i], text);
	}
	cr_expect(strstr(text, "values { string_value: \"do_syscall_64\" }"), "%s", text);
	cr_expect(strstr(text, "values { string_value: \"eu_stacks_outer\" }"), "%s", text);
	/* the byte count stays a number; the id too */
	cr_expect(strstr(text, "attributes { key: \"kstack_sz\" value { int_value: "), "%s", text);
	cr_expect(strstr(text, "attributes { key: \"kern_stack_id\" value { int_value: "), "%s",
		  text);
	free(text);
	eu_agent_stop(F.a, 10000);
	eu_agent_free(F.a);
	F.a = NULL;
	eu_http_receiver_stop(rx);
}
