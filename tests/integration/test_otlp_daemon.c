/* Issue 12, "a collector that is down", as an operator meets it: the daemon with the bootstrap
 * package and one otlp sink to a port nothing listens on. At start it says where it exports
 * (URL, protocol, compression); within a few seconds of the first event it warns naming the
 * URL and the reason; at exit its counters say how much was exported (none), never "written"
 * for what was only handed to the exporter, and every record is accounted for. Then the same
 * with a real gRPC collector: the records arrive and the counters say exported. */
#include "daemon_fixture.h"

#include "eu_grpc_receiver.h"
#include "eu_net.h"

EU_DFIX_SUITE(F, otlp_daemon, 120);

Test(otlp_daemon, a_dead_collector_is_told_at_once_and_nothing_is_called_written)
{
	uint16_t port = eu_unused_loopback_port();
	char sink[64], url[96];
	snprintf(sink, sizeof(sink), "otlp:http://127.0.0.1:%u", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/logs", port);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP", 1); /* any case, as the spec says */
	setenv("OTEL_BLRP_SCHEDULE_DELAY", "200", 1);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--sink", sink, NULL});
	unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
	unsetenv("OTEL_BLRP_SCHEDULE_DELAY");
	const char *err = eu_agent_stderr(F.a);
	char want[192];
	snprintf(want, sizeof(want), "otlp logs: exporting to %s (http/protobuf, gzip", url);
	cr_assert(strstr(err, want), "no <%s> at start:\n%s", want, err);

	int64_t t0 = dfix_now_ms();
	for (int i = 0; i < 20; i++)
		dfix_exec(&F);
	snprintf(want, sizeof(want), "otlp logs: export to %s failed: ", url);
	cr_assert(dfix_wait_log(&F, want, 1, 5000), "no warning naming the URL within 5 s:\n%s",
		  eu_agent_stderr(F.a));
	int64_t took = dfix_now_ms() - t0;
	cr_assert_lt(took, 5000);
	err = eu_agent_stderr(F.a);
	cr_assert(strstr(err, "Couldn't connect to server") || strstr(err, "Connection refused"),
		  "the reason is not given:\n%s", err);
	/* retries go on; the warning is not repeated for each one */
	dfix_pump(&F, 2500);
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), want), 1, "%s", eu_agent_stderr(F.a));

	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	err = eu_agent_stderr(F.a);
	char line[96];
	snprintf(line, sizeof(line), "counters: sink %s:", sink);
	cr_assert(strstr(err, line), "no exit counters:\n%s", err);
	long long queued = dfix_number_after(err, line, "queued ");
	long long handed = dfix_number_after(err, line, "handed to the exporter ");
	long long exported = dfix_number_after(err, line, "exported ");
	cr_assert_gt(queued, 0, "%s", err);
	cr_assert_eq(handed, queued, "%s", err);
	cr_assert_eq(exported, 0, "%s", err);
	cr_assert_eq(dfix_number_after(err, line, "written "), -1, "'written' for an otlp sink:\n%s",
		     err);
	cr_assert(!strstr(err, "within 0 ms"), "a false warning at exit:\n%s", err);
	/* the exporter's final word: nothing exported, every record dropped by a reason */
	const char *fin = "counters: sink otlp logs (final):";
	cr_assert(strstr(err, fin), "%s", err);
	cr_assert_eq(dfix_number_after(err, fin, "queued, "), 0, "exported: %s", err);
	long long q = dfix_number_after(err, fin, "(final): ");
	long long dropped = dfix_number_after(err, fin, "dropped ");
	cr_assert_eq(q, queued, "%s", err);
	cr_assert_eq(dropped, q, "every record must be counted as dropped:\n%s", err);
	/* the daemon's counters line comes after the exporter's shutdown and says the same:
	 * what was still queued for the dead receiver is dropped there too, not missing */
	cr_assert(strstr(err, line) > strstr(err, fin), "counters before the exporter ended:\n%s",
		  err);
	cr_assert_eq(dfix_number_after(err, line, "dropped "), queued,
		     "the counters line does not count every record as dropped:\n%s", err);
	cr_assert_eq(dfix_number_after(err, line, "in queue "), 0, "%s", err);
}

Test(otlp_daemon, grpc_collector_gets_the_records)
{
	const char *why = NULL;
	struct eu_grpc_receiver_opts o = {0};
	struct eu_grpc_receiver *rx = eu_grpc_receiver_start(&o, &why);
	cr_assert_not_null(rx, "%s", why);
	char sink[64];
	snprintf(sink, sizeof(sink), "otlp:http://127.0.0.1:%u", eu_grpc_receiver_port(rx));
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	setenv("OTEL_BLRP_SCHEDULE_DELAY", "100", 1);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--sink", sink, NULL});
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	unsetenv("OTEL_BLRP_SCHEDULE_DELAY");
	for (int i = 0; i < 5; i++)
		dfix_exec(&F);
	/* our binary's exec, decoded by grpcio from the official protos */
	const char *base = strrchr(F.bin, '/') + 1;
	bool found = false;
	int64_t deadline = dfix_now_ms() + 10000;
	while (!found && dfix_now_ms() < deadline) {
		dfix_pump(&F, 100);
		for (size_t c = 0; c < eu_grpc_receiver_count(rx) && !found; c++) {
			char *text = cJSON_PrintUnformatted(eu_grpc_receiver_call(rx, c));
			found = text && strstr(text, base) && strstr(text, "\"bootstrap\"");
			free(text);
		}
	}
	cr_assert(found, "no record of %s reached the gRPC collector:\n%s", base,
		  eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	const char *err = eu_agent_stderr(F.a);
	char line[96];
	snprintf(line, sizeof(line), "counters: sink %s:", sink);
	cr_assert_gt(dfix_number_after(err, line, "exported "), 0, "%s", err);
	/* a sink closed after its final counters has nothing left to drain: no warning says
	 * it was not drained */
	cr_assert(!strstr(err, "not drained within"), "a false warning at exit:\n%s", err);
	cr_assert_eq(dfix_number_after(err, "counters: sink otlp logs (final):", "dropped "), 0, "%s",
		     err);
	eu_grpc_receiver_stop(rx);
}
