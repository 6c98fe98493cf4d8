/* `eunomia-agent ctl`: the control API's client (api.h), over the unix socket or TCP. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli_api.h"
#include "core/codec.h"
#include "fetch/oci.h"
#include "eunomia/buf.h"

#define CTL_OK 0
#define CTL_FAIL 1
#define CTL_USAGE 2
#define CTL_UNREACHABLE 3
#define CTL_MAX_PARAMS 128

static const char ctl_usage[] =
	"Usage: eunomia-agent ctl [--api unix:PATH|tcp:ADDR:PORT] [--token-file FILE] COMMAND\n"
	"\n"
	"Commands:\n"
	"  list [--json]                      packages, their state and counters\n"
	"  get NAME                           one package as JSON\n"
	"  load FILE|REF [--name N] [--param K=V]... [--sig SIGFILE]\n"
	"                                     load a package (FILE.sig is sent when present);\n"
	"                                     REF: an OCI image the agent pulls itself\n"
	"  unload NAME                        unload a package loaded through the API\n"
	"  pause NAME | resume NAME           detach / attach again\n"
	"  logs NAME [--follow] [--cursor C]  its recent records as NDJSON {\"seq\",\"record\"}\n"
	"  features                           what this kernel supports\n"
	"  health                             /healthz\n"
	"\n"
	"The API defaults to unix:" EU_API_DEFAULT_SOCKET ".\n";

struct ctl {
	const char *api;
	char *token;
	bool stream;       /* write the body to stdout as it comes */
	eu_buf body;
	long status;
	CURL *h;           /* the transfer in progress */
	bool line_start;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct ctl *c = ud;
	long st = 0;
	if (c->stream)
		curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &st);
	if (c->stream && st < 400) {
		/* blank lines are the server's heartbeats */
		for (size_t i = 0; i < sz * n; i++) {
			if (!(c->line_start && p[i] == '\n'))
				putchar(p[i]);
			c->line_start = p[i] == '\n';
		}
		fflush(stdout);
		return sz * n;
	}
	eu_buf_append(&c->body, p, sz * n);
	return c->body.oom ? 0 : sz * n;
}

static char *url_escape(CURL *h, const char *s)
{
	char *e = curl_easy_escape(h, s, 0);
	char *r = e ? strdup(e) : NULL;
	curl_free(e);
	return r;
}

static void describe_owner(char *out, size_t size, const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		snprintf(out, size, "%s", strerror(errno));
		return;
	}
	struct passwd *pw = getpwuid(st.st_uid);
	snprintf(out, size, "mode %04o, owned by %s (uid %u)", (unsigned)(st.st_mode & 07777),
		 pw ? pw->pw_name : "?", (unsigned)st.st_uid);
}

/* Why curl could not connect to a unix socket, said the way a person can act on it: the
 * connect() again, for its errno, and the owner of whatever stopped us. */
static bool explain_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
	close(fd);
	char who[160], dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), "%s", slash ? "/" : ".");
	if (e == EACCES) {
		struct stat st;
		bool dir_blocks = stat(path, &st) && errno == EACCES;
		describe_owner(who, sizeof(who), dir_blocks ? dir : path);
		fprintf(stderr,
			"eunomia-agent ctl: unix:%s: permission denied (you are uid %u): the %s is "
			"%s; only that user (and root) may connect: run ctl as that user or with "
			"sudo, or have the daemon listen on --api tcp:ADDR:PORT with "
			"--api-token-file and give ctl --token-file\n",
			path, (unsigned)geteuid(), dir_blocks ? "socket's directory" : "socket", who);
	} else if (e == ENOENT) {
		fprintf(stderr, "eunomia-agent ctl: unix:%s: no such socket: is the daemon running "
			"(its --api, default unix:/run/eunomia/agent.sock)?\n", path);
	} else if (e == ECONNREFUSED) {
		fprintf(stderr, "eunomia-agent ctl: unix:%s: connection refused: nothing listens "
			"there (a socket left by a daemon that is gone)\n", path);
	} else {
		return false;
	}
	return true;
}

/* Performs the request; CTL_* exit code. path may carry a query. */
static int perform(struct ctl *c, const char *method, const char *path, const void *body,
		   size_t len, const char *sig)
{
	CURL *h = curl_easy_init();
	if (!h)
		return CTL_FAIL;
	char url[2048];
	if (!strncmp(c->api, "unix:", 5)) {
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->api + 5);
		snprintf(url, sizeof(url), "http://localhost%s", path);
	} else if (!strncmp(c->api, "tcp:", 4)) {
		snprintf(url, sizeof(url), "http://%s%s", c->api + 4, path);
	} else {
		fprintf(stderr, "eunomia-agent ctl: --api %s: expected unix:PATH or tcp:ADDR:PORT\n",
			c->api);
		curl_easy_cleanup(h);
		return CTL_USAGE;
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
	char line[1024];
	if (c->token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token);
		hdr = curl_slist_append(hdr, line);
	}
	if (sig) {
		snprintf(line, sizeof(line), "X-Eunomia-Signature: %s", sig);
		hdr = curl_slist_append(hdr, line);
	}
	c->h = h;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	if (!c->stream)
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc == CURLE_COULDNT_CONNECT && !strncmp(c->api, "unix:", 5) &&
	    explain_unix(c->api + 5))
		return CTL_UNREACHABLE;
	if (rc != CURLE_OK) {
		fprintf(stderr, "eunomia-agent ctl: %s: %s\n", c->api, curl_easy_strerror(rc));
		return CTL_UNREACHABLE;
	}
	if (c->status >= 400) {
		cJSON *j = cJSON_ParseWithLength(c->body.data ? c->body.data : "", c->body.len);
		cJSON *e = cJSON_GetObjectItem(j, "error");
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
		const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
		fprintf(stderr, "eunomia-agent ctl: %ld %s: %s\n", c->status, code ? code : "error",
			msg ? msg : (c->body.data ? c->body.data : ""));
		cJSON_Delete(j);
		return CTL_FAIL;
	}
	return CTL_OK;
}

static void print_body(struct ctl *c)
{
	if (c->body.len)
		fwrite(c->body.data, 1, c->body.len, stdout);
}

static int print_table(struct ctl *c)
{
	cJSON *j = cJSON_ParseWithLength(c->body.data ? c->body.data : "", c->body.len);
	cJSON *arr = cJSON_GetObjectItem(j, "programs");
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(j);
		fprintf(stderr, "eunomia-agent ctl: unexpected answer\n");
		return CTL_FAIL;
	}
	printf("%-4s %-24s %-7s %-13s %-8s %-10s %s\n", "ID", "NAME", "STATE", "VERSION",
	       "ATTACHED", "RECORDS", "LAST ERROR");
	cJSON *p;
	cJSON_ArrayForEach(p, arr) {
		const char *ver = cJSON_GetStringValue(cJSON_GetObjectItem(p, "version"));
		const char *le = cJSON_GetStringValue(cJSON_GetObjectItem(p, "last_error"));
		cJSON *cnt = cJSON_GetObjectItem(p, "counters");
		printf("%-4.0f %-24s %-7s %-13s %-8.0f %-10.0f %s\n",
		       cJSON_GetNumberValue(cJSON_GetObjectItem(p, "id")),
		       cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")),
		       cJSON_GetStringValue(cJSON_GetObjectItem(p, "state")), ver ? ver : "-",
		       cJSON_GetNumberValue(cJSON_GetObjectItem(p, "attached")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(cnt, "records")), le ? le : "");
	}
	cJSON_Delete(j);
	return CTL_OK;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return NULL;
	eu_buf b;
	eu_buf_init(&b);
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		eu_buf_append(&b, tmp, n);
	fclose(f);
	if (b.oom) {
		eu_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data ? b.data : strdup("");
}

static int cmd_load(struct ctl *c, int argc, char **argv)
{
	const char *file = NULL, *name = NULL, *sig_file = NULL;
	cJSON *params = cJSON_CreateObject();
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			name = argv[++i];
		} else if (!strcmp(argv[i], "--sig") && i + 1 < argc) {
			sig_file = argv[++i];
		} else if (!strcmp(argv[i], "--param") && i + 1 < argc) {
			const char *kv = argv[++i];
			const char *eq = strchr(kv, '=');
			if (!eq || eq == kv) {
				fprintf(stderr, "eunomia-agent ctl: --param %s: expected NAME=VALUE\n", kv);
				cJSON_Delete(params);
				return CTL_USAGE;
			}
			char key[256];
			snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
			cJSON_AddStringToObject(params, key, eq + 1);
		} else if (!file && argv[i][0] != '-') {
			file = argv[i];
		} else {
			fprintf(stderr, "eunomia-agent ctl load: unexpected '%s'\n%s", argv[i], ctl_usage);
			cJSON_Delete(params);
			return CTL_USAGE;
		}
	}
	if (!file) {
		fprintf(stderr, "eunomia-agent ctl load: which FILE?\n");
		cJSON_Delete(params);
		return CTL_USAGE;
	}
	size_t len = 0, slen;
	/* an image reference that is no file here: the agent pulls it from its registry */
	bool image = access(file, F_OK) != 0 && eu_oci_is_reference(file);
	char *data = image ? strdup("") : read_file(file, &len);
	if (!data) {
		fprintf(stderr, "eunomia-agent ctl: %s: %s\n", file, strerror(errno));
		cJSON_Delete(params);
		return CTL_FAIL;
	}
	char sig_path[4096];
	snprintf(sig_path, sizeof(sig_path), "%s.sig", file);
	char *sig = sig_file || !image ? read_file(sig_file ? sig_file : sig_path, &slen) : NULL;
	if (sig_file && !sig) {
		fprintf(stderr, "eunomia-agent ctl: %s: %s\n", sig_file, strerror(errno));
		free(data);
		cJSON_Delete(params);
		return CTL_FAIL;
	}
	char *sig64 = NULL;
	if (sig) {
		/* the header carries base64; a raw 64-byte signature is encoded here */
		if (slen == 64) {
			sig64 = eu_base64_encode(sig, slen, 0, NULL);
		} else {
			sig64 = strdup(sig);
			size_t n = sig64 ? strlen(sig64) : 0;
			while (n && (sig64[n - 1] == '\n' || sig64[n - 1] == '\r' || sig64[n - 1] == ' '))
				sig64[--n] = '\0';
		}
	}
	CURL *h = curl_easy_init();
	eu_buf path;
	eu_buf_init(&path);
	eu_buf_puts(&path, "/v1/programs?");
	if (image) {
		char *e = url_escape(h, file);
		eu_buf_printf(&path, "image=%s&", e ? e : "");
		free(e);
	}
	if (name) {
		char *e = url_escape(h, name);
		eu_buf_printf(&path, "name=%s&", e ? e : "");
		free(e);
	}
	if (cJSON_GetArraySize(params)) {
		char *pj = cJSON_PrintUnformatted(params);
		char *e = pj ? url_escape(h, pj) : NULL;
		eu_buf_printf(&path, "params=%s", e ? e : "");
		free(e);
		free(pj);
	}
	curl_easy_cleanup(h);
	int code = perform(c, "POST", path.data, data, len, sig64);
	if (code == CTL_OK)
		print_body(c);
	eu_buf_free(&path);
	free(data);
	free(sig);
	free(sig64);
	cJSON_Delete(params);
	return code;
}

static int cmd_logs(struct ctl *c, const char *name, int argc, char **argv)
{
	bool follow = false;
	const char *cursor = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
			follow = true;
		else if (!strcmp(argv[i], "--cursor") && i + 1 < argc)
			cursor = argv[++i];
		else {
			fprintf(stderr, "eunomia-agent ctl logs: unexpected '%s'\n", argv[i]);
			return CTL_USAGE;
		}
	}
	CURL *h = curl_easy_init();
	char *e = url_escape(h, name);
	curl_easy_cleanup(h);
	char path[1024];
	snprintf(path, sizeof(path), "/v1/programs/%s/events?%s%s%s", e ? e : "",
		 follow ? "follow=1&" : "", cursor ? "cursor=" : "", cursor ? cursor : "");
	free(e);
	c->stream = true;
	int code = perform(c, "GET", path, NULL, 0, NULL);
	return code;
}

static int simple(struct ctl *c, const char *method, const char *fmt, const char *name)
{
	char path[1024];
	char *e = NULL;
	if (name) {
		CURL *h = curl_easy_init();
		e = url_escape(h, name);
		curl_easy_cleanup(h);
	}
	snprintf(path, sizeof(path), fmt, e ? e : "");
	free(e);
	int code = perform(c, method, path, NULL, 0, NULL);
	if (code == CTL_OK)
		print_body(c);
	return code;
}

int cli_ctl(int argc, char **argv)
{
	struct ctl c = {.api = "unix:" EU_API_DEFAULT_SOCKET, .line_start = true};
	eu_buf_init(&c.body);
	int i = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(ctl_usage, stdout);
			return CTL_OK;
		} else if (!strcmp(argv[i], "--api") && i + 1 < argc) {
			c.api = argv[++i];
		} else if (!strncmp(argv[i], "--api=", 6)) {
			c.api = argv[i] + 6;
		} else if (!strcmp(argv[i], "--token-file") && i + 1 < argc) {
			if (!(c.token = cli_api_read_token(argv[++i])))
				return CTL_USAGE;
		} else {
			fprintf(stderr, "eunomia-agent ctl: unknown option '%s'\n%s", argv[i], ctl_usage);
			return CTL_USAGE;
		}
	}
	if (i >= argc) {
		fputs(ctl_usage, stderr);
		free(c.token);
		return CTL_USAGE;
	}
	const char *cmd = argv[i++];
	const char *arg = i < argc ? argv[i] : NULL;
	int code;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	bool needs_name = !strcmp(cmd, "get") || !strcmp(cmd, "unload") || !strcmp(cmd, "pause") ||
			  !strcmp(cmd, "resume") || !strcmp(cmd, "logs");
	if (needs_name && (!arg || arg[0] == '-')) {
		fprintf(stderr, "eunomia-agent ctl %s: which package?\n", cmd);
		code = CTL_USAGE;
	} else if (!strcmp(cmd, "list")) {
		bool json = arg && !strcmp(arg, "--json");
		code = perform(&c, "GET", "/v1/programs", NULL, 0, NULL);
		if (code == CTL_OK) {
			if (json)
				print_body(&c);
			else
				code = print_table(&c);
		}
	} else if (!strcmp(cmd, "get")) {
		code = simple(&c, "GET", "/v1/programs/%s", arg);
	} else if (!strcmp(cmd, "load")) {
		code = cmd_load(&c, argc - i, argv + i);
	} else if (!strcmp(cmd, "unload")) {
		code = simple(&c, "DELETE", "/v1/programs/%s", arg);
	} else if (!strcmp(cmd, "pause")) {
		code = simple(&c, "POST", "/v1/programs/%s/pause", arg);
	} else if (!strcmp(cmd, "resume")) {
		code = simple(&c, "POST", "/v1/programs/%s/resume", arg);
	} else if (!strcmp(cmd, "logs")) {
		code = cmd_logs(&c, arg, argc - i - 1, argv + i + 1);
	} else if (!strcmp(cmd, "features")) {
		code = simple(&c, "GET", "/v1/features", NULL);
	} else if (!strcmp(cmd, "health")) {
		code = simple(&c, "GET", "/healthz", NULL);
	} else {
		fprintf(stderr, "eunomia-agent ctl: unknown command '%s'\n%s", cmd, ctl_usage);
		code = CTL_USAGE;
	}
	curl_global_cleanup();
	eu_buf_free(&c.body);
	free(c.token);
	return code;
}
