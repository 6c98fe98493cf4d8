/* Every way in: the watched directory's ownership and mode, detached signatures (watched and
 * uploaded packages), and bearer tokens on TCP listeners. */
#include "api_fixture.h"

static void put_file(struct afix *a, const char *name)
{
	dfix_sh("cp %s %s/.%s.tmp && mv %s/.%s.tmp %s/%s", BOOTSTRAP_PKG, a->f.watch, name,
		a->f.watch, name, a->f.watch, name);
}

static const char *state_of(struct afix *a, const char *name, char *buf, size_t n)
{
	cJSON *p = afix_pkg(a, name);
	snprintf(buf, n, "%s", p && eu_json_str(p, "state") ? eu_json_str(p, "state") : "(none)");
	cJSON_Delete(p);
	return buf;
}

/* Waits until the package has a state other than "(none)". */
static const char *wait_state(struct afix *a, const char *name, char *buf, size_t n)
{
	int64_t deadline = dfix_now_ms() + 20000;
	while (!strcmp(state_of(a, name, buf, n), "(none)") && dfix_now_ms() < deadline)
		dfix_pump(&a->f, 100);
	return buf;
}

/* Waits until the package failed with needle in its last error (a refusal is reported once
 * the file has settled: until then it may still be being written). */
static void expect_refused(struct afix *a, const char *name, const char *needle)
{
	int64_t deadline = dfix_now_ms() + 30000;
	char last[1024] = "";
	for (;;) {
		cJSON *p = afix_pkg(a, name);
		const char *e = p ? eu_json_str(p, "last_error") : NULL;
		snprintf(last, sizeof(last), "%s", e ? e : "(none)");
		bool ok = p && e && strstr(e, needle) && !strcmp(eu_json_str(p, "state"), "failed") &&
			  eu_json_int(p, "attached", -1) == 0;
		cJSON_Delete(p);
		if (ok)
			return;
		cr_assert(dfix_now_ms() < deadline, "%s: expected a failure with '%s', last: %s", name,
			  needle, last);
		dfix_pump(&a->f, 100);
	}
}

Test(api_security, world_writable_watch_dir_is_refused)
{
	struct afix a;
	afix_init(&a);
	dfix_sh("chmod 0777 %s", a.f.watch);
	put_file(&a, "ww.json");
	afix_start(&a, NULL);
	expect_refused(&a, "ww", "world-writable");
	cr_assert(strstr(eu_agent_stderr(a.f.a), "world-writable"), "%s", eu_agent_stderr(a.f.a));
	afix_fini(&a);
}

Test(api_security, group_writable_file_is_refused_unless_insecure)
{
	struct afix a;
	afix_init(&a);
	put_file(&a, "gw.json");
	dfix_sh("chmod 0664 %s/gw.json", a.f.watch);
	afix_start(&a, NULL);
	expect_refused(&a, "gw", "group-writable");
	afix_fini(&a);
	char st[64];

	afix_init(&a);
	dfix_sh("chmod 0777 %s", a.f.watch);
	put_file(&a, "gw.json");
	dfix_sh("chmod 0666 %s/gw.json", a.f.watch);
	afix_start(&a, (const char *const[]){"--insecure-watch-dir", NULL});
	cr_assert_str_eq(wait_state(&a, "bootstrap", st, sizeof(st)), "loaded");
	afix_fini(&a);
}

Test(api_security, owned_by_another_user_is_refused)
{
	struct afix a;
	afix_init(&a);
	put_file(&a, "other.json");
	dfix_sh("chown 65534 %s/other.json", a.f.watch);
	afix_start(&a, NULL);
	expect_refused(&a, "other", "owned by uid 65534");
	afix_fini(&a);
}

Test(api_security, signatures_required)
{
	struct afix a;
	afix_init(&a);
	char keys[256], key[256], other[256];
	snprintf(keys, sizeof(keys), "%s/keys", a.f.root);
	snprintf(key, sizeof(key), "%s/k1", a.f.root);
	snprintf(other, sizeof(other), "%s/k2", a.f.root);
	dfix_sh("mkdir -p %s && cd %s && bash %s/scripts/sign-package.sh genkey k1 >/dev/null && "
		"bash %s/scripts/sign-package.sh genkey k2 >/dev/null && cp k1.pem %s/",
		keys, a.f.root, EU_SOURCE_DIR, EU_SOURCE_DIR, keys);
	/* signed by a trusted key; unsigned; signed by an untrusted key; tampered after signing */
	dfix_sh("cp %s %s/signed.json && bash %s/scripts/sign-package.sh sign %s.key %s/signed.json "
		">/dev/null", BOOTSTRAP_PKG, a.f.root, EU_SOURCE_DIR, key, a.f.root);
	dfix_sh("cp %s/signed.json.sig %s/signed.json.sig && cp %s/signed.json %s/signed.json",
		a.f.root, a.f.watch, a.f.root, a.f.watch);
	dfix_sh("cp %s %s/unsigned.json", BOOTSTRAP_PKG, a.f.watch);
	dfix_sh("cp %s %s/untrusted.json && bash %s/scripts/sign-package.sh sign %s.key "
		"%s/untrusted.json >/dev/null", BOOTSTRAP_PKG, a.f.watch, EU_SOURCE_DIR, other,
		a.f.watch);
	dfix_sh("cp %s/signed.json.sig %s/tampered.json.sig && cp %s/signed.json %s/tampered.json && "
		"printf ' ' >> %s/tampered.json", a.f.root, a.f.watch, a.f.root, a.f.watch, a.f.watch);
	afix_start(&a, (const char *const[]){"--require-signatures", keys, NULL});
	char st[64];
	cr_assert_str_eq(wait_state(&a, "signed", st, sizeof(st)), "loaded");
	const char *refused[] = {"unsigned", "untrusted", "tampered"};
	const char *why[] = {"no signature", "bad signature", "bad signature"};
	for (int i = 0; i < 3; i++)
		expect_refused(&a, refused[i], why[i]);

	/* uploads too: without a signature 403, with one (ctl sends FILE.sig) loaded */
	size_t size;
	char *data = eu_test_read_file(BOOTSTRAP_PKG, &size);
	struct aresp r = afix_req(&a, NULL, "POST", "/v1/programs?name=up", data, size, NULL);
	free(data);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(aresp_error_code(&r), "signature_rejected");
	aresp_free(&r);
	char signed_path[256];
	snprintf(signed_path, sizeof(signed_path), "%s/signed.json", a.f.root);
	char *out = NULL;
	int rc = afix_ctl(&a, &out, (const char *const[]){"load", signed_path, "--name", "up", NULL});
	cr_assert_eq(rc, 0, "%s", out);
	free(out);
	cr_assert_str_eq(state_of(&a, "up", st, sizeof(st)), "loaded");
	afix_fini(&a);
}

/* With signatures required, the files that belong to a package need their own: the object
 * of a skeleton pair and the parameter sidecar. A signature that arrives after its package
 * is seen (the watcher counts FILE.sig as part of the package). */
Test(api_security, signatures_cover_pairs_and_sidecars)
{
	struct afix a;
	afix_init(&a);
	const char *dir = EU_PLUGIN_BUILD_DIR "/bootstrap";
	dfix_sh("mkdir -p %s/keys && cd %s && bash %s/scripts/sign-package.sh genkey k1 >/dev/null && "
		"cp k1.pem keys/", a.f.root, a.f.root, EU_SOURCE_DIR);
	/* signs FILE in the staging dir root (FILE.sig beside it) */
#define SIGN(file)                                                                           \
	dfix_sh("bash %s/scripts/sign-package.sh sign %s/k1.key %s/%s >/dev/null", EU_SOURCE_DIR, \
		a.f.root, a.f.root, file)
	/* pair: both files signed */
	dfix_sh("cp %s/bootstrap.skel.json %s/pair.skel.json && cp %s/bootstrap.bpf.o %s/pair.bpf.o",
		dir, a.f.root, dir, a.f.root);
	SIGN("pair.skel.json");
	SIGN("pair.bpf.o");
	/* pair2: the meta signed, the object not */
	dfix_sh("cp %s/bootstrap.skel.json %s/pair2.skel.json && cp %s/bootstrap.bpf.o %s/pair2.bpf.o",
		dir, a.f.root, dir, a.f.root);
	SIGN("pair2.skel.json");
	/* side: a signed package with a signed sidecar; bad: with an unsigned one */
	dfix_sh("cp %s %s/side.json && cp %s %s/bad.json && echo '{\"min_duration_ns\": 5}' > "
		"%s/side.params.json && cp %s/side.params.json %s/bad.params.json",
		BOOTSTRAP_PKG, a.f.root, BOOTSTRAP_PKG, a.f.root, a.f.root, a.f.root, a.f.root);
	SIGN("side.json");
	SIGN("side.params.json");
	SIGN("bad.json");
	dfix_sh("cd %s && cp pair.* pair2.* side.* %s/ && cp bad.json bad.json.sig bad.params.json "
		"%s/", a.f.root, a.f.watch, a.f.watch);
	/* late: the package first, its signature after the daemon has refused it */
	dfix_sh("cp %s %s/late.json", BOOTSTRAP_PKG, a.f.watch);
	char keys[256];
	snprintf(keys, sizeof(keys), "%s/keys", a.f.root);
	afix_start(&a, (const char *const[]){"--require-signatures", keys, NULL});
#undef SIGN
	char st[64];
	cr_assert_str_eq(wait_state(&a, "pair", st, sizeof(st)), "loaded");
	cr_assert_str_eq(wait_state(&a, "side", st, sizeof(st)), "loaded");
	expect_refused(&a, "pair2", "pair2.bpf.o: refused: no signature");
	expect_refused(&a, "bad", "bad.params.json: refused: no signature");
	expect_refused(&a, "late", "no signature");
	dfix_sh("cp %s/late.json %s/ && cd %s && bash %s/scripts/sign-package.sh sign k1.key "
		"late.json >/dev/null && cp late.json.sig %s/.late.tmp && mv %s/.late.tmp "
		"%s/late.json.sig", a.f.watch, a.f.root, a.f.root, EU_SOURCE_DIR, a.f.watch,
		a.f.watch, a.f.watch);
	int64_t deadline = dfix_now_ms() + 20000;
	while (strcmp(state_of(&a, "late", st, sizeof(st)), "loaded") && dfix_now_ms() < deadline)
		dfix_pump(&a.f, 100);
	cr_assert_str_eq(st, "loaded", "a signature added later was not picked up");
	afix_fini(&a);
}

Test(api_security, bad_key_dir_stops_start_up)
{
	char *dir = eu_tmpdir("nokeys");
	char out_dir[300];
	snprintf(out_dir, sizeof(out_dir), "%s/w", dir);
	dfix_sh("mkdir -p %s", out_dir);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "--watch", out_dir, "--api", "none",
						     "--require-signatures", dir, NULL},
				30000, &out);
	cr_assert_neq(rc, 0, "%s", out);
	cr_assert(strstr(out, "no *.pem or *.pub ed25519 key"), "%s", out);
	free(out);
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(api_security, token_on_tcp)
{
	struct afix a;
	afix_init(&a);
	put_file(&a, "early.json");
	/* beyond loopback without a token: refused at start-up, before any package loads and
	 * before the daemon says ready */
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "--watch", a.f.watch, "--api",
						     "tcp:0.0.0.0:0", NULL}, 30000, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "bearer token is required"), "%s", out);
	cr_assert(!strstr(out, "ready:"), "ready before the API was refused: %s", out);
	cr_assert(!strstr(out, "attached"), "a package loaded before the API was refused: %s", out);
	free(out);
	/* nor on loopback: any local account can connect there */
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "--watch", a.f.watch, "--api",
						 "tcp:127.0.0.1:0", NULL}, 30000, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "bearer token is required for every TCP listener, loopback"), "%s",
		  out);
	free(out);

	char tok[256];
	snprintf(tok, sizeof(tok), "%s/token", a.f.root);
	dfix_sh("printf 's3cr3t-token\\n' > %s && chmod 0644 %s", tok, tok);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "--watch", a.f.watch, "--api",
						 "tcp:0.0.0.0:0", "--api-token-file", tok, NULL},
			    30000, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "readable by others"), "%s", out);
	free(out);

	dfix_sh("chmod 0600 %s", tok);
	dfix_start(&a.f, (const char *const[]){"--api", "tcp:0.0.0.0:0", "--api-token-file", tok,
					      NULL});
	cr_assert(dfix_wait_log(&a.f, "API listening on tcp:0.0.0.0:", 1, 20000));
	const char *p = strstr(eu_agent_stderr(a.f.a), "API listening on tcp:0.0.0.0:");
	int port = atoi(p + strlen("API listening on tcp:0.0.0.0:"));
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	/* a listener that cannot bind (the port is taken): the start fails, never ready */
	char taken[80];
	snprintf(taken, sizeof(taken), "tcp:0.0.0.0:%d", port);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "--watch", a.f.watch, "--api",
						 taken, "--api-token-file", tok, NULL},
			    30000, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "control API"), "%s", out);
	cr_assert(!strstr(out, "ready:"), "ready although the API did not start: %s", out);
	free(out);
	struct aresp r = afix_req(&a, addr, "GET", "/v1/programs", NULL, 0, NULL);
	cr_assert_eq(r.status, 401, "%s", r.body);
	cr_assert_str_eq(aresp_error_code(&r), "unauthorized");
	aresp_free(&r);
	r = afix_req(&a, addr, "GET", "/v1/programs", NULL, 0, "Authorization: Bearer wrong");
	cr_assert_eq(r.status, 401);
	aresp_free(&r);
	r = afix_req(&a, addr, "GET", "/v1/programs", NULL, 0, "Authorization: Bearer s3cr3t-token");
	cr_assert_eq(r.status, 200, "%s", r.body);
	aresp_free(&r);
	/* the client with --token-file */
	char api[80];
	snprintf(api, sizeof(api), "tcp:%s", addr);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "ctl", "--api", api, "--token-file",
						 tok, "health", NULL}, 30000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\"status\":\"ok\""), "%s", out);
	free(out);
	rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "ctl", "--api", api, "health", NULL},
			    30000, &out);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "401"), "%s", out);
	free(out);
	afix_fini(&a);
}

Test(api_security, config_insecure_watch_dir)
{
	struct afix a;
	afix_init(&a);
	dfix_sh("chmod 0777 %s", a.f.watch);
	put_file(&a, "cfg.json");
	char cfg[256];
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", a.f.root);
	dfix_sh("printf 'insecure_watch_dir: true\\n' > %s", cfg);
	afix_start(&a, (const char *const[]){"--config", cfg, NULL});
	char st[64];
	cr_assert_str_eq(wait_state(&a, "bootstrap", st, sizeof(st)), "loaded");
	afix_fini(&a);
}

/* Another local account (nobody) cannot load a package: not over loopback TCP (no token, and
 * it cannot read the token file), not over the unix socket (0600). Nothing gets loaded. */
/* nobody POSTs pkg to tcp ("ADDR:PORT"): curl's output ("status=NNN"), caller frees */
static char *post_as_nobody(const char *tcp, const char *pkg)
{
	char url[128], at[300];
	snprintf(url, sizeof(url), "http://%s/v1/programs?name=evil", tcp);
	snprintf(at, sizeof(at), "@%s", pkg);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){"/usr/bin/setpriv", "--reuid=65534",
						     "--regid=65534", "--clear-groups", "/usr/bin/curl",
						     "-sS", "-o", "/dev/null", "-w", "status=%{http_code}",
						     "--data-binary", at, url, NULL},
				60000, &out);
	cr_assert_eq(rc, 0, "%s", out);
	return out;
}

Test(api_security, non_root_user_cannot_load)
{
	struct afix a;
	afix_init(&a);
	/* a package and a home nobody can read */
	char pkg[256];
	snprintf(pkg, sizeof(pkg), "%s/pub/evil.json", a.f.root);
	dfix_sh("mkdir -p %s/pub && cp %s %s && chmod 0755 %s %s/pub && chmod 0644 %s", a.f.root,
		BOOTSTRAP_PKG, pkg, a.f.root, a.f.root, pkg);
	/* a loopback TCP API without a token does not start; were it listening, nobody's
	 * upload would have to be refused all the same */
	a.f.a = eu_agent_start_argv((const char *const[]){dfix_daemon_bin(), "--watch", a.f.watch,
							  "--api", "tcp:127.0.0.1:0", NULL});
	cr_assert(a.f.a);
	int64_t until = dfix_now_ms() + 15000;
	while (!strstr(eu_agent_stderr(a.f.a), "API listening on tcp:") &&
	       !strstr(eu_agent_stderr(a.f.a), "bearer token is required") && dfix_now_ms() < until)
		eu_agent_next_line(a.f.a, 50);
	const char *l = strstr(eu_agent_stderr(a.f.a), "API listening on tcp:");
	char *out = NULL;
	if (l) {
		char open_tcp[64] = "";
		sscanf(l, "API listening on tcp:%63s", open_tcp);
		out = post_as_nobody(open_tcp, pkg);
		cr_assert(strstr(out, "status=401"), "nobody loaded a package over a token-less "
			  "loopback API: %s", out);
		free(out);
	}
	cr_assert_eq(eu_agent_wait_exit(a.f.a, 15000), 2, "%s", eu_agent_stderr(a.f.a));
	eu_agent_free(a.f.a);
	a.f.a = NULL;

	afix_start(&a, NULL);
	out = post_as_nobody(a.tcp, pkg);
	cr_assert(strstr(out, "status=401"), "nobody's upload was not refused: %s", out);
	free(out);
	int rc;
	/* the token file is the agent's alone */
	rc = eu_run_capture((const char *const[]){"/usr/bin/setpriv", "--reuid=65534",
						 "--regid=65534", "--clear-groups", "/bin/cat",
						 a.token_file, NULL}, 30000, &out);
	cr_assert_neq(rc, 0, "nobody read the token: %s", out);
	free(out);
	/* the unix socket: refused by its mode */
	rc = eu_run_capture((const char *const[]){"/usr/bin/setpriv", "--reuid=65534",
						 "--regid=65534", "--clear-groups", EU_AGENT_BIN, "ctl",
						 "--api", a.api_unix, "load", pkg, "--name", "evil2", NULL},
			    60000, &out);
	cr_assert_neq(rc, 0, "nobody loaded over the unix socket: %s", out);
	free(out);
	cr_assert_null(afix_pkg(&a, "evil"));
	cr_assert_null(afix_pkg(&a, "evil2"));
	cr_assert_eq(afix_count_programs(&a), 0);
	/* with the token the listener answers: the refusals were the missing credentials */
	struct aresp r = afix_req(&a, a.tcp, "GET", "/v1/programs", NULL, 0, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	aresp_free(&r);
	afix_fini(&a);
}
