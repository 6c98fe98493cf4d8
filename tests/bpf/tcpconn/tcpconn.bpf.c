// SPDX-License-Identifier: GPL-2.0
/* tcpconn: connect(2)s of one process, tcpconnect-style. The kernel here has no kprobes, so
 * the connect is seen where the socket enters SYN_SENT (sock/inet_sock_set_state, which runs
 * in the connecting task); addresses and the port are read from the socket as tcpconnect
 * reads them from tcp_v4_connect's/tcp_v6_connect's sk. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tcpconn.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10

const volatile pid_t targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int handle_connect(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || ctx->newstate != TCP_SYN_SENT)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	if (targ_tgid && (id >> 32) != (__u32)targ_tgid)
		return 0;
	struct sock *sk = (struct sock *)ctx->skaddr;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->af = ctx->family;
	if (e->af == AF_INET) {
		BPF_CORE_READ_INTO(&e->saddr_v4, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr_v4, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&e->saddr_v6, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->daddr_v6, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	e->dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	e->lport = ctx->sport;
	e->pid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ts_us = bpf_ktime_get_ns() / 1000;
	bpf_get_current_comm(e->task, sizeof(e->task));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
