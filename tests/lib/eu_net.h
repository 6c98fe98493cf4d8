/* Loopback ports for tests that start a real server of their own (openssl s_server, python's
 * http.server, Prometheus) or need an endpoint that refuses connections (an exporter whose
 * collector is down). Loopback only: tests never reach the network. */
#ifndef EU_NET_H
#define EU_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A 127.0.0.1 TCP port nothing listens on: the kernel picks it (bind to port 0), and the
 * socket is closed before returning, so a connection to it is refused until someone binds
 * it. Fails the running test when no port can be had. */
uint16_t eu_unused_loopback_port(void);

/* Whether something accepts TCP connections on 127.0.0.1:port. */
bool eu_loopback_port_listens(uint16_t port);

/* python3 -m http.server serving dir on 127.0.0.1 at an unused port (*port), started with
 * eu_spawn; returns once it accepts connections (the test fails after 5 s if it does not).
 * The caller stops it: kill(pid, SIGTERM) and eu_wait_pid. */
pid_t eu_http_serve_dir(const char *dir, uint16_t *port);

#endif
