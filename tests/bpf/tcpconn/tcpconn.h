/* The event of libbpf-tools' tcpconnect: addresses in unions of a v4 and a v6 form, the
 * family in af, the destination port as the socket keeps it (network byte order). */
#ifndef TCPCONN_H
#define TCPCONN_H

#define TASK_COMM_LEN 16

struct event {
	union {
		__u32 saddr_v4;
		__u8 saddr_v6[16];
	};
	union {
		__u32 daddr_v4;
		__u8 daddr_v6[16];
	};
	char task[TASK_COMM_LEN];
	__u64 ts_us;
	__u32 af; /* AF_INET or AF_INET6 */
	__u32 pid;
	__u32 uid;
	__u16 lport;
	__be16 dport;
};

#endif
