/* Ownership checks and ed25519 detached signatures (security.h). */
#include "security.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/file.h"
#include "kubelet_volume.h"

#define ED25519_SIG_LEN 64
#define SIG_FILE_MAX 4096

struct eu_trust {
	EVP_PKEY **keys;
	size_t n;
};

static int check_fd_owner(int fd, const char *path, eu_error *err);

int eu_security_check_owner(const char *path, eu_error *err)
{
	/* O_PATH: a directory or a file we may not read still has an owner and a mode */
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return eu_error_set(err, -errno, "%s: %s", path, strerror(errno));
	int ret = check_fd_owner(fd, path, err);
	close(fd);
	return ret;
}

/* The ordinary rule on an open file: owned by root or us, writable by nobody else. */
static int check_fd_owner(int fd, const char *path, eu_error *err)
{
	struct stat st;
	if (fstat(fd, &st))
		return eu_error_set(err, -errno, "%s: %s", path, strerror(errno));
	uid_t me = geteuid();
	if (st.st_uid != 0 && st.st_uid != me)
		return eu_error_set(err, -EPERM,
				    "%s: refused: owned by uid %u, not by root: anyone who owns it can "
				    "run code in the kernel (chown root, or --insecure-watch-dir)",
				    path, (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return eu_error_set(err, -EPERM,
				    "%s: refused: %s-writable (mode %04o): anyone who can write it can "
				    "run code in the kernel (chmod go-w, or --insecure-watch-dir)",
				    path, (st.st_mode & S_IWOTH) ? "world" : "group",
				    (unsigned)(st.st_mode & 07777));
	return 0;
}

int eu_security_read_watched(const char *path, size_t max, void **data, size_t *len,
			     eu_error *err)
{
	*data = NULL;
	*len = 0;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : path;
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = -1;
	int ret = eu_security_check_owner(dir, err);
	if (ret == -EPERM && eu_kubelet_volume_is(dir)) {
		ret = eu_kubelet_volume_open(dir, name, &fd, err);
	} else if (!ret) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return eu_error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
		ret = check_fd_owner(fd, path, err);
	}
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return eu_file_read_fd(fd, path, max, data, len, err);
}

static bool key_file_name(const char *n)
{
	size_t l = strlen(n);
	return n[0] != '.' && ((l > 4 && !strcmp(n + l - 4, ".pem")) ||
			       (l > 4 && !strcmp(n + l - 4, ".pub")));
}

int eu_trust_load_dir(const char *dir, struct eu_trust **out, eu_error *err)
{
	*out = NULL;
	DIR *dh = opendir(dir);
	if (!dh)
		return eu_error_set(err, -errno, "trusted keys %s: %s", dir, strerror(errno));
	struct eu_trust *t = calloc(1, sizeof(*t));
	if (!t) {
		closedir(dh);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (!key_file_name(de->d_name))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "re");
		if (!f) {
			ret = eu_error_set(err, -errno, "trusted key %s: %s", path, strerror(errno));
			break;
		}
		EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		fclose(f);
		if (!k || EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
			EVP_PKEY_free(k);
			ret = eu_error_set(err, -EINVAL,
					   "trusted key %s: not a PEM ed25519 public key", path);
			break;
		}
		EVP_PKEY **nk = realloc(t->keys, (t->n + 1) * sizeof(*nk));
		if (!nk) {
			EVP_PKEY_free(k);
			ret = eu_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		t->keys = nk;
		t->keys[t->n++] = k;
	}
	closedir(dh);
	if (!ret && !t->n)
		ret = eu_error_set(err, -ENOKEY, "trusted keys %s: no *.pem or *.pub ed25519 key there",
				   dir);
	if (ret) {
		eu_trust_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

size_t eu_trust_key_count(const struct eu_trust *t)
{
	return t ? t->n : 0;
}

int eu_trust_verify(const struct eu_trust *t, const void *data, size_t len, const void *sig,
		    size_t sig_len, eu_error *err)
{
	unsigned char raw[ED25519_SIG_LEN];
	if (!sig || !sig_len)
		return eu_error_set(err, -EKEYREJECTED, "no signature (signatures are required)");
	if (sig_len == ED25519_SIG_LEN) {
		memcpy(raw, sig, sizeof(raw));
	} else {
		uint8_t *dec;
		size_t dl;
		if (eu_base64_decode(sig, sig_len, &dec, &dl, NULL) || dl != ED25519_SIG_LEN) {
			if (dec)
				free(dec);
			return eu_error_set(err, -EKEYREJECTED,
					    "malformed signature: expected 64 bytes or their base64");
		}
		memcpy(raw, dec, sizeof(raw));
		free(dec);
	}
	for (size_t i = 0; t && i < t->n; i++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (!ctx)
			return eu_error_set(err, -ENOMEM, "out of memory");
		int ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, t->keys[i]) == 1 &&
			 EVP_DigestVerify(ctx, raw, sizeof(raw), data, len) == 1;
		EVP_MD_CTX_free(ctx);
		if (ok)
			return 0;
	}
	return eu_error_set(err, -EKEYREJECTED, "bad signature: no trusted key signed these bytes");
}

int eu_trust_verify_sig_of(const struct eu_trust *t, const char *path, const void *data,
			   size_t len, eu_error *err)
{
	void *sig;
	size_t sn;
	char sig_path[4096];
	snprintf(sig_path, sizeof(sig_path), "%s.sig", path);
	eu_error sig_err = {0};
	int ret = eu_file_read(sig_path, SIG_FILE_MAX, &sig, &sn, &sig_err);
	if (ret)
		return eu_error_set(err, -EKEYREJECTED, "%s: refused: no signature (%s)", path,
				    sig_err.msg);
	ret = eu_trust_verify(t, data, len, sig, sn, err);
	free(sig);
	return ret ? eu_error_prefix(err, "%s: refused", path) : 0;
}

int eu_trust_verify_file(const struct eu_trust *t, const char *path, size_t max, void **data,
			 size_t *len, eu_error *err)
{
	*data = NULL;
	*len = 0;
	void *bytes;
	size_t n;
	int ret = eu_file_read(path, max, &bytes, &n, err);
	if (!ret)
		ret = eu_trust_verify_sig_of(t, path, bytes, n, err);
	if (ret) {
		free(bytes);
		return ret;
	}
	*data = bytes;
	*len = n;
	return 0;
}

void eu_trust_free(struct eu_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		EVP_PKEY_free(t->keys[i]);
	free(t->keys);
	free(t);
}
