/* The control API on a running daemon: real HTTP over the unix socket and TCP, with curl (the
 * program and libcurl) and with `eunomia-agent ctl`. */
#include "api_fixture.h"

/* One request and what its answer must hold; checks left unset are not made. */
struct api_call {
	const char *tcp; /* NULL: over the unix socket */
	const char *method, *path, *body;
	long status;
	const char *error_code;
	const char *state;
};

static void expect_answer(struct afix *a, struct api_call c)
{
	struct aresp r = afix_req(a, c.tcp, c.method, c.path, c.body, c.body ? strlen(c.body) : 0,
				  NULL);
	cr_assert_eq(r.status, c.status, "%s %s: %ld %s", c.method, c.path, r.status, r.body);
	if (c.error_code)
		cr_assert_str_eq(aresp_error_code(&r), c.error_code, "%s %s: %s", c.method,
				 c.path, r.body);
	if (c.state)
		cr_assert_str_eq(eu_json_str(r.json, "state"), c.state, "%s %s: %s", c.method,
				 c.path, r.body);
	aresp_free(&r);
}

/* `ctl ARGS` exits with want_rc and prints each of the wants (a NULL-terminated list). */
static void ctl_expect(struct afix *a, int want_rc, const char *const *args, ...)
	__attribute__((sentinel));
static void ctl_expect(struct afix *a, int want_rc, const char *const *args, ...)
{
	char *out = NULL;
	int rc = afix_ctl(a, &out, args);
	cr_assert_eq(rc, want_rc, "%s", out);
	va_list ap;
	va_start(ap, args);
	for (const char *want; (want = va_arg(ap, const char *));)
		cr_assert(strstr(out, want), "%s", out);
	va_end(ap);
	free(out);
}

/* A daemon (with extra args) that already runs the bootstrap package as `name`. */
static void start_with_package(struct afix *a, const char *const *extra, const char *name)
{
	afix_init(a);
	afix_start(a, extra);
	ctl_expect(a, 0, (const char *const[]){"load", BOOTSTRAP_PKG, "--name", name, NULL}, NULL);
}

/* A daemon running the bootstrap package as `name`, followed by `ctl logs NAME --follow` in
 * the background; the follower's pid, once it has printed a record of our binary (so it is
 * connected). */
static pid_t start_with_follower(struct afix *a, const char *name)
{
	start_with_package(a, NULL, name);
	char outfile[256], cmd[1024];
	snprintf(outfile, sizeof(outfile), "%s/follow.out", a->f.root);
	snprintf(cmd, sizeof(cmd), "%s ctl --api %s logs %s --follow > %s 2>&1", EU_AGENT_BIN,
		 a->api_unix, name, outfile);
	pid_t pid = eu_spawn((const char *const[]){"/bin/sh", "-c", cmd, NULL});
	cr_assert_gt(pid, 0);
	int64_t deadline = dfix_now_ms() + 20000;
	bool seen = false;
	while (!seen && dfix_now_ms() < deadline) {
		dfix_exec(&a->f);
		dfix_pump(&a->f, 100);
		char *txt = eu_test_read_file(outfile, NULL);
		seen = txt && strstr(txt, a->f.bin);
		free(txt);
	}
	cr_assert(seen, "the follower saw no record of %s", a->f.bin);
	return pid;
}

/* A copy of /bin/true with a name of its own (STEM_PID), so its records are told apart. */
static void copy_true(struct afix *a, const char *stem, char *path, size_t size)
{
	snprintf(path, size, "%s/bin/%s_%d", a->f.root, stem, (int)getpid() % 100000);
	dfix_sh("cp /bin/true %s", path);
}

static void run_and_wait(const char *path)
{
	pid_t pid = eu_spawn((const char *const[]){path, NULL});
	cr_assert_eq(eu_wait_pid(pid, 5000), 0);
}

/* Polls the package's events (not following) until pred finds a record; the body. */
static char *events_until(struct afix *a, const char *name, const char *needle, int timeout_ms,
			  void (*trigger)(struct afix *))
{
	char path[256];
	snprintf(path, sizeof(path), "/v1/programs/%s/events", name);
	int64_t deadline = dfix_now_ms() + timeout_ms;
	for (;;) {
		if (trigger)
			trigger(a);
		struct aresp r = afix_req(a, NULL, "GET", path, NULL, 0, NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		if (strstr(r.body, needle)) {
			char *b = r.body;
			r.body = NULL;
			aresp_free(&r);
			return b;
		}
		aresp_free(&r);
		if (dfix_now_ms() > deadline)
			return NULL;
		dfix_pump(&a->f, 100);
	}
}

static void exec_bin(struct afix *a)
{
	dfix_exec(&a->f);
}

Test(api_daemon, socket_mode_health_and_errors)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, NULL);
	struct stat st;
	cr_assert_eq(stat(a.sock, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "socket mode %o", st.st_mode & 0777);

	/* the curl program, over the socket */
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){"/usr/bin/curl", "-sS", "--unix-socket", a.sock,
						     "http://x/healthz", NULL}, 30000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\"status\":\"ok\""), "%s", out);
	free(out);

	struct aresp r = afix_req(&a, a.tcp, "GET", "/v1/features", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	const cJSON *feat = cJSON_GetObjectItem(r.json, "features");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(feat, "btf"), "available")),
		  "%s", r.body);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(feat, "ringbuf"), "available")));
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "program_types"),
						   "tracepoint")));
	aresp_free(&r);

	ctl_expect(&a, 0, (const char *const[]){"features", NULL},
		   "\"ringbuf\":{\"available\":true}", NULL);
	ctl_expect(&a, 1, (const char *const[]){"get", "nothing", NULL}, "404 not_found", NULL);

	static const struct api_call errors[] = {
		{.method = "GET", .path = "/v1/nothing", .status = 404, .error_code = "not_found"},
		{.method = "PUT", .path = "/v1/programs", .body = "x", .status = 405,
		 .error_code = "method_not_allowed"},
		{.method = "DELETE", .path = "/healthz", .status = 405},
		{.method = "POST", .path = "/task", .body = "{\"program_data_buf\": ",
		 .status = 400, .error_code = "bad_json"},
		{.method = "POST", .path = "/v1/programs?name=x", .body = "not a package",
		 .status = 400, .error_code = "bad_package"},
		{.method = "DELETE", .path = "/v1/programs/nope", .status = 404},
		{.method = "GET", .path = "/metrics", .status = 200},
	};
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		expect_answer(&a, errors[i]);
	afix_fini(&a);
}

Test(api_daemon, oversized_body_is_413)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, (const char *const[]){"--api-max-body", "4096", NULL});
	char *big = calloc(1, 100000);
	memset(big, 'x', 99999);
	expect_answer(&a, (struct api_call){.method = "POST", .path = "/v1/programs?name=big",
					     .body = big, .status = 413,
					     .error_code = "body_too_large"});
	free(big);
	/* the daemon goes on */
	expect_answer(&a, (struct api_call){.method = "GET", .path = "/healthz", .status = 200});
	afix_fini(&a);
}

Test(api_daemon, ctl_load_logs_pause_resume_unload)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, NULL);
	ctl_expect(&a, 0,
		   (const char *const[]){"load", BOOTSTRAP_PKG, "--name", "boot", "--param",
					 "min_duration_ns=0", NULL},
		   "\"state\":\"loaded\"", NULL);
	cJSON *p = afix_pkg(&a, "boot");
	cr_assert(p);
	cr_assert_str_eq(eu_json_str(p, "source"), "api");
	cr_assert_eq(eu_json_int(p, "attached", 0), 2);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(p, "attach_points")), 2);
	cr_assert_eq(strlen(eu_json_str(p, "version")), 12);
	cJSON_Delete(p);

	/* same name again: 409 */
	ctl_expect(&a, 1, (const char *const[]){"load", BOOTSTRAP_PKG, "--name", "boot", NULL},
		   "409 name_in_use", NULL);

	/* our binary's exec shows in its records */
	char *ev = events_until(&a, "boot", a.f.bin, 20000, exec_bin);
	cr_assert(ev, "no record of %s", a.f.bin);
	cr_assert(strstr(ev, "{\"seq\":"), "%s", ev);
	free(ev);

	ctl_expect(&a, 0, (const char *const[]){"list", NULL}, "boot", "loaded", NULL);

	/* paused: detached, so a binary run meanwhile leaves no record */
	ctl_expect(&a, 0, (const char *const[]){"pause", "boot", NULL}, "\"state\":\"paused\"",
		   "\"attached\":0", NULL);
	char paused_bin[200];
	copy_true(&a, "eu_paused", paused_bin, sizeof(paused_bin));
	for (int i = 0; i < 3; i++)
		run_and_wait(paused_bin);
	ctl_expect(&a, 0, (const char *const[]){"resume", "boot", NULL}, "\"state\":\"loaded\"",
		   "\"attached\":2", NULL);
	/* records are in order: once a later exec shows, a paused one would have shown first */
	char marker[200];
	copy_true(&a, "eu_after", marker, sizeof(marker));
	int64_t deadline = dfix_now_ms() + 20000;
	char *all = NULL;
	int rc;
	while (dfix_now_ms() < deadline) {
		run_and_wait(marker);
		free(all);
		rc = afix_ctl(&a, &all, (const char *const[]){"logs", "boot", NULL});
		cr_assert_eq(rc, 0, "%s", all);
		if (strstr(all, marker))
			break;
	}
	cr_assert(all && strstr(all, marker), "no record after resume");
	cr_assert_null(strstr(all, paused_bin), "a record while paused");
	free(all);

	/* a cursor resumes after what was seen */
	p = afix_pkg(&a, "boot");
	long long seq = eu_json_int(p, "seq", 0);
	cJSON_Delete(p);
	cr_assert_gt(seq, 0);
	char cur[32];
	snprintf(cur, sizeof(cur), "%lld", seq);
	char *out = NULL;
	rc = afix_ctl(&a, &out, (const char *const[]){"logs", "boot", "--cursor", cur, NULL});
	cr_assert_eq(rc, 0, "%s", out);
	char want[64];
	snprintf(want, sizeof(want), "{\"seq\":%lld,", seq);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
	free(out);

	/* server-sent events with curl */
	char url[256];
	snprintf(url, sizeof(url), "http://%s/v1/programs/boot/events?cursor=%lld", a.tcp, seq);
	rc = eu_run_capture((const char *const[]){"/usr/bin/curl", "-sS", "-H",
						     "Accept: text/event-stream", "-H", a.auth, url,
						     NULL},
			    30000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	snprintf(want, sizeof(want), "id: %lld\ndata: {", seq);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
	free(out);

	ctl_expect(&a, 0, (const char *const[]){"unload", "boot", NULL}, NULL);
	cr_assert_null(afix_pkg(&a, "boot"));
	cr_assert_eq(afix_count_programs(&a), 0);
	afix_fini(&a);
}

/* A follower gets records as they come and its stream ends when the package goes. */
Test(api_daemon, follow_ends_on_unload)
{
	struct afix a;
	pid_t pid = start_with_follower(&a, "fol");
	ctl_expect(&a, 0, (const char *const[]){"unload", "fol", NULL}, NULL);
	cr_assert_eq(eu_wait_pid(pid, 20000), 0, "the follower did not end with the package");
	afix_fini(&a);
}

Test(api_daemon, upstream_task_form_over_tcp)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, NULL);
	size_t size;
	char *pkg = eu_test_read_file(BOOTSTRAP_PKG, &size);
	cr_assert(pkg);
	char *b64 = eu_base64(pkg, size, 0);
	free(pkg);
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "program_data_buf", b64);
	cJSON_AddStringToObject(req, "program_type", "json");
	cJSON_AddStringToObject(req, "program_name", "upboot");
	cJSON *args = cJSON_AddArrayToObject(req, "extra_args");
	cJSON_AddItemToArray(args, cJSON_CreateString("--min_duration_ns"));
	cJSON_AddItemToArray(args, cJSON_CreateString("0"));
	char *body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	free(b64);
	char bodyfile[256];
	snprintf(bodyfile, sizeof(bodyfile), "%s/task.json", a.f.root);
	cr_assert_eq(eu_write_file(bodyfile, body, strlen(body)), 0);
	free(body);
	char url[128], at[300];
	snprintf(url, sizeof(url), "http://%s/task", a.tcp);
	snprintf(at, sizeof(at), "@%s", bodyfile);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){"/usr/bin/curl", "-sS", "-H", a.auth,
						     "--data-binary", at, url, NULL},
				60000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cJSON *j = cJSON_Parse(out);
	cr_assert(j, "%s", out);
	cr_assert_str_eq(eu_json_str(j, "status"), "Ok", "%s", out);
	cJSON *prog = cJSON_GetObjectItem(j, "program");
	cr_assert_str_eq(eu_json_str(prog, "name"), "upboot");
	long long id = eu_json_int(prog, "id", -1);
	cr_assert_gt(id, 0);
	cJSON_Delete(j);
	free(out);

	struct aresp r = afix_req(&a, a.tcp, "GET", "/task", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "tasks"), 0);
	cr_assert_eq(eu_json_int(t, "id", -1), id, "%s", r.body);
	cr_assert_str_eq(eu_json_str(t, "status"), "running");
	aresp_free(&r);

	/* upstream's /log pages through the records */
	char q[128];
	snprintf(q, sizeof(q), "{\"id\":%lld,\"maximum_count\":5}", id);
	int64_t deadline = dfix_now_ms() + 20000;
	bool found = false;
	while (!found && dfix_now_ms() < deadline) {
		dfix_exec(&a.f);
		r = afix_req(&a, a.tcp, "POST", "/log", q, strlen(q), NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		found = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "logs")) > 0;
		aresp_free(&r);
	}
	cr_assert(found, "no logs through /log");

	snprintf(q, sizeof(q), "{\"id\":%lld}", id);
	expect_answer(&a, (struct api_call){.tcp = a.tcp, .method = "POST", .path = "/pause",
					     .body = q, .status = 200, .state = "paused"});
	expect_answer(&a, (struct api_call){.tcp = a.tcp, .method = "POST", .path = "/resume",
					     .body = q, .status = 200, .state = "loaded"});
	expect_answer(&a, (struct api_call){.tcp = a.tcp, .method = "POST", .path = "/stop",
					     .body = q, .status = 200});
	cr_assert_eq(afix_count_programs(&a), 0);
	/* a Wasm module is run (tests/integration/test_daemon_wasm.c); other bytes are not one */
	const char *wasm = "{\"program_type\":\"wasm\",\"program_data_buf\":\"AA==\"}";
	expect_answer(&a, (struct api_call){.tcp = a.tcp, .method = "POST", .path = "/task",
					     .body = wasm, .status = 400, .error_code = "bad_package"});
	const char *tar = "{\"program_type\":\"tar\",\"program_data_buf\":\"AA==\"}";
	expect_answer(&a, (struct api_call){.tcp = a.tcp, .method = "POST", .path = "/task",
					     .body = tar, .status = 422});
	afix_fini(&a);
}

/* A package the verifier rejects: 422 with the reason, and nothing else changes. */
Test(api_daemon, verifier_rejection_is_422_and_changes_nothing)
{
	struct afix a;
	start_with_package(&a, NULL, "good");
	char obj[256];
	snprintf(obj, sizeof(obj), "%s/bad.bpf.o", a.f.root);
	char *log = NULL;
	cr_assert_eq(eu_compile_bpf(EU_TEST_DATA_DIR "/bad_verifier/bad.bpf.c", obj, &log), 0, "%s",
		     log);
	free(log);
	size_t size;
	char *data = eu_test_read_file(obj, &size);
	cr_assert(data);
	struct aresp r = afix_req(&a, NULL, "POST", "/v1/programs?name=bad", data, size, NULL);
	free(data);
	cr_assert_eq(r.status, 422, "%ld %s", r.status, r.body);
	cr_assert_str_eq(aresp_error_code(&r), "load_failed");
	const char *msg = cJSON_GetStringValue(
		cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "message"));
	cr_assert(msg && strstr(msg, "verifier"), "%s", r.body);
	aresp_free(&r);
	cr_assert_null(afix_pkg(&a, "bad"));
	cr_assert_eq(afix_count_programs(&a), 1);
	cJSON *p = afix_pkg(&a, "good");
	cr_assert_str_eq(eu_json_str(p, "state"), "loaded");
	cr_assert_eq(eu_json_int(p, "attached", 0), 2);
	cJSON_Delete(p);
	afix_fini(&a);
}

/* A cursor older than the ring: the stream starts with how many were missed. */
Test(api_daemon, old_cursor_reports_missed_records)
{
	struct afix a;
	start_with_package(&a, (const char *const[]){"--api-ring", "4", NULL}, "ring");
	int64_t deadline = dfix_now_ms() + 30000;
	long long seq = 0;
	while (seq < 10 && dfix_now_ms() < deadline) {
		dfix_exec(&a.f);
		cJSON *p = afix_pkg(&a, "ring");
		seq = eu_json_int(p, "seq", 0);
		cJSON_Delete(p);
	}
	cr_assert_geq(seq, 10, "too few records");
	struct aresp r = afix_req(&a, NULL, "GET", "/v1/programs/ring/events?cursor=1", NULL, 0, NULL);
	cr_assert_eq(r.status, 200);
	long long missed = 0, first = 0, lines = 0;
	for (char *l = r.body; l && *l;) {
		char *nl = strchr(l, '\n');
		cJSON *j = cJSON_ParseWithLength(l, nl ? (size_t)(nl - l) : strlen(l));
		cr_assert(j, "bad line in %s", r.body);
		if (lines == 0)
			missed = eu_json_int(j, "missed", -1);
		else if (lines == 1)
			first = eu_json_int(j, "seq", -1);
		lines++;
		cJSON_Delete(j);
		l = nl ? nl + 1 : NULL;
	}
	/* records may arrive between reading seq and the request: the ring holds the last 4 */
	cr_assert_geq(missed, seq - 4, "%s", r.body);
	cr_assert_eq(first, missed + 1, "%s", r.body);
	cr_assert_eq(lines, 5, "%s", r.body);
	aresp_free(&r);
	afix_fini(&a);
}

Test(api_daemon, program_limit_is_429)
{
	struct afix a;
	start_with_package(&a, (const char *const[]){"--api-max-programs", "1", NULL}, "one");
	ctl_expect(&a, 1, (const char *const[]){"load", BOOTSTRAP_PKG, "--name", "two", NULL},
		   "429 too_many_programs", NULL);
	cr_assert_eq(afix_count_programs(&a), 1);
	afix_fini(&a);
}

/* SIGTERM with a client following a stream: the stream ends and the daemon exits 0. */
Test(api_daemon, stop_with_a_follower)
{
	struct afix a;
	pid_t pid = start_with_follower(&a, "f");
	int rc = eu_agent_stop(a.f.a, 15000);
	cr_assert_eq(rc, 0, "%s", eu_agent_stderr(a.f.a));
	cr_assert_neq(eu_wait_pid(pid, 20000), -1, "the follower hung after the daemon stopped");
	struct stat st;
	cr_assert_neq(stat(a.sock, &st), 0, "the socket file is left behind");
	afix_fini(&a);
}

/* Uploads and watched files share one namespace: the config's params for a name apply to an
 * upload of that name (the request's own after them), and a watched file that appears with
 * an uploaded package's name waits until that package is unloaded. */
Test(api_daemon, uploads_and_watched_files_share_names)
{
	struct afix a;
	afix_init(&a);
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", a.f.root);
	dfix_sh("printf 'packages:\\n  badcfg:\\n    params: {no_such_param: 1}\\n' > %s", cfg);
	afix_start(&a, (const char *const[]){"--config", cfg, NULL});
	size_t size;
	char *data = eu_test_read_file(BOOTSTRAP_PKG, &size);
	cr_assert(data);
	struct aresp r = afix_req(&a, NULL, "POST", "/v1/programs?name=badcfg", data, size, NULL);
	cr_assert_eq(r.status, 422, "the config's params were not applied: %ld %s", r.status,
		     r.body);
	cr_assert(strstr(r.body, "unknown parameter 'no_such_param'"), "%s", r.body);
	aresp_free(&r);
	r = afix_req(&a, NULL, "POST", "/v1/programs?name=up", data, size, NULL);
	free(data);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	aresp_free(&r);

	dfix_sh("cp %s %s/.up.tmp && mv %s/.up.tmp %s/up.json", BOOTSTRAP_PKG, a.f.watch, a.f.watch,
		a.f.watch);
	char line[512];
	snprintf(line, sizeof(line), "%s/up.json: not loaded: a package loaded through the API is "
		 "named 'up'", a.f.watch);
	cr_assert(dfix_wait_log(&a.f, line, 1, 10000), "%s", eu_agent_stderr(a.f.a));
	cr_assert_eq(afix_count_programs(&a), 1, "the watched file shadows the upload");
	cJSON *p = afix_pkg(&a, "up");
	cr_assert(p && eu_json_str(p, "source") && !strcmp(eu_json_str(p, "source"), "api"),
		  "up is not the upload any more");
	cJSON_Delete(p);

	ctl_expect(&a, 0, (const char *const[]){"unload", "up", NULL}, NULL);
	int64_t deadline = dfix_now_ms() + 10000;
	char want_path[256];
	snprintf(want_path, sizeof(want_path), "%s/up.json", a.f.watch);
	bool watched = false;
	while (!watched && dfix_now_ms() < deadline) {
		dfix_pump(&a.f, 100);
		p = afix_pkg(&a, "up");
		watched = p && eu_json_str(p, "path") && !strcmp(eu_json_str(p, "path"), want_path) &&
			  eu_json_str(p, "state") && !strcmp(eu_json_str(p, "state"), "loaded");
		cJSON_Delete(p);
	}
	cr_assert(watched, "the watched up.json did not load after the upload was unloaded: %s",
		  eu_agent_stderr(a.f.a));
	afix_fini(&a);
}

/* The package info tells which of twin programs runs and why the other does not. */
Test(api_daemon, package_info_lists_program_choices)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, NULL);
	ctl_expect(&a, 0,
		   (const char *const[]){"load", EU_TESTBPF_BUILD_DIR "/twins/package.json", "--name",
					 "twins", NULL},
		   "\"state\":\"loaded\"", NULL);
	cJSON *p = afix_pkg(&a, "twins");
	cr_assert(p);
	cr_expect_eq(eu_json_int(p, "attached", 0), 1);
	const cJSON *choices = cJSON_GetObjectItem(p, "choices");
	cr_assert_eq(cJSON_GetArraySize(choices), 2, "%s", cJSON_PrintUnformatted(p));
	int loaded = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, choices) {
		const char *prog = eu_json_str(c, "program");
		cr_assert(prog);
		cr_expect(!strcmp(prog, "sys_enter_btf") || !strcmp(prog, "sys_enter_raw"), "%s", prog);
		cr_expect(strstr(eu_json_str(c, "reason"), "sys_enter"), "%s", eu_json_str(c, "reason"));
		loaded += cJSON_IsTrue(cJSON_GetObjectItem(c, "loaded"));
	}
	cr_expect_eq(loaded, 1, "exactly one twin loaded");
	cJSON_Delete(p);
	afix_fini(&a);
}

/* An `__altN` group whose first program hooks a function this kernel lacks: the daemon runs
 * the tracepoint alternative, says so in its log, and its package info lists the reason with
 * the replacement (tests/bpf/fallback). */
Test(api_daemon, package_info_names_the_alternative_used_for_a_missing_function)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, NULL);
	ctl_expect(&a, 0,
		   (const char *const[]){"load", EU_TESTBPF_BUILD_DIR "/fallback/package.json",
					 "--name", "fallback", NULL},
		   "\"state\":\"loaded\"", NULL);
	static const char reason[] = "program getppid__alt0 (fentry/eu_no_such_function): function "
				     "eu_no_such_function is not in this kernel's BTF; using "
				     "getppid__alt1 (tracepoint/syscalls/sys_enter_getppid) instead";
	cr_expect(dfix_wait_log(&a.f, reason, 1, 10000), "%s", eu_agent_stderr(a.f.a));
	cJSON *p = afix_pkg(&a, "fallback");
	cr_assert(p);
	cr_expect_eq(eu_json_int(p, "attached", 0), 2, "%s", cJSON_PrintUnformatted(p));
	const cJSON *choices = cJSON_GetObjectItem(p, "choices");
	bool missing = false, used = false;
	const cJSON *c;
	cJSON_ArrayForEach(c, choices) {
		const char *prog = eu_json_str(c, "program");
		const char *why = eu_json_str(c, "reason");
		cr_assert(prog && why);
		if (!strcmp(prog, "getppid__alt0")) {
			cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(c, "loaded")));
			cr_expect(strstr(why, reason), "%s", why);
			cr_expect_str_eq(eu_json_str(c, "section"), "fentry/eu_no_such_function");
			missing = true;
		} else if (!strcmp(prog, "getppid__alt1")) {
			cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(c, "loaded")));
			used = true;
		}
	}
	cr_expect(missing && used, "choices: %s", cJSON_PrintUnformatted(choices));
	cJSON_Delete(p);
	afix_fini(&a);
}

/* A hot swap with records of the old version still in the ring: a reader afterwards gets
 * them, decoded by value (our binary's exec, the old version), each the very line the stdout
 * sink wrote, numbered without a gap. */
Test(api_daemon, stream_after_hot_swap_decodes_the_old_version)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, (const char *const[]){"--api-ring", "4096", NULL});
	char v1[13], v2[13], p[256], mark[128];
	snprintf(p, sizeof(p), "%s/boot.json", a.f.watch);
	dfix_put_pkg(&a.f, "boot.json", 0);
	dfix_version_of(p, v1);
	struct dfix_match m1 = {.package = "bootstrap", .version = v1, .filename = a.f.bin,
				.exit_event = 0};
	cr_assert(dfix_exec_until(&a.f, &m1, 0, 20000), "v1: %s", eu_agent_stderr(a.f.a));
	dfix_put_pkg(&a.f, "boot.json", 3);
	dfix_version_of(p, v2);
	snprintf(mark, sizeof(mark), "detaching version %s", v1);
	cr_assert(dfix_wait_log(&a.f, mark, 1, 20000), "%s", eu_agent_stderr(a.f.a));
	struct dfix_match m2 = m1;
	m2.version = v2;
	cr_assert(dfix_exec_until(&a.f, &m2, 0, 20000), "v2: %s", eu_agent_stderr(a.f.a));
	dfix_pump(&a.f, 300);
	struct aresp r = afix_req(&a, NULL, "GET", "/v1/programs/boot/events?cursor=1", NULL, 0,
				  NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	dfix_pump(&a.f, 300); /* stdout has every line the stream had */
	const char *out = eu_agent_stdout(a.f.a);
	long long missed = 0, last = 0, n = 0;
	size_t old_ours = 0, new_ours = 0;
	for (char *l = r.body; l && *l;) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len) {
			cJSON *j = cJSON_ParseWithLength(l, len);
			cr_assert(j, "bad line in %s", r.body);
			if (cJSON_GetObjectItem(j, "missed")) {
				cr_assert_eq(n, 0, "missed after records: %s", r.body);
				missed = eu_json_int(j, "missed", -1);
			} else {
				long long seq = eu_json_int(j, "seq", -1);
				cr_assert_eq(seq, (n ? last : missed) + 1, "a gap: %s", r.body);
				last = seq;
				n++;
				/* the record's text, byte for byte a line of the stdout sink */
				const char *rec = strstr(l, "\"record\":") + 9;
				size_t rlen = (size_t)(l + len - 1 - rec);
				char *line = malloc(rlen + 3);
				snprintf(line, rlen + 3, "\n%.*s\n", (int)rlen, rec);
				cr_assert(!strncmp(out, line + 1, rlen + 1) || strstr(out, line),
					  "not a line of the sink: %s", line);
				free(line);
				const cJSON *rj = cJSON_GetObjectItem(j, "record");
				old_ours += dfix_rec_matches(rj, &m1);
				new_ours += dfix_rec_matches(rj, &m2);
			}
			cJSON_Delete(j);
		}
		l = nl ? nl + 1 : NULL;
	}
	cr_assert_geq(old_ours, 1, "no record of the old version: %s", r.body);
	cr_assert_geq(new_ours, 1, "no record of the new version: %s", r.body);
	cJSON *info = afix_pkg(&a, "boot");
	cr_assert_geq(eu_json_int(info, "seq", 0), last);
	cJSON_Delete(info);
	aresp_free(&r);
	afix_fini(&a);
}
