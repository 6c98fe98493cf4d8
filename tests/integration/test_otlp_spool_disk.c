/* Issue 13 #11: the OTLP spool on a disk that fills up (a 128 KiB tmpfs, so the kernel says
 * ENOSPC long before the spool's own cap), with the collector down: records that neither the
 * collector nor the spool takes are counted as spool_full (not queue_full), the failure is
 * logged once for the episode with the reason, and every record is accounted for. Root (it
 * mounts a tmpfs). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <uv.h>

#include "opentelemetry/proto/logs/v1/logs.pb-c.h"

#include "eu_http_receiver.h"
#include "eu_run_util.h"
#include "eunomia/log.h"
#include "sinks/otlp/otlp.h"

static eu_buf logbuf;

static void capture_log(void *ctx, enum eu_log_level level, const char *msg)
{
	(void)ctx;
	if (level > EU_LOG_WARN)
		return;
	eu_buf_append(&logbuf, msg, strlen(msg));
	eu_buf_append(&logbuf, "\n", 1);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void on_tick(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void run_for(uv_loop_t *loop, int ms)
{
	uv_timer_t t;
	uv_timer_init(loop, &t);
	uv_timer_start(&t, on_tick, 5, 5);
	uint64_t end = eu_http_now_ms() + (uint64_t)ms;
	while (eu_http_now_ms() < end)
		uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

Test(otlp_spool_disk, a_full_disk_is_told_once_and_counted_as_spool_full, .timeout = 60)
{
	cr_assert_eq(geteuid(), 0, "this test mounts a tmpfs: run it as root");
	char *dir = eu_tmpdir("spool-disk");
	cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=128k,mode=0700"), 0, "mount: %m");
	eu_buf_init(&logbuf);
	eu_log_set_sink(capture_log, NULL);
	eu_log_set_level(EU_LOG_INFO);

	/* a collector that is down */
	struct eu_http_receiver *rx = eu_http_receiver_start(0);
	cr_assert_not_null(rx);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", eu_http_receiver_port(rx));
	eu_http_receiver_stop(rx);

	struct eu_otlp_config cfg;
	eu_error err = {0};
	cr_assert_eq(eu_otlp_config_from_env(&cfg, url, NULL, NULL, &err), 0, "%s", err.msg);
	cfg.max_queue = 20;
	cfg.max_batch = 10;
	cfg.schedule_delay_ms = 10;
	cfg.retry_initial_ms = 20;
	cfg.retry_max_ms = 40;
	cfg.spool_dir = strdup(dir);
	uv_loop_t loop;
	uv_loop_init(&loop);
	eu_buf res;
	eu_buf_init(&res);
	cr_assert_eq(eu_otlp_resource_encode(NULL, &res, NULL), 0);
	struct eu_otlp_exporter *exp;
	cr_assert_eq(eu_otlp_exporter_new(&loop, &cfg, res.data, res.len, &exp, &err), 0, "%s",
		     err.msg);
	eu_otlp_config_free(&cfg);

	/* 600 records of ~1 KiB: about 120 fit on the disk */
	static char body[1024];
	memset(body, 'x', sizeof(body) - 1);
	const uint64_t total = 600;
	for (uint64_t i = 1; i <= total; i++) {
		Opentelemetry__Proto__Logs__V1__LogRecord lr;
		opentelemetry__proto__logs__v1__log_record__init(&lr);
		Opentelemetry__Proto__Common__V1__AnyValue v;
		opentelemetry__proto__common__v1__any_value__init(&v);
		v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v.string_value = body;
		lr.body = &v;
		lr.time_unix_nano = i;
		static uint8_t buf[2048];
		size_t len = opentelemetry__proto__logs__v1__log_record__pack(&lr, buf);
		eu_otlp_exporter_log(exp, "p", "1", buf, len);
		if (i % 50 == 0)
			run_for(&loop, 20);
	}
	struct eu_otlp_stats st;
	eu_otlp_exporter_get_stats(exp, &st);
	cr_assert_gt(st.logs.spooled, 0, "nothing reached the spool");
	cr_assert_gt(st.logs.dropped_spool_full, 0, "the disk never filled");
	cr_assert_eq(st.logs.dropped_queue_full, 0,
		     "%llu drops blamed on the queue while the spool was what was full",
		     (unsigned long long)st.logs.dropped_queue_full);
	eu_otlp_exporter_close(exp);
	eu_otlp_exporter_get_stats(exp, &st);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0);
	/* every record is somewhere: on disk, or counted as dropped */
	cr_assert_eq(st.logs.spooled + st.logs.dropped_spool_full + st.logs.dropped_shutdown,
		     total, "spooled %llu + spool_full %llu + shutdown %llu != %llu",
		     (unsigned long long)st.logs.spooled,
		     (unsigned long long)st.logs.dropped_spool_full,
		     (unsigned long long)st.logs.dropped_shutdown, (unsigned long long)total);
	/* told once for the episode, with the kernel's reason */
	const char *log = logbuf.data ? logbuf.data : "";
	cr_assert_eq(count_of(log, "cannot spool"), 1, "log:\n%s", log);
	cr_assert(strstr(log, "No space left on device"), "log:\n%s", log);
	cr_assert(strstr(log, "counted as spool_full"), "log:\n%s", log);

	eu_log_set_sink(NULL, NULL);
	eu_buf_free(&logbuf);
	eu_buf_free(&res);
	cr_assert_eq(umount(dir), 0);
	eu_tmpdir_remove(dir);
	free(dir);
}
