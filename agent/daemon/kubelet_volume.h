/* Files of a kubelet-managed volume (ConfigMap, Secret, projected), which the ordinary
 * ownership rule (security.h) would refuse: the kubelet makes the volume's root directory
 * world-writable (0777, 1777 on tmpfs, 2777 with an fsGroup) and publishes the payload through
 * its "atomic writer":
 *
 *   ROOT/..2026_11_25_09_00_00.123456789/   the payload, a directory 0755 owned by root,
 *                                           its files (mode defaultMode, 0644) owned by root
 *   ROOT/..data -> ..2026_11_25_09_00_00.123456789
 *   ROOT/KEY    -> ..data/KEY                one link per key
 *
 * and an update writes a new timestamped directory, renames a ..data_tmp link over ..data
 * (the swap is atomic), adds links for new keys, removes those of gone keys and the old
 * directory.
 *
 * The world-writable root lets anyone who can reach it rearrange links, never change what
 * root wrote; so a file there is trusted only when all of this holds: ROOT is owned by root;
 * ..data is a link whose text is one timestamped name of exactly the kubelet's form, a real
 * directory in ROOT (not a link), owned by root and writable by nobody else; KEY is a link
 * whose text is exactly "..data/KEY"; and the file opened in that directory (without
 * following a link) is a regular file owned by root and writable by nobody else. Each is
 * checked on the descriptor that is then read, so a swap in between cannot slip in other
 * bytes. Anything short of this is refused, naming the step that failed; an ordinary
 * world-writable directory (no ..data) keeps the ordinary refusal. */
#ifndef EUNOMIA_KUBELET_VOLUME_H
#define EUNOMIA_KUBELET_VOLUME_H

#include <stdbool.h>

#include "eunomia/error.h"

/* Whether dir holds a ..data entry (a kubelet volume, or something posing as one). */
bool eu_kubelet_volume_is(const char *dir);

/* Opens dir/name (O_RDONLY|O_NONBLOCK) after the checks above: the descriptor in *fd, or
 * -EPERM with the failed step named (other errors as they come, e.g. -ENOENT). */
int eu_kubelet_volume_open(const char *dir, const char *name, int *fd, eu_error *err);

/* Whether s is a name the kubelet's atomic writer gives a payload directory:
 * "..YYYY_MM_DD_HH_MM_SS." then digits. */
bool eu_kubelet_payload_name(const char *s);

#endif
