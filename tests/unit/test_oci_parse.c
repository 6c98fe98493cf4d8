/* What the OCI client reads from users and registries: image references, WWW-Authenticate
 * challenges, manifests (which layer is the package) and docker's credentials. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "fetch/oci.h"
#include "fetch/oci_priv.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void ref_is(const char *s, const char *registry, const char *repo, const char *tag,
		   const char *digest)
{
	struct eu_oci_ref r;
	eu_error err = {0};
	cr_assert_eq(eu_oci_ref_parse(s, &r, &err), 0, "%s: %s", s, err.msg);
	cr_expect_str_eq(r.registry, registry, "%s", s);
	cr_expect_str_eq(r.repository, repo, "%s", s);
	if (tag)
		cr_expect_str_eq(r.tag, tag, "%s", s);
	else
		cr_expect_null(r.tag, "%s", s);
	if (digest)
		cr_expect_str_eq(r.digest, digest, "%s", s);
	else
		cr_expect_null(r.digest, "%s", s);
	eu_oci_ref_free(&r);
}

Test(oci_ref, registries_repositories_tags_digests)
{
	ref_is("ghcr.io/eunomia-bpf/sigsnoop:latest", "ghcr.io", "eunomia-bpf/sigsnoop", "latest", NULL);
	ref_is("localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000", "a/b/c", "v1.2-rc_3", NULL);
	ref_is("localhost/x", "localhost", "x", "latest", NULL);
	ref_is("127.0.0.1:5000/x@sha256:" D64, "127.0.0.1:5000", "x", NULL, "sha256:" D64);
	ref_is("reg.example:443/x:t@sha256:" D64, "reg.example:443", "x", "t", "sha256:" D64);
	/* Docker Hub, as docker expands it */
	ref_is("alpine", "registry-1.docker.io", "library/alpine", "latest", NULL);
	ref_is("docker.io/eunomia/bootstrap:v1", "registry-1.docker.io", "eunomia/bootstrap", "v1", NULL);
	ref_is("index.docker.io/busybox:1", "registry-1.docker.io", "library/busybox", "1", NULL);
	ref_is("user/repo", "registry-1.docker.io", "user/repo", "latest", NULL);
	ref_is("a__b-c/e---f.g", "registry-1.docker.io", "a__b-c/e---f.g", "latest", NULL);
}

Test(oci_ref, bad_references_say_why)
{
	static const char *const bad[] = {
		"", "Upper/case", "ghcr.io/x:", "ghcr.io/x:-tag", "ghcr.io/x@sha256:abc",
		"ghcr.io/x@md5:" D64, "ghcr.io/x@sha256:" D64 "0", "ghcr.io//x", "ghcr.io/x/",
		"ghcr.io/-x", "ghcr.io/x..y", "ghcr.io/x___y", "ghcr.io/x:" "t" D64 D64,
		"bad host!/x:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct eu_oci_ref r;
		eu_error err = {0};
		cr_expect_eq(eu_oci_ref_parse(bad[i], &r, &err), -EINVAL, "'%s' was accepted", bad[i]);
		cr_expect_neq(err.msg[0], '\0', "'%s': no message", bad[i]);
	}
}

Test(oci_ref, run_takes_only_unmistakable_references)
{
	cr_expect(eu_oci_is_reference("ghcr.io/eunomia-bpf/sigsnoop:latest"));
	cr_expect(eu_oci_is_reference("localhost:5000/x:v1"));
	cr_expect(eu_oci_is_reference("x@sha256:" D64));
	/* file names, paths and URLs are never taken for images */
	cr_expect_not(eu_oci_is_reference("package.json"));
	cr_expect_not(eu_oci_is_reference("build.d/x.json"));
	cr_expect_not(eu_oci_is_reference("./ghcr.io/x:1"));
	cr_expect_not(eu_oci_is_reference("/abs/ghcr.io/x:1"));
	cr_expect_not(eu_oci_is_reference("https://ghcr.io/x:1"));
	cr_expect_not(eu_oci_is_reference("sigsnoop:latest"));
	cr_expect_not(eu_oci_is_reference("ghcr.io/x"));
}

Test(oci_auth, challenges)
{
	struct eu_oci_challenge c;
	cr_assert_eq(eu_oci_challenge_parse(
			     "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
			     "scope=\"repository:library/alpine:pull\"", &c), 0);
	cr_expect_str_eq(c.scheme, "Bearer");
	cr_expect_str_eq(c.realm, "https://auth.docker.io/token");
	cr_expect_str_eq(c.service, "registry.docker.io");
	cr_expect_str_eq(c.scope, "repository:library/alpine:pull");
	eu_oci_challenge_free(&c);
	cr_assert_eq(eu_oci_challenge_parse("Basic realm=\"a \\\"quoted\\\", realm\"", &c), 0);
	cr_expect_str_eq(c.scheme, "Basic");
	cr_expect_str_eq(c.realm, "a \"quoted\", realm");
	cr_expect_null(c.service);
	eu_oci_challenge_free(&c);
	cr_assert_eq(eu_oci_challenge_parse("Bearer   realm=tok,  service = x", &c), 0);
	cr_expect_str_eq(c.realm, "tok");
	eu_oci_challenge_free(&c);
	cr_expect_neq(eu_oci_challenge_parse("", &c), 0);
	cr_expect_neq(eu_oci_challenge_parse("AnOverlyLongSchemeName realm=x", &c), 0);
}

Test(oci_auth, docker_config_credentials)
{
	/* "alice:s3cret" */
	const char *cfg = "{\"auths\":{\"https://reg.example:5000/v1/\":{\"auth\":\"YWxpY2U6czNjcmV0\"},"
			  "\"other.example\":{\"username\":\"bob\",\"password\":\"pw\"},"
			  "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1Yg==\"}},"
			  "\"credHelpers\":{\"ecr.example\":\"ecr-login\"}}";
	char *helper = NULL;
	char *c = eu_oci_docker_config_auth(cfg, strlen(cfg), "reg.example:5000", &helper);
	cr_expect_str_eq(c, "alice:s3cret");
	free(c);
	c = eu_oci_docker_config_auth(cfg, strlen(cfg), "other.example", &helper);
	cr_expect_str_eq(c, "bob:pw");
	free(c);
	c = eu_oci_docker_config_auth(cfg, strlen(cfg), "registry-1.docker.io", &helper);
	cr_expect_str_eq(c, "hub:hub");
	free(c);
	c = eu_oci_docker_config_auth(cfg, strlen(cfg), "ecr.example", &helper);
	cr_expect_null(c);
	cr_expect_str_eq(helper, "ecr-login");
	free(helper);
	c = eu_oci_docker_config_auth(cfg, strlen(cfg), "reg.example", &helper);
	cr_expect_null(c, "a registry on another port must not get these credentials");
	cr_expect_null(helper);
	c = eu_oci_docker_config_auth("{", 1, "x", &helper);
	cr_expect_null(c);
}

#define LAYER(type, digest, size) \
	"{\"mediaType\":\"" type "\",\"digest\":\"" digest "\",\"size\":" #size "}"

Test(oci_manifest, picks_our_layer)
{
	const char *m = "{\"schemaVersion\":2,\"layers\":[" LAYER("application/x-other", "sha256:" D64, 1)
			"," LAYER(EU_OCI_TYPE_WASM, "sha256:" D64, 5) "]}";
	struct eu_oci_layer l;
	eu_error err = {0};
	cr_assert_eq(eu_oci_manifest_layer(m, strlen(m), NULL, &l, &err), 0, "%s", err.msg);
	cr_expect_str_eq(l.media_type, EU_OCI_TYPE_WASM);
	cr_expect_eq(l.size, 5);
	eu_oci_layer_free(&l);
	/* a single layer of any type: its bytes will tell */
	const char *one = "{\"schemaVersion\":2,\"layers\":[" LAYER("application/x-other", "sha256:" D64, 7)
			  "]}";
	cr_assert_eq(eu_oci_manifest_layer(one, strlen(one), NULL, &l, &err), 0, "%s", err.msg);
	cr_expect_eq(l.size, 7);
	eu_oci_layer_free(&l);
}

Test(oci_manifest, refuses_what_is_not_an_artifact)
{
	static const char *const bad[] = {
		"[]", "{\"schemaVersion\":1,\"layers\":[]}",
		"{\"schemaVersion\":2,\"manifests\":[]}",
		"{\"schemaVersion\":2,\"layers\":[" LAYER("a/b", "sha256:" D64, 1) "," LAYER("c/d", "sha256:" D64, 1) "]}",
		"{\"schemaVersion\":2,\"layers\":[" LAYER(EU_OCI_TYPE_PACKAGE, "sha256:12", 1) "]}",
		"{\"schemaVersion\":2,\"layers\":[" LAYER(EU_OCI_TYPE_PACKAGE, "sha256:" D64, -1) "]}",
		"{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"" EU_OCI_TYPE_PACKAGE "\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct eu_oci_layer l;
		eu_error err = {0};
		cr_expect_neq(eu_oci_manifest_layer(bad[i], strlen(bad[i]), NULL, &l, &err), 0,
			      "accepted: %s", bad[i]);
		cr_expect_neq(err.msg[0], '\0', "no message for %s", bad[i]);
	}
	struct eu_oci_layer l;
	eu_error err = {0};
	const char *idx = "{\"schemaVersion\":2,\"manifests\":[]}";
	eu_oci_manifest_layer(idx, strlen(idx), EU_OCI_TYPE_INDEX, &l, &err);
	cr_expect(strstr(err.msg, "multi-platform"), "%s", err.msg);
}

Test(oci_manifest, written_manifest_reads_back)
{
	eu_buf b;
	eu_buf_init(&b);
	cr_assert_eq(eu_oci_manifest_write(&b, EU_OCI_TYPE_PACKAGE, "sha256:" D64, 1234, "p.json"), 0);
	struct eu_oci_layer l;
	eu_error err = {0};
	cr_assert_eq(eu_oci_manifest_layer(b.data, b.len, NULL, &l, &err), 0, "%s", err.msg);
	cr_expect_str_eq(l.media_type, EU_OCI_TYPE_PACKAGE);
	cr_expect_str_eq(l.digest, "sha256:" D64);
	cr_expect_eq(l.size, 1234);
	cr_expect_str_eq(l.title, "p.json");
	eu_oci_layer_free(&l);
	eu_buf_free(&b);
}

Test(oci_manifest, content_tells_its_type)
{
	cr_expect_str_eq(eu_oci_media_type_of("\0asm\1\0\0\0", 8), EU_OCI_TYPE_WASM);
	cr_expect_str_eq(eu_oci_media_type_of(" \n{\"x\":1}", 9), EU_OCI_TYPE_PACKAGE);
	char tar[512] = "package.json";
	memcpy(tar + 257, "ustar", 5);
	cr_expect_str_eq(eu_oci_media_type_of(tar, sizeof(tar)), EU_OCI_TYPE_PACKAGE_TAR);
	cr_expect_null(eu_oci_media_type_of("\x7f" "ELF", 4));
	cr_expect_null(eu_oci_media_type_of("", 0));
}
