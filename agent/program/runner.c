/* runner.h: one package on a loop of its own. The loop runs only inside eu_runner_poll, so
 * records wait in the kernel's buffers between polls (sized by the package), as they do for
 * a libbpf program between ring_buffer__poll calls. */
#include <errno.h>
#include <stdlib.h>
#include <uv.h>

#include "eunomia/consumer.h"
#include "eunomia/package.h"
#include "eunomia/params.h"
#include "eunomia/program.h"
#include "eunomia/runner.h"

struct eu_runner {
	uv_loop_t loop;
	uv_timer_t timer;
	bool timer_open, timed_out;
	struct eu_package *pkg;
	struct eu_program *prog;
	struct eu_consumer *cons;
	eu_runner_line_fn on_line;
	void *ctx;
	eu_buf line;
	int delivered;
};

static void deliver(struct eu_runner *r, const struct eu_export *exp, const void *key,
		    size_t key_size, const void *data, size_t size)
{
	eu_buf_reset(&r->line);
	if (eu_export_format_json(exp, key, key_size, data, size, &r->line) != 0 || !r->line.len)
		return;
	r->line.data[--r->line.len] = '\0'; /* the newline */
	r->on_line(r->ctx, r->line.data, r->line.len);
	r->delivered++;
}

static void on_event(void *ctx, const struct eu_export *exp, const void *data, size_t size)
{
	deliver(ctx, exp, NULL, 0, data, size);
}

static void on_sample(void *ctx, const struct eu_export *exp, const void *key, size_t key_size,
		      const void *value, size_t value_size)
{
	deliver(ctx, exp, key, key_size, value, value_size);
}

static void on_timeout(uv_timer_t *t)
{
	struct eu_runner *r = t->data;
	r->timed_out = true;
}

static int start(struct eu_runner *r, const char *path, int argc, char *const argv[],
		 eu_error *err)
{
	int ret = eu_package_read_file(path, &r->pkg, err);
	if (!ret)
		ret = eu_program_open(r->pkg, NULL, &r->prog, err);
	if (ret)
		return ret;
	struct eu_params *params = eu_program_params(r->prog);
	if (argc > 0 && !params)
		return eu_error_set(err, -EINVAL, "%s: the package takes no parameters (no BTF)",
				   path);
	if (argc > 0 && (ret = eu_params_parse_argv(params, argc, argv, err)))
		return ret;
	if ((ret = eu_program_load(r->prog, err)) || (ret = eu_program_attach(r->prog, err)))
		return ret;
	struct eu_consumer_opts opts = {
		.sz = sizeof(opts), .on_event = on_event, .on_sample = on_sample, .ctx = r};
	if ((ret = eu_consumer_new(&r->loop, r->prog, &opts, &r->cons, err)))
		return ret;
	if (!eu_consumer_export_count(r->cons)) {
		const char *why = eu_consumer_silence(r->cons);
		return eu_error_set(err, -ENODATA, "%s: nothing to deliver: %s", path,
				    why ? why : "the package exports no records");
	}
	return eu_consumer_start(r->cons, err);
}

int eu_runner_open(const char *path, int argc, char *const argv[], eu_runner_line_fn on_line,
		   void *ctx, struct eu_runner **out, eu_error *err)
{
	*out = NULL;
	if (!path || !on_line || argc < 0 || (argc > 0 && !argv))
		return eu_error_set(err, -EINVAL, "eu_runner_open: a path and a line callback are "
						  "needed");
	struct eu_runner *r = calloc(1, sizeof(*r));
	if (!r)
		return eu_error_set(err, -ENOMEM, "%s: out of memory", path);
	r->on_line = on_line;
	r->ctx = ctx;
	eu_buf_init(&r->line);
	int ret = uv_loop_init(&r->loop);
	if (ret) {
		free(r);
		return eu_error_set(err, ret, "%s: cannot make an event loop: %s", path,
				    uv_strerror(ret));
	}
	uv_timer_init(&r->loop, &r->timer);
	r->timer.data = r;
	r->timer_open = true;
	ret = start(r, path, argc, argv, err);
	if (ret) {
		eu_runner_close(r);
		return ret;
	}
	*out = r;
	return 0;
}

int eu_runner_poll(struct eu_runner *r, int timeout_ms)
{
	r->delivered = 0;
	r->timed_out = false;
	if (timeout_ms >= 0)
		uv_timer_start(&r->timer, on_timeout, (uint64_t)timeout_ms, 0);
	/* each turn blocks until a buffer is ready or a timer (the timeout, the consumer's
	 * pacing and sampling) is due */
	while (!r->delivered && !r->timed_out)
		if (!uv_run(&r->loop, UV_RUN_ONCE) && !r->delivered)
			break; /* nothing left to wait for */
	uv_timer_stop(&r->timer);
	return r->delivered;
}

void eu_runner_close(struct eu_runner *r)
{
	if (!r)
		return;
	if (r->cons)
		eu_consumer_close(r->cons, NULL, NULL);
	if (r->timer_open)
		uv_close((uv_handle_t *)&r->timer, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT); /* the handles' close callbacks */
	uv_loop_close(&r->loop);
	eu_program_close(r->prog);
	eu_package_free(r->pkg);
	eu_buf_free(&r->line);
	free(r);
}
