/* How long `eunomia-agent run PKG` takes from exec to "attached" (everything a user waits
 * for: process start, reading and inflating the package, open, parameters, load, attach),
 * beside the floor: plain libbpf open_mem + load + attach of the same object in this process.
 *
 *	run_attach_bench [RUNS] [PKG]     (root; defaults: 20 runs, the bootstrap plugin)
 *
 * Prints median and p90 of both and their ratio. Detaching is not timed. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eunomia/package.h"

#ifndef EU_AGENT_BIN
#define EU_AGENT_BIN "eunomia-agent"
#endif
#ifndef EU_BENCH_PKG
#define EU_BENCH_PKG "plugins/bootstrap/package.json"
#endif

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* One agent run: ms from fork to the "attached" line on its stderr, or -1. */
static double agent_once(const char *pkg)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(p[1], 2);
		execl(EU_AGENT_BIN, EU_AGENT_BIN, "run", pkg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	char buf[8192];
	size_t len = 0;
	double t = -1;
	while (len < sizeof(buf) - 1) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		if (poll(&pf, 1, 10000) <= 0)
			break;
		ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "attached")) {
			t = now_ms() - t0;
			break;
		}
	}
	if (t < 0)
		fprintf(stderr, "run_attach_bench: the agent did not attach:\n%s\n", buf);
	kill(pid, SIGINT);
	waitpid(pid, NULL, 0);
	close(p[0]);
	return t;
}

/* One in-process open_mem + load + attach of the package's object. */
static double libbpf_once(const struct eu_package *pkg)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = pkg->obj_name);
	double t0 = now_ms();
	struct bpf_object *obj = bpf_object__open_mem(pkg->object, pkg->object_size, &opts);
	if (!obj || bpf_object__load(obj)) {
		bpf_object__close(obj);
		return -1;
	}
	struct bpf_link *links[64];
	size_t n = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_link *l = bpf_program__attach(prog);
		if (!l || n == 64) {
			bpf_link__destroy(l);
			n = 0;
			break;
		}
		links[n++] = l;
	}
	double t = n ? now_ms() - t0 : -1;
	while (n)
		bpf_link__destroy(links[--n]);
	bpf_object__close(obj);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	int i = (int)(q * (n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 20;
	const char *pkg_path = argc > 2 ? argv[2] : EU_BENCH_PKG;
	if (runs < 1)
		runs = 1;
	libbpf_set_print(silent);
	struct eu_package *pkg = NULL;
	eu_error err;
	if (eu_package_read_file(pkg_path, &pkg, &err)) {
		fprintf(stderr, "run_attach_bench: %s\n", err.msg);
		return 1;
	}
	double *agent = calloc((size_t)runs, sizeof(double));
	double *plain = calloc((size_t)runs, sizeof(double));
	if (!agent || !plain)
		return 1;
	/* interleaved, so both see the same machine state; one warm-up each */
	agent_once(pkg_path);
	libbpf_once(pkg);
	for (int i = 0; i < runs; i++) {
		/* let the kernel finish freeing the previous run (RCU, deferred frees) first */
		usleep(100 * 1000);
		agent[i] = agent_once(pkg_path);
		usleep(100 * 1000);
		plain[i] = libbpf_once(pkg);
		if (agent[i] < 0 || plain[i] < 0) {
			fprintf(stderr, "run_attach_bench: run %d failed (root? %s)\n", i, pkg_path);
			return 1;
		}
	}
	double a50 = quantile(agent, runs, 0.5), a90 = quantile(agent, runs, 0.9);
	double l50 = quantile(plain, runs, 0.5), l90 = quantile(plain, runs, 0.9);
	printf("run_attach_bench: %s, %d runs\n", pkg_path, runs);
	printf("  eunomia-agent run, exec -> attached   median %7.2f ms   p90 %7.2f ms\n", a50, a90);
	printf("  libbpf open_mem+load+attach (in-proc) median %7.2f ms   p90 %7.2f ms\n", l50, l90);
	printf("  ratio agent / libbpf                  median %7.2fx     p90 %7.2fx\n",
	       l50 > 0 ? a50 / l50 : 0, l90 > 0 ? a90 / l90 : 0);
	free(agent);
	free(plain);
	eu_package_free(pkg);
	return 0;
}
