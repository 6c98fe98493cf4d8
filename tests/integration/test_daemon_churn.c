/* Packages whose files go away while they are being rewritten: a file overwritten with a part
 * that does not parse yet and deleted before it settles must be unloaded (no programs left,
 * not listed, no records), and create/rewrite/rename/delete churn must end with exactly the
 * packages whose files exist. Real daemon, real files, the API over its unix socket. */
#include "api_fixture.h"

#include <dirent.h>

static struct afix A;

static void setup(void)
{
	afix_init(&A);
}

static void teardown(void)
{
	afix_fini(&A);
}

TestSuite(daemon_churn, .init = setup, .fini = teardown, .timeout = 240);

/* Overwrites path in place with the first n bytes of the bootstrap package (a copy caught
 * half-way, a truncated save). */
static void overwrite_prefix(const char *path, size_t n)
{
	size_t size;
	char *data = eu_test_read_file(BOOTSTRAP_PKG, &size);
	cr_assert(data && size > n);
	int fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
	free(data);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths GET /v1/programs lists, sorted, newline-separated into out. */
static void listed_paths(char *out, size_t size)
{
	struct aresp r = afix_req(&A, NULL, "GET", "/v1/programs", NULL, 0, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	const cJSON *arr = cJSON_GetObjectItem(r.json, "programs");
	char *names[64];
	size_t n = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, arr)
		if (n < 64 && eu_json_str(p, "path"))
			names[n++] = strdup(eu_json_str(p, "path"));
	aresp_free(&r);
	qsort(names, n, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strncat(out, names[i], size - strlen(out) - 2);
		strcat(out, "\n");
		free(names[i]);
	}
}

/* The package files in the watched directory, as full paths, sorted, newline-separated. */
static void existing_paths(char *out, size_t size)
{
	DIR *d = opendir(A.f.watch);
	cr_assert(d);
	char *names[64];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && n < 64 &&
		    asprintf(&names[n], "%s/%s", A.f.watch, de->d_name) > 0)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strncat(out, names[i], size - strlen(out) - 2);
		strcat(out, "\n");
		free(names[i]);
	}
}

/* How many BPF programs process pid holds open (anon_inode:bpf-prog fds). */
static size_t bpf_prog_fds(pid_t pid)
{
	char dir[64], link[384], target[128];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	cr_assert(d, "%s", dir);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += !strcmp(target, "anon_inode:bpf-prog");
	}
	closedir(d);
	return n;
}

Test(daemon_churn, deleted_while_half_rewritten_is_unloaded)
{
	afix_start(&A, NULL);
	dfix_put_pkg(&A.f, "g.json", 0);
	cr_assert(dfix_wait_log(&A.f, "g.json): version", 1, 15000), "%s", eu_agent_stderr(A.f.a));
	struct dfix_match m = {.package = "bootstrap", .filename = A.f.bin, .exit_event = 0};
	cr_assert(dfix_exec_until(&A.f, &m, 0, 10000), "no record while loaded: %s",
		  eu_agent_stderr(A.f.a));
	cr_assert_eq(afix_count_programs(&A), 1);

	char p[256];
	snprintf(p, sizeof(p), "%s/g.json", A.f.watch);
	overwrite_prefix(p, 1000);
	usleep(300 * 1000);
	cr_assert_eq(unlink(p), 0);
	dfix_pump(&A.f, 5000);

	cr_assert_eq(bpf_prog_fds(eu_agent_pid(A.f.a)), 0, "programs still held: %s",
		     eu_agent_stderr(A.f.a));
	struct aresp r = afix_req(&A, NULL, "GET", "/v1/programs", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "programs")), 0,
		     "a deleted package is still listed: %s\nlog: %s", r.body, eu_agent_stderr(A.f.a));
	aresp_free(&r);
	cr_assert(strstr(eu_agent_stderr(A.f.a), "g.json): removed: detaching version"), "%s",
		  eu_agent_stderr(A.f.a));
	size_t from = dfix_lines(&A.f);
	for (int i = 0; i < 5; i++)
		dfix_exec(&A.f);
	dfix_pump(&A.f, 1000);
	struct dfix_match any = {.filename = A.f.bin, .exit_event = -1};
	cr_assert_eq(dfix_count_records_in(eu_agent_stdout(A.f.a), &any, from, NULL, NULL), 0,
		     "records after the file was deleted");
}

/* 48 steps over four names, each one of: a whole package renamed in, a rewrite with a part
 * that does not parse, a rename to another name, a delete; 0-250 ms apart (seeded, so a
 * failure replays). Once the directory has been quiet past the settle time, what the API
 * lists is exactly the files that exist, every whole one is loaded, and the daemon holds the
 * programs of the loaded packages and no others. */
Test(daemon_churn, churn_ends_with_exactly_the_files_that_exist)
{
	afix_start(&A, NULL);
	static const char *const names[] = {"c0.json", "c1.json", "c2.json", "c3.json"};
	unsigned seed = 13;
	int64_t deadline = dfix_now_ms() + 60000;
	for (int step = 0; step < 48 && dfix_now_ms() < deadline; step++) {
		const char *name = names[rand_r(&seed) % 4];
		char p[256], q[256];
		snprintf(p, sizeof(p), "%s/%s", A.f.watch, name);
		snprintf(q, sizeof(q), "%s/%s", A.f.watch, names[rand_r(&seed) % 4]);
		bool exists = access(p, F_OK) == 0;
		switch (rand_r(&seed) % 4) {
		case 0:
			dfix_put_pkg(&A.f, name, step);
			break;
		case 1:
			if (exists)
				overwrite_prefix(p, 1000);
			break;
		case 2:
			if (exists)
				cr_assert_eq(rename(p, q), 0);
			break;
		default:
			if (exists)
				cr_assert_eq(unlink(p), 0);
		}
		dfix_pump(&A.f, (int)(rand_r(&seed) % 250));
	}
	/* the partial files settle (2 s) and fail; every other file is loaded */
	char listed[4096], existing[4096];
	int64_t end = dfix_now_ms() + 20000;
	do {
		dfix_pump(&A.f, 500);
		listed_paths(listed, sizeof(listed));
		existing_paths(existing, sizeof(existing));
	} while (strcmp(listed, existing) && dfix_now_ms() < end);
	cr_assert_str_eq(listed, existing, "listed:\n%s\nexisting:\n%s\nlog: %s", listed, existing,
			 eu_agent_stderr(A.f.a));
	dfix_pump(&A.f, 3000);
	listed_paths(listed, sizeof(listed));
	cr_assert_str_eq(listed, existing, "changed after settling:\n%s", listed);
	/* whole files are loaded; a partial one failed, or keeps the version it replaced
	 * running (its last error says why) */
	struct aresp r = afix_req(&A, NULL, "GET", "/v1/programs", NULL, 0, NULL);
	const cJSON *p;
	size_t loaded = 0;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(r.json, "programs"))
	{
		const char *path = eu_json_str(p, "path");
		struct stat st;
		cr_assert_eq(stat(path, &st), 0, "%s", path);
		bool whole = st.st_size > 1000, up = !strcmp(eu_json_str(p, "state"), "loaded");
		cr_assert(whole ? up : (!up || eu_json_str(p, "last_error")), "%s: %s", path,
			  r.body);
		loaded += up;
	}
	aresp_free(&r);
	/* no program is held for a package that is gone: the daemon's BPF program fds are
	 * those of the loaded packages (bootstrap has two programs) */
	cr_assert_eq(bpf_prog_fds(eu_agent_pid(A.f.a)), 2 * loaded, "loaded %zu: %s", loaded,
		     eu_agent_stderr(A.f.a));
	cr_assert_eq(eu_agent_stop(A.f.a, 15000), 0, "%s", eu_agent_stderr(A.f.a));
}
