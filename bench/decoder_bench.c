/* decoder_bench: what one event costs to format, the plan-driven decoder against the naive
 * way (fprintf of each field into a buffered FILE*), measured side by side in one run on the
 * bootstrap example's event. Both write JSON lines to /dev/null through stdio buffering.
 *
 * usage: decoder_bench [EVENTS]   (default 2000000) */
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eunomia/decoder.h"

#include "bench_event.h"

static double bench_plan_json(const struct eu_plan *plan, const struct event *r, long n, FILE *f)
{
	eu_buf b;
	eu_buf_init(&b);
	double t0 = clock_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) {
		eu_plan_format_json(plan, &r[i % NREC], sizeof(*r), &b);
		eu_buf_putc(&b, '\n');
		if (b.len >= (1u << 16)) {
			fwrite(b.data, 1, b.len, f);
			eu_buf_reset(&b);
		}
	}
	fwrite(b.data, 1, b.len, f);
	fflush(f);
	double dt = clock_ns(CLOCK_MONOTONIC) - t0;
	eu_buf_free(&b);
	return dt / (double)n;
}

static double bench_plan_text(const struct eu_plan *plan, const struct event *r, long n, FILE *f)
{
	eu_buf b;
	eu_buf_init(&b);
	double t0 = clock_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) {
		eu_plan_text_row(plan, "12:34:56", &r[i % NREC], sizeof(*r), &b);
		eu_buf_putc(&b, '\n');
		if (b.len >= (1u << 16)) {
			fwrite(b.data, 1, b.len, f);
			eu_buf_reset(&b);
		}
	}
	fwrite(b.data, 1, b.len, f);
	fflush(f);
	double dt = clock_ns(CLOCK_MONOTONIC) - t0;
	eu_buf_free(&b);
	return dt / (double)n;
}

/* The naive formatter: what a hand-written consumer does (and does not escape strings). */
static double bench_naive(const struct event *r, long n, FILE *f)
{
	double t0 = clock_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) {
		const struct event *e = &r[i % NREC];
		fprintf(f,
			"{\"pid\":%d,\"ppid\":%d,\"exit_code\":%u,\"duration_ns\":%llu,"
			"\"comm\":\"%.16s\",\"filename\":\"%.127s\",\"exit_event\":%u}\n",
			e->pid, e->ppid, e->exit_code, e->duration_ns, e->comm, e->filename,
			e->exit_event);
	}
	fflush(f);
	return (clock_ns(CLOCK_MONOTONIC) - t0) / (double)n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	if (n <= 0)
		n = 2000000;
	struct btf *btf = btf__new_empty();
	int id = btf ? bootstrap_btf(btf) : -1;
	struct eu_plan *plan = NULL;
	eu_error err = {0};
	if (id < 0 || eu_plan_new(btf, (uint32_t)id, &plan, &err)) {
		fprintf(stderr, "decoder_bench: cannot plan the event: %s\n", err.msg);
		return 1;
	}
	static struct event recs[NREC];
	make_records(recs);
	FILE *f = fopen("/dev/null", "w");
	if (!f) {
		perror("decoder_bench: /dev/null");
		return 1;
	}
	static char fbuf[1 << 16];
	setvbuf(f, fbuf, _IOFBF, sizeof(fbuf));

	/* warm up caches and branch predictors for both sides */
	bench_plan_json(plan, recs, n / 10 + 1, f);
	bench_naive(recs, n / 10 + 1, f);

	/* interleave the runs so frequency scaling or noisy neighbours hit both alike */
	double plan_ns = 1e30, naive_ns = 1e30, text_ns = 1e30;
	for (int round = 0; round < 3; round++) {
		double a = bench_plan_json(plan, recs, n, f);
		double b = bench_naive(recs, n, f);
		double c = bench_plan_text(plan, recs, n, f);
		plan_ns = a < plan_ns ? a : plan_ns;
		naive_ns = b < naive_ns ? b : naive_ns;
		text_ns = c < text_ns ? c : text_ns;
	}
	printf("decoder_bench: bootstrap event (%zu bytes, %zu fields), %ld events x 3 rounds, best round\n",
	       eu_plan_size(plan), eu_plan_field_count(plan), n);
	printf("  plan JSON lines      %7.1f ns/event\n", plan_ns);
	printf("  naive fprintf JSON   %7.1f ns/event\n", naive_ns);
	printf("  plan text rows       %7.1f ns/event\n", text_ns);
	printf("  ratio naive/plan     %7.2fx\n", naive_ns / plan_ns);
	fclose(f);
	eu_plan_free(plan);
	btf__free(btf);
	return 0;
}
