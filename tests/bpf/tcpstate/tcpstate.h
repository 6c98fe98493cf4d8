/* The event of libbpf-tools' tcpstates: addresses in unsigned __int128 (an IPv4 address in
 * the first 4 bytes), the family beside them, states as plain ints. */
#ifndef TCPSTATE_H
#define TCPSTATE_H

#define TASK_COMM_LEN 16

struct event {
	unsigned __int128 saddr;
	unsigned __int128 daddr;
	__u64 skaddr;
	__u64 ts_us;
	__u64 delta_us;
	__u32 pid;
	int oldstate;
	int newstate;
	__u16 family;
	__u16 sport;
	__u16 dport;
	char task[TASK_COMM_LEN];
};

#endif
