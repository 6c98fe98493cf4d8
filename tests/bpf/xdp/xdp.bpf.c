// SPDX-License-Identifier: GPL-2.0
/* Test counterpart of upstream's "xdp" example: prints each packet's size and passes it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int pkt_sz = data_end - data;
	bpf_printk("packet size is %d", pkt_sz);
	return XDP_PASS;
}

char __license[] SEC("license") = "GPL";
