/* otlp_bench: the OTLP exporter's cost and size on the bootstrap example's exec event.
 *   1. encode: eu_otlp_log_encode per event (protobuf written from the plan, names resolved
 *      once as the sink does), CPU ns/record, of the bootstrap exec event and of
 *      daemon_throughput's flood event
 *   2. export: N records queued and POSTed with gzip to a loopback HTTP receiver in the same
 *      process (its own thread), batches of 512: records/s end to end, CPU of the exporting
 *      thread (encode excluded: records are pre-encoded) per record, wire bytes per record
 *      (gzip) beside the raw protobuf bytes per record.
 *   2b. the same as http/json (the finished protobuf request transcoded to OTLP JSON before
 *      gzip) to the same receiver, and its CPU beside http/protobuf's; alone, the
 *      transcoding of 512-record requests: ns/record and JSON bytes/record.
 *   3. the same over OTLP/gRPC (h2c) to grpcio's server (tests/lib/otlp_grpc_receiver.py in
 *      its benchmark mode: calls counted, requests not decoded), and the ratio of the two CPU
 *      figures.
 *   4. gzip of the same 512-record request bodies, side by side: zlib's streaming deflate
 *      (level 6, how the exporter compressed before) and libdeflate (core/compress.h, level
 *      6): ns/record and bytes/record of each, and the speed ratio.
 *   5. libdeflate's gzip per level 1..9 (the otlp sink's compression_level) on two kinds of
 *      request bodies, 512 LogRecords each, encoded by the exporter's encoder: the bootstrap
 *      exec events above, and daemon_throughput's flood events (a sequence number and a
 *      nanosecond timestamp that change every record, pid, cpu, comm): ns/record, bytes/record
 *      and the ratio raw/gzip, and each level's time beside level 1's.
 *
 * usage: otlp_bench [RECORDS]   (default 200000)
 *        OTLP_BENCH_ONLY=gzip otlp_bench   only 1, 4 and 5 (no receivers); =http, =json, =grpc:
 *                                          only that export (for a profiler); =encode: only 1;
 *                                          =transcode: only 1 and http/json's transcoding */
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include <zlib.h>

#include "eu_grpc_receiver.h"
#include "eu_http_receiver.h"
#include "core/compress.h"
#include "eunomia/decoder.h"
#include "sinks/otlp/otlp.h"
#include "sinks/otlp/otlp_wire_json.h"

#include "bench_event.h"

static void on_tick(uv_timer_t *t)
{
	uv_stop(t->loop);
}

struct export_result {
	long n;
	double records_per_s;
	double cpu_ns_per_record;
	struct eu_otlp_signal_stats st;
};

/* Queues n pre-encoded records to endpoint over protocol and runs the exporter until all are
 * delivered: throughput, and CPU of this (the exporting) thread per record. 0 when every
 * record was exported. */
static int export_run(eu_buf *enc, long n, const char *endpoint, const char *protocol,
		      struct export_result *r)
{
	eu_error err = {0};
	struct eu_otlp_config cfg;
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol, 1);
	if (eu_otlp_config_from_env(&cfg, endpoint, NULL, NULL, &err)) {
		fprintf(stderr, "config: %s\n", err.msg);
		return 1;
	}
	cfg.schedule_delay_ms = 5;
	eu_buf res;
	eu_buf_init(&res);
	eu_otlp_resource_encode(NULL, &res, NULL);
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct eu_otlp_exporter *exp;
	if (eu_otlp_exporter_new(&loop, &cfg, res.data, res.len, &exp, &err)) {
		fprintf(stderr, "exporter: %s\n", err.msg);
		return 1;
	}
	eu_otlp_config_free(&cfg);
	uv_timer_t tick;
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, on_tick, 1, 1);
	double t0 = clock_ns(CLOCK_MONOTONIC);
	double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	long queued = 0;
	struct eu_otlp_stats st;
	while (queued < n || !eu_otlp_exporter_idle(exp)) {
		/* keep the queue fed without overflowing it: the producer is the event source */
		eu_otlp_exporter_get_stats(exp, &st);
		for (size_t room = 2048 - st.logs.queue_len; queued < n && room; room--, queued++)
			eu_otlp_exporter_log(exp, "bootstrap", "1.0", enc[queued % NREC].data,
					     enc[queued % NREC].len);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	double wall = clock_ns(CLOCK_MONOTONIC) - t0;
	double cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	eu_otlp_exporter_get_stats(exp, &st);
	uv_close((uv_handle_t *)&tick, NULL);
	eu_otlp_exporter_close(exp);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	eu_buf_free(&res);
	r->n = n;
	r->st = st.logs;
	double done = st.logs.exported ? (double)st.logs.exported : 1;
	r->records_per_s = (double)st.logs.exported / (wall / 1e9);
	r->cpu_ns_per_record = cpu / done;
	return st.logs.exported == (uint64_t)n ? 0 : 1;
}

static void print_result(const char *protocol, const struct export_result *r)
{
	double done = r->st.exported ? (double)r->st.exported : 1;
	printf("  %s: %ld records, %.0f records/s, exporter thread CPU %.0f ns/record (queue, "
	       "batch, gzip, transport)\n", protocol, r->n, r->records_per_s, r->cpu_ns_per_record);
	printf("    wire: %.1f bytes/record gzip, %.1f bytes/record raw body (%.1fx); "
	       "requests %llu, retries %llu, dropped (queue full) %llu\n",
	       (double)r->st.bytes_sent / done, (double)r->st.bytes_raw / done,
	       (double)r->st.bytes_raw / (double)(r->st.bytes_sent ? r->st.bytes_sent : 1),
	       (unsigned long long)r->st.requests, (unsigned long long)r->st.retries,
	       (unsigned long long)r->st.dropped_queue_full);
}

/* The exporter's gzip before libdeflate: zlib's deflate over the whole body, gzip wrapper. */
static int zlib_gzip(const void *data, size_t len, eu_buf *out)
{
	z_stream zs = {0};
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	size_t bound = deflateBound(&zs, len);
	if (!eu_buf_reserve(out, bound)) {
		deflateEnd(&zs);
		return -1;
	}
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->data + out->len;
	zs.avail_out = (uInt)bound;
	int ret = deflate(&zs, Z_FINISH);
	out->len += zs.total_out;
	deflateEnd(&zs);
	return ret == Z_STREAM_END ? 0 : -1;
}

/* 4. zlib and libdeflate gzip the same request bodies, alternating, in one run. */
static int gzip_compare(const eu_buf *enc, long n)
{
	enum { PER_BODY = 512 };
	eu_buf body, out;
	eu_buf_init(&body);
	eu_buf_init(&out);
	for (int i = 0; i < PER_BODY; i++)
		eu_buf_append(&body, enc[i % NREC].data, enc[i % NREC].len);
	struct eu_compressor *c = eu_compressor_new(6);
	long rounds = n / PER_BODY ? n / PER_BODY : 1;
	double ns[2] = {0, 0};
	size_t bytes[2] = {0, 0};
	for (long r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			eu_buf_reset(&out);
			double t = clock_ns(CLOCK_THREAD_CPUTIME_ID);
			int ret = k ? eu_compress_gzip(c, body.data, body.len, &out)
				    : zlib_gzip(body.data, body.len, &out);
			ns[k] += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t;
			bytes[k] = out.len;
			if (ret || !c) {
				fprintf(stderr, "gzip failed\n");
				return 1;
			}
		}
	}
	double per = (double)rounds * PER_BODY;
	printf("  gzip of %d-record bodies (%.1f bytes/record raw), %ld bodies each:\n", PER_BODY,
	       (double)body.len / PER_BODY, rounds);
	printf("    zlib deflate level 6: %.0f ns/record, %.1f bytes/record\n", ns[0] / per,
	       (double)bytes[0] / PER_BODY);
	printf("    libdeflate level 6:   %.0f ns/record, %.1f bytes/record\n", ns[1] / per,
	       (double)bytes[1] / PER_BODY);
	printf("    libdeflate / zlib time: %.2fx\n", ns[1] / ns[0]);
	eu_compressor_free(c);
	eu_buf_free(&body);
	eu_buf_free(&out);
	return 0;
}

/* daemon_throughput's event (bench/bpf/flood/flood.h), as the daemon decodes it. */
struct flood_event {
	unsigned long long ts;
	unsigned long long seq;
	int pid;
	int cpu;
	char comm[16];
};

static int flood_btf(struct btf *btf)
{
	int u64 = btf__add_int(btf, "unsigned long long", 8, 0);
	int s32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int u32 = btf__add_int(btf, "unsigned int", 4, 0);
	int ch = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
	int comm = btf__add_array(btf, u32, ch, 16);
	int st = btf__add_struct(btf, "flood_event", sizeof(struct flood_event));
	if (st < 0)
		return st;
	btf__add_field(btf, "ts", u64, 0, 0);
	btf__add_field(btf, "seq", u64, 64, 0);
	btf__add_field(btf, "pid", s32, 128, 0);
	btf__add_field(btf, "cpu", s32, 160, 0);
	btf__add_field(btf, "comm", comm, 192, 0);
	return st;
}

/* One request body's worth of flood LogRecords (PER_BODY of them, 10 us apart, as at
 * 100k events/s), encoded as the otlp sink encodes them, `bodies` times over (the body is
 * emptied before each); *ns: CPU per record of the encoding. */
static int flood_body(int per_body, long bodies, eu_buf *body, double *ns)
{
	struct btf *btf = btf__new_empty();
	int id = flood_btf(btf);
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	const char **names = NULL;
	int rc = 1;
	struct eu_otlp_log_prep *prep = NULL;
	if (id < 0 || eu_plan_new(btf, (uint32_t)id, &plan, &err) ||
	    eu_otlp_attr_names(plan, NULL, 0, &names))
		goto out;
	struct eu_otlp_log_event tmpl = {.package = "flood", .event_type = "flood_event",
					 .plan = plan, .attr_names = names};
	if (eu_otlp_log_prep_new(&tmpl, &prep))
		goto out;
	eu_buf text;
	eu_buf_init(&text);
	uint64_t base = (uint64_t)clock_ns(CLOCK_REALTIME);
	rc = 0;
	double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (long k = 0; k < bodies * per_body && !rc; k++) {
		int i = (int)(k % per_body);
		if (!i)
			eu_buf_reset(body);
		struct flood_event fe = {.ts = 81234567890123ull + (uint64_t)i * 10000,
					 .seq = 5000000ull + (uint64_t)i, .pid = 4242, .cpu = i % 2};
		snprintf(fe.comm, sizeof(fe.comm), "daemon_throughp");
		struct eu_otlp_log_event ev = {.package = "flood", .event_type = "flood_event",
					       .plan = plan, .data = &fe, .size = sizeof(fe),
					       .time_unix_nano = base + (uint64_t)i * 10000,
					       .observed_time_unix_nano = base + (uint64_t)i * 10000 +
									  3100 + (uint64_t)(i % 13) * 97,
					       .attr_names = names, .scratch = &text, .prep = prep};
		rc = eu_otlp_log_encode(&ev, body, &err) ? 1 : 0;
	}
	if (ns)
		*ns = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)(bodies * per_body);
	eu_buf_free(&text);
out:
	if (rc)
		fprintf(stderr, "flood body: %s\n", err.msg[0] ? err.msg : "out of memory");
	free(names);
	eu_otlp_log_prep_free(prep);
	eu_plan_free(plan);
	btf__free(btf);
	return rc;
}

/* 5. libdeflate gzip per level on one body, every level over the same rounds, and beside them
 * the exporter's level 1 (ISA-L's igzip, eu_otlp_gzip) in slot 0. */
static int gzip_levels(const char *what, const eu_buf *body, int per_body, long n)
{
	enum { MAX_LEVEL = 9 };
	struct eu_compressor *c[MAX_LEVEL + 1] = {0};
	double ns[MAX_LEVEL + 1] = {0};
	size_t bytes[MAX_LEVEL + 1] = {0};
	eu_buf out;
	eu_buf_init(&out);
	int rc = 0;
	struct eu_otlp_gzip *igzip = eu_otlp_gzip_new(1);
	if (!igzip)
		rc = 1;
	for (int l = 1; l <= MAX_LEVEL; l++)
		if (!(c[l] = eu_compressor_new(l)))
			rc = 1;
	long rounds = n / per_body ? n / per_body : 1;
	/* levels interleaved round by round: a noisy neighbour costs every level alike */
	for (long r = 0; r < rounds && !rc; r++) {
		for (int l = 0; l <= MAX_LEVEL && !rc; l++) {
			eu_buf_reset(&out);
			double t = clock_ns(CLOCK_THREAD_CPUTIME_ID);
			rc = (l ? eu_compress_gzip(c[l], body->data, body->len, &out)
				: eu_otlp_gzip(igzip, body->data, body->len, &out))
				     ? 1
				     : 0;
			ns[l] += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t;
			bytes[l] = out.len;
		}
	}
	if (rc) {
		fprintf(stderr, "gzip levels: failed\n");
	} else {
		double per = (double)rounds * per_body;
		printf("  libdeflate gzip by level, %s: %d-record bodies, %.1f bytes/record raw, "
		       "%ld bodies per level:\n", what, per_body, (double)body->len / per_body, rounds);
		for (int l = 1; l <= MAX_LEVEL; l++)
			printf("    level %d: %5.0f ns/record (%.2fx level 1), %6.1f bytes/record, "
			       "ratio %.2f\n", l, ns[l] / per, ns[l] / ns[1],
			       (double)bytes[l] / per_body, (double)body->len / (double)bytes[l]);
		printf("    igzip level 1 (the exporter's level 1): %5.0f ns/record (%.2fx libdeflate "
		       "level 1), %6.1f bytes/record, ratio %.2f\n", ns[0] / per, ns[0] / ns[1],
		       (double)bytes[0] / per_body, (double)body->len / (double)bytes[0]);
	}
	for (int l = 1; l <= MAX_LEVEL; l++)
		eu_compressor_free(c[l]);
	eu_otlp_gzip_free(igzip);
	eu_buf_free(&out);
	return rc;
}

/* http/json's transcoding alone: 512-record ExportLogsServiceRequests as the exporter builds
 * them, rewritten as JSON n/512 times; CPU ns/record and the bytes of each form. */
static int json_transcode(const eu_buf *enc, long n)
{
	enum { PER_BODY = 512 };
	eu_buf res, req, json;
	eu_buf_init(&res);
	eu_buf_init(&req);
	eu_buf_init(&json);
	eu_otlp_resource_encode(NULL, &res, NULL);
	struct eu_otlp_scoped_record recs[PER_BODY];
	for (int i = 0; i < PER_BODY; i++)
		recs[i] = (struct eu_otlp_scoped_record){"bootstrap", "1.0", enc[i % NREC].data,
							 enc[i % NREC].len};
	eu_error err = {0};
	int rc = eu_otlp_logs_request(res.data, res.len, recs, PER_BODY, &req);
	long bodies = n / PER_BODY ? n / PER_BODY : 1;
	double t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	for (long b = 0; !rc && b < bodies; b++) {
		eu_buf_reset(&json);
		rc = eu_otlp_wire_json(EU_OTLP_WIRE_LOGS, req.data, req.len, &json, &err);
	}
	double ns = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)(bodies * PER_BODY);
	if (rc)
		fprintf(stderr, "json transcode: %s\n", err.msg[0] ? err.msg : "out of memory");
	else
		printf("  http/json transcoding of %d-record requests, CPU: %.0f ns/record; %.1f "
		       "bytes/record JSON, %.1f protobuf (%.2fx)\n", PER_BODY, ns,
		       (double)json.len / PER_BODY, (double)req.len / PER_BODY,
		       (double)json.len / (double)req.len);
	eu_buf_free(&res);
	eu_buf_free(&req);
	eu_buf_free(&json);
	return rc ? 1 : 0;
}

static int gzip_by_level(const eu_buf *enc, long n)
{
	enum { PER_BODY = 512 };
	eu_buf body;
	eu_buf_init(&body);
	for (int i = 0; i < PER_BODY; i++)
		eu_buf_append(&body, enc[i % NREC].data, enc[i % NREC].len);
	int rc = gzip_levels("bootstrap exec events", &body, PER_BODY, n);
	eu_buf_reset(&body);
	rc |= flood_body(PER_BODY, 1, &body, NULL) ||
	      gzip_levels("flood events", &body, PER_BODY, n);
	eu_buf_free(&body);
	return rc;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct btf *btf = btf__new_empty();
	int id = bootstrap_btf(btf);
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	if (id < 0 || eu_plan_new(btf, (uint32_t)id, &plan, &err)) {
		fprintf(stderr, "plan: %s\n", err.msg);
		return 1;
	}
	static struct event recs[NREC];
	make_records(recs);

	/* 1. encoding */
	eu_buf *enc = calloc(NREC, sizeof(*enc));
	eu_buf scratch, text;
	eu_buf_init(&scratch);
	eu_buf_init(&text);
	/* as the otlp sink does: attribute names resolved and what every record shares encoded
	 * once per source (a prep), scratch kept */
	const char **names;
	struct eu_otlp_log_prep *prep = NULL;
	if (eu_otlp_attr_names(plan, NULL, 0, &names)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	struct eu_otlp_log_event tmpl = {.package = "bootstrap", .event_type = "event",
					 .plan = plan, .attr_names = names};
	if (eu_otlp_log_prep_new(&tmpl, &prep)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	double t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t base = (uint64_t)clock_ns(CLOCK_REALTIME);
	for (long i = 0; i < n; i++) {
		struct eu_otlp_log_event ev = {.package = "bootstrap", .event_type = "event",
					       .plan = plan, .data = &recs[i % NREC],
					       .size = sizeof(struct event),
					       .time_unix_nano = base + (uint64_t)i * 1000,
					       .observed_time_unix_nano = base + (uint64_t)i * 1000 + 50,
					       .attr_names = names, .scratch = &text, .prep = prep};
		eu_buf *out = i < NREC ? &enc[i] : &scratch;
		eu_buf_reset(out);
		if (eu_otlp_log_encode(&ev, out, &err)) {
			fprintf(stderr, "encode: %s\n", err.msg);
			return 1;
		}
	}
	double enc_ns = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / (double)n;
	double flood_ns = 0;
	eu_buf flood;
	eu_buf_init(&flood);
	int rc = flood_body(512, n / 512 ? n / 512 : 1, &flood, &flood_ns);
	eu_buf_free(&flood);

	printf("otlp_bench: bootstrap exec events, gzip, batches of 512, loopback receivers\n");
	printf("  encode (plan -> LogRecord protobuf), CPU: %.0f ns/record (bootstrap exec events), "
	       "%.0f ns/record (daemon_throughput's flood events)\n", enc_ns, flood_ns);
	const char *only = getenv("OTLP_BENCH_ONLY");
	if (rc || (only && !strcmp(only, "encode")))
		goto out;
	if (only && !strcmp(only, "transcode")) {
		rc = json_transcode(enc, n);
		goto out;
	}
	if (only && !strcmp(only, "gzip")) {
		rc = gzip_compare(enc, n) | gzip_by_level(enc, n);
		goto out;
	}
	/* 2. export over loopback, http/protobuf, http/json, then grpc, in the same run */
	struct export_result http = {0}, json = {0}, grpc = {0};
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	if (!rx) {
		fprintf(stderr, "receiver: cannot listen\n");
		return 1;
	}
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", eu_http_receiver_port(rx));
	if (!only || !strcmp(only, "http")) {
		rc = export_run(enc, n, url, "http/protobuf", &http);
		print_result("http/protobuf", &http);
	}
	if (!only || !strcmp(only, "json")) {
		rc |= export_run(enc, n, url, "http/json", &json);
		print_result("http/json", &json);
		if (http.cpu_ns_per_record > 0)
			printf("  http/json / http/protobuf exporter CPU per record: %.2fx\n",
			       json.cpu_ns_per_record / http.cpu_ns_per_record);
		rc |= json_transcode(enc, n);
	}
	eu_http_receiver_stop(rx);
	if (only && strcmp(only, "grpc"))
		goto out;
	const char *why = NULL;
	struct eu_grpc_receiver_opts go = {.no_record = true};
	struct eu_grpc_receiver *grx = eu_grpc_receiver_start(&go, &why);
	if (!grx) {
		fprintf(stderr, "grpc receiver: %s\n", why);
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", eu_grpc_receiver_port(grx));
	rc |= export_run(enc, n, url, "grpc", &grpc);
	eu_grpc_receiver_stop(grx);
	print_result("grpc", &grpc);
	if (http.cpu_ns_per_record > 0)
		printf("  grpc / http/protobuf exporter CPU per record: %.2fx\n",
		       grpc.cpu_ns_per_record / http.cpu_ns_per_record);
	if (only)
		goto out;
	rc |= gzip_compare(enc, n);
	rc |= gzip_by_level(enc, n);
out:
	for (int i = 0; i < NREC; i++)
		eu_buf_free(&enc[i]);
	free(enc);
	eu_buf_free(&scratch);
	eu_buf_free(&text);
	free(names);
	eu_otlp_log_prep_free(prep);
	eu_plan_free(plan);
	btf__free(btf);
	return rc;
}
