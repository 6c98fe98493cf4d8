/* Shared by the tests of the daemon's Prometheus endpoint (`--prometheus 127.0.0.1:0`): the
 * port it logged, its page, a sample's value, and polling until a counter reaches what the
 * test caused (the sampler and the metric feed run on their own clock). */
#ifndef EU_METRICS_FIXTURE_H
#define EU_METRICS_FIXTURE_H

#include "daemon_fixture.h"
#include "eu_http_client.h"

/* The port of "serving /metrics on tcp:127.0.0.1:PORT" in the daemon's log. */
static inline int mfix_port(struct dfix *f)
{
	cr_assert(dfix_wait_log(f, "serving /metrics on tcp:", 1, 20000), "%s",
		  eu_agent_stderr(f->a));
	const char *p = strstr(eu_agent_stderr(f->a), "serving /metrics on tcp:");
	const char *eol = strchr(p, '\n'), *colon = p;
	for (const char *q = p; *q && (!eol || q < eol); q++)
		if (*q == ':')
			colon = q;
	int port = atoi(colon + 1);
	cr_assert_gt(port, 0, "no port in the log:\n%s", eu_agent_stderr(f->a));
	return port;
}

/* GET /metrics (malloc'd); fails the test unless the answer is 200. */
static inline char *mfix_page(int port)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	char *page = eu_http_get(url);
	cr_assert_not_null(page, "GET %s failed", url);
	return page;
}

/* The value of the sample line starting with prefix ("name{labels} "), or -1 without one. */
static inline double mfix_value(const char *page, const char *prefix)
{
	for (const char *p = page; (p = strstr(p, prefix)); p++)
		if (p == page || p[-1] == '\n')
			return strtod(p + strlen(prefix), NULL);
	return -1;
}

/* Reads the page every 100 ms until the sample line prefix has at least want (30 s at most)
 * and fails the test unless it is exactly want; returns the last page (malloc'd). */
static inline char *mfix_wait_value(int port, const char *prefix, double want)
{
	char *page = NULL;
	for (int64_t deadline = dfix_now_ms() + 30000; dfix_now_ms() < deadline;
	     usleep(100000)) {
		free(page);
		page = mfix_page(port);
		if (mfix_value(page, prefix) >= want)
			break;
	}
	cr_assert_eq(mfix_value(page, prefix), want, "want %s%g in:\n%s", prefix, want, page);
	return page;
}

#endif
