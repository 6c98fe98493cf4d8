/* The OCI distribution API as `pull`, `push` and `run REF` use it: one blocking libcurl
 * session per operation, answering the registry's 401 challenge once (Bearer token from the
 * realm, or Basic), checking every digest. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/codec.h"
#include "core/file.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "oci_priv.h"

#define MANIFEST_MAX (4u << 20)
#define TOKEN_MAX (1u << 20)

struct response {
	long status;
	eu_buf body;
	size_t max;
	bool too_big;
	char *location, *www_auth, *content_type, *docker_digest;
};

struct session {
	CURL *h;
	struct eu_oci_ref ref;
	struct eu_oci_opts opts;
	const char *ref_text;
	char base[300];    /* scheme://registry */
	char *cred;        /* USER:PASSWORD or NULL */
	char *cred_origin; /* where cred came from, for messages */
	char *auth_header; /* the Authorization header that worked, or NULL */
	bool push;
	bool authing;      /* asking the token service: its 401 is an answer, not a challenge */
	bool may_fall_back; /* a loopback registry: https first, then http (as docker does) */
	eu_error *err;
};

static void response_reset(struct response *r)
{
	eu_buf_reset(&r->body);
	free(r->location);
	free(r->www_auth);
	free(r->content_type);
	free(r->docker_digest);
	r->location = r->www_auth = r->content_type = r->docker_digest = NULL;
	r->status = 0;
	r->too_big = false;
}

static void response_free(struct response *r)
{
	response_reset(r);
	eu_buf_free(&r->body);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct response *r = userdata;
	size_t n = size * nmemb;
	if (n > r->max - r->body.len) {
		r->too_big = true;
		return 0;
	}
	eu_buf_append(&r->body, ptr, n);
	return r->body.oom ? 0 : n;
}

static void keep_header(char **slot, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	free(*slot);
	*slot = strndup(v, n);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct response *r = userdata;
	size_t n = size * nmemb;
	if (n > 5 && !strncmp(line, "HTTP/", 5)) { /* a new response (after a redirect) */
		free(r->www_auth);
		free(r->content_type);
		free(r->docker_digest);
		r->www_auth = r->content_type = r->docker_digest = NULL;
		return n;
	}
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
		{"location:", offsetof(struct response, location)},
		{"www-authenticate:", offsetof(struct response, www_auth)},
		{"content-type:", offsetof(struct response, content_type)},
		{"docker-content-digest:", offsetof(struct response, docker_digest)},
	};
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		size_t k = strlen(wanted[i].name);
		if (n > k && !strncasecmp(line, wanted[i].name, k)) {
			const char *v = line + k;
			while (v < line + n && (*v == ' ' || *v == '\t'))
				v++;
			keep_header((char **)((char *)r + wanted[i].off), v, (size_t)(line + n - v));
		}
	}
	return n;
}

/* "code: message" of the registry's JSON error body, or "" */
static void registry_reason(const struct response *r, char *out, size_t n)
{
	out[0] = '\0';
	const char *code = r->body.data ? strstr(r->body.data, "\"code\":\"") : NULL;
	const char *msg = r->body.data ? strstr(r->body.data, "\"message\":\"") : NULL;
	if (code)
		snprintf(out, n, " (%.*s", (int)strcspn(code + 8, "\""), code + 8);
	if (msg)
		snprintf(out + strlen(out), n - strlen(out), "%s%.*s", code ? ": " : " (",
			 (int)strcspn(msg + 11, "\""), msg + 11);
	if (code || msg)
		snprintf(out + strlen(out), n - strlen(out), ")");
}

static int authenticate(struct session *s, const char *challenge);

/* One request; a 401 with a challenge is answered once and the request repeated. */
static int request(struct session *s, const char *method, const char *path,
		   const char *const *headers, const void *body, size_t body_len, size_t max,
		   struct response *r)
{
	for (int attempt = 0;; attempt++) {
		response_reset(r);
		r->max = max;
		char url[4096];
		if (!strncasecmp(path, "http://", 7) || !strncasecmp(path, "https://", 8))
			snprintf(url, sizeof(url), "%s", path);
		else
			snprintf(url, sizeof(url), "%s%s", s->base, path);
		struct curl_slist *hl = NULL;
		for (size_t i = 0; headers && headers[i]; i++)
			hl = curl_slist_append(hl, headers[i]);
		if (s->auth_header)
			hl = curl_slist_append(hl, s->auth_header);
		if (body)
			hl = curl_slist_append(hl, "Expect:");
		CURL *h = s->h;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_NOBODY, !strcmp(method, "HEAD") ? 1L : 0L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
				 strcmp(method, "GET") && strcmp(method, "HEAD") ? method : NULL);
		if (body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		}
		curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
		char curl_err[CURL_ERROR_SIZE] = "";
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
		CURLcode rc = curl_easy_perform(h);
		curl_slist_free_all(hl);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		if ((rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR) && s->may_fall_back &&
		    !strncmp(url, "https://", 8) && !strncmp(s->base, "https://", 8)) {
			/* the loopback registry speaks plain HTTP */
			s->may_fall_back = false;
			snprintf(s->base, sizeof(s->base), "http://%s", s->ref.registry);
			eu_log(EU_LOG_DEBUG, "%s: %s does not speak TLS: using http", s->ref_text,
			       s->ref.registry);
			attempt--;
			continue;
		}
		s->may_fall_back = false;
		if (rc != CURLE_OK) {
			if (r->too_big)
				return eu_error_set(s->err, -EFBIG, "%s: %s %s: the answer is larger than %zu bytes",
						    s->ref_text, method, url, max);
			return eu_error_set(s->err, -EIO, "%s: %s %s: %s", s->ref_text, method, url,
					    curl_err[0] ? curl_err : curl_easy_strerror(rc));
		}
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->status != 401 || attempt > 0 || !r->www_auth || s->authing)
			return 0;
		char *challenge = strdup(r->www_auth);
		if (!challenge)
			return eu_error_set(s->err, -ENOMEM, "out of memory");
		int ret = authenticate(s, challenge);
		free(challenge);
		if (ret)
			return ret;
	}
}

static int login_needed(struct session *s, const char *what)
{
	return eu_error_set(s->err, -EACCES,
			    "%s: the registry %s asks for a login%s; give --user USER:PASSWORD, set "
			    "EUNOMIA_REGISTRY_USER=USER:PASSWORD, or log in with `docker login %s`",
			    s->ref_text, s->ref.registry, what, s->ref.registry);
}

static int authenticate(struct session *s, const char *header)
{
	struct eu_oci_challenge c;
	if (eu_oci_challenge_parse(header, &c))
		return eu_error_set(s->err, -EPROTO, "%s: the registry's WWW-Authenticate is unreadable: %s",
				    s->ref_text, header);
	int ret = 0;
	free(s->auth_header);
	s->auth_header = NULL;
	if (!strcasecmp(c.scheme, "Basic")) {
		if (!s->cred) {
			ret = login_needed(s, "");
			goto out;
		}
		char *b64 = eu_base64_encode(s->cred, strlen(s->cred), 0, NULL);
		if (b64 && asprintf(&s->auth_header, "Authorization: Basic %s", b64) < 0)
			s->auth_header = NULL;
		free(b64);
		ret = s->auth_header ? 0 : eu_error_set(s->err, -ENOMEM, "out of memory");
		goto out;
	}
	if (strcasecmp(c.scheme, "Bearer") || !c.realm || strncasecmp(c.realm, "http", 4)) {
		ret = eu_error_set(s->err, -EPROTO, "%s: the registry asks for '%s' authentication, which "
				   "we do not speak (Bearer and Basic)", s->ref_text, header);
		goto out;
	}
	/* the token's scope: what the challenge names, or what this operation needs */
	char scope[1024];
	if (s->push || !c.scope)
		snprintf(scope, sizeof(scope), "repository:%s:%s", s->ref.repository,
			 s->push ? "pull,push" : "pull");
	else
		snprintf(scope, sizeof(scope), "%s", c.scope);
	char *esc_service = c.service ? curl_easy_escape(s->h, c.service, 0) : NULL;
	char *esc_scope = curl_easy_escape(s->h, scope, 0);
	char url[4096];
	snprintf(url, sizeof(url), "%s%sscope=%s%s%s", c.realm, strchr(c.realm, '?') ? "&" : "?",
		 esc_scope ? esc_scope : "", esc_service ? "&service=" : "",
		 esc_service ? esc_service : "");
	curl_free(esc_service);
	curl_free(esc_scope);
	struct response tr = {0};
	eu_buf_init(&tr.body);
	if (s->cred) {
		char *b64 = eu_base64_encode(s->cred, strlen(s->cred), 0, NULL);
		if (b64 && asprintf(&s->auth_header, "Authorization: Basic %s", b64) < 0)
			s->auth_header = NULL;
		free(b64);
	}
	s->authing = true;
	ret = request(s, "GET", url, NULL, NULL, 0, TOKEN_MAX, &tr);
	s->authing = false;
	free(s->auth_header);
	s->auth_header = NULL;
	if (ret)
		goto out_tr;
	if (tr.status == 401 || tr.status == 403) {
		if (s->cred)
			ret = eu_error_set(s->err, -EACCES, "%s: login refused by %s (HTTP %ld) for the "
					   "user from %s", s->ref_text, c.realm, tr.status, s->cred_origin);
		else
			ret = login_needed(s, " for a token");
		goto out_tr;
	}
	if (tr.status != 200) {
		ret = eu_error_set(s->err, -EIO, "%s: the token service %s answered HTTP %ld",
				   s->ref_text, c.realm, tr.status);
		goto out_tr;
	}
	const char *tok = tr.body.data ? strstr(tr.body.data, "\"token\"") : NULL;
	if (!tok)
		tok = tr.body.data ? strstr(tr.body.data, "\"access_token\"") : NULL;
	const char *q = tok ? strchr(tok + 7, ':') : NULL;
	q = q ? strchr(q, '"') : NULL;
	size_t n = q ? strcspn(q + 1, "\"") : 0;
	if (!n || n > 16384) {
		ret = eu_error_set(s->err, -EPROTO, "%s: the token service %s gave no token",
				   s->ref_text, c.realm);
		goto out_tr;
	}
	if (asprintf(&s->auth_header, "Authorization: Bearer %.*s", (int)n, q + 1) < 0) {
		s->auth_header = NULL;
		ret = eu_error_set(s->err, -ENOMEM, "out of memory");
	}
out_tr:
	response_free(&tr);
out:
	eu_oci_challenge_free(&c);
	return ret;
}

static bool loopback_host(const char *registry)
{
	return !strncmp(registry, "localhost", 9) || !strncmp(registry, "127.", 4) ||
	       !strncmp(registry, "[::1]", 5);
}

static void find_credentials(struct session *s)
{
	const char *u = s->opts.user ? s->opts.user : getenv("EUNOMIA_REGISTRY_USER");
	if (u && *u) {
		s->cred = strdup(u);
		s->cred_origin = strdup(s->opts.user ? "--user" : "EUNOMIA_REGISTRY_USER");
		return;
	}
	char path[4096];
	const char *dc = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	if (dc && *dc)
		snprintf(path, sizeof(path), "%s/config.json", dc);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.docker/config.json", home);
	else
		return;
	void *json = NULL;
	size_t len = 0;
	if (eu_file_read(path, 1u << 20, &json, &len, NULL))
		return;
	char *helper = NULL;
	s->cred = eu_oci_docker_config_auth(json, len, s->ref.registry, &helper);
	free(json);
	if (s->cred)
		s->cred_origin = strdup(path);
	else if (helper)
		eu_log(EU_LOG_WARN, "%s names the credential helper '%s' for %s, which we do not run; "
		       "give --user USER:PASSWORD if the registry needs a login", path, helper,
		       s->ref.registry);
	free(helper);
}

static int session_open(struct session *s, const char *ref, const struct eu_oci_opts *opts,
			bool push, eu_error *err)
{
	memset(s, 0, sizeof(*s));
	s->err = err;
	s->ref_text = ref;
	s->push = push;
	if (opts)
		memcpy(&s->opts, opts, opts->sz < sizeof(s->opts) ? opts->sz : sizeof(s->opts));
	int ret = eu_oci_ref_parse(ref, &s->ref, err);
	if (ret)
		return ret;
	const char *env_plain = getenv("EUNOMIA_REGISTRY_PLAIN_HTTP");
	if (!s->opts.ca_file)
		s->opts.ca_file = getenv("EUNOMIA_REGISTRY_CA_FILE");
	bool plain = s->opts.plain_http || (env_plain && !strcmp(env_plain, "1"));
	s->may_fall_back = !plain && loopback_host(s->ref.registry);
	snprintf(s->base, sizeof(s->base), "%s://%s", plain ? "http" : "https", s->ref.registry);
	find_credentials(s);
	s->h = curl_easy_init();
	if (!s->h)
		return eu_error_set(err, -ENOMEM, "%s: cannot initialise libcurl", ref);
	curl_easy_setopt(s->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->h, CURLOPT_FOLLOWLOCATION, 1L); /* blobs may live elsewhere */
	curl_easy_setopt(s->h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, s->opts.timeout_ms ? s->opts.timeout_ms : 60000L);
	curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->h, CURLOPT_USERAGENT, "eunomia-agent/" EU_VERSION);
	if (s->opts.ca_file)
		curl_easy_setopt(s->h, CURLOPT_CAINFO, s->opts.ca_file);
	return 0;
}

static void session_close(struct session *s)
{
	if (s->h)
		curl_easy_cleanup(s->h);
	eu_oci_ref_free(&s->ref);
	free(s->cred);
	free(s->cred_origin);
	free(s->auth_header);
}

static void digest_of(const void *data, size_t size, char out[72])
{
	uint8_t d[EU_SHA256_LEN];
	char hex[2 * EU_SHA256_LEN + 1];
	eu_sha256(data, size, d);
	eu_sha256_hex(d, hex);
	snprintf(out, 72, "sha256:%s", hex);
}

static int http_failure(struct session *s, const char *what, const struct response *r)
{
	char reason[512];
	registry_reason(r, reason, sizeof(reason));
	if (r->status == 401 && s->cred)
		return eu_error_set(s->err, -EACCES, "%s: %s: the registry refused the login of the "
				    "user from %s (HTTP 401%s%s)", s->ref_text, what, s->cred_origin,
				    reason[0] ? "," : "", reason);
	if (r->status == 403)
		return eu_error_set(s->err, -EACCES, "%s: %s: access denied (HTTP 403)%s%s%s",
				    s->ref_text, what, reason, s->cred ? " for the user from " : "",
				    s->cred ? s->cred_origin : "");
	if (r->status == 401)
		return login_needed(s, "");
	return eu_error_set(s->err, r->status == 404 ? -ENOENT : -EIO, "%s: %s: HTTP %ld%s",
			    s->ref_text, what, r->status, reason);
}

void eu_oci_blob_free(struct eu_oci_blob *b)
{
	free(b->data);
	free(b->media_type);
	free(b->title);
	free(b->digest);
	memset(b, 0, sizeof(*b));
}

int eu_oci_pull(const char *ref, const struct eu_oci_opts *opts, struct eu_oci_blob *out,
		eu_error *err)
{
	memset(out, 0, sizeof(*out));
	struct session s;
	struct response r = {0};
	struct eu_oci_layer layer = {0};
	eu_buf_init(&r.body);
	int ret = session_open(&s, ref, opts, false, err);
	if (ret)
		goto out;
	char path[2048], what[2300];
	const char *want = s.ref.digest ? s.ref.digest : s.ref.tag;
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", s.ref.repository, want);
	static const char *const accept[] = {
		"Accept: " EU_OCI_TYPE_MANIFEST ", " EU_OCI_TYPE_DOCKER_MANIFEST ", "
		EU_OCI_TYPE_INDEX ", " EU_OCI_TYPE_DOCKER_LIST, NULL};
	ret = request(&s, "GET", path, accept, NULL, 0, MANIFEST_MAX, &r);
	if (ret)
		goto out;
	if (r.status == 404) {
		char reason[512];
		registry_reason(&r, reason, sizeof(reason));
		ret = eu_error_set(err, -ENOENT, "%s: no %s %s in repository %s on %s%s", ref,
				   s.ref.digest ? "manifest" : "tag", want, s.ref.repository,
				   s.ref.registry, reason);
		goto out;
	}
	snprintf(what, sizeof(what), "GET manifest %s", want);
	if (r.status != 200) {
		ret = http_failure(&s, what, &r);
		goto out;
	}
	char digest[72];
	digest_of(r.body.data ? r.body.data : "", r.body.len, digest);
	if (s.ref.digest && strcmp(s.ref.digest, digest)) {
		ret = eu_error_set(err, -EBADMSG, "%s: the registry's manifest has digest %s, not the "
				   "%s asked for: refused", ref, digest, s.ref.digest);
		goto out;
	}
	if (r.docker_digest && !strncmp(r.docker_digest, "sha256:", 7) &&
	    strcmp(r.docker_digest, digest)) {
		ret = eu_error_set(err, -EBADMSG, "%s: the manifest's bytes hash to %s but the registry "
				   "says %s: refused", ref, digest, r.docker_digest);
		goto out;
	}
	ret = eu_oci_manifest_layer(r.body.data ? r.body.data : "", r.body.len, r.content_type,
				    &layer, err);
	if (ret) {
		eu_error_prefix(err, "%s", ref);
		goto out;
	}
	size_t max = s.opts.max_bytes ? s.opts.max_bytes : EU_PACKAGE_MAX_BYTES;
	if (layer.size > max) {
		ret = eu_error_set(err, -EFBIG, "%s: the layer is %llu bytes, more than the %zu taken",
				   ref, (unsigned long long)layer.size, max);
		goto out;
	}
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", s.ref.repository, layer.digest);
	ret = request(&s, "GET", path, NULL, NULL, 0, (size_t)layer.size, &r);
	if (ret)
		goto out;
	snprintf(what, sizeof(what), "GET blob %s", layer.digest);
	if (r.status != 200) {
		ret = http_failure(&s, what, &r);
		goto out;
	}
	char got[72];
	digest_of(r.body.data ? r.body.data : "", r.body.len, got);
	if (r.body.len != layer.size || strcmp(got, layer.digest)) {
		ret = eu_error_set(err, -EBADMSG, "%s: the layer's bytes (%zu, %s) do not match the "
				   "manifest (%llu, %s): refused", ref, r.body.len, got,
				   (unsigned long long)layer.size, layer.digest);
		goto out;
	}
	out->size = r.body.len;
	out->data = malloc(r.body.len + 1);
	out->media_type = strdup(layer.media_type);
	out->digest = strdup(digest);
	out->title = layer.title ? strdup(layer.title) : NULL;
	if (!out->data || !out->media_type || !out->digest) {
		eu_oci_blob_free(out);
		ret = eu_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(out->data, r.body.data ? r.body.data : "", r.body.len);
	((char *)out->data)[r.body.len] = '\0';
out:
	eu_oci_layer_free(&layer);
	response_free(&r);
	session_close(&s);
	return ret;
}

const char *eu_oci_media_type_of(const void *data, size_t size)
{
	const unsigned char *p = data;
	if (size >= 8 && !memcmp(p, "\0asm", 4))
		return EU_OCI_TYPE_WASM;
	if (size >= 512 && !memcmp(p + 257, "ustar", 5))
		return EU_OCI_TYPE_PACKAGE_TAR;
	size_t i = 0;
	while (i < size && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	if (i < size && p[i] == '{')
		return EU_OCI_TYPE_PACKAGE;
	return NULL;
}

/* Uploads a blob unless the registry has it: a monolithic upload (POST, then PUT ?digest=). */
static int put_blob(struct session *s, const void *data, size_t size, const char *digest,
		    struct response *r)
{
	char path[2048], what[256];
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", s->ref.repository, digest);
	int ret = request(s, "HEAD", path, NULL, NULL, 0, 0, r);
	if (ret || r->status == 200)
		return ret;
	if (r->status == 401 || r->status == 403) {
		snprintf(what, sizeof(what), "checking for %s", digest);
		return http_failure(s, what, r);
	}
	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", s->ref.repository);
	ret = request(s, "POST", path, NULL, "", 0, 64 * 1024, r);
	if (ret)
		return ret;
	if (r->status != 202 || !r->location) {
		snprintf(what, sizeof(what), "starting the upload of %s", digest);
		return http_failure(s, what, r);
	}
	char *esc = curl_easy_escape(s->h, digest, 0);
	char *loc = strdup(r->location);
	char url[8192];
	snprintf(url, sizeof(url), "%s%s%sdigest=%s", loc && loc[0] == '/' ? s->base : "",
		 loc ? loc : "", loc && strchr(loc, '?') ? "&" : "?", esc ? esc : "");
	curl_free(esc);
	free(loc);
	static const char *const hdr[] = {"Content-Type: application/octet-stream", NULL};
	ret = request(s, "PUT", url, hdr, data, size, 64 * 1024, r);
	if (ret)
		return ret;
	if (r->status != 201) {
		snprintf(what, sizeof(what), "uploading %s", digest);
		return http_failure(s, what, r);
	}
	return 0;
}

int eu_oci_push(const char *ref, const void *data, size_t size, const char *title,
		const struct eu_oci_opts *opts, char **digest_out, eu_error *err)
{
	if (digest_out)
		*digest_out = NULL;
	const char *type = eu_oci_media_type_of(data, size);
	if (!type)
		return eu_error_set(err, -EMEDIUMTYPE, "%s: not a package (JSON), a .tar package or a "
				    "Wasm module: nothing pushed", title ? title : "the file");
	struct session s;
	struct response r = {0};
	eu_buf manifest;
	eu_buf_init(&r.body);
	eu_buf_init(&manifest);
	int ret = session_open(&s, ref, opts, true, err);
	if (ret)
		goto out;
	if (!s.ref.tag || s.ref.digest) {
		ret = eu_error_set(err, -EINVAL, "%s: push needs a tag and no @digest (the digest "
				   "is the registry's answer)", ref);
		goto out;
	}
	char digest[72];
	digest_of(data, size, digest);
	ret = put_blob(&s, "{}", 2, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", &r);
	if (!ret)
		ret = put_blob(&s, data, size, digest, &r);
	if (ret)
		goto out;
	if (eu_oci_manifest_write(&manifest, type, digest, size, title)) {
		ret = eu_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	char path[2048];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", s.ref.repository, s.ref.tag);
	static const char *const hdr[] = {"Content-Type: " EU_OCI_TYPE_MANIFEST, NULL};
	ret = request(&s, "PUT", path, hdr, manifest.data, manifest.len, 64 * 1024, &r);
	if (ret)
		goto out;
	if (r.status != 201) {
		ret = http_failure(&s, "PUT manifest", &r);
		goto out;
	}
	char mdigest[72];
	digest_of(manifest.data, manifest.len, mdigest);
	if (digest_out && !(*digest_out = strdup(mdigest)))
		ret = eu_error_set(err, -ENOMEM, "out of memory");
out:
	eu_buf_free(&manifest);
	response_free(&r);
	session_close(&s);
	return ret;
}
