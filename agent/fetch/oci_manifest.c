/* Artifact manifests: the one we write for a pushed file, and the layer we take from a
 * pulled manifest (ours, upstream ecli's, or any single-layer image manifest). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "oci_priv.h"

/* Layer media types we take, best first. Upstream ecli pushes Wasm modules (and anything
 * else) with the Wasm layer type. */
static const char *const known_layer_types[] = {
	EU_OCI_TYPE_PACKAGE, EU_OCI_TYPE_PACKAGE_TAR, EU_OCI_TYPE_WASM,
	"application/octet-stream",
};

/* sha256 of "{}", the OCI empty descriptor's content */
#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

void eu_oci_layer_free(struct eu_oci_layer *l)
{
	free(l->media_type);
	free(l->digest);
	free(l->title);
	memset(l, 0, sizeof(*l));
}

static int known_rank(const char *type)
{
	for (size_t i = 0; i < sizeof(known_layer_types) / sizeof(known_layer_types[0]); i++)
		if (!strcmp(type, known_layer_types[i]))
			return (int)i;
	return -1;
}

static bool digest_text_ok(const char *d)
{
	if (strncmp(d, "sha256:", 7) || strlen(d) != 71)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int eu_oci_manifest_layer(const char *json, size_t len, const char *content_type,
			  struct eu_oci_layer *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return eu_error_set(err, -EBADMSG, "the manifest is not a JSON object");
	}
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
	const char *type = cJSON_IsString(mt) ? mt->valuestring : content_type ? content_type : "";
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
	int ret = 0;
	if (strstr(type, "index") || strstr(type, "manifest.list") ||
	    cJSON_GetObjectItemCaseSensitive(root, "manifests")) {
		ret = eu_error_set(err, -EMEDIUMTYPE,
				   "this is an image index (a multi-platform image), not a package "
				   "or module artifact");
		goto out;
	}
	const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2 || !cJSON_IsArray(layers)) {
		ret = eu_error_set(err, -EBADMSG,
				   "not an image manifest (schemaVersion 2 with a layers array)");
		goto out;
	}
	int n = cJSON_GetArraySize(layers);
	const cJSON *pick = NULL;
	int best = 1 << 30;
	const cJSON *l;
	cJSON_ArrayForEach(l, layers) {
		const cJSON *lt = cJSON_GetObjectItemCaseSensitive(l, "mediaType");
		if (!cJSON_IsString(lt))
			continue;
		int r = known_rank(lt->valuestring);
		if (n == 1 && r < 0)
			r = 1 << 29; /* a single layer of another type: its bytes will tell */
		if (r >= 0 && r < best) {
			best = r;
			pick = l;
		}
	}
	if (!pick) {
		ret = eu_error_set(err, -EMEDIUMTYPE,
				   "the manifest has %d layers and none is a package or a Wasm module "
				   "(media types %s, %s, %s)", n, EU_OCI_TYPE_PACKAGE,
				   EU_OCI_TYPE_PACKAGE_TAR, EU_OCI_TYPE_WASM);
		goto out;
	}
	const cJSON *lt = cJSON_GetObjectItemCaseSensitive(pick, "mediaType");
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(pick, "digest");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(pick, "size");
	if (!cJSON_IsString(dg) || !digest_text_ok(dg->valuestring)) {
		ret = eu_error_set(err, -EBADMSG, "the layer's digest is missing or not sha256:<hex>");
		goto out;
	}
	if (!cJSON_IsNumber(sz) || sz->valuedouble < 0 || sz->valuedouble > 9007199254740992.0) {
		ret = eu_error_set(err, -EBADMSG, "the layer's size is missing or invalid");
		goto out;
	}
	out->media_type = strdup(lt->valuestring);
	out->digest = strdup(dg->valuestring);
	out->size = (uint64_t)sz->valuedouble;
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(pick, "annotations");
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(ann, "org.opencontainers.image.title");
	if (cJSON_IsString(title) && title->valuestring[0])
		out->title = strdup(title->valuestring);
	if (!out->media_type || !out->digest) {
		eu_oci_layer_free(out);
		ret = eu_error_set(err, -ENOMEM, "out of memory");
	}
out:
	cJSON_Delete(root);
	return ret;
}

int eu_oci_manifest_write(eu_buf *out, const char *media_type, const char *digest,
			  uint64_t size, const char *title)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *config = cJSON_CreateObject();
	cJSON *layers = cJSON_CreateArray();
	cJSON *layer = cJSON_CreateObject();
	if (!root || !config || !layers || !layer) {
		cJSON_Delete(root);
		cJSON_Delete(config);
		cJSON_Delete(layers);
		cJSON_Delete(layer);
		return -ENOMEM;
	}
	cJSON_AddNumberToObject(root, "schemaVersion", 2);
	cJSON_AddStringToObject(root, "mediaType", EU_OCI_TYPE_MANIFEST);
	cJSON_AddStringToObject(root, "artifactType", EU_OCI_TYPE_ARTIFACT);
	cJSON_AddStringToObject(config, "mediaType", EU_OCI_TYPE_EMPTY);
	cJSON_AddStringToObject(config, "digest", EMPTY_DIGEST);
	cJSON_AddNumberToObject(config, "size", 2);
	cJSON_AddItemToObject(root, "config", config);
	cJSON_AddStringToObject(layer, "mediaType", media_type);
	cJSON_AddStringToObject(layer, "digest", digest);
	cJSON_AddNumberToObject(layer, "size", (double)size);
	if (title) {
		cJSON *ann = cJSON_AddObjectToObject(layer, "annotations");
		if (ann)
			cJSON_AddStringToObject(ann, "org.opencontainers.image.title", title);
	}
	cJSON_AddItemToArray(layers, layer);
	cJSON_AddItemToObject(root, "layers", layers);
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	eu_buf_puts(out, text);
	free(text);
	return out->oom ? -ENOMEM : 0;
}
