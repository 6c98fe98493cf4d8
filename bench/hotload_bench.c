/* The daemon's hot-load, end to end: a package renamed into the watched directory until its
 * first event is on the daemon's stdout, beside a plain libbpf loader of the same object
 * (bench/libbpf_baseline.c, exec'd) in the same run, interleaved. The daemon runs twice: as
 * shipped (the kernel BTF parsed once, a trimmed BTF per package) and with EUNOMIA_BTF_TRIM=0
 * (libbpf parses the kernel BTF on every load), so the ratio says what the cache buys.
 *
 *	hotload_bench [N] [PKG] [OBJ]     (root; defaults: 20 loads, the bootstrap plugin)
 *
 * Each load is a new version (the package plus i trailing spaces, so a new sha256): its first
 * record is recognised by its "version"; the previous version is removed first, so only one
 * is loaded. Events come from execs this bench makes every 5 ms while it waits (bootstrap
 * reports every exec): the figure includes up to 5 ms of waiting for the next exec. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/codec.h"

#ifndef EU_DAEMON_BIN
#define EU_DAEMON_BIN "eunomia-agent"
#endif

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct daemon {
	pid_t pid;
	int out, err;        /* its stdout (records) and stderr (log) */
	char *log;           /* stderr so far */
	size_t log_len;
	char line[1 << 16];  /* the stdout line being read */
	size_t line_len;
};

static void drain_log(struct daemon *d)
{
	char buf[8192];
	ssize_t n;
	while ((n = read(d->err, buf, sizeof(buf))) > 0) {
		d->log = realloc(d->log, d->log_len + (size_t)n + 1);
		memcpy(d->log + d->log_len, buf, (size_t)n);
		d->log_len += (size_t)n;
		d->log[d->log_len] = '\0';
	}
}

static bool start_daemon(struct daemon *d, const char *dir, bool trim)
{
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return false;
	memset(d, 0, sizeof(*d));
	d->pid = fork();
	if (d->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (!trim)
			setenv("EUNOMIA_BTF_TRIM", "0", 1);
		/* an empty trimmed-BTF store of its own: the first load pays the kernel BTF
		 * parse as a daemon's first load on a fresh boot does */
		char store[600];
		snprintf(store, sizeof(store), "%s.btf-store", dir);
		setenv("EUNOMIA_BTF_CACHE_DIR", store, 1);
		execl(EU_DAEMON_BIN, EU_DAEMON_BIN, "--watch", dir, "--api", "none", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	d->out = out[0];
	d->err = err[0];
	fcntl(d->out, F_SETFL, O_NONBLOCK);
	fcntl(d->err, F_SETFL, O_NONBLOCK);
	for (double end = now_ms() + 20000; now_ms() < end;) {
		drain_log(d);
		if (d->log && strstr(d->log, "ready:"))
			return true;
		usleep(5000);
	}
	fprintf(stderr, "hotload_bench: the daemon did not start:\n%s\n", d->log ? d->log : "");
	return false;
}

static void stop_daemon(struct daemon *d)
{
	kill(d->pid, SIGTERM);
	waitpid(d->pid, NULL, 0);
	close(d->out);
	close(d->err);
	free(d->log);
}

static void exec_true(void)
{
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Reads records until one carries version; execs every 5 ms meanwhile. ms, or -1. *attach
 * gets the ms to the daemon's attached_count'th "programs attached" line. */
static double wait_record(struct daemon *d, const char *version, double t0, int attached_count,
			  double *attach)
{
	*attach = -1;
	char needle[64];
	snprintf(needle, sizeof(needle), "\"version\":\"%s\"", version);
	double last_exec = 0;
	while (now_ms() - t0 < 10000) {
		if (*attach < 0) {
			drain_log(d);
			if (count(d->log, "programs attached") >= attached_count)
				*attach = now_ms() - t0;
		}
		if (now_ms() - last_exec >= 5) {
			exec_true();
			last_exec = now_ms();
		}
		while (waitpid(-1, NULL, WNOHANG) > 0) {
		}
		struct pollfd p = {.fd = d->out, .events = POLLIN};
		if (poll(&p, 1, 1) <= 0)
			continue;
		char buf[16384];
		ssize_t n = read(d->out, buf, sizeof(buf));
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (d->line_len < sizeof(d->line) - 1)
					d->line[d->line_len++] = buf[i];
				continue;
			}
			d->line[d->line_len] = '\0';
			d->line_len = 0;
			if (strstr(d->line, needle))
				return now_ms() - t0;
		}
	}
	return -1;
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

/* The baseline loader: its in-process open -> attached (ms) and exec -> exit. */
static bool baseline(const char *obj, double *inproc, double *wall)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return false;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl(EU_BASELINE_BIN, EU_BASELINE_BIN, obj, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[256];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	*wall = now_ms() - t0;
	const char *at = strstr(buf, " in ");
	if (!WIFEXITED(st) || WEXITSTATUS(st) || !at)
		return false;
	*inproc = strtod(at + 4, NULL);
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double q(double *v, int n, double f)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[(int)(f * (n - 1) + 0.5)];
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 4096);
	*len = fread(p, 1, (size_t)n, f);
	fclose(f);
	return p;
}

/* One load of a new version; ms from rename to its first record, or -1. */
static double hot_load(struct daemon *d, const char *dir, const char *data, size_t len, int i,
		       double *attach)
{
	char tmp[512], dst[512];
	snprintf(tmp, sizeof(tmp), "%s/.staging", dir);
	snprintf(dst, sizeof(dst), "%s/p%03d.%s", dir, i, strstr(data, "ustar") ? "tar" : "json");
	FILE *f = fopen(tmp, "wb");
	fwrite(data, 1, len, f);
	size_t extra = strstr(data, "ustar") ? 0 : (size_t)i + 1;
	for (size_t k = 0; k < extra; k++)
		fputc(' ', f);
	fclose(f);
	char *copy = read_all(tmp, &len);
	uint8_t sha[EU_SHA256_LEN];
	char hex[2 * EU_SHA256_LEN + 1];
	eu_sha256(copy, len, sha);
	eu_sha256_hex(sha, hex);
	hex[12] = '\0';
	free(copy);
	double t0 = now_ms();
	if (rename(tmp, dst))
		return -1;
	double t = wait_record(d, hex, t0, i + 1, attach);
	drain_log(d);
	reap();
	unlink(dst);  /* detached while the bench sleeps before the next load */
	return t;
}

static bool phase(const char *label, bool trim, int n, const char *pkg, const char *obj,
		  double *ratio)
{
	char dir[] = "/tmp/eu-hotload-XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "hotload_bench: mkdtemp %s: %s\n", dir, strerror(errno));
		return false;
	}
	size_t len;
	char *data = read_all(pkg, &len);
	if (!data) {
		fprintf(stderr, "hotload_bench: cannot read the package %s: %s (build the plugins: "
				"cmake --build build --target eu_plugins)\n", pkg, strerror(errno));
		return false;
	}
	struct daemon d;
	if (!start_daemon(&d, dir, trim))
		return false;
	double *hot = calloc((size_t)n, sizeof(double)), *in = calloc((size_t)n, sizeof(double)),
	       *wall = calloc((size_t)n, sizeof(double)), *att = calloc((size_t)n, sizeof(double));
	double warm_in, warm_wall, warm_att;
	/* one warm-up each: the first hot-load pays the daemon's kernel BTF parse */
	double first = hot_load(&d, dir, data, len, 0, &warm_att);
	baseline(obj, &warm_in, &warm_wall);
	bool ok = first >= 0;
	for (int i = 0; ok && i < n; i++) {
		usleep(200000);
		hot[i] = hot_load(&d, dir, data, len, i + 1, &att[i]);
		usleep(200000);
		ok = hot[i] >= 0 && baseline(obj, &in[i], &wall[i]);
	}
	if (!ok) {
		drain_log(&d);
		fprintf(stderr, "hotload_bench: a load failed:\n%s\n", d.log ? d.log : "");
	} else {
		double h50 = q(hot, n, 0.5), h90 = q(hot, n, 0.9);
		double i50 = q(in, n, 0.5), i90 = q(in, n, 0.9);
		double w50 = q(wall, n, 0.5);
		double a50 = q(att, n, 0.5), a90 = q(att, n, 0.9);
		printf("%s\n", label);
		printf("  first hot-load (kernel BTF parse, trial open)   %7.2f ms\n", first);
		printf("  hot-load, rename -> first event     median %7.2f ms   p90 %7.2f ms\n", h50, h90);
		printf("  hot-load, rename -> attached (log)  median %7.2f ms   p90 %7.2f ms\n", a50, a90);
		printf("  libbpf open+load+attach (in-proc)   median %7.2f ms   p90 %7.2f ms\n", i50, i90);
		printf("  libbpf baseline, exec -> exit       median %7.2f ms\n", w50);
		printf("  ratio hot-load / libbpf             median %7.2fx    p90 %7.2fx\n", h50 / i50,
		       h90 / i90);
		printf("  ratio rename->attached / libbpf     median %7.2fx    p90 %7.2fx\n", a50 / i50,
		       a90 / i90);
		*ratio = h50 / i50;
	}
	stop_daemon(&d);
	char cmd[192];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s.btf-store", dir, dir);
	ok = ok && system(cmd) == 0;
	free(hot);
	free(in);
	free(wall);
	free(att);
	free(data);
	return ok;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	const char *pkg = argc > 2 ? argv[2] : EU_BENCH_PKG;
	const char *obj = argc > 3 ? argv[3] : EU_BENCH_OBJ;
	if (n < 1)
		n = 1;
	printf("hotload_bench: %s (object %s), %d loads per daemon\n", pkg, obj, n);
	double with, without;
	if (!phase("daemon as shipped (kernel BTF parsed once, trimmed BTF per package):", true, n,
		   pkg, obj, &with) ||
	    !phase("daemon with EUNOMIA_BTF_TRIM=0 (libbpf parses the kernel BTF per load):", false,
		   n, pkg, obj, &without))
		return 1;
	printf("hot-load ratio to plain libbpf: %.2fx as shipped, %.2fx without trimming\n", with,
	       without);
	return 0;
}
