/* What BPF programs written against a newer libbpf use and Debian's libbpf 1.1 headers lack.
 *
 * Not included directly: ecc's include directory shadows <bpf/bpf_helpers.h>,
 * <bpf/bpf_tracing.h> and <bpf/bpf_core_read.h> with files that include the installed header
 * first and this one after it, so a source written for libbpf 1.2+ compiles unchanged. Each
 * section runs once, after the libbpf header it extends (found by that header's include
 * guard), and every definition is skipped when the installed header already has it, so a newer
 * libbpf's own definitions always win.
 *
 * Kfuncs (bpf_task_from_pid, bpf_iter_num_new, bpf_rdonly_cast, ...) are not declared here:
 * the vmlinux.h ecc generates declares every kfunc of the kernel as a weak __ksym extern. */

/* ---- after <bpf/bpf_helpers.h> ---- */
#if defined(__BPF_HELPERS__) && !defined(EU_BPF_COMPAT_HELPERS)
#define EU_BPF_COMPAT_HELPERS

#define eu_compat_cat_(a, b) a##b
#define eu_compat_cat(a, b) eu_compat_cat_(a, b)

/* Whether the weak __ksym extern `sym` (a kernel variable or a kfunc) exists in the running
 * kernel: libbpf leaves a missing weak ksym at address 0. A strong extern is always non-zero
 * to the compiler, so the test would be folded away: that is refused at compile time. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym)                                                                    \
	({                                                                                      \
		_Static_assert(!__builtin_constant_p(!!(sym)),                                  \
			       #sym " must be declared __weak for bpf_ksym_exists()");          \
		!!(sym);                                                                        \
	})
#endif

/* BTF tags the verifier reads on kptr fields and global-function arguments. */
#ifndef __kptr_untrusted
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#endif
#ifndef __percpu_kptr
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))
#endif
#ifndef __arg_ctx
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#endif
#ifndef __arg_nonnull
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#endif
#ifndef __arg_nullable
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))
#endif
#ifndef __arg_trusted
#define __arg_trusted __attribute__((btf_decl_tag("arg:trusted")))
#endif
#ifndef __arg_untrusted
#define __arg_untrusted __attribute__((btf_decl_tag("arg:untrusted")))
#endif
#ifndef __arg_arena
#define __arg_arena __attribute__((btf_decl_tag("arg:arena")))
#endif
#ifndef __contains
#define __contains(name, node) __attribute__((btf_decl_tag("contains:" #name ":" #node)))
#endif

/* A map attribute wider than int (map_extra): carried as an enum's value, which is 64-bit. */
#ifndef __ulong
#define __ulong(name, val) enum { eu_compat_cat(eu_compat_ulong_, __COUNTER__) = (val) } name
#endif

/* Open-coded iterators (kernel 6.4+): the kfuncs bpf_iter_<type>_new/_next/_destroy come from
 * vmlinux.h. The iterator is destroyed by the cleanup attribute when the loop's scope ends;
 * naming the destroy kfunc once more makes clang emit its BTF, which it does not do for a
 * function used only by cleanup. */
#ifndef bpf_for_each
#define bpf_for_each(type, cur, args...)                                                        \
	for (struct bpf_iter_##type eu_it_                                                      \
		     __attribute__((aligned(8), cleanup(bpf_iter_##type##_destroy))),          \
	     *eu_once_ __attribute__((unused)) =                                                \
		     (bpf_iter_##type##_new(&eu_it_, ##args), (void)bpf_iter_##type##_destroy,  \
		      (void *)0);                                                               \
	     (((cur) = bpf_iter_##type##_next(&eu_it_)));)
#endif
#ifndef bpf_for
/* i takes start..end-1; the bounds test after the load tells the verifier i's range. */
#define bpf_for(i, start, end)                                                                  \
	for (struct bpf_iter_num eu_it_                                                         \
		     __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))),                \
	     *eu_once_ __attribute__((unused)) =                                                \
		     (bpf_iter_num_new(&eu_it_, (start), (end)), (void)bpf_iter_num_destroy,    \
		      (void *)0);                                                               \
	     ({                                                                                 \
		     int *eu_v_ = bpf_iter_num_next(&eu_it_);                                   \
		     eu_v_ && ((i) = *eu_v_, (i) >= (start) && (i) < (end));                    \
	     });)
#endif
#ifndef bpf_repeat
#define bpf_repeat(n)                                                                           \
	for (struct bpf_iter_num eu_it_                                                         \
		     __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))),                \
	     *eu_once_ __attribute__((unused)) =                                                \
		     (bpf_iter_num_new(&eu_it_, 0, (n)), (void)bpf_iter_num_destroy, (void *)0); \
	     bpf_iter_num_next(&eu_it_);)
#endif
#endif /* helpers */

/* ---- after <bpf/bpf_tracing.h> ---- */
#if defined(__BPF_TRACING_H__) && !defined(EU_BPF_COMPAT_TRACING)
#define EU_BPF_COMPAT_TRACING

/* User-space probes read their arguments from the same pt_regs as kprobes. */
#ifndef BPF_UPROBE
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#endif
#ifndef BPF_URETPROBE
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
#endif

/* The sixth argument register, where the installed header stops at five. */
#ifndef PT_REGS_PARM6
#if defined(bpf_target_x86) && !defined(__i386__)
#define PT_REGS_PARM6(x) (__PT_REGS_CAST(x)->r9)
#define PT_REGS_PARM6_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), r9)
#elif defined(bpf_target_arm64)
#define PT_REGS_PARM6(x) (__PT_REGS_CAST(x)->regs[5])
#define PT_REGS_PARM6_CORE(x) BPF_CORE_READ(__PT_REGS_CAST(x), regs[5])
#endif
#endif
#endif /* tracing */

/* ---- after <bpf/bpf_core_read.h> ---- */
#if defined(__BPF_CORE_READ_H__) && !defined(EU_BPF_COMPAT_CORE_READ)
#define EU_BPF_COMPAT_CORE_READ

/* A pointer to a kernel object as `type`, readable without bpf_probe_read (kernel 6.2+,
 * through the bpf_rdonly_cast kfunc vmlinux.h declares). */
#ifndef bpf_core_cast
#define bpf_core_cast(ptr, type)                                                                \
	((typeof(type) *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))
#endif
#endif /* core read */
