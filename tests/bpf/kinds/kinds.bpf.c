// SPDX-License-Identifier: GPL-2.0
/* Sends one struct kinds_event with known values each time the process target_pid calls
 * getppid(2). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "eu_bpf.h"
#include "kinds.h"

char LICENSE[] SEC("license") = "GPL";

/// Only getppid() calls of this process send an event (0: none)
const volatile int target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int kinds_getppid(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!target_pid || pid != (u32)target_pid)
		return 0;
	struct kinds_event *e = eu_ringbuf_reserve(&events, sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->i8 = -8;
	e->u8v = 200;
	e->i16 = -16000;
	e->u16v = 60000;
	e->i32 = -2000000000;
	e->u32v = 4000000000u;
	e->i64 = -9000000000000000000LL;
	e->u64v = 18000000000000000000ULL;
	e->i128 = -((__int128)1 << 100);                      /* -1267650600228229401496703205376 */
	e->u128 = ((unsigned __int128)1 << 127) + 5;           /* 170141183460469231731687303715884105733 */
	e->flag = true;
	__builtin_memcpy(e->name, "kinds", 6);
	e->bytes[0] = 1;
	e->bytes[1] = 2;
	e->bytes[2] = 3;
	e->bytes[3] = 4;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			e->grid[i][j] = i * 3 + j + 1;  /* {{1,2,3},{4,5,6}} */
	e->color = KINDS_GREEN;
	e->inner.a = -7;
	__builtin_memcpy(e->inner.tag, "abc", 4);
	e->as_u32 = 0x04030201;                                /* as_bytes = {1,2,3,4} */
	e->ptr = (void *)0xdeadbeefUL;
	e->bf_a = 5;
	e->bf_b = 17;
	e->bf_c = -9;
	__u32 f32_bits = 0x3fc00000;                            /* 1.5f */
	__u64 f64_bits = 0xc002000000000000ULL;                 /* -2.25 */
	__builtin_memcpy(&e->f32, &f32_bits, 4);
	__builtin_memcpy(&e->f64, &f64_bits, 8);
	eu_ip_set_v4(e->ip4, 0x0100007f);                        /* 127.0.0.1 (network order) */
	e->ip6[15] = 1;                                          /* ::1 */
	e->v4 = 0x010200c0;                                      /* 192.0.2.1 (network order) */
	bpf_ringbuf_submit(e, 0);
	return 0;
}
