// SPDX-License-Identifier: GPL-2.0
/* A perf_event program (sampled on every CPU's cpu-clock) reporting which CPU and task each
 * sample hit. The run tests compile it with clang and run the bare .bpf.o: its exported
 * struct is found through the __eunomia_dummy_<struct>_ptr convention. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct sample {
	__u32 pid;
	__u32 cpu;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct sample *__eunomia_dummy_sample_ptr __attribute__((unused));

SEC("perf_event")
int on_sample(void *ctx)
{
	struct sample *s = bpf_ringbuf_reserve(&events, sizeof(*s), 0);
	if (!s)
		return 0;
	s->pid = bpf_get_current_pid_tgid() >> 32;
	s->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	bpf_ringbuf_submit(s, 0);
	return 0;
}
