#include "eu_net.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eu_agent.h"

static struct sockaddr_in loopback(uint16_t port)
{
	return (struct sockaddr_in){.sin_family = AF_INET,
				    .sin_port = htons(port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

uint16_t eu_unused_loopback_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0, "socket: %s", strerror(errno));
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int bound = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(s, (struct sockaddr *)&a, &len) == 0;
	int err = errno;
	close(s);
	cr_assert(bound, "no free loopback port: %s", strerror(err));
	return ntohs(a.sin_port);
}

bool eu_loopback_port_listens(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	struct sockaddr_in a = loopback(port);
	bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

pid_t eu_http_serve_dir(const char *dir, uint16_t *port)
{
	*port = eu_unused_loopback_port();
	char port_s[8];
	snprintf(port_s, sizeof(port_s), "%u", *port);
	pid_t server = eu_spawn((const char *const[]){"/usr/bin/python3", "-m", "http.server",
						      "--bind", "127.0.0.1", "--directory", dir,
						      port_s, NULL});
	cr_assert_gt(server, 0, "could not start python3 -m http.server");
	for (int tries = 0; !eu_loopback_port_listens(*port) && tries < 100; tries++)
		usleep(50 * 1000);
	cr_assert(eu_loopback_port_listens(*port),
		  "the test http server (python3 -m http.server) did not start on port %u", *port);
	return server;
}
