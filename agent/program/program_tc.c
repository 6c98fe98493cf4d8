/* Whether a clsact hook still carries filters: the hook (a qdisc) is shared by everyone on
 * the interface, so whoever created it may remove it only once it is empty. libbpf 1.1 has
 * no filter listing, hence one rtnetlink dump per direction. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "program_priv.h"

/* Filters under parent on ifindex (a tc dump lists each priority's head too), or -errno. */
static int dump_filters(int fd, int ifindex, uint32_t parent, uint32_t seq)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.tc.tcm_family = AF_UNSPEC;
	req.tc.tcm_ifindex = ifindex;
	req.tc.tcm_parent = parent;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	int count = 0;
	for (;;) {
		union {
			struct nlmsghdr nh;
			char bytes[16384];
		} buf;
		ssize_t n = recv(fd, &buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		size_t left = (size_t)n;
		for (struct nlmsghdr *nh = &buf.nh; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return count;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				return e->error ? e->error : count;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				count++;
		}
	}
}

bool program_tc_hook_in_use(int ifindex)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return true; /* cannot tell: keeping an empty hook beats removing others' filters */
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int in = dump_filters(fd, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), 1);
	int out = in == 0 ? dump_filters(fd, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), 2)
			  : in;
	close(fd);
	return in != 0 || out != 0;
}
