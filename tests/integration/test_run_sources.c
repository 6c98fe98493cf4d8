/* Where a package can come from: an http URL, a bare .bpf.o, a NAME.skel.json + NAME.bpf.o
 * pair, the 2022 legacy format and stdin (`run -`, a package or a Wasm module, its bytes
 * decide; a pipe of something else, an empty pipe and a terminal are told, exit 1); each
 * runs and decodes real events. */
#include <bpf/btf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_net.h"
#include "eu_run_util.h"
#include "eu_test.h"

#define BOOTSTRAP_DIR EU_PLUGIN_BUILD_DIR "/bootstrap"
#define OPENSNOOP_OBJ EU_PLUGIN_BUILD_DIR "/opensnoop/opensnoop.bpf.o"

struct want {
	long long pid;
	const char *comm;
};

static bool exec_of(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	return eu_json_int(rec, "pid", -1) == w->pid && eu_json_int(rec, "exit_event", -1) == 0;
}

/* Runs pkg, execs /bin/true and checks its exec event. */
static void expect_exec_event(struct eu_agent *a, const char *pkg)
{
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "%s not attached: %s", pkg, eu_agent_stderr(a));
	pid_t child = eu_spawn((const char *const[]){"/bin/true", NULL});
	cr_assert_eq(eu_wait_pid(child, 10000), 0);
	struct want w = {child, "true"};
	cJSON *rec = eu_agent_find(a, exec_of, &w, 10000);
	cr_assert(rec, "%s: no exec event for pid %d; stderr:\n%s", pkg, child, eu_agent_stderr(a));
	cr_expect_str_eq(eu_json_str(rec, "comm"), "true");
	cr_expect_str_eq(eu_json_str(rec, "filename"), "/bin/true");
	cr_expect_eq(eu_json_int(rec, "ppid", -1), getpid());
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

static void expect_bootstrap_events(const char *pkg)
{
	expect_exec_event(eu_agent_start(pkg, NULL), pkg);
}

Test(run_sources, bare_bpf_object)
{
	expect_bootstrap_events(BOOTSTRAP_DIR "/bootstrap.bpf.o");
}

Test(run_sources, skel_json_pair)
{
	expect_bootstrap_events(BOOTSTRAP_DIR "/bootstrap.skel.json");
}

/* ---- http ----------------------------------------------------------------------------- */

Test(run_sources, http_url)
{
	uint16_t port;
	pid_t server = eu_http_serve_dir(BOOTSTRAP_DIR, &port);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/package.json", port);
	expect_bootstrap_events(url);

	/* a missing file names the URL and the status */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/missing.json", port);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", url, NULL}, 20000, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, url) && strstr(out, "HTTP status 404"), "%s", out);
	free(out);

	kill(server, SIGTERM);
	eu_wait_pid(server, 5000);
}

Test(run_sources, unreachable_url)
{
	uint16_t port = eu_unused_loopback_port();
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/package.json", port);
	char *out = NULL;
	int rc = eu_run_capture((const char *const[]){EU_AGENT_BIN, "run", url, NULL}, 20000, &out);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, url), "names the URL: %s", out);
	free(out);
}

/* ---- the 2022 legacy format ----------------------------------------------------------- */

/* Builds a legacy package around our opensnoop object: the ELF as line-wrapped plain base64
 * in "data", the event layout as export_data_types with bit offsets taken from its BTF. */
static char *legacy_package(const char *obj_path)
{
	size_t size = 0;
	char *elf = eu_test_read_file(obj_path, &size);
	cr_assert(elf, "cannot read %s", obj_path);
	struct btf *btf = btf__parse(obj_path, NULL);
	cr_assert(btf, "no BTF in %s", obj_path);
	int id = btf__find_by_name_kind(btf, "event", BTF_KIND_STRUCT);
	cr_assert_gt(id, 0, "no struct event in %s", obj_path);
	const struct btf_type *t = btf__type_by_id(btf, (uint32_t)id);

	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "name", "legacy_opensnoop");
	cJSON_AddStringToObject(root, "version", "0.1.0");
	char *b64 = eu_base64(elf, size, 76);
	cJSON_AddStringToObject(root, "data", b64);
	free(b64);
	cJSON_AddNumberToObject(root, "data_sz", (double)size);
	cJSON *maps = cJSON_AddArrayToObject(root, "maps");
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", "events");
	cJSON_AddStringToObject(m, "type", "BPF_MAP_TYPE_PERF_EVENT_ARRAY");
	cJSON *x = cJSON_AddObjectToObject(m, "export_data_types");
	cJSON_AddStringToObject(x, "Struct Name", "event");
	cJSON_AddNumberToObject(x, "Size", t->size * 8.0);
	cJSON *fields = cJSON_AddArrayToObject(x, "Fields");
	const struct btf_member *mem = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, mem++) {
		const char *name = btf__name_by_offset(btf, mem->name_off);
		const char *type = NULL;
		char buf[32];
		if (!strcmp(name, "ts"))
			type = "unsigned long long";
		else if (!strcmp(name, "comm") || !strcmp(name, "fname")) {
			const struct btf_type *at = btf__type_by_id(btf, mem->type);
			snprintf(buf, sizeof(buf), "char [%u]", btf_array(at)->nelems);
			type = buf;
		} else
			type = "int";
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "Name", name);
		cJSON_AddStringToObject(f, "Type", type);
		cJSON_AddNumberToObject(f, "FieldOffset", btf_member_bit_offset(t, (uint32_t)i));
		cJSON_AddItemToArray(fields, f);
	}
	cJSON_AddItemToArray(maps, m);
	cJSON *progs = cJSON_AddArrayToObject(root, "progs");
	const char *names[] = {"tracepoint__syscalls__sys_enter_openat",
			       "tracepoint__syscalls__sys_exit_openat"};
	for (size_t i = 0; i < 2; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", names[i]);
		cJSON_AddItemToArray(progs, p);
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	btf__free(btf);
	free(elf);
	return text;
}

struct open_want {
	long long pid;
	const char *path;
};

static bool open_of(const cJSON *rec, void *ctx)
{
	const struct open_want *w = ctx;
	const char *f = eu_json_str(rec, "fname");
	return eu_json_int(rec, "pid", -1) == w->pid && f && !strcmp(f, w->path);
}

Test(run_sources, legacy_format)
{
	char *dir = eu_tmpdir("legacy");
	cr_assert(dir);
	char pkg[512], target[512];
	snprintf(pkg, sizeof(pkg), "%s/legacy.json", dir);
	snprintf(target, sizeof(target), "%s/no-such-file", dir);
	char *json = legacy_package(OPENSNOOP_OBJ);
	cr_assert_eq(eu_write_file(pkg, json, strlen(json)), 0);
	free(json);

	struct eu_agent *a = eu_agent_start(pkg, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "legacy package not attached: %s",
		  eu_agent_stderr(a));
	int fd = open(target, O_RDONLY);
	cr_assert_lt(fd, 0);
	struct open_want w = {getpid(), target};
	cJSON *rec = eu_agent_find(a, open_of, &w, 10000);
	cr_assert(rec, "no open event for %s; stdout:\n%s\nstderr:\n%s", target, eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(rec, "ret", 0), -ENOENT);
	cr_expect_str_eq(eu_json_str(rec, "comm"), "integration_tes");
	cr_expect_gt(eu_json_int(rec, "ts", 0), 0);
	cJSON_Delete(rec);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	eu_tmpdir_remove(dir);
	free(dir);
}

#define WASM_BOOTSTRAP EU_TESTWASM_BUILD_DIR "/bootstrap.wasm"

/* `sh -c 'exec AGENT run - ARGS < FILE'`: the agent itself, its stdin the file */
static struct eu_agent *start_from_stdin(const char *file, const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "exec '%s' run - %s < '%s'", EU_AGENT_BIN, args, file);
	return eu_agent_start_argv((const char *const[]){"/bin/sh", "-c", cmd, NULL});
}

/* `run -` as upstream's `ecli run -`: the package from stdin */
Test(run_sources, package_from_stdin)
{
	expect_exec_event(start_from_stdin(BOOTSTRAP_DIR "/package.json", "--json"), "stdin");
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

Test(run_sources, wasm_module_from_stdin_runs_as_a_module)
{
	struct eu_agent *a = start_from_stdin(WASM_BOOTSTRAP, "");
	cr_assert(a);
	/* the module prints its own header, then a row per exec */
	bool header = false, row = false;
	pid_t child = -1;
	double end = now_ms() + 20000;
	while (!row && now_ms() < end) {
		const char *l = eu_agent_next_line(a, 1000);
		if (!l)
			continue;
		if (!header && strstr(l, "TIME     EVENT COMM")) {
			header = true;
			child = eu_spawn((const char *const[]){"/bin/true", NULL});
			cr_assert_eq(eu_wait_pid(child, 10000), 0);
			continue;
		}
		char want[64];
		snprintf(want, sizeof(want), " %d ", (int)child);
		if (header && strstr(l, "EXEC") && strstr(l, "true") && strstr(l, want))
			row = true;
	}
	cr_expect(header, "no header from the module; stderr: %s", eu_agent_stderr(a));
	cr_expect(row, "no EXEC row for pid %d; stdout:\n%s\nstderr: %s", child,
		  eu_agent_stdout(a), eu_agent_stderr(a));
	cr_expect_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

static void expect_refused(const char *shell, const char *message)
{
	char *out = NULL;
	int code = eu_run_capture((const char *const[]){"/bin/sh", "-c", shell, NULL}, 20000, &out);
	cr_expect_eq(code, 1, "%s: exit %d: %s", shell, code, out ? out : "");
	cr_expect(out && strstr(out, message), "%s: expected '%s' in:\n%s", shell, message,
		  out ? out : "");
	free(out);
}

Test(run_sources, not_a_package_empty_and_terminal_are_told)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "echo garbage | '%s' run -", EU_AGENT_BIN);
	expect_refused(cmd, "stdin: not a package: expected a JSON object, a BPF ELF object or a "
		       "tar archive, but it starts 0x67 0x61 0x72 0x62");
	snprintf(cmd, sizeof(cmd), "'%s' run - < /dev/null", EU_AGENT_BIN);
	expect_refused(cmd, "run -: stdin was empty: pipe a package or a Wasm module into it");
	/* a terminal: script(1) (bsdutils, always installed) gives the agent a pty as stdin */
	snprintf(cmd, sizeof(cmd), "script -qec \"'%s' run -\" /dev/null", EU_AGENT_BIN);
	expect_refused(cmd, "run -: stdin is a terminal");
}
