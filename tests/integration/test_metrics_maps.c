/* Sampled maps become metrics without any rule (tests/bpf/mapkinds): a linear_hist map that
 * the sampler clears after each read is accumulated into a cumulative histogram (its count
 * goes on growing across clears, exactly), with a string member as label and linear bounds;
 * a default_kv map becomes a gauge per key. */
#include "metrics_fixture.h"

#include <sys/syscall.h>

#define MAPKINDS_PKG EU_TESTBPF_BUILD_DIR "/mapkinds/package.json"

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
	int port = mfix_port(&f);
	char comm[32], count[128], le2[128], le3[128], inf[128];
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	snprintf(count, sizeof(count), "mapkinds_lin_count{key=\"0\",comm=\"%s\"} ", comm);
	snprintf(le2, sizeof(le2), "mapkinds_lin_bucket{key=\"0\",comm=\"%s\",le=\"2\"} ", comm);
	snprintf(le3, sizeof(le3), "mapkinds_lin_bucket{key=\"0\",comm=\"%s\",le=\"3\"} ", comm);
	snprintf(inf, sizeof(inf), "mapkinds_lin_bucket{key=\"0\",comm=\"%s\",le=\"+Inf\"} ", comm);

	getppid_n(40);
	char *page = mfix_wait_value(port, count, 40);
	cr_assert_not_null(strstr(page, "# TYPE mapkinds_lin histogram\n"), "%s", page);
	cr_assert_eq(mfix_value(page, le2), 0, "%s", page);
	cr_assert_eq(mfix_value(page, le3), 40, "%s", page);
	free(page);
	page = mfix_wait_value(port, "mapkinds_kv{key=\"7\"} ", 200);
	cr_assert_not_null(strstr(page, "# TYPE mapkinds_kv gauge\n"), "%s", page);
	free(page);

	/* the map was cleared after the sample that showed 40: the next ones are deltas */
	getppid_n(25);
	page = mfix_wait_value(port, count, 65);
	cr_assert_eq(mfix_value(page, le3), 65, "%s", page);
	cr_assert_eq(mfix_value(page, inf), 65, "%s", page);
	free(page);
	page = mfix_wait_value(port, "mapkinds_kv{key=\"7\"} ", 325);
	free(page);
	dfix_fini(&f);
}
