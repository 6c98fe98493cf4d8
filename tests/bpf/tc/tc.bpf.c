// SPDX-License-Identifier: GPL-2.0
/* Test counterpart of upstream's "tc" example: a tc ingress classifier (attached on lo by
 * the package's tchook) that prints IPv4 packets to the trace pipe and lets them pass. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800

SEC("tc")
int tc_ingress(struct __sk_buff *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	if (ctx->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	struct ethhdr *l2 = data;
	if ((void *)(l2 + 1) > data_end)
		return TC_ACT_OK;
	struct iphdr *l3 = (struct iphdr *)(l2 + 1);
	if ((void *)(l3 + 1) > data_end)
		return TC_ACT_OK;
	bpf_printk("Got IP packet: tot_len: %d, ttl: %d", bpf_ntohs(l3->tot_len), l3->ttl);
	return TC_ACT_OK;
}

char __license[] SEC("license") = "GPL";
