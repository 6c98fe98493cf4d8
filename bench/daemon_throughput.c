/* Events per second through the daemon, beside the limit: a count-only libbpf consumer of the
 * same ring buffer (same package, same generator, nothing done per event but counting).
 *
 *	daemon_throughput [EVENTS] [RATE...]     (root; default 1000000 events; rates per second,
 *	                                          0 = as fast as one CPU can call getppid())
 *
 * The source is bench/bpf/flood: one 40-byte record per getppid() of this process. For each
 * rate the bench runs, one after the other on the same generator:
 *   count-only      the libbpf consumer in-process (the limit)
 *   daemon stdout   the daemon, stdout sink to /dev/null
 *   run --json      `eunomia-agent run --json` of the same package to /dev/null: the ratio of
 *                   the daemon's CPU per event to this one is printed (target <= 1.5x)
 *   daemon file     a file sink
 *   otlp http       the otlp sink, http/protobuf with gzip, to a real HTTP receiver on
 *                   loopback (tests/lib, a thread of this process): CPU per record and its
 *                   ratio to the file sink's (target <= 2x)
 *   otlp grpc       the same over gRPC (h2c) to grpcio's server (tests/lib) in its benchmark
 *                   mode: it counts each call and its bytes but does not decode the request
 *                   (decoding, ~30k records/s in Python, was slower than the agent sends: the
 *                   records waiting for it grew the agent's queue and heap, a growth a real
 *                   collector does not cause; it took 2920 ns/record against 1720 without it
 *                   in one run on a loaded machine)
 *   stdout+metrics  the stdout sink plus metric rules (a counter with two labels and a
 *                   histogram, fed by every event)
 *   stdout+api      the stdout sink with the control API on (a unix socket) and nobody
 *                   reading its event streams: what keeping every record for them costs
 * and prints the delivered share (otlp: acknowledged by the receiver), the losses: kernel
 * (ring full: eu_ringbuf_reserve failures) and sink (every reason: queue full, write error;
 * otlp: exporter queue full, not retryable, retries exhausted, at shutdown, printed by reason
 * when any), and the agent's CPU time per delivered event (user + system of all its threads,
 * from /proc/PID/stat read before the events and after they were delivered: start-up and
 * exit are not counted).
 *
 * DAEMON_THROUGHPUT_CALLGRIND=1 runs each daemon row under callgrind (instrumented from just
 * before the events to the daemon's exit) and prints instructions per delivered event (Ir)
 * instead of CPU time: a figure a machine loaded by other work does not move. Use a rate the
 * daemon keeps up with under valgrind (e.g. 20000 events at 20000/s: the ring buffer holds
 * them while it drains). */
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

#include "eu_grpc_receiver.h"
#include "eu_http_receiver.h"
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

/* The number right before `key` on the line at from ("180224 exported"), or 0. */
static unsigned long long number_before(const char *from, const char *key)
{
	const char *eol = from ? strchr(from, '\n') : NULL;
	const char *k = from ? strstr(from, key) : NULL;
	if (!k || (eol && k > eol))
		return 0;
	const char *p = k;
	while (p > from && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoull(p, NULL, 10);
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

struct run_result {
	double secs;
	long records;                  /* delivered: written, or (otlp) acknowledged */
	unsigned long long lost;       /* in the kernel: ring full */
	unsigned long long sink_drops; /* every reason */
	double cpu_s;
};

/* CPU seconds (user + system, every thread) the process has used so far, from
 * /proc/PID/stat: read around the event window, so start-up (the kernel BTF parse, the load)
 * and exit are not charged to the events. -1 when unreadable. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* comm may hold blanks */
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Stops the agent (SIGTERM) and takes its CPU time from wait4, reading its log meanwhile. */
static int reap(pid_t pid, int logfd, double *cpu_s)
{
	kill(pid, SIGTERM);
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	double deadline = now_s() + 30;
	pid_t w;
	while ((w = wait4(pid, &st, WNOHANG, &ru)) == 0 && now_s() < deadline)
		read_log(logfd, 50);
	if (w == 0) {
		kill(pid, SIGKILL);
		wait4(pid, &st, 0, &ru);
	}
	*cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	read_log(logfd, 100);
	close(logfd);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Starts argv with stdout to /dev/null and stderr to a pipe; waits for `ready` in its log. */
static pid_t spawn_agent(const char *const *argv, const char *ready, int *logfd)
{
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
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(err[1]);
	double deadline = now_s() + (getenv("DAEMON_THROUGHPUT_CALLGRIND") ? 300 : 20);
	while (!strstr(logbuf, ready) && now_s() < deadline)
		read_log(err[0], 100);
	if (!strstr(logbuf, ready)) {
		fprintf(stderr, "daemon_throughput: %s did not start:\n%s\n", argv[0], logbuf);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(err[0]);
		return -1;
	}
	*logfd = err[0];
	return pid;
}

/* `eunomia-agent run --json` of the flood package (-v: its counters at exit). */
static int via_run(long n, double rate, struct run_result *r)
{
	char pid_s[32];
	snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
	const char *argv[] = {EU_DAEMON_BIN, "run", EU_FLOOD_PKG, "--json", "-v", "--target_pid",
			      pid_s, NULL};
	int logfd;
	pid_t pid = spawn_agent(argv, " attached ", &logfd);
	if (pid < 0)
		return -1;
	usleep(100000);
	double cpu0 = proc_cpu_s(pid);
	r->secs = generate(n, rate);
	usleep(300000);
	double cpu1 = proc_cpu_s(pid);
	int ret = reap(pid, logfd, &r->cpu_s);
	if (cpu0 >= 0 && cpu1 >= 0)
		r->cpu_s = cpu1 - cpu0;
	const char *line = strstr(logbuf, "decoded ");
	r->records = (long)field(line, "decoded ");
	r->lost = field(line, "lost ") + field(line, "reserve failures ");
	r->sink_drops = 0;
	return ret;
}

/* Runs the daemon with one sink (and a config, when given) over a dir holding the flood
 * package and its sidecar. Sinks "otlp-http" and "otlp-grpc" get a receiver on loopback. */
static int via_daemon(const char *sink, const char *config, bool api, long n, double rate,
		      struct run_result *r)
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
	struct eu_http_receiver *hrx = NULL;
	struct eu_grpc_receiver *grx = NULL;
	bool otlp = !strncmp(sink, "otlp-", 5);
	if (!strcmp(sink, "otlp-http")) {
		hrx = eu_http_receiver_start(0);
		if (!hrx)
			return -1;
		snprintf(sinkarg, sizeof(sinkarg), "otlp:http://127.0.0.1:%u",
			 eu_http_receiver_port(hrx));
		setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	} else if (!strcmp(sink, "otlp-grpc")) {
		const char *why = NULL;
		struct eu_grpc_receiver_opts o = {.no_record = true};
		grx = eu_grpc_receiver_start(&o, &why);
		if (!grx) {
			fprintf(stderr, "daemon_throughput: gRPC receiver: %s\n", why);
			return -1;
		}
		snprintf(sinkarg, sizeof(sinkarg), "otlp:http://127.0.0.1:%u",
			 eu_grpc_receiver_port(grx));
		setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	} else {
		snprintf(sinkarg, sizeof(sinkarg), "%s%s", sink, strcmp(sink, "file:") ? "" : dir);
		if (!strcmp(sink, "file:"))
			strncat(sinkarg, "/events.jsonl", sizeof(sinkarg) - strlen(sinkarg) - 1);
	}
	/* gzip on; an exporter queue that holds the whole run (a receiver that falls behind
	 * must not make the agent drop: what is measured is the agent's CPU per record), and
	 * batches of 4096 records: one request is in flight at a time, so 512 (the default)
	 * would need a round trip under 5 ms at 100k/s */
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	char qsize[32];
	snprintf(qsize, sizeof(qsize), "%ld", n > 131072 ? n : 131072);
	setenv("OTEL_BLRP_MAX_QUEUE_SIZE", qsize, 1);
	setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "4096", 1);
	char api_arg[96], cg_out[96];
	snprintf(api_arg, sizeof(api_arg), "unix:%s/api.sock", dir);
	snprintf(cg_out, sizeof(cg_out), "--callgrind-out-file=%s/cg.out", dir);
	bool cg = getenv("DAEMON_THROUGHPUT_CALLGRIND") != NULL;
	const char *argv[16];
	size_t an = 0;
	if (cg) {
		argv[an++] = "/usr/bin/valgrind";
		argv[an++] = "--tool=callgrind";
		argv[an++] = "--instr-atstart=no";
		argv[an++] = cg_out;
	}
	const char *args[] = {EU_DAEMON_BIN, "--config", cfg_path, "--watch", dir, "--sink",
			      sinkarg, "--api", api ? api_arg : "none", NULL};
	memcpy(argv + an, args, sizeof(args));
	int logfd;
	pid_t pid = spawn_agent(argv, "ready:", &logfd);
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
	unsetenv("OTEL_BLRP_MAX_QUEUE_SIZE");
	unsetenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE");
	int ret = -1;
	if (pid < 0)
		goto out;
	if (!strstr(logbuf, " attached in ")) {
		fprintf(stderr, "daemon_throughput: the daemon did not load flood:\n%s\n", logbuf);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(logfd);
		goto out;
	}
	usleep(100000);
	if (cg) {
		snprintf(cmd, sizeof(cmd), "callgrind_control -i on %d >/dev/null 2>&1", (int)pid);
		if (system(cmd))
			fprintf(stderr, "daemon_throughput: %s failed\n", cmd);
	}
	double cpu0 = proc_cpu_s(pid);
	r->secs = generate(n, rate);
	usleep(300000);
	if (otlp) {
		/* the exporter may still be sending: wait until the receiver saw no request for
		 * 3 s (at most 90 s), so its CPU is counted and nothing is cut off at exit */
		size_t seen = 0, now_n;
		double quiet = now_s(), limit = now_s() + 90;
		while (now_s() < limit && now_s() - quiet < 3.0) {
			now_n = hrx ? eu_http_receiver_count(hrx) : eu_grpc_receiver_count(grx);
			if (now_n != seen) {
				seen = now_n;
				quiet = now_s();
			}
			read_log(logfd, 100);
		}
	}
	double cpu1 = proc_cpu_s(pid);
	ret = reap(pid, logfd, &r->cpu_s);
	if (cpu0 >= 0 && cpu1 >= 0)
		r->cpu_s = cpu1 - cpu0;
	if (cg) {
		/* instructions as "CPU seconds" of 1e9 instructions: printed per event as Ir */
		snprintf(cmd, sizeof(cmd), "%s/cg.out", dir);
		FILE *f = fopen(cmd, "r");
		char line[256];
		r->cpu_s = 0;
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "summary: ", 9) || !strncmp(line, "totals: ", 8))
				r->cpu_s = strtod(strchr(line, ' ') + 1, NULL) / 1e9;
		if (f)
			fclose(f);
	}
	const char *keep = getenv("DAEMON_THROUGHPUT_LOGS"); /* a directory: each run's log */
	if (keep) {
		char lp[512];
		snprintf(lp, sizeof(lp), "%s/%s.log", keep, sink[0] ? sink : "sink");
		FILE *lf = fopen(lp, "w");
		if (lf) {
			fputs(logbuf, lf);
			fclose(lf);
		}
	}
	const char *pkgline = strstr(logbuf, "counters: package flood");
	const char *sinkline = strstr(logbuf, "counters: sink");
	r->records = (long)field(pkgline, "records ");
	r->lost = field(pkgline, "lost ");
	r->sink_drops = field(sinkline, "dropped ");
	if (otlp) {
		/* delivered is what the receiver acknowledged, from the exporter's final
		 * counters: "... (final): Q queued, E exported, ...; dropped D: N reason, ..." */
		const char *fin = strstr(logbuf, "(final): ");
		r->records = (long)number_before(fin, " exported");
		r->sink_drops = field(sinkline, "in the sink queue ") + field(fin, "dropped ");
		/* what the exporter did, drops by reason included */
		const char *lines[] = {fin, sinkline};
		for (int i = 0; i < 2; i++) {
			if (!lines[i])
				continue;
			const char *eol = strchr(lines[i], '\n');
			fprintf(stderr, "  %s: %.*s\n", sink,
				(int)(eol ? eol - lines[i] : (long)strlen(lines[i])), lines[i]);
		}
	}
out:
	if (hrx)
		eu_http_receiver_stop(hrx);
	if (grx)
		eu_grpc_receiver_stop(grx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return -1;
	return ret;
}

/* Whether label holds one of the comma-separated words of only. */
static bool label_wanted(const char *label, const char *only)
{
	while (*only) {
		size_t n = strcspn(only, ",");
		char word[64];
		if (n && n < sizeof(word)) {
			memcpy(word, only, n);
			word[n] = '\0';
			if (strstr(label, word))
				return true;
		}
		only += n + (only[n] == ',');
	}
	return false;
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
	const char *unit = getenv("DAEMON_THROUGHPUT_CALLGRIND") ? "Ir" : "ns";
	printf("%-10s %-16s %12s %10s %8s %12s %9s %10s\n", "rate", "consumer", "offered/s",
	       "delivered", "ratio", "kernel lost", "sink drop",
	       *unit == 'I' ? "Ir/event" : "CPU/event");
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
		enum { PLAIN, RUN, FILESINK, OTLP, METRICS, API };
		const struct {
			const char *label, *sink, *config;
			int role;
		} runs[] = {
			{"daemon stdout", "stdout", NULL, PLAIN},
			{"run --json", NULL, NULL, RUN},
			{"daemon file", "file:", NULL, FILESINK},
			{"otlp http+gzip", "otlp-http", NULL, OTLP},
			{"otlp grpc+gzip", "otlp-grpc", NULL, OTLP},
			{"stdout+metrics", "stdout", metrics_config, METRICS},
			{"stdout+api", "stdout", NULL, API},
		};
		double plain_cpu_ev = 0, file_cpu_ev = 0;
		/* DAEMON_THROUGHPUT_ONLY=otlp: only the rows whose label has that text;
		 * "file,grpc": those with either */
		const char *only = getenv("DAEMON_THROUGHPUT_ONLY");
		for (size_t s = 0; s < sizeof(runs) / sizeof(runs[0]); s++) {
			if (only && !label_wanted(runs[s].label, only))
				continue;
			struct run_result res = {0};
			int ret = runs[s].role == RUN ? via_run(n, rates[r], &res)
						      : via_daemon(runs[s].sink, runs[s].config,
								   runs[s].role == API, n,
								   rates[r], &res);
			if (ret) {
				fprintf(stderr, "daemon_throughput: the %s run failed:\n%s\n",
					runs[s].label, logbuf);
				return 1;
			}
			double cpu_ev = res.records > 0 ? res.cpu_s * 1e9 / (double)res.records : 0;
			char cpu_s[64];
			snprintf(cpu_s, sizeof(cpu_s), "%.0f %s", cpu_ev, unit);
			if (runs[s].role == PLAIN)
				plain_cpu_ev = cpu_ev;
			if (runs[s].role == FILESINK)
				file_cpu_ev = cpu_ev;
			/* the ratios the README quotes, measured side by side in this run */
			if (runs[s].role == RUN && cpu_ev > 0)
				snprintf(cpu_s, sizeof(cpu_s), "%.0f ns (daemon stdout %.2fx)", cpu_ev,
					 plain_cpu_ev / cpu_ev); /* run is never under callgrind */
			if (runs[s].role == OTLP && file_cpu_ev > 0)
				snprintf(cpu_s, sizeof(cpu_s), "%.0f %s (%.2fx file)", cpu_ev, unit,
					 cpu_ev / file_cpu_ev);
			if ((runs[s].role == METRICS || runs[s].role == API) && plain_cpu_ev > 0)
				snprintf(cpu_s, sizeof(cpu_s), "%.0f %s (%.2fx)", cpu_ev, unit,
					 cpu_ev / plain_cpu_ev);
			printf("%-10s %-16s %12.0f %9.1f%% %8.2f %12llu %9llu %10s\n", rate_s,
			       runs[s].label, (double)n / res.secs,
			       100.0 * (double)res.records / (double)n,
			       base > 0 ? (double)res.records / base : 0.0,
			       res.lost, res.sink_drops, cpu_s);
			fflush(stdout);
		}
	}
	return 0;
}
