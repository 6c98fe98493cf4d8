/* Shared by the daemon's integration tests: a temporary watch directory, the daemon as a child
 * process, a uniquely named binary to exec (so its events are ours alone), and lookups in the
 * records and the log. Static functions: each test file includes it once. */
#ifndef EU_DAEMON_FIXTURE_H
#define EU_DAEMON_FIXTURE_H

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_test.h"
#include "core/codec.h"

#define BOOTSTRAP_PKG EU_PLUGIN_BUILD_DIR "/bootstrap/package.json"

struct dfix {
	char root[64];    /* temp root */
	char watch[128];  /* root/watch: the watched directory */
	char bin[160];    /* root/bin/eu_dmn_<pid>: a copy of /bin/true */
	struct eu_agent *a;
};

static inline int64_t dfix_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void dfix_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void dfix_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	cr_assert_eq(rc, 0, "command failed (%d): %s", rc, cmd);
}

/* The daemon binary: the agent (`eunomia-agent --watch`), or EU_DAEMON_BIN to test another. */
static inline const char *dfix_daemon_bin(void)
{
	const char *env = getenv("EU_DAEMON_BIN");
	return env && *env ? env : EU_AGENT_BIN;
}

static inline void dfix_init(struct dfix *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->root, "/tmp/eu-dmn-XXXXXX");
	cr_assert(mkdtemp(f->root));
	snprintf(f->watch, sizeof(f->watch), "%s/watch", f->root);
	snprintf(f->bin, sizeof(f->bin), "%s/bin/eu_dmn_%d", f->root, (int)getpid() % 100000);
	dfix_sh("mkdir -p %s %s/bin && cp /bin/true %s", f->watch, f->root, f->bin);
	dfix_sh("bash %s/scripts/mount-fs.sh >/dev/null 2>&1 || true", EU_SOURCE_DIR);
}

static inline void dfix_fini(struct dfix *f)
{
	if (f->a) {
		eu_agent_stop(f->a, 10000);
		eu_agent_free(f->a);
		f->a = NULL;
	}
	dfix_sh("umount %s/tmpfs 2>/dev/null; rm -rf %s", f->root, f->root);
}

/* The prologue of a suite whose every test has a fresh fixture: declares `static struct dfix
 * var`, set up before each test of suite `name` and torn down after it. The teardown runs even
 * when a failed assertion ends the test early, so the daemon is stopped and the directory
 * removed whatever the test skipped:
 *
 *	EU_DFIX_SUITE(F, daemon_config, 120);
 *	Test(daemon_config, reload) { dfix_start(&F, NULL); ... }
 */
#define EU_DFIX_SUITE(var, name, timeout_s)                                                     \
	static struct dfix var;                                                                 \
	static void eu_dfix_setup_##name(void)                                                  \
	{                                                                                       \
		dfix_init(&var);                                                                \
	}                                                                                       \
	static void eu_dfix_teardown_##name(void)                                               \
	{                                                                                       \
		dfix_fini(&var);                                                                \
	}                                                                                       \
	TestSuite(name, .init = eu_dfix_setup_##name, .fini = eu_dfix_teardown_##name,          \
		  .timeout = timeout_s)

/* Starts the daemon with extra args (NULL-terminated) and waits for its "ready" line. */
static inline void dfix_start(struct dfix *f, const char *const *extra)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = dfix_daemon_bin();
	argv[n++] = "--watch";
	argv[n++] = f->watch;
	for (size_t i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	f->a = eu_agent_start_argv(argv);
	cr_assert(f->a, "cannot start %s", argv[0]);
	int64_t deadline = dfix_now_ms() + 20000;
	while (!strstr(eu_agent_stderr(f->a), "ready:") && dfix_now_ms() < deadline)
		eu_agent_next_line(f->a, 50);
	cr_assert(strstr(eu_agent_stderr(f->a), "ready:"), "daemon not ready: %s",
		  eu_agent_stderr(f->a));
}

static inline size_t dfix_count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The number after `key` in the first line containing `line_has`, or -1. */
static inline long long dfix_number_after(const char *log, const char *line_has, const char *key)
{
	const char *l = strstr(log, line_has);
	if (!l)
		return -1;
	const char *eol = strchr(l, '\n');
	const char *k = strstr(l, key);
	if (!k || (eol && k > eol))
		return -1;
	return atoll(k + strlen(key));
}

/* Reads output until the log has `count` occurrences of needle (or the timeout). */
static inline bool dfix_wait_log(struct dfix *f, const char *needle, size_t count, int timeout_ms)
{
	int64_t deadline = dfix_now_ms() + timeout_ms;
	for (;;) {
		if (dfix_count(eu_agent_stderr(f->a), needle) >= count)
			return true;
		if (dfix_now_ms() >= deadline)
			return false;
		eu_agent_next_line(f->a, 20);
	}
}

/* Keeps reading stdout for ms milliseconds (records accumulate in eu_agent_stdout). */
static inline void dfix_pump(struct dfix *f, int ms)
{
	int64_t deadline = dfix_now_ms() + ms;
	while (dfix_now_ms() < deadline)
		eu_agent_next_line(f->a, 20);
}

/* Runs our binary once and waits for it. */
static inline void dfix_exec(struct dfix *f)
{
	const char *argv[] = {f->bin, NULL};
	pid_t pid = eu_spawn(argv);
	cr_assert_gt(pid, 0);
	cr_assert_eq(eu_wait_pid(pid, 5000), 0);
}

struct dfix_match {
	const char *package;   /* or NULL */
	const char *version;   /* or NULL */
	const char *filename;  /* exec records: fields.filename; or NULL */
	int exit_event;        /* -1: any */
	const char *comm;      /* or NULL */
};

static inline bool dfix_rec_matches(const cJSON *j, const struct dfix_match *m)
{
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(j, "fields");
	if (!fields)
		return false;
	if (m->package && (!eu_json_str(j, "package") || strcmp(eu_json_str(j, "package"), m->package)))
		return false;
	if (m->version && (!eu_json_str(j, "version") || strcmp(eu_json_str(j, "version"), m->version)))
		return false;
	if (m->filename && (!eu_json_str(fields, "filename") ||
			    strcmp(eu_json_str(fields, "filename"), m->filename)))
		return false;
	if (m->comm && (!eu_json_str(fields, "comm") || strcmp(eu_json_str(fields, "comm"), m->comm)))
		return false;
	if (m->exit_event >= 0 && eu_json_int(fields, "exit_event", -1) != m->exit_event)
		return false;
	return true;
}

/* Counts the matching records among lines[from_line..] of text (JSON lines). */
static inline size_t dfix_count_records_in(const char *text, const struct dfix_match *m,
					   size_t from_line, size_t *n_lines, size_t *bad)
{
	size_t count = 0, line = 0;
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (line >= from_line && len) {
			char *s = strndup(p, len);
			cJSON *j = cJSON_Parse(s);
			if (!j && bad)
				(*bad)++;
			if (j && dfix_rec_matches(j, m))
				count++;
			cJSON_Delete(j);
			free(s);
		}
		line++;
		p = nl ? nl + 1 : NULL;
	}
	if (n_lines)
		*n_lines = line;
	return count;
}

static inline size_t dfix_lines(struct dfix *f)
{
	size_t n = 0;
	dfix_count_records_in(eu_agent_stdout(f->a), &(struct dfix_match){.exit_event = -1}, 0, &n,
			      NULL);
	return n;
}

/* Execs our binary until a matching record arrives (after line from_line): the count. */
static inline size_t dfix_exec_until(struct dfix *f, const struct dfix_match *m, size_t from_line,
				     int timeout_ms)
{
	int64_t deadline = dfix_now_ms() + timeout_ms;
	size_t n;
	do {
		dfix_exec(f);
		dfix_pump(f, 150);
		n = dfix_count_records_in(eu_agent_stdout(f->a), m, from_line, NULL, NULL);
	} while (!n && dfix_now_ms() < deadline);
	return n;
}

static inline void dfix_version_of(const char *path, char out[13])
{
	size_t size;
	char *data = eu_test_read_file(path, &size);
	cr_assert(data, "%s", path);
	uint8_t d[EU_SHA256_LEN];
	cr_assert_eq(eu_sha256(data, size, d), 0);
	char hex[2 * EU_SHA256_LEN + 1];
	eu_sha256_hex(d, hex);
	memcpy(out, hex, 12);
	out[12] = '\0';
	free(data);
}

/* Writes path atomically (temp dotfile + rename) with the bootstrap package plus `extra`
 * trailing spaces, which changes its hash (a new version) and nothing else. */
static inline void dfix_put_pkg(struct dfix *f, const char *name, int extra)
{
	char tmp[256], dst[256];
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", f->watch, name);
	snprintf(dst, sizeof(dst), "%s/%s", f->watch, name);
	dfix_sh("cp %s %s && printf '%%*s' %d '' >> %s && mv %s %s", BOOTSTRAP_PKG, tmp, extra, tmp,
		tmp, dst);
}

#endif
