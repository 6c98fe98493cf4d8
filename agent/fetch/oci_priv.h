/* Inside the OCI client: the HTTP session with its credentials and token, the challenge and
 * docker-config parsers, and the manifest reader/writer. */
#ifndef EUNOMIA_OCI_PRIV_H
#define EUNOMIA_OCI_PRIV_H

#include <stdint.h>

#include "eunomia/buf.h"
#include "oci.h"

/* One parsed WWW-Authenticate challenge (the first one; registries send one). */
struct eu_oci_challenge {
	char scheme[16]; /* "Bearer" or "Basic" */
	char *realm, *service, *scope;
};

int eu_oci_challenge_parse(const char *header, struct eu_oci_challenge *out);
void eu_oci_challenge_free(struct eu_oci_challenge *c);

/* "USER:PASSWORD" for registry from the docker config JSON text (its `auths`), or NULL.
 * *helper is set (static string from the JSON, copied) when the config names a credential
 * helper instead, which we do not run. */
char *eu_oci_docker_config_auth(const char *json, size_t len, const char *registry,
				char **helper);

/* A manifest's one artifact layer. */
struct eu_oci_layer {
	char *media_type;
	char *digest;
	uint64_t size;
	char *title;
};

void eu_oci_layer_free(struct eu_oci_layer *l);
/* Reads an OCI or Docker v2 image manifest and picks its layer: the only one, else the first
 * whose media type is one of ours or upstream's. An index (multi-platform image) and a
 * manifest without such a layer are refused with a message naming what was found. */
int eu_oci_manifest_layer(const char *json, size_t len, const char *content_type,
			  struct eu_oci_layer *out, eu_error *err);
/* Writes the manifest of an artifact whose layer is (media_type, digest, size, title). */
int eu_oci_manifest_write(eu_buf *out, const char *media_type, const char *digest,
			  uint64_t size, const char *title);

#endif
