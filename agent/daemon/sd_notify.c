/* Readiness notification to systemd (notify.h), through libsystemd's sd_notify: it knows the
 * protocol's corners (abstract sockets, credentials, vsock) better than a hand-rolled sendto. */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

/* sd_notify returns >0 when sent, 0 when NOTIFY_SOCKET is unset, <0 on error. */
static int send_state(const char *state)
{
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	int ret = sd_notify(0, state);
	return ret < 0 ? ret : 0;
}

void eu_notify_format_status(char *out, size_t size, size_t n_dirs, size_t loaded,
			     size_t failed)
{
	if (!size)
		return;
	snprintf(out, size, "watching %zu director%s, %zu package%s loaded, %zu failed", n_dirs,
		 n_dirs == 1 ? "y" : "ies", loaded, loaded == 1 ? "" : "s", failed);
}

static int send_with_status(const char *head, const char *status)
{
	char msg[512];
	if (status)
		snprintf(msg, sizeof(msg), "%s%sSTATUS=%s", head, *head ? "\n" : "", status);
	else
		snprintf(msg, sizeof(msg), "%s", head);
	return send_state(msg);
}

int eu_notify_ready(const char *status)
{
	return send_with_status("READY=1", status);
}

int eu_notify_stopping(void)
{
	return send_with_status("STOPPING=1", "stopping: flushing sinks");
}

int eu_notify_reloading(void)
{
	return send_with_status("RELOADING=1", "reloading the config");
}

int eu_notify_status(const char *status)
{
	return status ? send_with_status("", status) : 0;
}
