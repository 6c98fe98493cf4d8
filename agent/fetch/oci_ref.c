/* Image references, with the rules of the distribution project's reference grammar that
 * decide what a name means (a first component with '.' or ':' or "localhost" is a registry
 * host; Docker Hub's short names gain "library/"). */
#include "oci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"

#define DOCKER_HUB "registry-1.docker.io"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := alnum+ (separator alnum+)*, separator := '.' | '_' | '__' | '-'+ */
static bool path_component_ok(const char *s, size_t n)
{
	if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_lower_alnum(s[i]))
			continue;
		if (s[i] == '.' || s[i] == '-') {
			if (s[i] == '.' && !is_lower_alnum(s[i + 1]))
				return false;
			continue;
		}
		if (s[i] == '_') {
			if (s[i + 1] == '_')
				i++;
			if (!is_lower_alnum(s[i + 1]))
				return false;
			continue;
		}
		return false;
	}
	return true;
}

static bool tag_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '_';
		if (!word && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

static bool digest_ok(const char *s)
{
	if (strncmp(s, "sha256:", 7) || strlen(s) != 7 + 64)
		return false;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static bool host_ok(const char *s, size_t n)
{
	if (!n || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

static bool names_registry(const char *s, size_t n)
{
	return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !memcmp(s, "localhost", 9));
}

void eu_oci_ref_free(struct eu_oci_ref *r)
{
	if (!r)
		return;
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

int eu_oci_ref_parse(const char *s, struct eu_oci_ref *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s || strlen(s) > 4096)
		return eu_error_set(err, -EINVAL, "an empty or over-long image reference");
	char *copy = strdup(s);
	if (!copy)
		return eu_error_set(err, -ENOMEM, "out of memory");
	char *at = strchr(copy, '@');
	if (at) {
		*at = '\0';
		if (!digest_ok(at + 1)) {
			free(copy);
			return eu_error_set(err, -EINVAL,
					    "%s: the digest must be sha256: and 64 lower-case hex digits", s);
		}
		out->digest = strdup(at + 1);
	}
	char *last_slash = strrchr(copy, '/');
	char *colon = strrchr(last_slash ? last_slash : copy, ':');
	if (colon) {
		*colon = '\0';
		if (!tag_ok(colon + 1)) {
			free(copy);
			eu_oci_ref_free(out);
			return eu_error_set(err, -EINVAL,
					    "%s: bad tag '%s' (letters, digits, '_', '.', '-'; at most 128)",
					    s, colon + 1);
		}
		out->tag = strdup(colon + 1);
	}
	const char *name = copy;
	char *slash = strchr(copy, '/');
	const char *registry = NULL;
	if (slash && names_registry(copy, (size_t)(slash - copy))) {
		if (!host_ok(copy, (size_t)(slash - copy))) {
			free(copy);
			eu_oci_ref_free(out);
			return eu_error_set(err, -EINVAL, "%s: bad registry host", s);
		}
		*slash = '\0';
		registry = copy;
		name = slash + 1;
	}
	bool hub = !registry || !strcmp(registry, "docker.io") || !strcmp(registry, "index.docker.io");
	for (const char *p = name;;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (!path_component_ok(p, n)) {
			free(copy);
			eu_oci_ref_free(out);
			return eu_error_set(err, -EINVAL,
					    "%s: bad repository name '%s' (lower-case letters, digits and "
					    "'.', '_', '-' between them, components split by '/')", s, name);
		}
		if (!end)
			break;
		p = end + 1;
	}
	out->registry = strdup(hub ? DOCKER_HUB : registry);
	if (hub && !strchr(name, '/')) {
		out->repository = malloc(strlen(name) + 9);
		if (out->repository)
			strcpy(stpcpy(out->repository, "library/"), name);
	} else {
		out->repository = strdup(name);
	}
	if (!out->tag && !out->digest)
		out->tag = strdup("latest");
	free(copy);
	if (!out->registry || !out->repository || (!out->tag && !out->digest)) {
		eu_oci_ref_free(out);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

bool eu_oci_is_reference(const char *s)
{
	if (!s || !*s || eu_fetch_is_url(s) || s[0] == '/' || s[0] == '.' || s[0] == '-')
		return false;
	const char *slash = strchr(s, '/');
	const char *last = strrchr(s, '/');
	bool pinned = strstr(s, "@sha256:") != NULL;
	bool tagged = last && strchr(last, ':');
	if (!pinned && !(slash && names_registry(s, (size_t)(slash - s)) && tagged))
		return false;
	struct eu_oci_ref r;
	if (eu_oci_ref_parse(s, &r, NULL))
		return false;
	eu_oci_ref_free(&r);
	return true;
}
