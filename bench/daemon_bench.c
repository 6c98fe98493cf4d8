/* The daemon's hot-load latency and memory: a bootstrap package renamed into the watched
 * directory until the daemon logs its programs attached (median, p90, max over N loads), and
 * the daemon's RSS with 1 and with 20 packages loaded.
 *
 *	daemon_bench [N]      (root; N loads, default 30)
 *
 * The time is taken outside the daemon: from just before rename() to the moment its
 * "attached" log line is read from its stderr pipe. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char logbuf[1 << 22];
static size_t loglen;

/* Reads stderr until `count` occurrences of needle are in the log; false on timeout. */
static bool wait_log(int fd, const char *needle, int count, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	for (;;) {
		int n = 0;
		for (const char *p = logbuf; (p = strstr(p, needle)); p += strlen(needle))
			n++;
		if (n >= count)
			return true;
		double left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t r = read(fd, logbuf + loglen, sizeof(logbuf) - 1 - loglen);
		if (r <= 0)
			return false;
		loglen += (size_t)r;
		logbuf[loglen] = '\0';
	}
}

/* VmRSS counts the ring buffers the daemon maps (bootstrap's is 8 MiB, mapped twice for
 * wrap-around: kernel memory, populated at mmap); RssAnon is the daemon's own heap. */
static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			kb = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void copy_file(const char *src, const char *dst)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	if (system(cmd))
		fprintf(stderr, "daemon_bench: %s failed\n", cmd);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 30;
	if (n < 1)
		n = 1;
	char dir[] = "/tmp/eu-dmn-bench-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int err[2];
	if (pipe(err))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(err[1], 2);
		close(err[0]);
		execl(EU_DAEMON_BIN, EU_DAEMON_BIN, "--watch", dir, (char *)NULL);
		_exit(127);
	}
	close(err[1]);
	if (!wait_log(err[0], "ready:", 1, 20000)) {
		fprintf(stderr, "daemon_bench: the daemon did not start:\n%s\n", logbuf);
		return 1;
	}
	long rss0 = status_kb(pid, "VmRSS:"), anon0 = status_kb(pid, "RssAnon:");

	double *lat = calloc((size_t)n, sizeof(double));
	char tmp[256], dst[256];
	for (int i = 0; i < n; i++) {
		snprintf(tmp, sizeof(tmp), "%s/.staging", dir);
		snprintf(dst, sizeof(dst), "%s/b%03d.json", dir, i);
		copy_file(EU_BENCH_PKG, tmp);
		double t0 = now_ms();
		if (rename(tmp, dst)) {
			perror("rename");
			return 1;
		}
		if (!wait_log(err[0], "programs attached", i + 1, 10000)) {
			fprintf(stderr, "daemon_bench: load %d timed out:\n%s\n", i, logbuf);
			return 1;
		}
		lat[i] = now_ms() - t0;
		if (i == 0) {
			usleep(300000);
			printf("idle daemon:          VmRSS %6ld KiB, RssAnon %6ld KiB\n", rss0, anon0);
			printf("with 1 package:       VmRSS %6ld KiB, RssAnon %6ld KiB\n",
			       status_kb(pid, "VmRSS:"), status_kb(pid, "RssAnon:"));
		}
		/* keep 20 loaded at the RSS mark, then unload down to few */
		if (i == 19) {
			usleep(300000);
			printf("with 20 packages:     VmRSS %6ld KiB, RssAnon %6ld KiB\n",
			       status_kb(pid, "VmRSS:"), status_kb(pid, "RssAnon:"));
		}
		if (i >= 19) {
			snprintf(dst, sizeof(dst), "%s/b%03d.json", dir, i);
			unlink(dst);
			if (!wait_log(err[0], "removed: detaching", i - 18, 10000))
				fprintf(stderr, "daemon_bench: removal %d not seen\n", i);
		}
	}
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("hot-load latency (rename into the watched dir -> programs attached), %d loads:\n", n);
	printf("  median %.1f ms, p90 %.1f ms, min %.1f ms, max %.1f ms\n", lat[n / 2],
	       lat[(int)(n * 0.9) < n ? (int)(n * 0.9) : n - 1], lat[0], lat[n - 1]);
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	free(lat);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
