/* The control API under abuse, on the real daemon over loopback TCP: slow clients holding
 * every connection slot (slowloris) and a chunked upload far over the body limit. */
#include "api_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

static struct afix A;

static void setup(void)
{
	afix_init(&A);
}

static void teardown(void)
{
	afix_fini(&A);
}

TestSuite(api_abuse, .init = setup, .fini = teardown, .timeout = 240);

#define SLOW_CONNS 64

struct slowloris {
	struct sockaddr_in to;
	atomic_bool stop;
	atomic_int shed;      /* connections the server closed */
	int fds[SLOW_CONNS];
};

static int slow_connect(struct slowloris *s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&s->to, sizeof(s->to)) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* SLOW_CONNS connections that each send one more byte of a request head every second and
 * never finish it; one the server closes is opened again at once (bounded by s->stop and a
 * 90 s cap). */
static void *slowloris_main(void *arg)
{
	struct slowloris *s = arg;
	static const char head[] = "GET /v1/programs HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	size_t sent[SLOW_CONNS] = {0};
	for (int i = 0; i < SLOW_CONNS; i++)
		s->fds[i] = slow_connect(s);
	int64_t end = dfix_now_ms() + 90000;
	while (!atomic_load(&s->stop) && dfix_now_ms() < end) {
		for (int i = 0; i < SLOW_CONNS; i++) {
			if (s->fds[i] < 0) {
				s->fds[i] = slow_connect(s);
				sent[i] = 0;
				continue;
			}
			char buf[256];
			ssize_t n = recv(s->fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			bool gone = n == 0 || (n < 0 && errno != EAGAIN && errno != ENOTCONN);
			const char *b = sent[i] < sizeof(head) - 1 ? head + sent[i] : "a";
			if (!gone && send(s->fds[i], b, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
				sent[i]++;
			else if (!gone && errno != EAGAIN && errno != ENOTCONN && errno != EINPROGRESS)
				gone = true;
			if (gone) {
				close(s->fds[i]);
				s->fds[i] = -1;
				atomic_fetch_add(&s->shed, 1);
			}
		}
		usleep(1000 * 1000);
	}
	for (int i = 0; i < SLOW_CONNS; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	return NULL;
}

/* 64 slow connections trickling a byte a second hold every slot on today's libmicrohttpd
 * defaults; the API must still serve authenticated requests and /healthz promptly, and shed
 * the slow ones (reported in the log). */
Test(api_abuse, slowloris_does_not_starve_the_api)
{
	afix_start(&A, NULL);
	struct slowloris s = {.to = {.sin_family = AF_INET}};
	s.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s.to.sin_port = htons((uint16_t)atoi(strrchr(A.tcp, ':') + 1));
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, slowloris_main, &s), 0);
	dfix_pump(&A.f, 3000);
	int ok = 0, health = 0;
	int64_t worst = 0;
	for (int i = 0; i < 10; i++) {
		int64_t t0 = dfix_now_ms();
		struct aresp r = afix_req(&A, A.tcp, "GET", i % 2 ? "/healthz" : "/v1/programs", NULL,
					  0, NULL);
		int64_t took = dfix_now_ms() - t0;
		worst = took > worst ? took : worst;
		if (r.status == 200 && took < 5000)
			*(i % 2 ? &health : &ok) += 1;
		aresp_free(&r);
		dfix_pump(&A.f, 500);
	}
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(ok, 5, "authenticated requests served within 5 s: %d of 5 (worst %lld ms)", ok,
		     (long long)worst);
	cr_assert_eq(health, 5, "/healthz served within 5 s: %d of 5", health);
	cr_assert_gt(atomic_load(&s.shed), 0, "no slow connection was ever closed");
	cr_assert(dfix_wait_log(&A.f, "closed slow connections", 1, 5000), "%s",
		  eu_agent_stderr(A.f.a));
}

/* A chunked upload of 80 MiB against the 16 MiB default limit, streamed by curl as it reads
 * it (-T -), five times: a 413 every time (the client reads it: the server lingers on the
 * socket rather than resetting it under the client's next send), at once: curl sent little
 * more than the limit (what the socket buffers take on top) and the answer came within 2 s
 * (loopback carries 16 MiB in well under a second; the bug held the slot for the 30 s idle
 * timeout). */
Test(api_abuse, chunked_upload_over_the_limit_gets_413_at_once)
{
	afix_start(&A, NULL);
	char url[128], cmd[768];
	snprintf(url, sizeof(url), "http://%s/v1/programs?name=big", A.tcp);
	snprintf(cmd, sizeof(cmd),
		 "head -c 83886080 /dev/zero | /usr/bin/curl -sS -o /dev/null "
		 "-w 'status=%%{http_code} sent=%%{size_upload}' -H '%s' "
		 "-H 'Transfer-Encoding: chunked' -H 'Expect:' -X POST -T - '%s'",
		 A.auth, url);
	for (int i = 0; i < 5; i++) {
		char *out = NULL;
		int64_t t0 = dfix_now_ms();
		eu_run_capture((const char *const[]){"/bin/sh", "-c", cmd, NULL}, 60000, &out);
		int64_t took = dfix_now_ms() - t0;
		cr_assert(out && strstr(out, "status=413"), "upload %d: no 413: %s", i,
			  out ? out : "");
		const char *sent = strstr(out, "sent=");
		cr_assert(sent, "%s", out);
		long long bytes = atoll(sent + 5);
		cr_assert_lt(bytes, 32LL << 20,
			     "upload %d: the server read %lld bytes before answering (limit 16 MiB)",
			     i, bytes);
		cr_assert_leq(took, 2000, "upload %d: the 413 took %lld ms", i, (long long)took);
		free(out);
	}
	/* the API still answers, and nothing was loaded */
	cr_assert_null(afix_pkg(&A, "big"));
	cr_assert_eq(afix_count_programs(&A), 0);
}
