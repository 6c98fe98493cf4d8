/* runqlat as a wasm-bpf module: run-queue latency histograms read from the `hists` hash map
 * with wasm_bpf_map_operate (key walk, lookup, delete), printed like BCC's runqlat.
 *
 *	runqlat.wasm [INTERVAL_MS [COUNT]]     (default 1000 ms, until stopped) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eunomia-wasm.h"
#include "runqlat.bpf.o.h"
#include "runqlat.wasm.h"

#define MAX_KEYS 1024

static void print_stars(unsigned int val, unsigned int max, int width)
{
	int n = max ? (int)((unsigned long long)val * width / max) : 0;
	for (int i = 0; i < width; i++)
		putchar(i < n ? '*' : ' ');
}

static unsigned long long print_hist(const struct hist *h)
{
	int last = -1;
	unsigned int max = 0;
	unsigned long long total = 0;
	for (int i = 0; i < (int)(sizeof(h->slots) / sizeof(h->slots[0])); i++) {
		if (h->slots[i])
			last = i;
		if (h->slots[i] > max)
			max = h->slots[i];
		total += h->slots[i];
	}
	printf("%*s%-*s : count    distribution\n", 10, "", 14, "usecs");
	for (int i = 0; i <= last; i++) {
		unsigned long long low = i ? 1ull << (i - 1) : 0, high = (1ull << i) - 1;
		if (!i)
			high = 1;
		printf("%*llu -> %-*llu : %-8u |", 14, low, 10, high, h->slots[i]);
		print_stars(h->slots[i], max, 40);
		printf("|\n");
	}
	return total;
}

/* Prints and clears every histogram; returns the number of samples. */
static unsigned long long print_hists(int fd)
{
	static uint32_t keys[MAX_KEYS];
	size_t n = 0;
	uint32_t key, next;
	int err = eu_bpf_map_next_key(fd, NULL, &next);
	while (!err && n < MAX_KEYS) {
		keys[n++] = next;
		key = next;
		err = eu_bpf_map_next_key(fd, &key, &next);
	}
	if (err && err != -EU_ENOENT)
		fprintf(stderr, "walking the keys of hists failed: %d\n", err);
	unsigned long long total = 0;
	for (size_t i = 0; i < n; i++) {
		struct hist h;
		if (eu_bpf_map_lookup(fd, &keys[i], &h))
			continue;
		if (keys[i] != (uint32_t)-1)
			printf("\npid = %u %s\n", keys[i], h.comm);
		total += print_hist(&h);
		eu_bpf_map_delete(fd, &keys[i]);
	}
	printf("total %llu\n", total);
	fflush(stdout);
	return total;
}

int main(int argc, char **argv)
{
	long interval_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	long count = argc > 2 ? strtol(argv[2], NULL, 10) : -1;
	if (interval_ms <= 0) {
		fprintf(stderr, "usage: %s [INTERVAL_MS [COUNT]]\n", argv[0]);
		return 2;
	}
	static const char *const progs[] = {"handle_sched_wakeup", "handle_sched_wakeup_new",
					    "handle_sched_switch", NULL};
	uint64_t obj = eu_bpf_open_and_attach(runqlat_bpf_o, (int)runqlat_bpf_o_len, progs);
	if (!obj)
		return 1;
	int fd = wasm_bpf_map_fd_by_name(obj, "hists");
	if (fd < 0) {
		fprintf(stderr, "no map 'hists': %d\n", fd);
		return 1;
	}
	printf("Tracing run queue latency... Hit Ctrl-C to end.\n");
	fflush(stdout);
	for (long i = 0; count < 0 || i < count; i++) {
		/* a stop request ends the sleep early (EINTR): print what we have and go */
		int stopped = usleep((useconds_t)interval_ms * 1000) != 0;
		print_hists(fd);
		if (stopped)
			break;
	}
	wasm_close_bpf_object(obj);
	return 0;
}
