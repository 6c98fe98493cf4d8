/* Metrics end to end: the daemon with `--prometheus` and upstream's exporter config counting
 * opens by comm and filename exactly; the page passes promtool; a real Prometheus server
 * scrapes the agent on loopback and its query API returns the series; runqlat's sampled
 * histogram matches the map read with bpftool; the series budget's overflow series. */
#include "metrics_fixture.h"

#include <curl/curl.h>
#include <bpf/bpf.h>
#include <sys/prctl.h>

#include "eu_net.h"
#include "eu_run_util.h"

#define OPEN_COMM "eu_met_open"
#define OPENS 7

/* A child named OPEN_COMM opens path n times; returns its pid. */
static pid_t open_n_times(const char *path, int n)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, OPEN_COMM, 0, 0, 0);
		for (int i = 0; i < n; i++) {
			int fd = open(path, O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		_exit(0);
	}
	cr_assert_eq(eu_wait_pid(pid, 10000), 0);
	return pid;
}

/* promtool check metrics on the page: its exit code, its output in out. */
static int promtool(const char *page, char *out, size_t n)
{
	char path[] = "/tmp/eu-met-page-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, page, strlen(page)), (ssize_t)strlen(page));
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t got = fread(out, 1, n - 1, p);
	out[got] = '\0';
	int st = pclose(p);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* promtool check metrics: exit 1 is a format error; exit 3 are lint problems, allowed only
 * when every one names `allowed` (upstream's metric name "eunomia_file_open_counter" contains
 * its type, which promtool's lint dislikes; the name is the user's, kept as configured). */
static void run_promtool(const char *page, const char *allowed)
{
	char out[8192];
	int code = promtool(page, out, sizeof(out));
	if (code == 3 && allowed) {
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
			cr_assert_not_null(strstr(line, allowed), "promtool lint: %s", line);
		return;
	}
	cr_assert_eq(code, 0, "promtool check metrics failed (%d):\n%s", code, out);
}

/* Sets up root/conf/eunomia-otel.opensnoop.yaml (an exporter config in upstream's format)
 * and, where it points, root/examples/bpftools/opensnoop/package.json (our opensnoop package). */
static void put_exporter_config(struct dfix *f, char *conf, size_t n)
{
	dfix_sh("mkdir -p %s/conf %s/examples/bpftools/opensnoop", f->root, f->root);
	dfix_sh("cp %s/upstream/exporter-opensnoop.yaml %s/conf/eunomia-otel.opensnoop.yaml",
		EU_TEST_DATA_DIR, f->root);
	dfix_sh("cp %s/opensnoop/package.json %s/examples/bpftools/opensnoop/package.json",
		EU_PLUGIN_BUILD_DIR, f->root);
	snprintf(conf, n, "%s/conf/eunomia-otel.opensnoop.yaml", f->root);
}

/* root/conf/exporter-inline.yaml: an exporter config as upstream's users write one with
 * the package inline: ebpf_data holds our opensnoop package.json's text, pasted as a YAML
 * block scalar. One counter whose name does not contain its type (promtool's lint is then
 * silent on it), labelled by comm only: a filename label on a busy machine (CI builds beside
 * the test) fills the series budget before the test's own opens come. */
static void put_inline_exporter_config(struct dfix *f, char *conf, size_t n)
{
	dfix_sh("mkdir -p %s/conf", f->root);
	snprintf(conf, n, "%s/conf/exporter-inline.yaml", f->root);
	FILE *in = fopen(EU_PLUGIN_BUILD_DIR "/opensnoop/package.json", "r");
	FILE *out = fopen(conf, "w");
	cr_assert(in && out);
	fputs("programs:\n- name: opensnoop\n  metrics:\n    counters:\n    - name: file_opens\n"
	      "      description: files opened\n      labels:\n      - name: comm\n"
	      "  ebpf_data: |\n", out);
	char line[65536];
	bool bol = true;
	while (fgets(line, sizeof(line), in)) {
		if (bol)
			fputs("    ", out);
		fputs(line, out);
		bol = strchr(line, '\n') != NULL;
	}
	if (!bol)
		fputc('\n', out);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
}

/* Starts the daemon on the inline config (plus extra options), opens a unique file OPENS
 * times from OPEN_COMM, and returns the /metrics page once the counter line starting with
 * `name{comm=OPEN_COMM} ` reads OPENS (asserted). */
static char *inline_opens_page(struct dfix *f, const char *name, const char *extra)
{
	char conf[256];
	put_inline_exporter_config(f, conf, sizeof(conf));
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f->root);
	dfix_start(f, (const char *[]){"--exporter-config", conf, "--prometheus", "127.0.0.1:0",
				       "--sink", out, extra, NULL});
	/* the inline package is named after where it was written */
	char origin[320];
	snprintf(origin, sizeof(origin), "opensnoop (%s:programs[0].ebpf_data): version ", conf);
	cr_assert(dfix_wait_log(f, origin, 1, 20000), "%s", eu_agent_stderr(f->a));
	int port = mfix_port(f);
	char path[200];
	snprintf(path, sizeof(path), "%s/inline-%d.txt", f->root, (int)getpid());
	dfix_sh("touch %s", path);
	open_n_times(path, OPENS);
	char prefix[512];
	snprintf(prefix, sizeof(prefix), "%s{comm=\"" OPEN_COMM "\"} ", name);
	return mfix_wait_value(port, prefix, OPENS);
}

/* Upstream's exporter config with the package inline (ebpf_data) loads it, its counter counts
 * our opens by value, and the default page is clean for promtool (not one lint). */
Test(metrics_prom, upstream_inline_package_counts_opens_and_promtool_is_clean)
{
	if (access("/usr/bin/promtool", X_OK))
		cr_assert_fail("promtool not installed (scripts/install-deps.sh installs prometheus)");
	struct dfix f;
	dfix_init(&f);
	char *page = inline_opens_page(&f, "file_opens_total", NULL);
	cr_assert_not_null(strstr(page, "# TYPE file_opens_total counter\n"), "%s", page);
	char out[8192];
	int code = promtool(page, out, sizeof(out));
	cr_assert_eq(code, 0, "promtool (%d): %s\npage:\n%s", code, out, page);
	cr_assert_str_eq(out, "");
	free(page);
	dfix_fini(&f);
}

/* --prometheus-without-type-suffix: the counter keeps its configured name, and the one lint
 * promtool then reports is exactly the missing _total, nothing else. */
Test(metrics_prom, without_type_suffix_keeps_counter_names)
{
	if (access("/usr/bin/promtool", X_OK))
		cr_assert_fail("promtool not installed (scripts/install-deps.sh installs prometheus)");
	struct dfix f;
	dfix_init(&f);
	char *page = inline_opens_page(&f, "file_opens", "--prometheus-without-type-suffix");
	cr_assert_null(strstr(page, "file_opens_total"), "%s", page);
	cr_assert_not_null(strstr(page, "# TYPE file_opens counter\n"), "%s", page);
	char out[8192];
	int code = promtool(page, out, sizeof(out));
	cr_assert_eq(code, 3, "promtool (%d): %s\npage:\n%s", code, out, page);
	size_t len = strlen(out);
	while (len && out[len - 1] == '\n')
		out[--len] = '\0';
	cr_assert_str_eq(out, "file_opens counter metrics should have \"_total\" suffix");
	free(page);
	dfix_fini(&f);
}

static pid_t spawn_prometheus(struct dfix *f, int agent_port, int *port_out)
{
	/* a free port for Prometheus' own web listener */
	int port = eu_unused_loopback_port();
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", f->root);
	FILE *c = fopen(cfg, "w");
	cr_assert_not_null(c);
	fprintf(c,
		"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		"scrape_configs:\n  - job_name: eunomia\n    static_configs:\n"
		"      - targets: ['127.0.0.1:%d']\n", agent_port);
	fclose(c);
	char flag_cfg[300], flag_db[300], flag_web[64];
	snprintf(flag_cfg, sizeof(flag_cfg), "--config.file=%s", cfg);
	snprintf(flag_db, sizeof(flag_db), "--storage.tsdb.path=%s/tsdb", f->root);
	snprintf(flag_web, sizeof(flag_web), "--web.listen-address=127.0.0.1:%d", port);
	const char *argv[] = {"/usr/bin/prometheus", flag_cfg, flag_db, flag_web, NULL};
	pid_t pid = eu_spawn(argv);
	cr_assert_gt(pid, 0);
	*port_out = port;
	return pid;
}

/* Polls Prometheus' query API until the query's first result has value want. */
static bool prometheus_has(int port, const char *query, const char *want, int timeout_ms,
			   char **last)
{
	CURL *c = curl_easy_init();
	char *q = curl_easy_escape(c, query, 0);
	char url[1024];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s", port, q);
	curl_free(q);
	curl_easy_cleanup(c);
	int64_t deadline = dfix_now_ms() + timeout_ms;
	while (dfix_now_ms() < deadline) {
		char *body = eu_http_get(url);
		cJSON *j = body ? cJSON_Parse(body) : NULL;
		cJSON *res = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "result");
		cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "value"), 1);
		bool ok = cJSON_IsString(v) && !strcmp(v->valuestring, want);
		cJSON_Delete(j);
		if (body) {
			free(*last);
			*last = body;
		}
		if (ok)
			return true;
		usleep(200000);
	}
	return false;
}

Test(metrics_prom, upstream_exporter_config_counts_opens_and_prometheus_scrapes)
{
	if (access("/usr/bin/prometheus", X_OK) || access("/usr/bin/promtool", X_OK))
		cr_assert_fail("prometheus/promtool not installed (scripts/install-deps.sh installs them)");
	struct dfix f;
	dfix_init(&f);
	char conf[256];
	put_exporter_config(&f, conf, sizeof(conf));
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--exporter-config", conf, "--prometheus", "127.0.0.1:0",
					"--sink", out, NULL});
	cr_assert(dfix_wait_log(&f, "opensnoop (", 1, 20000), "%s", eu_agent_stderr(f.a));
	int port = mfix_port(&f);

	char path[200];
	snprintf(path, sizeof(path), "%s/unique-%d.txt", f.root, (int)getpid());
	dfix_sh("touch %s", path);
	pid_t pid = open_n_times(path, OPENS);
	char prefix[512];
	snprintf(prefix, sizeof(prefix),
		 "eunomia_file_open_counter_total{pid=\"%d\",comm=\"" OPEN_COMM "\",filename=\"%s\"} ",
		 (int)pid, path);
	char *page = mfix_wait_value(port, prefix, OPENS);
	cr_assert_not_null(strstr(page, "# TYPE eunomia_file_open_counter_total counter\n"));
	cr_assert_not_null(strstr(page, "# HELP eunomia_file_open_counter_total test\n"));
	/* the agent's own counters */
	cr_assert_not_null(strstr(page, "eunomia_package_loaded{package=\"opensnoop\""), "%s", page);
	cr_assert_not_null(strstr(page, "eunomia_sink_records_written_total{sink=\"file:"), "%s",
			   page);
	run_promtool(page, "eunomia_file_open_counter_total metric name should not include type");
	free(page);

	/* a real Prometheus server scraping us */
	int pport = 0;
	pid_t prom = spawn_prometheus(&f, port, &pport);
	char query[512], *last = NULL;
	snprintf(query, sizeof(query),
		 "eunomia_file_open_counter_total{comm=\"" OPEN_COMM "\",filename=\"%s\",pid=\"%d\"}",
		 path, (int)pid);
	bool ok = prometheus_has(pport, query, "7", 90000, &last);
	bool up = ok && prometheus_has(pport, "up{job=\"eunomia\"}", "1", 30000, &last);
	bool loaded = up && prometheus_has(pport, "eunomia_package_loaded{package=\"opensnoop\"}",
					   "1", 30000, &last);
	kill(prom, SIGTERM);
	eu_wait_pid(prom, 20000);
	cr_assert(ok && up && loaded, "query %s: last answer: %s", ok ? (up ? "loaded" : "up") : query,
		  last ? last : "(none)");
	free(last);
	dfix_fini(&f);
}

/* bpftool's JSON dump of the agent's runqlat `hists` map: the sum of every entry's slots per
 * slot index; false when the map is not there. */
static bool read_hists(pid_t agent, uint64_t *slots, size_t n, uint64_t *total)
{
	/* the agent's own map: among the maps behind its fds, the one named hists */
	struct bpf_map_info info;
	if (!eu_map_info_of(agent, "hists", &info))
		return false;
	char *out = NULL;
	char ids[32];
	snprintf(ids, sizeof(ids), "%u", info.id);
	const char *dump[] = {"/usr/sbin/bpftool", "-j", "map", "dump", "id", ids, NULL};
	if (eu_run_capture(dump, 20000, &out) != 0) {
		free(out);
		return false;
	}
	cJSON *ents = cJSON_Parse(out);
	free(out);
	memset(slots, 0, n * sizeof(*slots));
	*total = 0;
	cJSON *e;
	cJSON_ArrayForEach(e, ents) {
		cJSON *val = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "formatted"), "value");
		cJSON *arr = cJSON_GetObjectItem(val, "slots"), *s;
		size_t i = 0;
		cJSON_ArrayForEach(s, arr) {
			if (i < n)
				slots[i] += (uint64_t)s->valuedouble;
			*total += (uint64_t)s->valuedouble;
			i++;
		}
	}
	cJSON_Delete(ents);
	return true;
}

#define RQ_SLOTS 26

/* The runqlat_hists histogram on the page: per-bucket counts (de-cumulated) and _count;
 * asserts the buckets are cumulative (non-decreasing, +Inf == _count). */
static bool page_hist(const char *page, uint64_t *buckets, uint64_t *count)
{
	uint64_t prev = 0;
	size_t i = 0;
	const char *p = page;
	memset(buckets, 0, RQ_SLOTS * sizeof(*buckets));
	while ((p = strstr(p, "runqlat_hists_bucket{"))) {
		const char *le = strstr(p, "le=\"");
		const char *sp = strchr(p, ' ');
		cr_assert(le && sp);
		uint64_t cum = strtoull(sp + 1, NULL, 10);
		cr_assert_geq(cum, prev, "buckets not cumulative at %.60s", p);
		if (i < RQ_SLOTS - 1) {
			/* log2 slot i holds [2^i, 2^(i+1) - 1]: le = 2^(i+1) - 1 */
			char want[40];
			snprintf(want, sizeof(want), "le=\"%llu\"", (1ull << (i + 1)) - 1);
			cr_assert_eq(strncmp(le, want, strlen(want)), 0, "bucket %zu: %.40s", i, le);
		} else {
			cr_assert_eq(strncmp(le, "le=\"+Inf\"", 9), 0);
		}
		if (i < RQ_SLOTS)
			buckets[i] = cum - prev;
		prev = cum;
		i++;
		p = sp;
	}
	if (!i)
		return false;
	cr_assert_eq(i, RQ_SLOTS);
	double c = mfix_value(page, "runqlat_hists_count{");
	const char *cl = strstr(page, "runqlat_hists_count{");
	cr_assert_not_null(cl);
	*count = strtoull(strchr(cl, ' ') + 1, NULL, 10);
	(void)c;
	cr_assert_eq(*count, prev, "+Inf bucket %llu != _count %llu", (unsigned long long)prev,
		     (unsigned long long)*count);
	return true;
}

Test(metrics_prom, runqlat_histogram_matches_the_map)
{
	struct dfix f;
	dfix_init(&f);
	dfix_sh("cp %s/runqlat/package.json %s/runqlat.json", EU_PLUGIN_BUILD_DIR, f.watch);
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--prometheus", "127.0.0.1:0", "--sink", out, NULL});
	int port = mfix_port(&f);
	/* the map is cumulative (no clear_map): a sample taken before a bpftool read has no more
	 * in any slot than the read, and the first sample after it no less. The sampler reads
	 * every 1000 ms, so this brackets the read within one interval. */
	uint64_t before[RQ_SLOTS], after[RQ_SLOTS], map[RQ_SLOTS], c0 = 0, c1 = 0, total = 0;
	char *page = NULL;
	int64_t deadline = dfix_now_ms() + 30000;
	bool have = false;
	while (dfix_now_ms() < deadline && !have) {
		free(page);
		page = mfix_page(port);
		have = page_hist(page, before, &c0) && c0 > 0;
		if (!have)
			usleep(200000);
	}
	cr_assert(have, "no runqlat histogram in:\n%s", page);
	cr_assert(read_hists(eu_agent_pid(f.a), map, RQ_SLOTS, &total), "bpftool could not read hists");
	deadline = dfix_now_ms() + 30000;
	have = false;
	while (dfix_now_ms() < deadline && !have) {
		free(page);
		page = mfix_page(port);
		have = page_hist(page, after, &c1) && c1 >= total;
		if (!have)
			usleep(200000);
	}
	cr_assert(have, "the histogram never reached the map's %llu: %s",
		  (unsigned long long)total, page);
	cr_assert_leq(c0, total);
	for (size_t i = 0; i < RQ_SLOTS; i++) {
		cr_assert_leq(before[i], map[i], "slot %zu: sample before %llu > map %llu", i,
			      (unsigned long long)before[i], (unsigned long long)map[i]);
		cr_assert_geq(after[i], map[i], "slot %zu: sample after %llu < map %llu", i,
			      (unsigned long long)after[i], (unsigned long long)map[i]);
	}
	run_promtool(page, NULL);
	free(page);
	dfix_fini(&f);
}

Test(metrics_prom, series_budget_overflow)
{
	struct dfix f;
	dfix_init(&f);
	char cfg[200];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", f.root);
	FILE *c = fopen(cfg, "w");
	cr_assert_not_null(c);
	fprintf(c, "packages:\n  opensnoop:\n    metrics:\n      counters:\n"
		   "        - name: opens_by_file\n          max_series: 2\n"
		   "          labels: [{name: file, from: fname}]\n");
	fclose(c);
	dfix_sh("cp %s/opensnoop/package.json %s/opensnoop.json", EU_PLUGIN_BUILD_DIR, f.watch);
	char out[200];
	snprintf(out, sizeof(out), "file:%s/records.jsonl", f.root);
	dfix_start(&f, (const char *[]){"--config", cfg, "--prometheus", "127.0.0.1:0", "--sink",
					out, NULL});
	int port = mfix_port(&f);
	char path[200];
	char *page = NULL;
	double over = -1, counted = -1;
	int64_t deadline = dfix_now_ms() + 30000;
	for (int i = 0; dfix_now_ms() < deadline; i++) {
		snprintf(path, sizeof(path), "%s/file-%d", f.root, i % 8);
		dfix_sh("touch %s", path);
		open_n_times(path, 1);
		free(page);
		page = mfix_page(port);
		over = mfix_value(page, "opens_by_file_total{otel_metric_overflow=\"true\"} ");
		counted = mfix_value(page,
				       "eunomia_metric_overflow_measurements_total{metric=\"opens_by_file\"} ");
		if (over >= 3)
			break;
	}
	cr_assert_geq(over, 3, "%s", page);
	/* the overflow series holds exactly what the budget turned away */
	cr_assert_eq(over, counted, "%s", page);
	cr_assert_eq(dfix_count(page, "\nopens_by_file_total{file="), 2, "%s", page);
	cr_assert_eq(mfix_value(page, "eunomia_metric_series{metric=\"opens_by_file\"} "), 3);
	run_promtool(page, NULL);
	free(page);
	dfix_fini(&f);
}
