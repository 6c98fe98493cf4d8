// SPDX-License-Identifier: GPL-2.0
/// Trace TCP state changes, with the time spent in the previous state.
/*
 * vmlinux.h carries the kernel's anonymous enum of TCP states; its enumerators are renamed
 * here so that tcpstates.h can declare the same names in a named enum, which the agent's
 * decoder then prints by name.
 */
#define TCP_ESTABLISHED __vmlinux_TCP_ESTABLISHED
#define TCP_SYN_SENT __vmlinux_TCP_SYN_SENT
#define TCP_SYN_RECV __vmlinux_TCP_SYN_RECV
#define TCP_FIN_WAIT1 __vmlinux_TCP_FIN_WAIT1
#define TCP_FIN_WAIT2 __vmlinux_TCP_FIN_WAIT2
#define TCP_TIME_WAIT __vmlinux_TCP_TIME_WAIT
#define TCP_CLOSE __vmlinux_TCP_CLOSE
#define TCP_CLOSE_WAIT __vmlinux_TCP_CLOSE_WAIT
#define TCP_LAST_ACK __vmlinux_TCP_LAST_ACK
#define TCP_LISTEN __vmlinux_TCP_LISTEN
#define TCP_CLOSING __vmlinux_TCP_CLOSING
#define TCP_NEW_SYN_RECV __vmlinux_TCP_NEW_SYN_RECV
#define TCP_BOUND_INACTIVE __vmlinux_TCP_BOUND_INACTIVE
#define TCP_MAX_STATES __vmlinux_TCP_MAX_STATES
#include "vmlinux.h"
#undef TCP_ESTABLISHED
#undef TCP_SYN_SENT
#undef TCP_SYN_RECV
#undef TCP_FIN_WAIT1
#undef TCP_FIN_WAIT2
#undef TCP_TIME_WAIT
#undef TCP_CLOSE
#undef TCP_CLOSE_WAIT
#undef TCP_LAST_ACK
#undef TCP_LISTEN
#undef TCP_CLOSING
#undef TCP_NEW_SYN_RECV
#undef TCP_BOUND_INACTIVE
#undef TCP_MAX_STATES
#include <bpf/bpf_helpers.h>
#include "eu_bpf.h"
#include "tcpstates.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/// Only this address family: 2 (IPv4) or 10 (IPv6); 0 for both
const volatile short target_family = 0;
/// Only connections with this local port; 0 for all
const volatile unsigned short target_sport = 0;
/// Only connections with this remote port; 0 for all
const volatile unsigned short target_dport = 0;

/* when each socket entered its current state */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u64);
	__type(value, u64);
} timestamps SEC(".maps");

/* connection storms (a load test on loopback) reach 100k state changes per second */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	u16 family = ctx->family;
	if (target_family && family != target_family)
		return 0;
	if (target_sport && ctx->sport != target_sport)
		return 0;
	if (target_dport && ctx->dport != target_dport)
		return 0;

	u64 sk = (u64)ctx->skaddr;
	u64 now = bpf_ktime_get_ns();
	u64 *start = bpf_map_lookup_elem(&timestamps, &sk);
	u64 delta_us = start ? (now - *start) / 1000 : 0;

	struct event *e = eu_ringbuf_reserve(&events, sizeof(*e));
	if (e) {
		e->skaddr = sk;
		e->ts_us = now / 1000;
		e->delta_us = delta_us;
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->oldstate = ctx->oldstate;
		e->newstate = ctx->newstate;
		e->family = family;
		e->sport = ctx->sport;
		e->dport = ctx->dport;
		if (family == AF_INET) {
			u32 s, d;
			__builtin_memcpy(&s, ctx->saddr, 4);
			__builtin_memcpy(&d, ctx->daddr, 4);
			eu_ip_set_v4(e->saddr, s);
			eu_ip_set_v4(e->daddr, d);
		} else {
			/* copied with helpers: the verifier refuses loads through a ctx pointer
			 * plus an offset, which clang emits for 16-byte copies */
			bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
			bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
		}
		bpf_get_current_comm(&e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}

	if (ctx->newstate == TCP_CLOSE)
		bpf_map_delete_elem(&timestamps, &sk);
	else
		bpf_map_update_elem(&timestamps, &sk, &now, BPF_ANY);
	return 0;
}
