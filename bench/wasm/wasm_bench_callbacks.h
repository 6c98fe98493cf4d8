/* The two poll callbacks bench/wasm_callback_bench measures, compiled twice from this one
 * source: natively into the bench and for wasm32 into its guest module. One does nothing
 * (the cost of the call itself); the other formats a bootstrap-style row into a buffer, what
 * a module's callback typically does per event. */
#ifndef WASM_BENCH_CALLBACKS_H
#define WASM_BENCH_CALLBACKS_H

#include <stdint.h>
#include <stdio.h>

struct bench_event {
	int32_t pid;
	int32_t ppid;
	uint32_t exit_code;
	char pad[4];
	uint64_t duration_ns;
	char comm[16];
	char filename[127];
	uint8_t exit_event;
} __attribute__((packed));

static char bench_row[256];

static int bench_empty_cb(void *ctx, void *data, unsigned int size)
{
	return (int)size;
}

static int bench_format_cb(void *ctx, void *data, unsigned int size)
{
	const struct bench_event *e = data;
	if (e->exit_event)
		return snprintf(bench_row, sizeof(bench_row), "%-8s %-5s %-16s %-7d %-7d [%u] (%llums)\n",
				"12:00:00", "EXIT", e->comm, e->pid, e->ppid, e->exit_code,
				(unsigned long long)e->duration_ns / 1000000);
	return snprintf(bench_row, sizeof(bench_row), "%-8s %-5s %-16s %-7d %-7d %s\n", "12:00:00",
			"EXEC", e->comm, e->pid, e->ppid, e->filename);
}

static const struct bench_event bench_sample = {
	.pid = 4242, .ppid = 1, .comm = "bash", .filename = "/usr/bin/ls"};

#endif
