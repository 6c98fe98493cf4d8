/* Sampled maps become metrics without any rule (tests/bpf/mapkinds): a linear_hist map that
 * the sampler clears after each read is accumulated into a cumulative histogram (its count
 * goes on growing across clears, exactly), with a string member as label and linear bounds;
 * a default_kv map becomes a gauge per key. */
#include "daemon_fixture.h"

#include <curl/curl.h>
#include <sys/syscall.h>

#include "eunomia/buf.h"

#define MAPKINDS_PKG EU_TESTBPF_BUILD_DIR "/mapkinds/package.json"

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	eu_buf_append(ctx, p, sz * n);
	return sz * n;
}

static int port_of(struct dfix *f)
{
	cr_assert(dfix_wait_log(f, "serving /metrics on tcp:", 1, 20000), "%s",
		  eu_agent_stderr(f->a));
	const char *p = strstr(eu_agent_stderr(f->a), "serving /metrics on tcp:");
	const char *eol = strchr(p, '\n'), *colon = p;
	for (const char *q = p; *q && (!eol || q < eol); q++)
		if (*q == ':')
			colon = q;
	return atoi(colon + 1);
}

static char *get_page(int port)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	CURL *c = curl_easy_init();
	eu_buf b;
	eu_buf_init(&b);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK, "GET %s", url);
	curl_easy_cleanup(c);
	eu_buf_putc(&b, '\0');
	return b.data;
}

static double value_of(const char *page, const char *prefix)
{
	for (const char *p = page; (p = strstr(p, prefix)); p++)
		if (p == page || p[-1] == '\n')
			return strtod(p + strlen(prefix), NULL);
	return -1;
}

/* Polls until the sample line has the value (or the deadline); returns the last page. */
static char *wait_value(int port, const char *prefix, double want)
{
	char *page = NULL;
	int64_t deadline = dfix_now_ms() + 30000;
	while (dfix_now_ms() < deadline) {
		free(page);
		page = get_page(port);
		if (value_of(page, prefix) >= want)
			break;
		usleep(100000);
	}
	cr_assert_eq(value_of(page, prefix), want, "want %s%g in:\n%s", prefix, want, page);
	return page;
}

static void getppid_n(int n)
{
	for (int i = 0; i < n; i++)
		syscall(SYS_getppid);
}

Test(metrics_maps, cleared_linear_hist_accumulates_and_kv_is_a_gauge)
{
	struct dfix f;
	dfix_init(&f);
	dfix_sh("cp %s %s/mapkinds.json", MAPKINDS_PKG, f.watch);
	char params[256];
	snprintf(params, sizeof(params), "%s/mapkinds.params.json", f.watch);
	FILE *p = fopen(params, "w");
	cr_assert_not_null(p);
	fprintf(p, "{\"target_pid\": %d}\n", (int)getpid());
	fclose(p);
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--prometheus", "127.0.0.1:0", "--sink", out, NULL});
	cr_assert(strstr(eu_agent_stderr(f.a), "1 package loaded"), "%s", eu_agent_stderr(f.a));
	int port = port_of(&f);
	char comm[32], count[128], le2[128], le3[128], inf[128];
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	snprintf(count, sizeof(count), "mapkinds_lin_count{key=\"0\",comm=\"%s\"} ", comm);
	snprintf(le2, sizeof(le2), "mapkinds_lin_bucket{key=\"0\",comm=\"%s\",le=\"2\"} ", comm);
	snprintf(le3, sizeof(le3), "mapkinds_lin_bucket{key=\"0\",comm=\"%s\",le=\"3\"} ", comm);
	snprintf(inf, sizeof(inf), "mapkinds_lin_bucket{key=\"0\",comm=\"%s\",le=\"+Inf\"} ", comm);

	getppid_n(40);
	char *page = wait_value(port, count, 40);
	cr_assert_not_null(strstr(page, "# TYPE mapkinds_lin histogram\n"), "%s", page);
	cr_assert_eq(value_of(page, le2), 0, "%s", page);
	cr_assert_eq(value_of(page, le3), 40, "%s", page);
	free(page);
	page = wait_value(port, "mapkinds_kv{key=\"7\"} ", 200);
	cr_assert_not_null(strstr(page, "# TYPE mapkinds_kv gauge\n"), "%s", page);
	free(page);

	/* the map was cleared after the sample that showed 40: the next ones are deltas */
	getppid_n(25);
	page = wait_value(port, count, 65);
	cr_assert_eq(value_of(page, le3), 65, "%s", page);
	cr_assert_eq(value_of(page, inf), 65, "%s", page);
	free(page);
	page = wait_value(port, "mapkinds_kv{key=\"7\"} ", 325);
	free(page);
	dfix_fini(&f);
}
