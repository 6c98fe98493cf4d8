/* tcpstates: TCP state changes. Needs eu_bpf.h (eu_ip_t) first. */
#ifndef TCPSTATES_H
#define TCPSTATES_H

#define TASK_COMM_LEN 16

/* include/net/tcp_states.h, named so the agent prints states by name */
enum tcp_state {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT,
	TCP_SYN_RECV,
	TCP_FIN_WAIT1,
	TCP_FIN_WAIT2,
	TCP_TIME_WAIT,
	TCP_CLOSE,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
	TCP_LISTEN,
	TCP_CLOSING,
	TCP_NEW_SYN_RECV,
	TCP_BOUND_INACTIVE,
};

struct event {
	unsigned long long skaddr;
	unsigned long long ts_us;
	unsigned long long delta_us;
	unsigned int pid;
	enum tcp_state oldstate;
	enum tcp_state newstate;
	unsigned short family;
	unsigned short sport;
	unsigned short dport;
	eu_ip_t saddr;
	eu_ip_t daddr;
	char comm[TASK_COMM_LEN];
};

#endif
