/* Ownership checks and ed25519 detached signatures (security.h), with keys made here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eu_run_util.h"
#include "daemon/security.h"

static EVP_PKEY *new_key(const char *dir, const char *name)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	cr_assert(k);
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	cr_assert_eq(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	return k;
}

static void sign(EVP_PKEY *k, const void *data, size_t len, unsigned char sig[64])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t sl = 64;
	cr_assert_eq(EVP_DigestSignInit(c, NULL, NULL, NULL, k), 1);
	cr_assert_eq(EVP_DigestSign(c, sig, &sl, data, len), 1);
	cr_assert_eq(sl, 64);
	EVP_MD_CTX_free(c);
}

Test(security, verify_raw_base64_tampered_untrusted)
{
	char *dir = eu_tmpdir("trust");
	char keys[512];
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	mkdir(keys, 0700);
	EVP_PKEY *k1 = new_key(keys, "k1.pem");
	EVP_PKEY *k2 = new_key(dir, "other.pem");  /* not in the trusted dir */
	struct eu_trust *t;
	eu_error err = {0};
	cr_assert_eq(eu_trust_load_dir(keys, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_trust_key_count(t), 1);

	const char msg[] = "{\"bpf_object\": \"...\"}";
	unsigned char sig[64];
	sign(k1, msg, sizeof(msg) - 1, sig);
	cr_assert_eq(eu_trust_verify(t, msg, sizeof(msg) - 1, sig, 64, &err), 0, "%s", err.msg);
	unsigned char b64[100];
	int n = EVP_EncodeBlock(b64, sig, 64);
	b64[n++] = '\n';
	cr_assert_eq(eu_trust_verify(t, msg, sizeof(msg) - 1, b64, (size_t)n, &err), 0, "%s",
		     err.msg);
	/* one byte of the content changed */
	char bad[sizeof(msg)];
	memcpy(bad, msg, sizeof(msg));
	bad[3] ^= 1;
	cr_assert_eq(eu_trust_verify(t, bad, sizeof(msg) - 1, sig, 64, &err), -EKEYREJECTED);
	cr_assert(strstr(err.msg, "bad signature"), "%s", err.msg);
	/* signed by a key that is not trusted */
	sign(k2, msg, sizeof(msg) - 1, sig);
	cr_assert_eq(eu_trust_verify(t, msg, sizeof(msg) - 1, sig, 64, &err), -EKEYREJECTED);
	/* garbage and missing signatures */
	cr_assert_eq(eu_trust_verify(t, msg, sizeof(msg) - 1, "short", 5, &err), -EKEYREJECTED);
	cr_assert(strstr(err.msg, "malformed"), "%s", err.msg);
	cr_assert_eq(eu_trust_verify(t, msg, sizeof(msg) - 1, NULL, 0, &err), -EKEYREJECTED);

	/* files: path + path.sig, verified bytes handed back */
	char pkg[512], sigp[600];
	snprintf(pkg, sizeof(pkg), "%s/p.json", dir);
	snprintf(sigp, sizeof(sigp), "%s.sig", pkg);
	cr_assert_eq(eu_write_file(pkg, msg, sizeof(msg) - 1), 0);
	void *data;
	size_t len;
	cr_assert_eq(eu_trust_verify_file(t, pkg, 1 << 20, &data, &len, &err), -EKEYREJECTED);
	cr_assert(strstr(err.msg, "no signature"), "%s", err.msg);
	sign(k1, msg, sizeof(msg) - 1, sig);
	cr_assert_eq(eu_write_file(sigp, sig, 64), 0);
	cr_assert_eq(eu_trust_verify_file(t, pkg, 1 << 20, &data, &len, &err), 0, "%s", err.msg);
	cr_assert_eq(len, sizeof(msg) - 1);
	cr_assert_eq(memcmp(data, msg, len), 0);
	free(data);
	cr_assert_eq(eu_trust_verify_file(t, pkg, 4, &data, &len, &err), -EFBIG);

	eu_trust_free(t);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(security, key_dir_errors)
{
	char *dir = eu_tmpdir("trust2");
	struct eu_trust *t;
	eu_error err = {0};
	cr_assert_eq(eu_trust_load_dir(dir, &t, &err), -ENOKEY);
	char p[512];
	snprintf(p, sizeof(p), "%s/junk.pem", dir);
	cr_assert_eq(eu_write_file(p, "not a key", 9), 0);
	cr_assert_eq(eu_trust_load_dir(dir, &t, &err), -EINVAL);
	cr_assert(strstr(err.msg, "junk.pem"), "%s", err.msg);
	cr_assert_eq(eu_trust_load_dir("/nonexistent/keys", &t, &err), -ENOENT);
	eu_tmpdir_remove(dir);
	free(dir);
}

Test(security, owner_and_mode)
{
	char *dir = eu_tmpdir("owner");
	eu_error err = {0};
	chmod(dir, 0755);
	cr_assert_eq(eu_security_check_owner(dir, &err), 0, "%s", err.msg);
	chmod(dir, 0775);
	cr_assert_eq(eu_security_check_owner(dir, &err), -EPERM);
	cr_assert(strstr(err.msg, "group-writable"), "%s", err.msg);
	chmod(dir, 01777);
	cr_assert_eq(eu_security_check_owner(dir, &err), -EPERM);
	cr_assert(strstr(err.msg, "world-writable"), "%s", err.msg);
	cr_assert(strstr(err.msg, "--insecure-watch-dir"), "%s", err.msg);
	chmod(dir, 0700);
	char f[512];
	snprintf(f, sizeof(f), "%s/x.json", dir);
	cr_assert_eq(eu_write_file(f, "{}", 2), 0);
	chmod(f, 0644);
	cr_assert_eq(eu_security_check_owner(f, &err), 0);
	if (geteuid() == 0) {
		cr_assert_eq(chown(f, 65534, 65534), 0);
		cr_assert_eq(eu_security_check_owner(f, &err), -EPERM);
		cr_assert(strstr(err.msg, "owned by uid 65534"), "%s", err.msg);
	}
	eu_tmpdir_remove(dir);
	free(dir);
}
