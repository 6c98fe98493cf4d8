/* Writing a batch out to a file descriptor, shared by the fd-based sinks. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "sink_plugin.h"

int eu_sink_write_all(int fd, const char *data, size_t len, bool wait_eagain,
		      uint64_t *retries, size_t *done)
{
	size_t off = 0;
	int ret = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			if (off < len)
				(*retries)++;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			(*retries)++;
			continue;
		}
		if (n < 0 && errno == EAGAIN && wait_eagain) {
			/* this is the sink's writer thread: only it waits for room */
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			poll(&p, 1, 1000);
			(*retries)++;
			continue;
		}
		ret = n < 0 ? -errno : -EIO;
		break;
	}
	*done = off;
	return ret;
}
