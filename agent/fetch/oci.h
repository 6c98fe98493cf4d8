/* Packages and Wasm modules in OCI registries (the OCI distribution API over libcurl):
 * `eunomia-agent pull REF`, `push FILE REF` and `run REF`.
 *
 * An artifact is one manifest (application/vnd.oci.image.manifest.v1+json) whose config is
 * the empty descriptor and whose single layer is the file, with a media type that says what
 * it is (EU_OCI_TYPE_*). Pulling also accepts upstream ecli's Wasm media type, a plain
 * octet-stream layer and Docker v2 manifests; the content is then told by its bytes. Every
 * digest is checked: the manifest's against a pinned @sha256: reference (and against the
 * registry's Docker-Content-Digest), the layer's and its size against the manifest.
 *
 * Authentication as registries do it: a 401 with `WWW-Authenticate: Bearer realm=...` is
 * answered by fetching a token from the realm (with the credentials, when there are any), a
 * `Basic` challenge with the credentials. Credentials come from opts->user ("USER:PASSWORD"),
 * else $EUNOMIA_REGISTRY_USER, else the `auths` of $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json (what `docker login` writes). Transfers are blocking (the CLI fetches
 * before its loop starts). */
#ifndef EUNOMIA_OCI_H
#define EUNOMIA_OCI_H

#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"

#define EU_OCI_TYPE_PACKAGE "application/vnd.eunomia.package.v1+json"
#define EU_OCI_TYPE_PACKAGE_TAR "application/vnd.eunomia.package.v1.tar"
#define EU_OCI_TYPE_WASM "application/vnd.wasm.content.layer.v1+wasm" /* upstream's too */
#define EU_OCI_TYPE_ARTIFACT "application/vnd.eunomia.artifact.v1"
#define EU_OCI_TYPE_EMPTY "application/vnd.oci.empty.v1+json"
#define EU_OCI_TYPE_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define EU_OCI_TYPE_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define EU_OCI_TYPE_INDEX "application/vnd.oci.image.index.v1+json"
#define EU_OCI_TYPE_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

/* registry/repository[:tag][@sha256:HEX]; Docker Hub names are expanded as docker does
 * ("alpine" -> registry-1.docker.io, library/alpine, tag latest). */
struct eu_oci_ref {
	char *registry;   /* host[:port] to connect to */
	char *repository; /* lower-case path components */
	char *tag;        /* NULL when only a digest was given */
	char *digest;     /* "sha256:<64 hex>" or NULL */
};

int eu_oci_ref_parse(const char *s, struct eu_oci_ref *out, eu_error *err);
void eu_oci_ref_free(struct eu_oci_ref *r);
/* Whether `run`/the API should take s as an image reference: not a URL, and a registry host
 * before the first '/' (it has a '.' or a ':' or is "localhost"), or a @sha256: digest. A
 * bare "name:tag" is not taken (it could be a file name); write docker.io/name:tag. */
bool eu_oci_is_reference(const char *s);

struct eu_oci_opts {
	size_t sz;
	const char *user;  /* "USER:PASSWORD"; NULL: environment, then the docker config */
	bool plain_http;   /* http:// instead of https:// (always for loopback registries) */
	const char *ca_file; /* extra CA bundle for the registry's TLS (NULL: the system's) */
	size_t max_bytes;  /* largest layer taken; 0: EU_PACKAGE_MAX_BYTES */
	long timeout_ms;   /* per request; 0: 60 s */
};

/* What a pull brings. */
struct eu_oci_blob {
	void *data;        /* malloc'd, NUL-terminated beyond size */
	size_t size;
	char *media_type;  /* the layer's */
	char *title;       /* org.opencontainers.image.title of the layer, or NULL */
	char *digest;      /* the manifest's digest */
};

void eu_oci_blob_free(struct eu_oci_blob *b);

int eu_oci_pull(const char *ref, const struct eu_oci_opts *opts, struct eu_oci_blob *out,
		eu_error *err);
/* Pushes data (a package, a .tar package or a Wasm module, told by its bytes) under ref's
 * tag; title names it for pull's default file name. *digest_out (may be NULL) gets the
 * manifest's digest, malloc'd. */
int eu_oci_push(const char *ref, const void *data, size_t size, const char *title,
		const struct eu_oci_opts *opts, char **digest_out, eu_error *err);

/* The layer media type for content (NULL when it is none of ours). */
const char *eu_oci_media_type_of(const void *data, size_t size);

#endif
