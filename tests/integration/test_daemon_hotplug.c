/* The daemon on a temporary directory with the bootstrap plugin: copy, rename into place,
 * modify (version switch), sidecar parameters, delete, garbage, partial writes and ConfigMap
 * swaps, asserted through the decoded exec events and the daemon's log. */
#include "daemon_fixture.h"

EU_DFIX_SUITE(F, daemon_hotplug, 120);

static struct dfix_match exec_of(const char *version)
{
	return (struct dfix_match){.package = "bootstrap", .version = version, .filename = F.bin,
				   .exit_event = 0};
}

Test(daemon_hotplug, copy_in_gives_exec_records_with_fields)
{
	dfix_start(&F, NULL);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	char v[13];
	dfix_version_of(BOOTSTRAP_PKG, v);
	char mark[128];
	snprintf(mark, sizeof(mark), "boot.json): version %s: 2 programs attached", v);
	cr_assert(dfix_wait_log(&F, mark, 1, 10000), "%s", eu_agent_stderr(F.a));
	struct dfix_match m = exec_of(v);
	cr_assert(dfix_exec_until(&F, &m, 0, 10000), "no exec record: %s", eu_agent_stdout(F.a));

	/* the record's schema, by value */
	const char *out = eu_agent_stdout(F.a);
	const char *line = strstr(out, F.bin);
	cr_assert(line);
	while (line > out && line[-1] != '\n')
		line--;
	char *s = strndup(line, strcspn(line, "\n"));
	cJSON *j = cJSON_Parse(s);
	cr_assert(j, "%s", s);
	char host[256] = {0};
	gethostname(host, sizeof(host) - 1);
	cr_assert_str_eq(eu_json_str(j, "host"), host);
	cr_assert_str_eq(eu_json_str(j, "event"), "event");
	const char *t = eu_json_str(j, "time");
	cr_assert(t && strlen(t) == 30 && t[10] == 'T' && t[29] == 'Z', "time %s", t);
	double tn = cJSON_GetObjectItem(j, "time_unix_nano")->valuedouble;
	cr_assert(tn > 1.7e18 && fabs(tn / 1e9 - (double)time(NULL)) < 60, "time_unix_nano %f", tn);
	const cJSON *fields = cJSON_GetObjectItem(j, "fields");
	const char *base = strrchr(F.bin, '/') + 1;
	char comm[16];
	snprintf(comm, sizeof(comm), "%s", base);
	cr_assert_str_eq(eu_json_str(fields, "comm"), comm);
	cr_assert_gt(eu_json_int(fields, "pid", 0), 0);
	cr_assert_eq(eu_json_int(fields, "ppid", 0), getpid());
	cJSON_Delete(j);
	free(s);
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0, "clean exit: %s", eu_agent_stderr(F.a));
	cr_assert(strstr(eu_agent_stderr(F.a), "counters: sink stdout: queued"), "%s",
		  eu_agent_stderr(F.a));
}

Test(daemon_hotplug, rename_modify_delete)
{
	dfix_start(&F, NULL);
	dfix_put_pkg(&F, "boot.json", 0);
	char v1[13], v2[13], p[256];
	snprintf(p, sizeof(p), "%s/boot.json", F.watch);
	dfix_version_of(p, v1);
	cr_assert(dfix_wait_log(&F, "attached", 1, 10000), "%s", eu_agent_stderr(F.a));
	struct dfix_match m1 = exec_of(v1);
	cr_assert(dfix_exec_until(&F, &m1, 0, 10000), "v1: %s", eu_agent_stdout(F.a));

	/* a new version renamed over the old: loaded before the old one is detached */
	dfix_put_pkg(&F, "boot.json", 3);
	dfix_version_of(p, v2);
	cr_assert_str_neq(v1, v2);
	char mark[128];
	snprintf(mark, sizeof(mark), "version %s: 2 programs attached", v2);
	cr_assert(dfix_wait_log(&F, mark, 1, 10000), "%s", eu_agent_stderr(F.a));
	snprintf(mark, sizeof(mark), "detaching version %s", v1);
	cr_assert(strstr(eu_agent_stderr(F.a), mark), "%s", eu_agent_stderr(F.a));
	dfix_pump(&F, 500); /* the old version's detach runs off the loop */
	size_t from = dfix_lines(&F);
	struct dfix_match m2 = exec_of(v2);
	cr_assert(dfix_exec_until(&F, &m2, from, 10000), "v2: %s", eu_agent_stdout(F.a));
	cr_assert_eq(dfix_count_records_in(eu_agent_stdout(F.a), &m1, from, NULL, NULL), 0,
		     "the old version still emits after its detach");

	/* delete: no more events */
	cr_assert_eq(unlink(p), 0);
	cr_assert(dfix_wait_log(&F, "removed: detaching version", 1, 5000), "%s",
		  eu_agent_stderr(F.a));
	dfix_pump(&F, 500);
	from = dfix_lines(&F);
	for (int i = 0; i < 5; i++)
		dfix_exec(&F);
	dfix_pump(&F, 700);
	struct dfix_match any = {.filename = F.bin, .exit_event = -1};
	cr_assert_eq(dfix_count_records_in(eu_agent_stdout(F.a), &any, from, NULL, NULL), 0,
		     "events after removal: %s", eu_agent_stdout(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}

Test(daemon_hotplug, garbage_is_reported_and_changes_nothing_else)
{
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_sh("echo '{\"not\": \"a package\"' > %s/garbage.json", F.watch);
	dfix_sh("head -c 3000 /dev/urandom > %s/noise.bpf.o", F.watch);
	dfix_start(&F, NULL);
	cr_assert(dfix_wait_log(&F, "garbage.json", 1, 8000), "%s", eu_agent_stderr(F.a));
	cr_assert(dfix_wait_log(&F, "noise.bpf.o", 1, 8000), "%s", eu_agent_stderr(F.a));
	cr_assert(strstr(eu_agent_stderr(F.a), "error: "), "%s", eu_agent_stderr(F.a));
	struct dfix_match m = exec_of(NULL);
	cr_assert(dfix_exec_until(&F, &m, 0, 10000), "%s", eu_agent_stdout(F.a));
	/* a later garbage file, too */
	dfix_sh("echo junk > %s/later.json", F.watch);
	cr_assert(dfix_wait_log(&F, "later.json", 1, 8000), "%s", eu_agent_stderr(F.a));
	size_t from = dfix_lines(&F);
	cr_assert(dfix_exec_until(&F, &m, from, 10000), "%s", eu_agent_stdout(F.a));
	/* reported once each, not in a storm */
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), "later.json"), 1, "%s", eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
	cr_assert(strstr(eu_agent_stderr(F.a), "garbage.json): failed"), "%s", eu_agent_stderr(F.a));
}

Test(daemon_hotplug, partial_write_loads_once_complete_without_errors)
{
	dfix_start(&F, NULL);
	size_t size;
	char *data = eu_test_read_file(BOOTSTRAP_PKG, &size);
	cr_assert(data);
	char p[256];
	snprintf(p, sizeof(p), "%s/slow.json", F.watch);
	/* first half, closed (a copy tool writing in two goes), then the rest a while later */
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(write(fd, data, size / 2) == (ssize_t)(size / 2));
	close(fd);
	dfix_pump(&F, 800);
	fd = open(p, O_WRONLY | O_APPEND);
	cr_assert(write(fd, data + size / 2, size - size / 2) == (ssize_t)(size - size / 2));
	close(fd);
	free(data);
	cr_assert(dfix_wait_log(&F, "slow.json): version", 1, 10000), "%s", eu_agent_stderr(F.a));
	cr_assert_null(strstr(eu_agent_stderr(F.a), "error"), "no error for a partial copy: %s",
		       eu_agent_stderr(F.a));
	struct dfix_match m = exec_of(NULL);
	cr_assert(dfix_exec_until(&F, &m, 0, 10000), "%s", eu_agent_stdout(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}

Test(daemon_hotplug, configmap_data_swap_switches_version)
{
	/* the layout a ConfigMap volume has: files are links through ..data */
	dfix_sh("cd %s && mkdir ..2026_11_25_01.1 && cp %s ..2026_11_25_01.1/boot.json && "
		"ln -s ..2026_11_25_01.1 ..data && ln -s ..data/boot.json boot.json",
		F.watch, BOOTSTRAP_PKG);
	char v1[13], v2[13], p[256];
	snprintf(p, sizeof(p), "%s/boot.json", F.watch);
	dfix_version_of(p, v1);
	dfix_start(&F, NULL);
	struct dfix_match m1 = exec_of(v1);
	cr_assert(dfix_exec_until(&F, &m1, 0, 10000), "%s", eu_agent_stdout(F.a));
	/* the kubelet's update: new dir, new link, renamed over ..data */
	dfix_sh("cd %s && mkdir ..2026_11_25_02.2 && cp %s ..2026_11_25_02.2/boot.json && "
		"echo ' ' >> ..2026_11_25_02.2/boot.json && ln -s ..2026_11_25_02.2 ..data_tmp && "
		"mv -T ..data_tmp ..data && rm -rf ..2026_11_25_01.1",
		F.watch, BOOTSTRAP_PKG);
	dfix_version_of(p, v2);
	char mark[128];
	snprintf(mark, sizeof(mark), "version %s: 2 programs attached", v2);
	cr_assert(dfix_wait_log(&F, mark, 1, 10000), "%s", eu_agent_stderr(F.a));
	dfix_pump(&F, 300);
	size_t from = dfix_lines(&F);
	struct dfix_match m2 = exec_of(v2);
	cr_assert(dfix_exec_until(&F, &m2, from, 10000), "%s", eu_agent_stdout(F.a));
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), "removed"), 0, "%s", eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}

Test(daemon_hotplug, sidecar_params_apply_and_reload)
{
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	/* with a minimum duration bootstrap reports exits only */
	dfix_sh("echo '{\"min_duration_ns\": 1}' > %s/boot.params.json", F.watch);
	dfix_start(&F, NULL);
	const char *comm = strrchr(F.bin, '/') + 1;
	struct dfix_match exits = {.package = "bootstrap", .comm = comm, .exit_event = 1};
	cr_assert(dfix_exec_until(&F, &exits, 0, 10000), "%s", eu_agent_stdout(F.a));
	struct dfix_match execs = exec_of(NULL);
	cr_assert_eq(dfix_count_records_in(eu_agent_stdout(F.a), &execs, 0, NULL, NULL), 0,
		     "exec events despite min_duration_ns");
	/* the sidecar goes: reloaded with the defaults (same version, new parameters) */
	dfix_sh("rm %s/boot.params.json", F.watch);
	cr_assert(dfix_wait_log(&F, "programs attached", 2, 10000), "%s", eu_agent_stderr(F.a));
	dfix_pump(&F, 300);
	size_t from = dfix_lines(&F);
	cr_assert(dfix_exec_until(&F, &execs, from, 10000), "%s", eu_agent_stdout(F.a));
	/* a bad parameter is reported; the running version stays */
	dfix_sh("echo '{\"no_such_param\": 5}' > %s/boot.params.json", F.watch);
	cr_assert(dfix_wait_log(&F, "unknown parameter 'no_such_param'", 1, 10000), "%s",
		  eu_agent_stderr(F.a));
	cr_assert(strstr(eu_agent_stderr(F.a), "keeps running"), "%s", eu_agent_stderr(F.a));
	from = dfix_lines(&F);
	cr_assert(dfix_exec_until(&F, &execs, from, 10000), "%s", eu_agent_stdout(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}

Test(daemon_hotplug, skel_pair_and_bare_object)
{
	dfix_start(&F, NULL);
	/* the meta first, the object a moment later (a copy in two steps): quiet until whole */
	dfix_sh("cp %s/bootstrap/bootstrap.skel.json %s/pair.skel.json", EU_PLUGIN_BUILD_DIR,
		F.watch);
	dfix_pump(&F, 400);
	dfix_sh("cp %s/bootstrap/bootstrap.bpf.o %s/pair.bpf.o", EU_PLUGIN_BUILD_DIR, F.watch);
	cr_assert(dfix_wait_log(&F, "pair.skel.json): version", 1, 10000), "%s",
		  eu_agent_stderr(F.a));
	/* a bare libbpf object: its exported struct found by the documented convention */
	dfix_sh("cp %s/bootstrap/bootstrap.bpf.o %s/.bare.tmp && mv %s/.bare.tmp %s/bare.bpf.o",
		EU_PLUGIN_BUILD_DIR, F.watch, F.watch, F.watch);
	cr_assert(dfix_wait_log(&F, "bare.bpf.o): version", 1, 10000), "%s", eu_agent_stderr(F.a));
	cr_assert_null(strstr(eu_agent_stderr(F.a), "error"), "%s", eu_agent_stderr(F.a));
	/* both emit: two exec records for one exec */
	dfix_pump(&F, 300);
	size_t from = dfix_lines(&F);
	dfix_exec(&F);
	/* the bare object is named after its file: "bare" */
	struct dfix_match m = {.filename = F.bin, .exit_event = 0};
	int64_t deadline = dfix_now_ms() + 5000;
	size_t n = 0;
	while (n < 2 && dfix_now_ms() < deadline) {
		dfix_pump(&F, 100);
		n = dfix_count_records_in(eu_agent_stdout(F.a), &m, from, NULL, NULL);
	}
	cr_assert_eq(n, 2, "%s", eu_agent_stdout(F.a));
	struct dfix_match bare = {.package = "bare", .filename = F.bin, .exit_event = 0};
	cr_assert_eq(dfix_count_records_in(eu_agent_stdout(F.a), &bare, from, NULL, NULL), 1);
	/* removing the pair's object unloads nothing silently: it is reported */
	dfix_sh("rm %s/pair.bpf.o", F.watch);
	cr_assert(dfix_wait_log(&F, "its .bpf.o is missing", 1, 10000), "%s", eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0);
}
