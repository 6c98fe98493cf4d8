/* Service-manager readiness (systemd's sd_notify protocol, through libsystemd): lets a unit
 * with Type=notify know when the agent is really up, i.e. when the packages already in the
 * watched directories are loaded and attached, not merely when the process started.
 *
 * Every call is a no-op returning 0 when NOTIFY_SOCKET is not set (not started by systemd or
 * a compatible supervisor), so the daemon calls them unconditionally. A failure to reach the
 * supervisor is returned (negative errno) but never fatal: the caller may log it. */
#ifndef EUNOMIA_NOTIFY_H
#define EUNOMIA_NOTIFY_H

#include <stddef.h>

/* The STATUS= text for the daemon's package counts, e.g. "watching 1 directory, 3 packages
 * loaded, 0 failed" (what `systemctl status` shows). Always NUL-terminated. */
void eu_notify_format_status(char *out, size_t size, size_t n_dirs, size_t loaded,
			     size_t failed);

/* READY=1 with STATUS=status (status may be NULL). */
int eu_notify_ready(const char *status);
/* STOPPING=1: shutdown has begun (systemd waits for the exit, not for a timeout guess). */
int eu_notify_stopping(void);
/* RELOADING=1 (a SIGHUP reload begins; eu_notify_ready ends it). */
int eu_notify_reloading(void);
/* STATUS= only. */
int eu_notify_status(const char *status);

#endif
