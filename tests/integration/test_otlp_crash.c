/* Issue 13 #8: kill -9 during an OTLP outage. The daemon exports to a collector that is down,
 * with a spool directory (write-ahead by default); our binary is exec'd N times while another
 * binary keeps the daemon busy, and once the daemon has handed every record of ours to the
 * exporter it is killed with SIGKILL. Restarted on the same spool with the collector up, it
 * delivers every one of our 2N records (exec and exit) exactly once: none was only in memory.
 * The same with write-ahead turned off shows the window the issue describes (records lost),
 * so the first test proves write-ahead closes it. Loopback only. */
#include "daemon_fixture.h"

#include "eu_children.h"
#include "eu_http_client.h"
#include "eu_http_receiver.h"
#include "eu_net.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

EU_DFIX_SUITE(F, otlp_crash, 240);

/* The sum of a metric's series whose labels contain `label` (e.g. sink="otlp), from
 * GET /metrics on the API socket; -1 when it cannot be read. */
static long long metric(const char *sock, const char *name, const char *label)
{
	struct eu_http_call call = {.unix_socket = sock, .timeout_ms = 5000};
	struct eu_http_resp b = eu_http_request("http://agent/metrics", &call);
	if (b.status != 200) {
		eu_http_resp_free(&b);
		return -1;
	}
	char key[128];
	snprintf(key, sizeof(key), "\n%s{", name);
	long long v = -1;
	for (const char *l = b.body; (l = strstr(l, key + 1)); l++) {
		if (l > b.body && l[-1] != '\n')
			continue;
		const char *close = strchr(l, '}');
		const char *lab = strstr(l, label);
		if (!close || !lab || lab > close)
			continue;
		v = (v < 0 ? 0 : v) + atoll(close + 1);
	}
	eu_http_resp_free(&b);
	return v;
}

/* Our records among everything the receiver got: *total counts every delivery, the return
 * value the distinct ones (a record delivered twice has the same bytes both times). */
static size_t our_records(struct eu_http_receiver *rx, const char *base, size_t *total)
{
	size_t n_distinct = 0, cap = 0;
	ProtobufCBinaryData *seen = NULL;
	*total = 0;
	for (size_t i = 0; i < eu_http_receiver_count(rx); i++) {
		const struct eu_http_request *req = eu_http_receiver_request(rx, i);
		if (strcmp(req->path, "/v1/logs"))
			continue;
		Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *m =
			opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
				NULL, req->body_len, req->body);
		cr_assert_not_null(m, "request %zu is not an ExportLogsServiceRequest", i);
		for (size_t r = 0; r < m->n_resource_logs; r++)
			for (size_t s = 0; s < m->resource_logs[r]->n_scope_logs; s++) {
				Opentelemetry__Proto__Logs__V1__ScopeLogs *sl =
					m->resource_logs[r]->scope_logs[s];
				for (size_t k = 0; k < sl->n_log_records; k++) {
					uint8_t buf[4096];
					size_t len = opentelemetry__proto__logs__v1__log_record__get_packed_size(
						sl->log_records[k]);
					cr_assert_leq(len, sizeof(buf));
					opentelemetry__proto__logs__v1__log_record__pack(sl->log_records[k],
											 buf);
					if (!memmem(buf, len, base, strlen(base)))
						continue;
					(*total)++;
					bool dup = false;
					for (size_t d = 0; d < n_distinct && !dup; d++)
						dup = seen[d].len == len && !memcmp(seen[d].data, buf, len);
					if (dup)
						continue;
					if (n_distinct == cap) {
						cap = cap ? cap * 2 : 256;
						seen = realloc(seen, cap * sizeof(*seen));
						cr_assert_not_null(seen);
					}
					seen[n_distinct].data = malloc(len);
					memcpy(seen[n_distinct].data, buf, len);
					seen[n_distinct++].len = len;
				}
			}
		opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(
			m, NULL);
	}
	for (size_t d = 0; d < n_distinct; d++)
		free(seen[d].data);
	free(seen);
	return n_distinct;
}

#define N_EXECS 150

/* The outage, the load, the SIGKILL and the restart; what the receiver got of our 2N records
 * (distinct) and in all (*total). */
static size_t crash_and_restart(bool write_ahead, size_t *total)
{
	uint16_t port = eu_unused_loopback_port();
	char sink[64], sock[160], spool[160], bg[192];
	snprintf(sink, sizeof(sink), "otlp:http://127.0.0.1:%u", port);
	snprintf(sock, sizeof(sock), "%s/api.sock", F.root);
	snprintf(spool, sizeof(spool), "%s/spool", F.root);
	snprintf(bg, sizeof(bg), "%s/bin/eu_bg_%d", F.root, (int)getpid() % 100000);
	dfix_sh("cp /bin/true %s", bg);
	char api[192];
	snprintf(api, sizeof(api), "unix:%s", sock);
	setenv("EUNOMIA_OTLP_SPOOL_DIR", spool, 1);
	if (!write_ahead)
		setenv("EUNOMIA_OTLP_SPOOL_WRITE_AHEAD", "0", 1);
	setenv("OTEL_BLRP_SCHEDULE_DELAY", "100", 1);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--sink", sink, "--api", api, NULL});
	cr_assert(dfix_wait_log(&F, "attached", 1, 20000), "%s", eu_agent_stderr(F.a));

	/* the load: another binary exec'd in a loop (bounded by time) while ours runs N times */
	char loop[512];
	snprintf(loop, sizeof(loop),
		 "end=$((SECONDS + 40)); while [ $SECONDS -lt $end ]; do %s; done >/dev/null 2>&1",
		 bg);
	pid_t loop_pid = eu_child_sh(loop); /* dies with the test if an assertion fails */
	cr_assert_gt(loop_pid, 0);
	for (int i = 0; i < N_EXECS; i++)
		dfix_exec(&F);
	/* every record of ours is handed to the exporter: the ring buffer is read within
	 * milliseconds, and records leave the sink queue in the order the package handed them
	 * to the sinks, so once the sink has handed over as many as the package had produced
	 * by now, ours are among them (the background ones keep coming) */
	dfix_pump(&F, 500);
	long long routed = metric(sock, "eunomia_package_records_total", "package=\"");
	cr_assert_geq(routed, 2 * N_EXECS, "records of the package: %lld", routed);
	long long h = -1;
	int64_t deadline = dfix_now_ms() + 20000;
	while ((h = metric(sock, "eunomia_sink_records_written_total", "sink=\"otlp")) < routed &&
	       dfix_now_ms() < deadline)
		dfix_pump(&F, 50);
	cr_assert_geq(h, routed, "the otlp sink handed over %lld of %lld records in 20 s", h,
		      routed);
	cr_assert_eq(kill(eu_agent_pid(F.a), SIGKILL), 0);
	eu_agent_wait_exit(F.a, 10000);
	kill(-loop_pid, SIGKILL);
	waitpid(loop_pid, NULL, 0);
	eu_child_reaped(loop_pid);
	eu_agent_free(F.a);
	F.a = NULL;

	/* the collector is back on the same port; the same spool */
	const char *base = strrchr(F.bin, '/') + 1;
	struct eu_http_receiver *rx = eu_http_receiver_start(port);
	cr_assert_not_null(rx, "cannot listen on port %u again", port);
	dfix_start(&F, (const char *[]){"--sink", sink, "--api", "none", NULL});
	unsetenv("EUNOMIA_OTLP_SPOOL_DIR");
	unsetenv("EUNOMIA_OTLP_SPOOL_WRITE_AHEAD");
	unsetenv("OTEL_BLRP_SCHEDULE_DELAY");
	size_t got = 0;
	deadline = dfix_now_ms() + 20000;
	while (dfix_now_ms() < deadline && (got = our_records(rx, base, total)) < 2 * N_EXECS)
		dfix_pump(&F, 200);
	dfix_pump(&F, 500); /* anything delivered twice would come now */
	got = our_records(rx, base, total);
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	eu_http_receiver_stop(rx);
	return got;
}

Test(otlp_crash, kill_9_in_an_outage_loses_nothing_written_ahead)
{
	size_t total = 0;
	size_t got = crash_and_restart(true, &total);
	const char *err = eu_agent_stderr(F.a);
	cr_assert(strstr(err, "(write-ahead):"), "the restart does not say write-ahead:\n%s", err);
	cr_assert_eq(got, 2 * N_EXECS, "%zu of our %d records (exec and exit of %d runs) reached "
		     "the collector after kill -9 and a restart:\n%s", got, 2 * N_EXECS, N_EXECS, err);
	/* the collector was down before the kill: nothing can have been delivered twice */
	cr_assert_eq(total, got, "%zu deliveries of %zu records", total, got);
}

Test(otlp_crash, without_write_ahead_the_queue_is_lost)
{
	size_t total = 0;
	size_t got = crash_and_restart(false, &total);
	cr_assert_lt(got, 2 * N_EXECS, "write-ahead off, yet all %zu records survived: the "
		     "first test proves nothing", got);
}
