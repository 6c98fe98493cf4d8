// SPDX-License-Identifier: GPL-2.0
/* A program written against libbpf 1.2+ and a vmlinux.h with kfunc prototypes, as current
 * libbpf-tools are: BPF_URETPROBE on a libc function, bpf_ksym_exists() on a kfunc and on
 * kernel symbols, the bpf_task_from_pid/bpf_task_release kfuncs called without declaring
 * them (vmlinux.h does), and an open-coded bpf_for loop. None of it is in Debian's libbpf 1.1
 * headers or bpftool 7.1's vmlinux.h; ecc supplies it. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "compat.h"

/* the build machine's numbers (ecc adds its multiarch include directory) */
#include <asm/unistd.h>

/* the uretprobe below names x86_64's libc path: fail here, not at attach, elsewhere */
#ifndef __TARGET_ARCH_x86
#error "compat.bpf.c: the uretprobe names /lib/x86_64-linux-gnu/libc.so.6; give this architecture's path"
#endif

#ifndef COMPAT_VARIANT
#define COMPAT_VARIANT 0
#endif

const volatile pid_t targ_tgid = 0;

/* typeless: libbpf resolves them through /proc/kallsyms (text symbols are always there) */
extern const void schedule __ksym __weak;
extern const void eu_compat_no_such_symbol __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == (__u32)targ_tgid;
}

static __always_inline void fill_common(struct event *e)
{
	int sum = 0, i;
	bpf_for(i, 0, 5)
		sum += i;
	e->iter_sum = sum;
	e->kfunc_exists = bpf_ksym_exists(bpf_task_from_pid);
	e->sym_exists = bpf_ksym_exists(&schedule);
	e->missing_exists = bpf_ksym_exists(&eu_compat_no_such_symbol);
	e->variant = COMPAT_VARIANT;
}

SEC("uretprobe//lib/x86_64-linux-gnu/libc.so.6:getpid")
int BPF_URETPROBE(getpid_return, int ret)
{
	if (!mine())
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = COMPAT_URETPROBE;
	e->ret = ret;
	fill_common(e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	if (id != __NR_getppid || !mine())
		return 0;
	struct task_struct *t = bpf_task_from_pid(targ_tgid);
	if (!t)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->kind = COMPAT_KFUNC;
		e->pid = t->tgid;
		e->ppid = t->real_parent->tgid;
		fill_common(e);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
