/* The Kubernetes path (deploy/kubernetes): packages delivered by a ConfigMap volume at the
 * watched directory. The kubelet updates such a volume the way its atomic writer does: a new
 * timestamped directory with the whole payload, a ..data_tmp link to it renamed over ..data,
 * then links for keys that are new, then removal of links for keys that are gone, then the
 * old directory. Editing the ConfigMap must load added keys, leave unchanged ones running,
 * and unload removed ones, checked through the records and the links the kernel holds. */
#include "daemon_fixture.h"

#include "eu_run_util.h"

EU_DFIX_SUITE(F, ship_configmap, 180);

/* BPF links the process holds: what the kernel has attached for it. A process that died is
 * a failure here, never "no links". */
static size_t bpf_links_of(pid_t pid)
{
	uint32_t ids[256];
	ssize_t n = eu_link_ids_of(pid, ids, 256);
	cr_assert_geq(n, 0, "cannot read the links of pid %d: %s", (int)pid, strerror(errno));
	return (size_t)n;
}

static bool wait_links(pid_t pid, size_t want, int timeout_ms)
{
	int64_t deadline = dfix_now_ms() + timeout_ms;
	for (;;) {
		if (bpf_links_of(pid) == want)
			return true;
		if (dfix_now_ms() >= deadline)
			return false;
		eu_agent_next_line(F.a, 50);
	}
}

/* The kubelet's update to a payload of `keys` (space-separated, each a bootstrap package
 * with `pad` trailing spaces, so each key has its own version), generation `gen`. */
static void kubelet_write(int gen, const char *keys, const int *pads, const char *old_keys)
{
	char ts[64];
	snprintf(ts, sizeof(ts), "..2026_11_25_0%d_00_00.%d", gen, 100 + gen);
	dfix_sh("cd %s && mkdir %s", F.watch, ts);
	char *list = strdup(keys);
	size_t i = 0;
	for (char *save = NULL, *k = strtok_r(list, " ", &save); k; k = strtok_r(NULL, " ", &save))
		dfix_sh("cd %s && cp %s %s/%s && printf '%%*s' %d '' >> %s/%s", F.watch,
			BOOTSTRAP_PKG, ts, k, pads[i++], ts, k);
	free(list);
	dfix_sh("cd %s && ln -s %s ..data_tmp && mv -T ..data_tmp ..data", F.watch, ts);
	list = strdup(keys);
	for (char *save = NULL, *k = strtok_r(list, " ", &save); k; k = strtok_r(NULL, " ", &save))
		dfix_sh("cd %s && { [ -L %s ] || ln -s ..data/%s %s; }", F.watch, k, k, k);
	free(list);
	if (old_keys) {
		list = strdup(old_keys);
		for (char *save = NULL, *k = strtok_r(list, " ", &save); k;
		     k = strtok_r(NULL, " ", &save))
			if (!strstr(keys, k))
				dfix_sh("rm %s/%s", F.watch, k);
		free(list);
	}
	/* every older generation goes */
	dfix_sh("cd %s && for d in ..2026_*; do [ \"$d\" = %s ] || rm -rf \"$d\"; done", F.watch,
		ts);
}

static void version_of_key(const char *key, char out[13])
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", F.watch, key);
	dfix_version_of(p, out);
}

Test(ship_configmap, edits_add_keep_and_remove_packages)
{
	/* the volume as the pod starts: one key */
	kubelet_write(1, "a.json", (const int[]){0}, NULL);
	char va[13], vb[13];
	version_of_key("a.json", va);
	dfix_start(&F, NULL);
	cr_assert(strstr(eu_agent_stderr(F.a), "1 package loaded, 0 failed"), "%s",
		  eu_agent_stderr(F.a));
	pid_t pid = eu_agent_pid(F.a);
	cr_assert(wait_links(pid, 2, 10000), "links: %zu", bpf_links_of(pid));
	struct dfix_match ma = {.package = "bootstrap", .version = va, .filename = F.bin,
				.exit_event = 0};
	cr_assert(dfix_exec_until(&F, &ma, 0, 10000), "%s", eu_agent_stdout(F.a));

	/* edit: a second key added, the first unchanged */
	kubelet_write(2, "a.json b.json", (const int[]){0, 1}, "a.json");
	version_of_key("b.json", vb);
	cr_assert_str_neq(va, vb);
	char mark[160];
	snprintf(mark, sizeof(mark), "b.json): version %s: 2 programs attached", vb);
	cr_assert(dfix_wait_log(&F, mark, 1, 20000), "%s", eu_agent_stderr(F.a));
	cr_assert(wait_links(pid, 4, 10000), "links: %zu", bpf_links_of(pid));
	size_t from = dfix_lines(&F);
	struct dfix_match mb = {.package = "bootstrap", .version = vb, .filename = F.bin,
				.exit_event = 0};
	cr_assert(dfix_exec_until(&F, &mb, from, 10000), "%s", eu_agent_stdout(F.a));
	cr_assert(dfix_exec_until(&F, &ma, from, 10000), "a stopped: %s", eu_agent_stdout(F.a));
	snprintf(mark, sizeof(mark), "version %s: 2 programs attached", va);
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), mark), 1, "a was reloaded: %s",
		     eu_agent_stderr(F.a));

	/* edit: the first key removed */
	kubelet_write(3, "b.json", (const int[]){1}, "a.json b.json");
	snprintf(mark, sizeof(mark), "a.json): removed: detaching version %s", va);
	cr_assert(dfix_wait_log(&F, mark, 1, 20000), "%s", eu_agent_stderr(F.a));
	cr_assert(wait_links(pid, 2, 20000), "a's links stay: %zu", bpf_links_of(pid));
	/* a fresh binary: only b reports it */
	char fresh[200];
	snprintf(fresh, sizeof(fresh), "%s/bin/eu_cm_fresh", F.root);
	dfix_sh("cp /bin/true %s", fresh);
	dfix_pump(&F, 200);
	from = dfix_lines(&F);
	struct dfix_match fb = {.package = "bootstrap", .version = vb, .filename = fresh,
				.exit_event = 0};
	int64_t deadline = dfix_now_ms() + 10000;
	size_t n = 0;
	while (!n && dfix_now_ms() < deadline) {
		const char *argv[] = {fresh, NULL};
		cr_assert_eq(eu_wait_pid(eu_spawn(argv), 5000), 0);
		dfix_pump(&F, 150);
		n = dfix_count_records_in(eu_agent_stdout(F.a), &fb, from, NULL, NULL);
	}
	cr_assert_gt(n, 0, "b does not report: %s", eu_agent_stdout(F.a));
	struct dfix_match fa = {.package = "bootstrap", .version = va, .filename = fresh,
				.exit_event = -1};
	cr_assert_eq(dfix_count_records_in(eu_agent_stdout(F.a), &fa, from, NULL, NULL), 0,
		     "the removed key still reports");
	cr_assert_eq(eu_agent_stop(F.a, 20000), 0, "%s", eu_agent_stderr(F.a));
}
