/* flood: one event per getppid() of one process, for the daemon's throughput bench. */
#ifndef FLOOD_H
#define FLOOD_H

struct flood_event {
	unsigned long long ts; /* bpf_ktime_get_ns(): the daemon turns it into wall time */
	unsigned long long seq;
	int pid;
	int cpu;
	char comm[16];
};

#endif
