/* Events per second through the daemon, beside the limit: a count-only libbpf consumer of the
 * same ring buffer (same package, same generator, nothing done per event but counting).
 *
 *	daemon_throughput [EVENTS] [RATE...]     (root; default 1000000 events; rates per second,
 *	                                          0 = as fast as one CPU can call getppid())
 *
 * The source is bench/bpf/flood: one 40-byte record per getppid() of this process. For each
 * rate the bench runs the count-only consumer in-process, then the daemon with a stdout sink
 * (to /dev/null), with a file sink, and with the stdout sink plus metric rules (a counter with
 * two labels and a histogram, fed by every event), and prints the delivered share, the
 * losses: kernel (ring full: eu_ringbuf_reserve failures) and sink (queue full or write
 * error), and the daemon's CPU time per delivered event (user + system, from wait4). */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eunomia/package.h"
#include "eunomia/params.h"
#include "eunomia/program.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls getppid() n times at `rate` per second (0: flat out); returns the seconds taken. */
static double generate(long n, double rate)
{
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		syscall(SYS_getppid);
		if (rate > 0 && (i & 255) == 0) {
			double due = t0 + (double)i / rate;
			while (now_s() < due)
				;
		}
	}
	return now_s() - t0;
}

struct counted {
	volatile long n;
	volatile bool stop;
	struct ring_buffer *rb;
};

static int count_cb(void *ctx, void *data, size_t size)
{
	((struct counted *)ctx)->n++;
	return 0;
}

static void *poll_main(void *arg)
{
	struct counted *c = arg;
	while (!c->stop)
		ring_buffer__poll(c->rb, 100);
	ring_buffer__consume(c->rb);
	return NULL;
}

static unsigned long long percpu_drops(struct bpf_object *obj)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "eu_rb_drops");
	int ncpu = libbpf_num_possible_cpus();
	if (!m || ncpu <= 0)
		return 0;
	unsigned long long *v = calloc((size_t)ncpu, sizeof(*v)), sum = 0;
	unsigned zero = 0;
	if (v && bpf_map__lookup_elem(m, &zero, sizeof(zero), v, sizeof(*v) * (size_t)ncpu, 0) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

static int count_only(long n, double rate, double *secs, long *got, unsigned long long *lost)
{
	struct eu_package *pkg = NULL;
	struct eu_program *prog = NULL;
	eu_error err = {0};
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	struct eu_program_opts po = {.sz = sizeof(po)};
	if (eu_package_read_file(EU_FLOOD_PKG, &pkg, &err) ||
	    eu_program_open(pkg, &po, &prog, &err))
		goto fail;
	struct eu_params *p = eu_program_params(prog);
	int idx = eu_params_find(p, "target_pid");
	if (idx < 0 || eu_params_set(p, (size_t)idx, pid, &err) || eu_program_load(prog, &err) ||
	    eu_program_attach(prog, &err))
		goto fail;
	struct counted c = {0};
	struct bpf_map *m = bpf_object__find_map_by_name(eu_program_object(prog), "rb");
	c.rb = ring_buffer__new(bpf_map__fd(m), count_cb, &c, NULL);
	pthread_t t;
	pthread_create(&t, NULL, poll_main, &c);
	*secs = generate(n, rate);
	usleep(200000);
	c.stop = true;
	pthread_join(t, NULL);
	*got = c.n;
	*lost = percpu_drops(eu_program_object(prog));
	ring_buffer__free(c.rb);
	eu_program_close(prog);
	eu_package_free(pkg);
	return 0;
fail:
	fprintf(stderr, "daemon_throughput: count-only consumer: %s\n", err.msg);
	eu_program_close(prog);
	eu_package_free(pkg);
	return -1;
}

static char logbuf[1 << 20];
static size_t loglen;

static void read_log(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t r = read(fd, logbuf + loglen, sizeof(logbuf) - 1 - loglen);
		if (r <= 0)
			break;
		loglen += (size_t)r;
		logbuf[loglen] = '\0';
		timeout_ms = 0;
	}
}

static unsigned long long field(const char *from, const char *key)
{
	const char *k = from ? strstr(from, key) : NULL;
	return k ? strtoull(k + strlen(key), NULL, 10) : 0;
}

/* Metric rules over every flood event: what the per-event metrics cost is measured with. */
static const char metrics_config[] =
	"packages:\n"
	"  flood:\n"
	"    metrics:\n"
	"      counters:\n"
	"        - name: flood_events\n"
	"          labels: [{name: comm}, {name: cpu}]\n"
	"      histograms:\n"
	"        - name: flood_cpu\n"
	"          field: cpu\n"
	"          buckets: [0, 1, 2, 4, 8]\n";

/* Runs the daemon with one sink (and a config, when given) over a dir holding the flood
 * package and its sidecar. */
static int via_daemon(const char *sink, const char *config, long n, double rate, double *secs,
		      long *records, unsigned long long *lost, unsigned long long *sink_drops,
		      double *cpu_s)
{
	char dir[] = "/tmp/eu-dmn-tp-XXXXXX", cmd[512], cfg_path[64];
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp %s %s/flood.json && echo '{\"target_pid\": %d}' > %s/flood.params.json",
		 EU_FLOOD_PKG, dir, (int)getpid(), dir);
	if (system(cmd))
		return -1;
	snprintf(cfg_path, sizeof(cfg_path), "%s/agent.yaml", dir);
	FILE *cf = fopen(cfg_path, "w");
	if (!cf || fputs(config ? config : "{}\n", cf) < 0 || fclose(cf))
		return -1;
	char sinkarg[256];
	snprintf(sinkarg, sizeof(sinkarg), "%s%s", sink, strcmp(sink, "file:") ? "" : dir);
	if (!strcmp(sink, "file:"))
		strncat(sinkarg, "/events.jsonl", sizeof(sinkarg) - strlen(sinkarg) - 1);
	int err[2];
	if (pipe(err))
		return -1;
	loglen = 0;
	logbuf[0] = '\0';
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(err[1], 2);
		execl(EU_DAEMON_BIN, EU_DAEMON_BIN, "--config", cfg_path, "--watch", dir, "--sink",
		      sinkarg, "--api", "none", (char *)NULL);
		_exit(127);
	}
	close(err[1]);
	double deadline = now_s() + 20;
	while (!strstr(logbuf, "ready:") && now_s() < deadline)
		read_log(err[0], 100);
	if (!strstr(logbuf, " attached in ")) {
		fprintf(stderr, "daemon_throughput: the daemon did not load flood:\n%s\n", logbuf);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	usleep(100000);
	*secs = generate(n, rate);
	usleep(300000);
	kill(pid, SIGTERM);
	int st;
	struct rusage ru;
	while (wait4(pid, &st, WNOHANG, &ru) == 0)
		read_log(err[0], 50);
	*cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	read_log(err[0], 100);
	close(err[0]);
	const char *pkgline = strstr(logbuf, "counters: package flood");
	const char *sinkline = strstr(logbuf, "counters: sink");
	*records = (long)field(pkgline, "records ");
	*lost = field(pkgline, "lost ");
	*sink_drops = field(sinkline, "dropped ");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	double rates_default[] = {100000, 300000, 0};
	double *rates = rates_default;
	int n_rates = 3;
	if (argc > 2) {
		n_rates = argc - 2;
		rates = calloc((size_t)n_rates, sizeof(double));
		for (int i = 0; i < n_rates; i++)
			rates[i] = atof(argv[i + 2]);
	}
	printf("%ld events per run; delivered = records out of events generated\n", n);
	printf("%-10s %-16s %12s %10s %8s %12s %9s %10s\n", "rate", "consumer", "offered/s",
	       "delivered", "ratio", "kernel lost", "sink drop", "CPU/event");
	for (int r = 0; r < n_rates; r++) {
		double secs;
		long got;
		unsigned long long lost;
		char rate_s[32];
		if (rates[r] > 0)
			snprintf(rate_s, sizeof(rate_s), "%.0fk/s", rates[r] / 1000);
		else
			snprintf(rate_s, sizeof(rate_s), "max");
		if (count_only(n, rates[r], &secs, &got, &lost))
			return 1;
		double base = (double)got;
		printf("%-10s %-16s %12.0f %9.1f%% %8s %12llu %9s %10s\n", rate_s, "count-only",
		       (double)n / secs, 100.0 * (double)got / (double)n, "1.00", lost, "-", "-");
		const struct {
			const char *label, *sink, *config;
		} runs[] = {
			{"daemon stdout", "stdout", NULL},
			{"daemon file", "file:", NULL},
			{"stdout+metrics", "stdout", metrics_config},
		};
		double plain_cpu_ev = 0;
		for (size_t s = 0; s < sizeof(runs) / sizeof(runs[0]); s++) {
			long rec;
			unsigned long long sd;
			double cpu;
			if (via_daemon(runs[s].sink, runs[s].config, n, rates[r], &secs, &rec, &lost,
				       &sd, &cpu)) {
				fprintf(stderr, "daemon_throughput: the daemon run failed:\n%s\n", logbuf);
				return 1;
			}
			double cpu_ev = rec > 0 ? cpu * 1e9 / (double)rec : 0;
			if (s == 0)
				plain_cpu_ev = cpu_ev;
			char cpu_s[48];
			if (runs[s].config && plain_cpu_ev > 0)
				snprintf(cpu_s, sizeof(cpu_s), "%.0f ns (%.2fx)", cpu_ev,
					 cpu_ev / plain_cpu_ev);
			else
				snprintf(cpu_s, sizeof(cpu_s), "%.0f ns", cpu_ev);
			printf("%-10s %-16s %12.0f %9.1f%% %8.2f %12llu %9llu %10s\n", rate_s,
			       runs[s].label, (double)n / secs, 100.0 * (double)rec / (double)n,
			       base > 0 ? (double)rec / base : 0.0, lost, sd, cpu_s);
		}
	}
	return 0;
}
