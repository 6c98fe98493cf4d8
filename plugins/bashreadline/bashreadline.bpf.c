// SPDX-License-Identifier: GPL-2.0
/// Print the commands typed into interactive bash shells.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "eu_bpf.h"
#include "bashreadline.h"

char LICENSE[] SEC("license") = "GPL";

/* people type slowly: a small ring is plenty */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* readline() returns the line it read (malloc'd in the shell), or NULL at end of input */
SEC("uretprobe//bin/bash:readline")
int BPF_KRETPROBE(printret, const void *ret)
{
	if (!ret)
		return 0;
	struct event *e = eu_ringbuf_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(&e->line, sizeof(e->line), ret) < 0)
		e->line[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}
