/* A wasm-bpf module from bytes to exit code: the import list (WASI + wasm_bpf), the run, the
 * stop request and the cleanup of what the module left open. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "wasm_priv.h"

#define DEFAULT_CALLBACK_LIMIT_MS 5000
#define DEFAULT_STOP_GRACE_MS 1000

bool eu_wasm_is_module(const void *data, size_t size)
{
	return size >= 4 && !memcmp(data, "\0asm", 4);
}

static int build_imports(struct eu_wasm_import **out, size_t *n)
{
	size_t total = eu_wasm_wasi_import_count + eu_wasm_bpf_import_count;
	struct eu_wasm_import *all = calloc(total, sizeof(*all));
	if (!all)
		return -ENOMEM;
	memcpy(all, eu_wasm_wasi_imports, eu_wasm_wasi_import_count * sizeof(*all));
	memcpy(all + eu_wasm_wasi_import_count, eu_wasm_bpf_imports,
	       eu_wasm_bpf_import_count * sizeof(*all));
	*out = all;
	*n = total;
	return 0;
}

static int copy_args(struct eu_wasm_module *m, const struct eu_wasm_opts *opts)
{
	int argc = opts->argv && opts->argc > 0 ? opts->argc : 1;
	m->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!m->argv)
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		const char *a = opts->argv && opts->argc > 0 ? opts->argv[i] : m->name;
		m->argv[i] = strdup(a ? a : "");
		if (!m->argv[i])
			return -ENOMEM;
		m->argc = i + 1;
	}
	return 0;
}

int eu_wasm_module_new(const void *bytes, size_t size, const struct eu_wasm_opts *opts,
		       struct eu_wasm_module **out, eu_error *err)
{
	*out = NULL;
	struct eu_wasm_module *m = calloc(1, sizeof(*m));
	if (!m)
		return eu_error_set(err, -ENOMEM, "out of memory");
	m->stop_fd = -1;
	if (opts)
		memcpy(&m->opts, opts, opts->sz < sizeof(m->opts) ? opts->sz : sizeof(m->opts));
	m->opts.sz = sizeof(m->opts);
	if (!m->opts.callback_limit_ms)
		m->opts.callback_limit_ms = DEFAULT_CALLBACK_LIMIT_MS;
	if (!m->opts.stop_grace_ms)
		m->opts.stop_grace_ms = DEFAULT_STOP_GRACE_MS;
	m->name = strdup(m->opts.name ? m->opts.name : "module");
	int ret = m->name ? copy_args(m, &m->opts) : -ENOMEM;
	if (ret) {
		eu_wasm_module_free(m);
		return eu_error_set(err, ret, "out of memory");
	}
	m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->stop_fd < 0) {
		ret = -errno;
		eu_wasm_module_free(m);
		return eu_error_set(err, ret, "eventfd: %s", strerror(-ret));
	}
	struct eu_wasm_import *imports = NULL;
	size_t n_imports = 0;
	if (build_imports(&imports, &n_imports)) {
		eu_wasm_module_free(m);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	struct eu_wasm_vm_opts vo = {.sz = sizeof(vo), .name = m->name, .imports = imports,
				     .n_imports = n_imports, .ctx = m};
	ret = eu_wasm_vm_new(bytes, size, &vo, &m->vm, err);
	free(imports);
	if (ret) {
		eu_wasm_module_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

enum eu_wasm_outcome eu_wasm_module_run(struct eu_wasm_module *m, int *exit_code, eu_error *err)
{
	*exit_code = 0;
	enum eu_wasm_end end = eu_wasm_vm_run_start(m->vm, err);
	wasm_bpf_close_all(m);
	if (m->exited) {
		*exit_code = m->exit_code;
		return EU_WASM_EXITED;
	}
	if (end == EU_WASM_RETURNED)
		return EU_WASM_EXITED;
	if (end == EU_WASM_INTERRUPTED && wasm_stopping(m) && err->code == -EINTR) {
		eu_error_set(err, -EINTR, "%s did not exit within %u ms of the stop request: stopped",
			     m->name, m->opts.stop_grace_ms);
		return EU_WASM_STOPPED;
	}
	return EU_WASM_FAILED;
}

void eu_wasm_module_stop(struct eu_wasm_module *m)
{
	atomic_store_explicit(&m->stopping, true, memory_order_relaxed);
	uint64_t one = 1;
	/* a full counter still wakes the poll: nothing to do on failure */
	if (write(m->stop_fd, &one, sizeof(one)) < 0) {
	}
	eu_wasm_vm_interrupt(m->vm, m->opts.stop_grace_ms);
}

size_t eu_wasm_module_attached(struct eu_wasm_module *m)
{
	return atomic_load(&m->attached);
}

void eu_wasm_module_free(struct eu_wasm_module *m)
{
	if (!m)
		return;
	wasm_bpf_close_all(m);
	eu_wasm_vm_free(m->vm);
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	for (int i = 0; i < m->argc; i++)
		free(m->argv[i]);
	free(m->argv);
	free(m->name);
	free(m);
}
