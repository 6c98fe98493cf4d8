/* The ways in that carry code: who may write a watched directory, and detached signatures.
 *
 * Ownership: a watched directory or package file must belong to root (or to the agent's own
 * user) and be writable by nobody else (no group or world write bit), as sudo requires of
 * sudoers; otherwise any local user able to write there could run code in the kernel.
 *
 * Signatures: `X.sig` beside package `X` holds an ed25519 signature of X's exact bytes (raw
 * 64 bytes, or base64 of them), checked with OpenSSL against the PEM public keys of a trusted
 * directory before anything is parsed. `scripts/sign-package.sh` makes them. */
#ifndef EUNOMIA_SECURITY_H
#define EUNOMIA_SECURITY_H

#include <stdbool.h>
#include <stddef.h>

#include "eunomia/error.h"

/* 0, or -EPERM with a message saying who else may write it. */
int eu_security_check_owner(const char *path, eu_error *err);
/* Reads a watched file (a package, or a file belonging to one) when its directory and the
 * file pass the rule above, or when the directory is a kubelet volume and the file passes
 * kubelet_volume.h's rule; the bytes are those of the inode checked. */
int eu_security_read_watched(const char *path, size_t max, void **data, size_t *len,
			     eu_error *err);

struct eu_trust;
/* Every PEM public key (NAME.pem, NAME.pub) in dir, all ed25519; -ENOKEY when none. */
int eu_trust_load_dir(const char *dir, struct eu_trust **out, eu_error *err);
size_t eu_trust_key_count(const struct eu_trust *t);
/* 0 when one of the keys signed data; -EKEYREJECTED otherwise (malformed signature too). */
int eu_trust_verify(const struct eu_trust *t, const void *data, size_t len, const void *sig,
		    size_t sig_len, eu_error *err);
/* Reads path and path.sig (each at most max bytes) and verifies; on success *data and *len hold
 * the verified bytes (malloc'd) so they are parsed exactly as checked. */
int eu_trust_verify_file(const struct eu_trust *t, const char *path, size_t max, void **data,
			 size_t *len, eu_error *err);
/* Verifies data (the bytes read from path) against path.sig. */
int eu_trust_verify_sig_of(const struct eu_trust *t, const char *path, const void *data,
			   size_t len, eu_error *err);
void eu_trust_free(struct eu_trust *t);

#endif
