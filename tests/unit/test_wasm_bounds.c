/* The Wasm bridge (agent/wasm) with real modules built for wasm32 (tests/wasm), no BPF needed:
 * every pointer argument of the host functions out of bounds gets EFAULT (wasm_bpf: -14 or
 * handle 0; WASI: 21) and the module goes on; imports we do not provide, or provide with
 * another signature, are refused naming them; a callback into the module that does not
 * return within its limit is stopped with the reason. Handles per instance need a loaded
 * object (root): tests/integration/test_wasm_handles.c. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eu_test.h"
#include "eunomia/buf.h"
#include "eunomia/log.h"
#include "wasm/wasm_module.h"
#include "wasm/wasm_vm.h"

#define MOD(name) EU_TESTWASM_BUILD_DIR "/" name ".wasm"

static eu_buf out[3];

static ssize_t capture(void *ctx, int fd, const void *data, size_t len)
{
	eu_buf_append(&out[fd == 2 ? 2 : 1], data, len);
	return (ssize_t)len;
}

static void quiet_log(void *ctx, enum eu_log_level level, const char *msg)
{
}

static void setup(void)
{
	for (int i = 0; i < 3; i++)
		eu_buf_init(&out[i]);
	eu_log_set_sink(quiet_log, NULL);
}

static void teardown(void)
{
	for (int i = 0; i < 3; i++)
		eu_buf_free(&out[i]);
}

/* The value the module printed as "NAME VALUE" (a line of its stdout). */
static long long printed(const char *name)
{
	eu_buf_putc(&out[1], '\0');
	out[1].len--;
	size_t n = strlen(name);
	for (const char *p = out[1].data; p && *p;) {
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	cr_assert_fail("the module printed no '%s': %s", name, out[1].data ? out[1].data : "");
	return 0;
}

Test(wasm_bounds, every_host_pointer_argument_checked, .init = setup, .fini = teardown)
{
	size_t size;
	char *bytes = eu_test_read_file(MOD("probe"), &size);
	cr_assert(bytes, "%s is not built", MOD("probe"));
	char *argv[] = {"probe.wasm", "bounds", NULL};
	struct eu_wasm_opts o = {.sz = sizeof(o), .name = "probe.wasm", .argc = 2, .argv = argv,
				 .write = capture};
	struct eu_wasm_module *m = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_wasm_module_new(bytes, size, &o, &m, &err), 0, "%s", err.msg);
	free(bytes);
	int code = -1;
	enum eu_wasm_outcome end = eu_wasm_module_run(m, &code, &err);
	eu_wasm_module_free(m);
	cr_assert_eq(end, EU_WASM_EXITED, "%s", err.msg);
	cr_assert_eq(code, 0);
	static const struct {
		const char *name;
		long long want;
	} calls[] = {
		/* wasm_bpf: handle 0, -EFAULT; an unknown handle or foreign fd is refused too */
		{"load_bad_ptr", 0},
		{"load_across_end", 0},
		{"load_zero_size", 0},
		{"load_negative_size", 0},
		{"attach_bad_name", -EFAULT},
		{"attach_unterminated_name", -EFAULT},
		{"attach_bad_target", -EFAULT},
		{"attach_unterminated_target", -EFAULT},
		{"attach_unknown_handle", -EINVAL},
		{"map_fd_bad_name", -EFAULT},
		{"map_fd_unterminated_name", -EFAULT},
		{"map_fd_unknown_handle", -EINVAL},
		{"poll_bad_buf", -EFAULT},
		{"poll_buf_across_end", -EFAULT},
		{"poll_unknown_handle", -EINVAL},
		{"map_operate_foreign_fd", -EBADF},
		{"map_operate_bad_ptrs_foreign_fd", -EBADF},
		{"close_unknown", 0},
		/* WASI: its EFAULT is 21 */
		{"args_sizes_get_bad_argc", 21},
		{"args_sizes_get_bad_size", 21},
		{"args_get_bad_argv", 21},
		{"args_get_bad_buf", 21},
		{"args_get_buf_across_end", 21},
		{"environ_sizes_get_bad", 21},
		{"clock_time_get_bad", 21},
		{"clock_time_get_across_end", 21},
		{"clock_res_get_bad", 21},
		{"clock_time_get_ok", 0},
		{"fd_write_bad_iovs", 21},
		{"fd_write_bad_iov_buf", 21},
		{"fd_write_bad_nwritten", 21},
		{"fd_write_huge_count", 21},
		{"fd_read_bad_nread", 21},
		{"fd_fdstat_get_bad", 21},
		{"random_get_bad", 21},
		{"random_get_across_end", 21},
		{"poll_oneoff_bad_in", 21},
		{"poll_oneoff_bad_out", 21},
		{"poll_oneoff_bad_nevents", 21},
		{"poll_oneoff_ok", 0},
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		cr_expect_eq(printed(calls[i].name), calls[i].want, "%s", calls[i].name);
	cr_assert(strstr(out[1].data, "\nsurvived\n"), "%s", out[1].data);
}

Test(wasm_bounds, missing_import_refused_by_name, .init = setup, .fini = teardown)
{
	size_t size;
	char *bytes = eu_test_read_file(MOD("missing_import"), &size);
	cr_assert(bytes);
	struct eu_wasm_module *m = NULL;
	eu_error err = {0};
	int ret = eu_wasm_module_new(bytes, size, &(struct eu_wasm_opts){.sz = sizeof(struct
				     eu_wasm_opts), .name = "missing_import.wasm"}, &m, &err);
	free(bytes);
	cr_assert_lt(ret, 0);
	cr_assert_null(m);
	cr_assert(strstr(err.msg, "missing_import.wasm imports function "
				  "'wasm_bpf.wasm_bpf_no_such_function'"), "%s", err.msg);
	cr_assert(strstr(err.msg, "which this runtime does not provide"), "%s", err.msg);

	/* the test's own imports are no wasm_bpf module's: refused, the first one named */
	bytes = eu_test_read_file(MOD("callback"), &size);
	cr_assert(bytes);
	ret = eu_wasm_module_new(bytes, size, &(struct eu_wasm_opts){.sz = sizeof(struct
				 eu_wasm_opts), .name = "callback.wasm"}, &m, &err);
	free(bytes);
	cr_assert_lt(ret, 0);
	cr_assert(strstr(err.msg, "'test.call'"), "%s", err.msg);
}

/* --- the bridge with an import table of the test's own --- */

struct calls {
	int reports[4];
	int n_reports;
	uint32_t limit_ms;
};

static enum eu_wasm_host_rc host_call(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
				      uint64_t *results)
{
	struct calls *c = ctx;
	uint32_t args[3] = {(uint32_t)a[1], 0, 5};
	int32_t ret = 0;
	if (eu_wasm_vm_call_table(vm, (uint32_t)a[0], args, 3, &ret, c->limit_ms) !=
	    EU_WASM_RETURNED)
		return EU_WASM_HOST_TRAP;
	results[0] = (uint32_t)ret;
	return EU_WASM_HOST_OK;
}

static enum eu_wasm_host_rc host_report(struct eu_wasm_vm *vm, void *ctx, const uint64_t *a,
					uint64_t *results)
{
	struct calls *c = ctx;
	if (c->n_reports < 4)
		c->reports[c->n_reports++] = (int)(uint32_t)a[0];
	return EU_WASM_HOST_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(wasm_bounds, callback_over_its_limit_is_stopped, .init = setup, .fini = teardown,
     .timeout = 60)
{
	size_t size;
	char *bytes = eu_test_read_file(MOD("callback"), &size);
	cr_assert(bytes);
	struct calls c = {.limit_ms = 200};
	const struct eu_wasm_import imports[] = {
		{"test", "call", "ii", "i", host_call},
		{"test", "report", "i", "", host_report},
	};
	struct eu_wasm_vm_opts o = {.sz = sizeof(o), .name = "callback.wasm", .imports = imports,
				    .n_imports = 2, .ctx = &c};
	struct eu_wasm_vm *vm = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_wasm_vm_new(bytes, size, &o, &vm, &err), 0, "%s", err.msg);
	free(bytes);
	int64_t t0 = now_ms();
	enum eu_wasm_end end = eu_wasm_vm_run_start(vm, &err);
	int64_t took = now_ms() - t0;
	eu_wasm_vm_free(vm);
	/* the quick callback returned its value (21 * 2 + 5); the endless one was stopped */
	cr_assert_eq(c.n_reports, 1);
	cr_assert_eq(c.reports[0], 47);
	cr_assert_eq(end, EU_WASM_INTERRUPTED, "%s", err.msg);
	cr_assert_eq(err.code, -ETIMEDOUT);
	cr_assert(strstr(err.msg, "callback.wasm: a callback did not return within 200 ms"), "%s",
		  err.msg);
	cr_assert_geq(took, 200);
	cr_assert_lt(took, 10000, "stopping took %lld ms", (long long)took);
}

Test(wasm_bounds, import_signature_and_absence_named, .init = setup, .fini = teardown)
{
	size_t size;
	char *bytes = eu_test_read_file(MOD("callback"), &size);
	cr_assert(bytes);
	struct calls c = {0};
	struct eu_wasm_vm *vm = NULL;
	eu_error err = {0};
	/* test.report not provided */
	const struct eu_wasm_import only_call[] = {{"test", "call", "ii", "i", host_call}};
	struct eu_wasm_vm_opts o = {.sz = sizeof(o), .name = "callback.wasm", .imports = only_call,
				    .n_imports = 1, .ctx = &c};
	cr_assert_lt(eu_wasm_vm_new(bytes, size, &o, &vm, &err), 0);
	cr_assert_null(vm);
	cr_assert(strstr(err.msg, "imports function 'test.report'"), "%s", err.msg);
	/* test.call provided with another signature */
	const struct eu_wasm_import wrong[] = {
		{"test", "call", "i", "i", host_call},
		{"test", "report", "i", "", host_report},
	};
	o.imports = wrong;
	o.n_imports = 2;
	err = (eu_error){0};
	cr_assert_lt(eu_wasm_vm_new(bytes, size, &o, &vm, &err), 0);
	cr_assert(strstr(err.msg, "imports 'test.call' as "), "%s", err.msg);
	cr_assert(strstr(err.msg, ", but it is "), "%s", err.msg);
	free(bytes);
}
