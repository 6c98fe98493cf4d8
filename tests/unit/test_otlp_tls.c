/* https with a CA file, a client certificate and key (mutual TLS), through libcurl: a test CA,
 * server and client certificates made with the openssl command, `openssl s_server` as the TLS
 * end on loopback requiring a client certificate, and our receiver behind it on a
 * socketpair. Without the CA, or without the client certificate, nothing is delivered and the
 * failures are retried and then counted. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#include "eu_http_receiver.h"
#include "eu_net.h"
#include "sinks/otlp/otlp.h"

static char dir[] = "/tmp/otlp-tls-XXXXXX";

static void make_certs(void)
{
	cr_assert_not_null(mkdtemp(dir));
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && exec >log 2>&1 && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-keyout ca.key -out ca.pem -days 2 -subj /CN=eu-test-ca && "
		 "for n in server client; do "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-keyout $n.key -out $n.csr -subj /CN=$n && "
		 "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' "
		 ">$n.ext && openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key "
		 "-CAcreateserial -out $n.pem -days 2 -extfile $n.ext || exit 1; done",
		 dir);
	cr_assert_eq(system(cmd), 0, "openssl could not make the test certificates (%s/log)",
		     dir);
}

/* openssl s_server on port, its plaintext side on fd (stdin and stdout). */
static pid_t start_tls_server(uint16_t port, int fd)
{
	char accept[32], cert[256], key[256], ca[256], log[256];
	snprintf(accept, sizeof(accept), "127.0.0.1:%u", port);
	snprintf(cert, sizeof(cert), "%s/server.pem", dir);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(log, sizeof(log), "%s/s_server.log", dir);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(lfd, 2);
		execlp("openssl", "openssl", "s_server", "-accept", accept, "-cert", cert, "-key",
		       key, "-CAfile", ca, "-Verify", "1", "-verify_return_error", "-quiet",
		       (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void on_tick(uv_timer_t *t)
{
	uv_stop(t->loop);
}

struct run {
	struct eu_http_receiver *rx;
	pid_t server;
	struct eu_otlp_stats st;
};

/* Sends 3 records over https with the given TLS files (NULL: not set). */
static void send_tls(struct run *r, const char *ca, const char *cert, const char *key)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	uint16_t port = eu_unused_loopback_port();
	r->server = start_tls_server(port, sv[1]);
	close(sv[1]);
	r->rx = eu_http_receiver_start(0);
	cr_assert_not_null(r->rx);
	cr_assert_eq(eu_http_receiver_adopt(r->rx, sv[0]), 0);

	char url[64], cap[256], certp[256], keyp[256];
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	struct eu_otlp_config cfg;
	eu_error err = {0};
	cr_assert_eq(eu_otlp_config_from_env(&cfg, url, NULL, NULL, &err), 0, "%s", err.msg);
	if (ca) {
		snprintf(cap, sizeof(cap), "%s/%s", dir, ca);
		cfg.logs.ca_file = strdup(cap);
	}
	if (cert) {
		snprintf(certp, sizeof(certp), "%s/%s", dir, cert);
		cfg.logs.client_cert = strdup(certp);
	}
	if (key) {
		snprintf(keyp, sizeof(keyp), "%s/%s", dir, key);
		cfg.logs.client_key = strdup(keyp);
	}
	cfg.schedule_delay_ms = 10;
	cfg.retry_initial_ms = 100; /* s_server may still be starting: a refusal is retried */
	cfg.retry_max_ms = 200;
	cfg.max_attempts = 6;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct eu_otlp_exporter *exp;
	cr_assert_eq(eu_otlp_exporter_new(&loop, &cfg, "", 0, &exp, &err), 0, "%s", err.msg);
	eu_otlp_config_free(&cfg);
	for (uint64_t i = 1; i <= 3; i++) {
		Opentelemetry__Proto__Logs__V1__LogRecord lr;
		opentelemetry__proto__logs__v1__log_record__init(&lr);
		lr.time_unix_nano = i;
		uint8_t buf[32];
		size_t len = opentelemetry__proto__logs__v1__log_record__pack(&lr, buf);
		cr_assert_eq(eu_otlp_exporter_log(exp, "tls", "1", buf, len), 0);
	}
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	uv_timer_start(&t, on_tick, 5, 5);
	uint64_t end = eu_http_now_ms() + 10000;
	while (!eu_otlp_exporter_idle(exp) && eu_http_now_ms() < end)
		uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	eu_otlp_exporter_get_stats(exp, &r->st);
	eu_otlp_exporter_close(exp);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
}

static void finish(struct run *r)
{
	kill(r->server, SIGTERM);
	waitpid(r->server, NULL, 0);
	eu_http_receiver_stop(r->rx);
}

static void cleanup(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(otlp_tls, .init = make_certs, .fini = cleanup, .timeout = 60);

Test(otlp_tls, mutual_tls_with_ca_and_client_certificate)
{
	struct run r;
	send_tls(&r, "ca.pem", "client.pem", "client.key");
	cr_assert_eq(r.st.logs.exported, 3, "not delivered over TLS (see %s/s_server.log)", dir);
	cr_assert_eq(eu_http_receiver_count(r.rx), 1);
	const struct eu_http_request *rq = eu_http_receiver_request(r.rx, 0);
	cr_assert_str_eq(rq->path, "/v1/logs");
	Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
		opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
			NULL, rq->body_len, rq->body);
	cr_assert_not_null(req);
	cr_assert_eq(req->resource_logs[0]->scope_logs[0]->n_log_records, 3);
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(
		req, NULL);
	finish(&r);
}

Test(otlp_tls, unknown_ca_is_refused_retried_and_counted)
{
	struct run r;
	send_tls(&r, NULL, "client.pem", "client.key");
	cr_assert_eq(r.st.logs.exported, 0);
	cr_assert_eq(eu_http_receiver_count(r.rx), 0);
	cr_assert_eq(r.st.logs.dropped_retries_exhausted, 3);
	cr_assert_eq(r.st.logs.requests, 6);
	cr_assert_eq(r.st.logs.last_status, 0);
	finish(&r);
}

Test(otlp_tls, missing_client_certificate_is_refused)
{
	struct run r;
	send_tls(&r, "ca.pem", NULL, NULL);
	cr_assert_eq(r.st.logs.exported, 0);
	cr_assert_eq(eu_http_receiver_count(r.rx), 0);
	cr_assert_eq(r.st.logs.dropped_retries_exhausted, 3);
	finish(&r);
}
