/* What registries say and what docker wrote: WWW-Authenticate challenges (RFC 7235 syntax:
 * a scheme, then key=value or key="quoted value" pairs) and the credentials in
 * ~/.docker/config.json. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/codec.h"
#include "oci_priv.h"

void eu_oci_challenge_free(struct eu_oci_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

/* One value at *p (quoted with backslash escapes, or a token up to ',' or space). */
static char *read_value(const char **p)
{
	const char *s = *p;
	size_t cap = strlen(s) + 1, n = 0;
	char *v = malloc(cap);
	if (!v)
		return NULL;
	if (*s == '"') {
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			v[n++] = *s;
		}
		if (*s == '"')
			s++;
	} else {
		while (*s && *s != ',' && *s != ' ' && *s != '\t')
			v[n++] = *s++;
	}
	v[n] = '\0';
	*p = s;
	return v;
}

int eu_oci_challenge_parse(const char *header, struct eu_oci_challenge *out)
{
	memset(out, 0, sizeof(*out));
	const char *p = header;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strcspn(p, " \t");
	if (!n || n >= sizeof(out->scheme))
		return -1;
	memcpy(out->scheme, p, n);
	p += n;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t k = strcspn(p, "= \t,");
		if (!k || p[k] != '=')
			break;
		const char *key = p;
		p += k + 1;
		char *v = read_value(&p);
		if (!v)
			break;
		char **slot = k == 5 && !strncasecmp(key, "realm", 5)     ? &out->realm
			      : k == 7 && !strncasecmp(key, "service", 7) ? &out->service
			      : k == 5 && !strncasecmp(key, "scope", 5)   ? &out->scope
									  : NULL;
		if (slot && !*slot)
			*slot = v;
		else
			free(v);
	}
	return 0;
}

static const cJSON *find_auth_entry(const cJSON *auths, const char *registry)
{
	static const char *hub_keys[] = {"https://index.docker.io/v1/", "index.docker.io",
					 "docker.io", "registry-1.docker.io"};
	const cJSON *e;
	cJSON_ArrayForEach(e, auths) {
		const char *k = e->string;
		if (!k)
			continue;
		if (!strncmp(k, "https://", 8))
			k += 8;
		else if (!strncmp(k, "http://", 7))
			k += 7;
		size_t n = strcspn(k, "/");
		if (strlen(registry) == n && !strncmp(k, registry, n))
			return e;
	}
	if (!strcmp(registry, "registry-1.docker.io"))
		for (size_t i = 0; i < sizeof(hub_keys) / sizeof(hub_keys[0]); i++)
			if ((e = cJSON_GetObjectItemCaseSensitive(auths, hub_keys[i])))
				return e;
	return NULL;
}

char *eu_oci_docker_config_auth(const char *json, size_t len, const char *registry,
				char **helper)
{
	*helper = NULL;
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root)
		return NULL;
	char *cred = NULL;
	const cJSON *entry = find_auth_entry(cJSON_GetObjectItemCaseSensitive(root, "auths"), registry);
	const cJSON *auth = entry ? cJSON_GetObjectItemCaseSensitive(entry, "auth") : NULL;
	const cJSON *user = entry ? cJSON_GetObjectItemCaseSensitive(entry, "username") : NULL;
	const cJSON *pass = entry ? cJSON_GetObjectItemCaseSensitive(entry, "password") : NULL;
	if (cJSON_IsString(auth) && auth->valuestring[0]) {
		uint8_t *raw = NULL;
		size_t n = 0;
		if (!eu_base64_decode(auth->valuestring, strlen(auth->valuestring), &raw, &n, NULL)) {
			if (memchr(raw, ':', n) && !memchr(raw, '\0', n)) {
				cred = malloc(n + 1);
				if (cred) {
					memcpy(cred, raw, n);
					cred[n] = '\0';
				}
			}
			free(raw);
		}
	} else if (cJSON_IsString(user) && cJSON_IsString(pass)) {
		size_t n = strlen(user->valuestring) + strlen(pass->valuestring) + 2;
		cred = malloc(n);
		if (cred)
			strcpy(stpcpy(stpcpy(cred, user->valuestring), ":"), pass->valuestring);
	}
	if (!cred) {
		const cJSON *helpers = cJSON_GetObjectItemCaseSensitive(root, "credHelpers");
		const cJSON *h = find_auth_entry(helpers, registry);
		if (!cJSON_IsString(h))
			h = cJSON_GetObjectItemCaseSensitive(root, "credsStore");
		if (cJSON_IsString(h) && h->valuestring[0])
			*helper = strdup(h->valuestring);
	}
	cJSON_Delete(root);
	return cred;
}
