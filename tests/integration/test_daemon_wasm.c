/* Wasm modules in the daemon: a module dropped into the watched directory or loaded through
 * the API runs on its own thread, its output lines become records on the sinks (checked by
 * value against execs this test causes), removing it detaches its programs within a bound
 * (counted in the daemon's own /proc/PID/fdinfo), a module that traps or exits is reported
 * and not restarted, and the signature rule of packages applies to modules. The image-ref
 * load is in tests/integration/oci (it needs a real registry). Root (BPF). */
#include <libgen.h>

#include "api_fixture.h"

#define MOD(name) EU_TESTWASM_BUILD_DIR "/" name ".wasm"

/* BPF programs the daemon holds open (a program's own fd and its link's both name it); a
 * daemon that died is a failure here, never "0 programs". */
static int prog_fds(pid_t pid)
{
	uint32_t ids[256];
	ssize_t n = eu_prog_ids_of(pid, ids, 256);
	cr_assert_geq(n, 0, "cannot read the programs of the daemon (pid %d): %s", (int)pid,
		      strerror(errno));
	return (int)n;
}

/* Waits until the daemon holds `want` programs (or the timeout): how long it took, or -1. */
static int64_t wait_prog_fds(struct dfix *f, int want, int timeout_ms)
{
	int64_t t0 = dfix_now_ms();
	for (;;) {
		if (prog_fds(eu_agent_pid(f->a)) == want)
			return dfix_now_ms() - t0;
		if (dfix_now_ms() - t0 > timeout_ms)
			return -1;
		eu_agent_next_line(f->a, 20);
	}
}

/* A bootstrap row of the module (`TIME EVENT COMM PID PPID FILENAME/EXIT CODE`) as a record. */
struct row {
	char event[8], comm[32], rest[256];
	int pid, ppid;
	char version[16];
};

static bool find_row(const char *text, const char *package, const char *event, int pid,
		     struct row *out)
{
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		char *s = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		cJSON *j = cJSON_Parse(s);
		free(s);
		p = nl ? nl + 1 : NULL;
		const char *line = eu_json_str(cJSON_GetObjectItem(j, "fields"), "line");
		struct row r = {0};
		bool hit = line && eu_json_str(j, "package") &&
			   !strcmp(eu_json_str(j, "package"), package) && eu_json_str(j, "event") &&
			   !strcmp(eu_json_str(j, "event"), "stdout") &&
			   sscanf(line, "%*8s %7s %31s %d %d %255[^\n]", r.event, r.comm, &r.pid,
				  &r.ppid, r.rest) == 5 &&
			   !strcmp(r.event, event) && r.pid == pid;
		if (hit) {
			snprintf(r.version, sizeof(r.version), "%s", eu_json_str(j, "version"));
			*out = r;
		}
		cJSON_Delete(j);
		if (hit)
			return true;
	}
	return false;
}

/* Execs our binary until the module's EXEC row for it shows up; checks the row by value. */
static void expect_exec_rows(struct dfix *f, const char *package, const char *version)
{
	struct row r;
	int64_t deadline = dfix_now_ms() + 15000;
	pid_t pid = -1;
	bool seen = false;
	while (!seen && dfix_now_ms() < deadline) {
		pid = eu_spawn((const char *const[]){f->bin, NULL});
		cr_assert_gt(pid, 0);
		cr_assert_eq(eu_wait_pid(pid, 5000), 0);
		for (int i = 0; i < 10 && !seen; i++) {
			dfix_pump(f, 50);
			seen = find_row(eu_agent_stdout(f->a), package, "EXEC", pid, &r);
		}
	}
	cr_assert(seen, "no EXEC row of %s (pid %d) from %s: %s\n%s", f->bin, (int)pid, package,
		  eu_agent_stdout(f->a), eu_agent_stderr(f->a));
	char bin[160];
	snprintf(bin, sizeof(bin), "%s", f->bin);
	cr_assert_str_eq(r.comm, basename(bin));
	cr_assert_eq(r.ppid, (int)getpid());
	cr_assert_str_eq(r.rest, f->bin);
	cr_assert_str_eq(r.version, version);
	/* and its exit: code 0 */
	bool exit_seen = false;
	for (int i = 0; i < 100 && !exit_seen; i++) {
		dfix_pump(f, 50);
		exit_seen = find_row(eu_agent_stdout(f->a), package, "EXIT", pid, &r);
	}
	cr_assert(exit_seen, "no EXIT row of pid %d: %s", (int)pid, eu_agent_stdout(f->a));
	cr_assert_eq(strncmp(r.rest, "[0]", 3), 0, "exit row: %s", r.rest);
}

Test(daemon_wasm, watched_module_records_then_removed, .timeout = 180)
{
	struct dfix f;
	dfix_init(&f);
	dfix_start(&f, (const char *const[]){"--api", "none", NULL});
	cr_assert_eq(prog_fds(eu_agent_pid(f.a)), 0);
	dfix_sh("cp %s %s/wboot.wasm", MOD("bootstrap"), f.watch);
	cr_assert(dfix_wait_log(&f, "wboot (", 1, 10000), "%s", eu_agent_stderr(f.a));
	cr_assert(wait_prog_fds(&f, 2, 10000) >= 0, "the module attached no programs: %s",
		  eu_agent_stderr(f.a));
	char version[13], path[256];
	snprintf(path, sizeof(path), "%s/wboot.wasm", f.watch);
	dfix_version_of(path, version);
	expect_exec_rows(&f, "wboot", version);
	/* the header row is a record too */
	cr_assert(strstr(eu_agent_stdout(f.a), "\"event\":\"stdout\",\"host\""), "%s",
		  eu_agent_stdout(f.a));
	cr_assert(strstr(eu_agent_stdout(f.a), "\"fields\":{\"line\":\"TIME     EVENT COMM"),
		  "%s", eu_agent_stdout(f.a));

	/* removed: the poll in progress is interrupted, programs detached, objects closed */
	dfix_sh("rm %s", path);
	int64_t ms = wait_prog_fds(&f, 0, 3000);
	cr_assert(ms >= 0, "the module's programs are still there 3 s after its file went: %d",
		  prog_fds(eu_agent_pid(f.a)));
	cr_assert(dfix_wait_log(&f, "removed: detaching version", 1, 5000), "%s",
		  eu_agent_stderr(f.a));
	cr_assert_eq(eu_agent_stop(f.a, 10000), 0, "%s", eu_agent_stderr(f.a));
	dfix_fini(&f);
}

/* The state and last error of a program from GET /v1/programs/NAME. */
static void pkg_state(struct afix *a, const char *name, char *state, size_t n, char *err,
		      size_t en)
{
	cJSON *j = afix_pkg(a, name);
	snprintf(state, n, "%s", j && eu_json_str(j, "state") ? eu_json_str(j, "state") : "");
	snprintf(err, en, "%s", j && eu_json_str(j, "last_error") ? eu_json_str(j, "last_error") : "");
	cJSON_Delete(j);
}

/* Waits until NAME is in state `want` with `why` in its last error (NULL: any). */
static void wait_state(struct afix *a, const char *name, const char *want, const char *why,
		       char *err, size_t en)
{
	char st[32] = "";
	int64_t deadline = dfix_now_ms() + 15000;
	while (dfix_now_ms() < deadline) {
		pkg_state(a, name, st, sizeof(st), err, en);
		if (!strcmp(st, want) && (!why || strstr(err, why)))
			return;
		dfix_pump(&a->f, 100);
	}
	cr_assert_fail("%s: state '%s' (%s), expected '%s' (%s): %s", name, st, err, want,
		       why ? why : "", eu_agent_stderr(a->f.a));
}

Test(daemon_wasm, ended_modules_reported_not_restarted, .timeout = 180)
{
	struct afix a;
	afix_init(&a);
	struct dfix *f = &a.f;
	/* arguments come from NAME.params.json as a JSON array */
	dfix_sh("echo '[\"trap\"]' > %s/trap.params.json && cp %s %s/trap.wasm", f->watch,
		MOD("hostile"), f->watch);
	dfix_sh("cp %s %s/noargs.wasm", MOD("hostile"), f->watch);
	dfix_sh("echo '[\"spin\"]' > %s/spin.params.json && cp %s %s/spin.wasm", f->watch,
		MOD("hostile"), f->watch);
	dfix_sh("echo '{\"x\": 1}' > %s/params.params.json && cp %s %s/params.wasm", f->watch,
		MOD("hostile"), f->watch);
	afix_start(&a, NULL);
	char err[512];
	/* usage on stderr (a record of event stderr), exit code 2: failed, said at error level */
	wait_state(&a, "noargs", "failed", "the module exited with code 2", err, sizeof(err));
	cr_assert(dfix_wait_log(f, "error: ", 1, 1000));
	cr_assert(strstr(eu_agent_stderr(f->a), "noargs.wasm: the module exited with code 2"),
		  "%s", eu_agent_stderr(f->a));
	dfix_pump(f, 200);
	cr_assert(strstr(eu_agent_stdout(f->a),
			 "\"package\":\"noargs\",\"version\":"),
		  "%s", eu_agent_stdout(f->a));
	cr_assert(strstr(eu_agent_stdout(f->a), "\"event\":\"stderr\",\"host\""), "%s",
		  eu_agent_stdout(f->a));
	cr_assert(strstr(eu_agent_stdout(f->a),
			 "{\"line\":\"usage: noargs.wasm pointers|trap|endless|badfn|spin\"}"),
		  "%s", eu_agent_stdout(f->a));
	/* a params object cannot reach a module: refused, naming the file */
	wait_state(&a, "params", "failed", "params.params.json: a Wasm module takes its arguments "
		   "as a JSON array of strings (got parameters)", err, sizeof(err));

	/* the trap comes with the first event the callback gets */
	int64_t deadline = dfix_now_ms() + 15000;
	while (dfix_now_ms() < deadline &&
	       !strstr(eu_agent_stderr(f->a), "trap.wasm: the module failed")) {
		dfix_exec(f);
		dfix_pump(f, 200);
	}
	wait_state(&a, "trap", "failed", "trap: unreachable", err, sizeof(err));
	cr_assert(strstr(eu_agent_stderr(f->a), "error: "), "%s", eu_agent_stderr(f->a));

	/* not restarted: neither by time nor by a rescan (SIGHUP re-offers every file) */
	kill(eu_agent_pid(f->a), SIGHUP);
	cr_assert(dfix_wait_log(f, "SIGHUP: ", 1, 5000), "%s", eu_agent_stderr(f->a));
	dfix_pump(f, 1500);
	cr_assert_eq(dfix_count(eu_agent_stderr(f->a), "trap (" ), 1, "%s", eu_agent_stderr(f->a));
	cr_assert_eq(dfix_count(eu_agent_stderr(f->a), "noargs (" ), 1, "%s",
		     eu_agent_stderr(f->a));
	/* a new argument list is a new version: it runs again */
	dfix_sh("echo '[\"spin\"]' > %s/noargs.params.json", f->watch);
	wait_state(&a, "noargs", "loaded", NULL, err, sizeof(err));

	/* a module looping in _start without calling the host stops when its file goes */
	wait_state(&a, "spin", "loaded", NULL, err, sizeof(err));
	int64_t t0 = dfix_now_ms();
	dfix_sh("rm %s/spin.wasm", f->watch);
	while (afix_pkg(&a, "spin") && dfix_now_ms() - t0 < 5000)
		dfix_pump(f, 50);
	cr_assert(dfix_wait_log(f, "spin.wasm did not exit within 1000 ms of the stop request", 1,
				5000), "%s", eu_agent_stderr(f->a));
	cr_assert_lt(dfix_now_ms() - t0, 5000);
	afix_fini(&a);
}

Test(daemon_wasm, api_body_load_and_delete, .timeout = 180)
{
	struct afix a;
	afix_init(&a);
	afix_start(&a, NULL);
	struct dfix *f = &a.f;
	size_t size;
	char *data = eu_test_read_file(MOD("bootstrap"), &size);
	cr_assert(data);
	/* a module has no name of its own, and takes arguments, not parameters */
	struct aresp r = afix_req(&a, NULL, "POST", "/v1/programs", data, size, NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert(strstr(r.body, "give ?name="), "%s", r.body);
	aresp_free(&r);
	r = afix_req(&a, NULL, "POST", "/v1/programs?name=x&params=%7B%22a%22%3A1%7D", data, size,
		     NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert(strstr(r.body, "takes arguments"), "%s", r.body);
	aresp_free(&r);

	r = afix_req(&a, NULL, "POST", "/v1/programs?name=apiboot", data, size, NULL);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(eu_json_str(r.json, "state"), "loaded");
	cr_assert_str_eq(eu_json_str(r.json, "source"), "api");
	aresp_free(&r);
	uint8_t dg[EU_SHA256_LEN];
	char hex[2 * EU_SHA256_LEN + 1];
	cr_assert_eq(eu_sha256(data, size, dg), 0);
	eu_sha256_hex(dg, hex);
	hex[12] = '\0';
	free(data);
	cr_assert(wait_prog_fds(f, 2, 10000) >= 0, "%s", eu_agent_stderr(f->a));
	expect_exec_rows(f, "apiboot", hex);
	cJSON *j = afix_pkg(&a, "apiboot");
	cr_assert(j);
	cr_assert_eq(eu_json_int(j, "attached", -1), 2, "%s", cJSON_PrintUnformatted(j));
	const cJSON *c = cJSON_GetObjectItem(j, "counters");
	cr_assert_gt(eu_json_int(c, "records", 0), 1);
	cr_assert_eq(eu_json_int(c, "lost", -1), 0);
	cJSON_Delete(j);
	/* pausing a module is refused with the reason */
	r = afix_req(&a, NULL, "POST", "/v1/programs/apiboot/pause", NULL, 0, NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert(strstr(r.body, "Wasm module: it cannot be paused"), "%s", r.body);
	aresp_free(&r);

	/* arguments by ?args=: the pointer checks, printed by the module, then it exits 0 */
	data = eu_test_read_file(MOD("hostile"), &size);
	r = afix_req(&a, NULL, "POST", "/v1/programs?name=ptrs&args=%5B%22pointers%22%5D", data,
		     size, NULL);
	free(data);
	cr_assert_eq(r.status, 201, "%s", r.body);
	aresp_free(&r);
	char err[256];
	wait_state(&a, "ptrs", "exited", "the module exited with code 0", err, sizeof(err));
	dfix_pump(f, 200);
	cr_assert(strstr(eu_agent_stdout(f->a), "\"package\":\"ptrs\""), "%s", eu_agent_stdout(f->a));
	cr_assert(strstr(eu_agent_stdout(f->a), "{\"line\":\"map_lookup_bad_key -14\"}"), "%s",
		  eu_agent_stdout(f->a));
	cr_assert(strstr(eu_agent_stdout(f->a), "{\"line\":\"survived\"}"), "%s",
		  eu_agent_stdout(f->a));

	/* DELETE: the poll is interrupted and the programs are gone within the bound */
	r = afix_req(&a, NULL, "DELETE", "/v1/programs/apiboot", NULL, 0, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	aresp_free(&r);
	cr_assert(wait_prog_fds(f, 0, 3000) >= 0, "programs left 3 s after DELETE: %d",
		  prog_fds(eu_agent_pid(f->a)));
	cr_assert_null(afix_pkg(&a, "apiboot"));
	afix_fini(&a);
}

Test(daemon_wasm, signatures_apply_to_modules, .timeout = 180)
{
	struct afix a;
	afix_init(&a);
	char keys[256], key[256];
	snprintf(keys, sizeof(keys), "%s/keys", a.f.root);
	snprintf(key, sizeof(key), "%s/k1.key", a.f.root);
	dfix_sh("mkdir -p %s && cd %s && bash %s/scripts/sign-package.sh genkey k1 >/dev/null && "
		"cp k1.pem %s/", keys, a.f.root, EU_SOURCE_DIR, keys);
	dfix_sh("cp %s %s/unsigned.wasm", MOD("bootstrap"), a.f.watch);
	dfix_sh("cp %s %s/signed.wasm && bash %s/scripts/sign-package.sh sign %s %s/signed.wasm "
		">/dev/null", MOD("bootstrap"), a.f.root, EU_SOURCE_DIR, key, a.f.root);
	dfix_sh("cp %s/signed.wasm.sig %s/ && cp %s/signed.wasm %s/", a.f.root, a.f.watch, a.f.root,
		a.f.watch);
	afix_start(&a, (const char *const[]){"--require-signatures", keys, NULL});
	char err[512];
	wait_state(&a, "unsigned", "failed", "no signature", err, sizeof(err));
	wait_state(&a, "signed", "loaded", NULL, err, sizeof(err));
	/* an upload without a signature: refused like a package */
	size_t size;
	char *data = eu_test_read_file(MOD("bootstrap"), &size);
	struct aresp r = afix_req(&a, NULL, "POST", "/v1/programs?name=up", data, size, NULL);
	free(data);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(aresp_error_code(&r), "signature_rejected");
	aresp_free(&r);
	cr_assert(wait_prog_fds(&a.f, 2, 10000) >= 0, "only the signed module runs: %d",
		  prog_fds(eu_agent_pid(a.f.a)));
	afix_fini(&a);
}
