// SPDX-License-Identifier: GPL-2.0
/* tcpstate: TCP state changes of sockets on one port (either end), tcpstates-style. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tcpstate.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2

const volatile __u16 target_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (target_port && ctx->sport != target_port && ctx->dport != target_port)
		return 0;
	struct event e = {};
	e.skaddr = (__u64)ctx->skaddr;
	e.ts_us = bpf_ktime_get_ns() / 1000;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.oldstate = ctx->oldstate;
	e.newstate = ctx->newstate;
	e.family = ctx->family;
	e.sport = ctx->sport;
	e.dport = ctx->dport;
	if (e.family == AF_INET) {
		bpf_probe_read_kernel(&e.saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(&e.daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(&e.saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(&e.daddr, 16, ctx->daddr_v6);
	}
	bpf_get_current_comm(e.task, sizeof(e.task));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
