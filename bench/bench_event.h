/* The bootstrap example's exec/exit event, its BTF and a fixed set of varied records: the
 * common workload of the formatting and export benchmarks, so their figures compare. */
#ifndef EU_BENCH_EVENT_H
#define EU_BENCH_EVENT_H

#include <bpf/btf.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NREC 1024

struct event {
	int pid;
	int ppid;
	unsigned exit_code;
	unsigned long long duration_ns;
	char comm[16];
	char filename[127];
	unsigned char exit_event;
};

static inline double clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Adds struct event to btf; returns its type id or a negative error. */
static inline int bootstrap_btf(struct btf *btf)
{
	int s32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int u32 = btf__add_int(btf, "unsigned int", 4, 0);
	int u64 = btf__add_int(btf, "unsigned long long", 8, 0);
	int ch = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
	int u8 = btf__add_int(btf, "unsigned char", 1, 0);
	int comm = btf__add_array(btf, u32, ch, 16);
	int fname = btf__add_array(btf, u32, ch, 127);
	int st = btf__add_struct(btf, "event", sizeof(struct event));
	if (st < 0)
		return st;
	btf__add_field(btf, "pid", s32, 0, 0);
	btf__add_field(btf, "ppid", s32, 32, 0);
	btf__add_field(btf, "exit_code", u32, 64, 0);
	btf__add_field(btf, "duration_ns", u64, 128, 0);
	btf__add_field(btf, "comm", comm, 192, 0);
	btf__add_field(btf, "filename", fname, 320, 0);
	btf__add_field(btf, "exit_event", u8, 1336, 0);
	return st;
}

static inline void make_records(struct event *r)
{
	static const char *comms[] = {"bash", "sshd", "kworker/u16:0", "systemd-journal", "ls"};
	static const char *files[] = {"/usr/bin/ls", "/bin/sh", "", "/usr/lib/systemd/systemd",
				      "/usr/local/bin/some-long-tool-name"};
	unsigned seed = 42;
	for (int i = 0; i < NREC; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		seed = seed * 1103515245 + 12345;
		r[i].pid = (int)(seed % 4000000);
		r[i].ppid = (int)(seed % 65536);
		r[i].exit_code = i % 7 == 0 ? seed % 256 : 0;
		r[i].exit_event = i % 2;
		r[i].duration_ns = r[i].exit_event ? (unsigned long long)seed * 977 : 0;
		snprintf(r[i].comm, sizeof(r[i].comm), "%s", comms[i % 5]);
		snprintf(r[i].filename, sizeof(r[i].filename), "%s", files[(i / 5) % 5]);
	}
}

#endif
