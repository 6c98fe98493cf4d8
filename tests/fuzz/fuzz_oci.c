/* Fuzzes what the OCI client reads from the network and from users: the first byte picks the
 * parser (image reference, WWW-Authenticate challenge, manifest, docker config), the rest is
 * its input. Nothing may crash or leak; an accepted manifest layer has a well-formed digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/oci.h"
#include "fetch/oci_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0: {
		struct eu_oci_ref r;
		if (!eu_oci_ref_parse(text, &r, NULL)) {
			if (!r.registry || !r.repository || (!r.tag && !r.digest))
				abort();
			eu_oci_ref_free(&r);
		}
		(void)eu_oci_is_reference(text);
		break;
	}
	case 1: {
		struct eu_oci_challenge c;
		if (!eu_oci_challenge_parse(text, &c))
			eu_oci_challenge_free(&c);
		break;
	}
	case 2: {
		struct eu_oci_layer l;
		eu_error err;
		if (!eu_oci_manifest_layer(text, size - 1, NULL, &l, &err)) {
			if (strncmp(l.digest, "sha256:", 7) || strlen(l.digest) != 71)
				abort();
			eu_oci_layer_free(&l);
		}
		break;
	}
	default: {
		char *helper = NULL;
		free(eu_oci_docker_config_auth(text, size - 1, "localhost:5000", &helper));
		free(helper);
		break;
	}
	}
	free(text);
	return 0;
}
