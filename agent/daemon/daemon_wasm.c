/* Wasm modules in the daemon (watched `.wasm` files and API loads): each module runs `_start`
 * on a thread of its own, since the interpreter runs guest code for as long as the module
 * wants and must never hold the loop. The module's stdout and stderr are cut into lines on
 * that thread and queued; the loop takes them (uv_async) and turns each into a record:
 *
 *   {"package":NAME,"version":V,"event":"stdout"|"stderr","fields":{"line":"TEXT"}}
 *
 * or, when the line is a JSON object, that object as the fields. A module that ends by
 * itself (exit, trap, a callback over its limit) is reported once and stays ended: it is not
 * started again until its file changes. Stopping one (its file removed, DELETE, a new version,
 * the daemon's stop) interrupts a poll in progress; its thread detaches its programs and
 * closes its objects before it ends, and the instance is freed once the thread is joined. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/codec.h"
#include "daemon_wasm.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/record.h"
#include "wasm/wasm_module.h"

/* lines waiting for the loop; past this, lines are dropped and counted */
#define QUEUE_MAX_BYTES (4u << 20)
/* a longer line is cut into records of this size */
#define LINE_MAX_BYTES 16384

struct line_hdr {
	uint64_t time_ns;
	uint32_t len;
	uint32_t stream; /* 1 stdout, 2 stderr */
};

struct daemon_wasm {
	const struct eu_package *pkg;
	const struct daemon_wasm_ops *ops;
	void *ctx;
	struct eu_wasm_module *m;
	pthread_t thread;
	bool thread_started;
	uv_async_t wake;

	pthread_mutex_t lock;
	/* under lock */
	eu_buf queue;          /* struct line_hdr, then the text, per line */
	uint64_t dropped;      /* lines lost: the queue was full */
	bool ended;
	enum eu_wasm_outcome outcome;
	int exit_code;
	eu_error err;

	/* the module's thread only: a line not yet ended, per stream */
	eu_buf partial[2];

	/* the loop only */
	struct eu_record_source *srcs[2][2]; /* [stderr][JSON object]: what its records share */
	bool joined, retiring, closing;
	uint64_t lines, dropped_logged;
	enum eu_pkg_state end_state;
	char *end_reason;
};

static uint64_t real_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- the module's thread --- */

static void queue_line(struct daemon_wasm *w, int stream, const char *text, size_t len)
{
	if (len && text[len - 1] == '\r')
		len--;
	struct line_hdr h = {.time_ns = real_now_ns(), .len = (uint32_t)len,
			     .stream = (uint32_t)stream};
	bool wake = false;
	pthread_mutex_lock(&w->lock);
	if (w->queue.len + sizeof(h) + len > QUEUE_MAX_BYTES) {
		w->dropped++;
	} else {
		wake = !w->queue.len;
		eu_buf_append(&w->queue, &h, sizeof(h));
		eu_buf_append(&w->queue, text, len);
		if (w->queue.oom) {
			/* the loop resets the buffer; what it held is counted as dropped there */
			w->dropped++;
		}
	}
	pthread_mutex_unlock(&w->lock);
	/* the loop drains the whole queue per wake-up: one is enough until it is empty */
	if (wake)
		uv_async_send(&w->wake);
}

static ssize_t on_module_write(void *ctx, int fd, const void *data, size_t len)
{
	struct daemon_wasm *w = ctx;
	int stream = fd == 2 ? 2 : 1;
	eu_buf *p = &w->partial[stream - 1];
	const char *s = data;
	size_t left = len;
	while (left) {
		const char *nl = memchr(s, '\n', left);
		size_t take = nl ? (size_t)(nl - s) : left;
		bool full = p->len + take >= LINE_MAX_BYTES;
		if (full) {
			take = LINE_MAX_BYTES - p->len;
			nl = NULL;
		}
		eu_buf_append(p, s, take);
		s += take;
		left -= take;
		if (nl) {
			s++;
			left--;
		}
		if (nl || full) {
			queue_line(w, stream, p->data ? p->data : "", p->len);
			eu_buf_reset(p);
		}
	}
	return (ssize_t)len;
}

static void *module_main(void *arg)
{
	struct daemon_wasm *w = arg;
	eu_error err;
	eu_error_clear(&err);
	int code = 0;
	enum eu_wasm_outcome out = eu_wasm_module_run(w->m, &code, &err);
	/* a last line without its newline is still a line */
	for (int i = 0; i < 2; i++)
		if (w->partial[i].len)
			queue_line(w, i + 1, w->partial[i].data, w->partial[i].len);
	pthread_mutex_lock(&w->lock);
	w->ended = true;
	w->outcome = out;
	w->exit_code = code;
	w->err = err;
	pthread_mutex_unlock(&w->lock);
	/* the loop joins this thread before it closes the handle: sending here is safe */
	uv_async_send(&w->wake);
	return NULL;
}

/* --- the loop --- */

static void put_line_record(struct daemon_wasm *w, const struct line_hdr *h, const char *text)
{
	cJSON *obj = NULL;
	if (h->len && text[0] == '{')
		obj = cJSON_ParseWithLength(text, h->len);
	/* an object's fields are sent in their compact form: one line per record in JSON sinks */
	char *json = cJSON_IsObject(obj) ? cJSON_PrintUnformatted(obj) : NULL;
	struct eu_record_source *src = w->srcs[h->stream == 2][json != NULL];
	w->ops->record(w->ctx, src, h->time_ns, json ? json : text, json ? strlen(json) : h->len);
	free(json);
	cJSON_Delete(obj);
}

static void drain(struct daemon_wasm *w, bool *ended)
{
	eu_buf q;
	eu_buf_init(&q);
	uint64_t dropped;
	pthread_mutex_lock(&w->lock);
	eu_buf tmp = w->queue;
	w->queue = q;
	q = tmp;
	if (q.oom) {
		w->dropped++;
		q.len = 0;
	}
	*ended = w->ended;
	dropped = w->dropped;
	pthread_mutex_unlock(&w->lock);
	for (size_t at = 0; at + sizeof(struct line_hdr) <= q.len;) {
		struct line_hdr h;
		memcpy(&h, q.data + at, sizeof(h));
		at += sizeof(h);
		put_line_record(w, &h, q.data + at);
		at += h.len;
		w->lines++;
	}
	eu_buf_free(&q);
	w->ops->drained(w->ctx);
	if (dropped > w->dropped_logged) {
		eu_log(EU_LOG_WARN, "%s: %llu output line%s dropped (the daemon could not keep up; "
		       "%llu so far)", w->pkg->origin,
		       (unsigned long long)(dropped - w->dropped_logged),
		       dropped - w->dropped_logged == 1 ? "" : "s", (unsigned long long)dropped);
		w->dropped_logged = dropped;
	}
}

static void inst_closed(uv_handle_t *h)
{
	struct daemon_wasm *w = h->data;
	const struct daemon_wasm_ops *ops = w->ops;
	void *ctx = w->ctx;
	eu_wasm_module_free(w->m);
	for (int i = 0; i < 4; i++)
		eu_record_source_unref(w->srcs[i / 2][i % 2]);
	pthread_mutex_destroy(&w->lock);
	eu_buf_free(&w->queue);
	for (int i = 0; i < 2; i++)
		eu_buf_free(&w->partial[i]);
	free(w->end_reason);
	free(w);
	ops->closed(ctx);
}

static void close_when_done(struct daemon_wasm *w)
{
	if (w->retiring && (w->joined || !w->thread_started) && !w->closing) {
		w->closing = true;
		uv_close((uv_handle_t *)&w->wake, inst_closed);
	}
}

/* A module that ended by itself: said once at the default level, kept in its status. */
static void report_end(struct daemon_wasm *w)
{
	const char *origin = w->pkg->origin;
	char why[EU_ERROR_MSG_MAX + 64];
	enum eu_log_level level = EU_LOG_ERROR;
	w->end_state = EU_PKG_STATE_FAILED;
	switch (w->outcome) {
	case EU_WASM_EXITED:
		snprintf(why, sizeof(why), "the module exited with code %d", w->exit_code);
		if (!w->exit_code) {
			w->end_state = EU_PKG_STATE_EXITED;
			level = EU_LOG_WARN;
		}
		break;
	case EU_WASM_STOPPED:
	case EU_WASM_FAILED:
	default:
		snprintf(why, sizeof(why), "the module failed: %s", w->err.msg);
		break;
	}
	free(w->end_reason);
	w->end_reason = strdup(why);
	bool api = !strncmp(origin, "api:", 4);
	eu_log(level, "%s: %s; its programs are detached; it is not restarted (%s)", origin, why,
	       api ? "unload it and load it again" : "it runs again when its file changes");
}

static void on_wake(uv_async_t *h)
{
	struct daemon_wasm *w = h->data;
	bool ended = false;
	drain(w, &ended);
	if (ended && !w->joined) {
		pthread_join(w->thread, NULL);
		w->joined = true;
		if (!w->retiring)
			report_end(w);
		else if (w->outcome == EU_WASM_STOPPED)
			eu_log(EU_LOG_WARN, "%s", w->err.msg);
		else if (w->outcome == EU_WASM_FAILED && w->err.code != -EINTR)
			eu_log(EU_LOG_WARN, "%s: while stopping: %s", w->pkg->origin,
			       w->err.msg);
	}
	close_when_done(w);
}

struct eu_package *daemon_wasm_identity(const char *name, const char *origin, const void *bytes,
					size_t size)
{
	struct eu_package *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->name = strdup(name);
	p->origin = strdup(origin);
	if (!p->name || !p->origin || eu_sha256(bytes, size, p->sha256)) {
		eu_package_free(p);
		return NULL;
	}
	return p;
}

int daemon_wasm_start(uv_loop_t *loop, const struct daemon_wasm_start *s,
		      struct daemon_wasm **out, eu_error *err)
{
	*out = NULL;
	const struct eu_package *pkg = s->pkg;
	size_t n_args = s->n_args;
	if (n_args > 256)
		return eu_error_set(err, -E2BIG, "%zu module arguments: 256 at most", n_args);
	struct daemon_wasm *w = calloc(1, sizeof(*w));
	if (!w)
		return eu_error_set(err, -ENOMEM, "out of memory");
	w->pkg = pkg;
	w->ops = s->ops;
	w->ctx = s->ctx;
	eu_buf_init(&w->queue);
	eu_buf_init(&w->partial[0]);
	eu_buf_init(&w->partial[1]);
	pthread_mutex_init(&w->lock, NULL);
	/* argv[0]: the module's file name, as `run` gives it */
	char argv0[300];
	const char *slash = strrchr(pkg->origin, '/');
	if (slash)
		snprintf(argv0, sizeof(argv0), "%s", slash + 1);
	else
		snprintf(argv0, sizeof(argv0), "%s.wasm", pkg->name);
	char *argv[258] = {argv0};
	for (size_t i = 0; i < n_args; i++)
		argv[i + 1] = (char *)s->args[i];
	struct eu_wasm_opts o = {.sz = sizeof(o), .name = argv0, .argc = (int)n_args + 1,
				 .argv = argv, .write = on_module_write, .write_ctx = w};
	int ret = 0;
	for (int i = 0; i < 4 && !ret; i++) {
		struct eu_record_source t = {
			.kind = i % 2 ? EU_RECORD_OBJECT : EU_RECORD_LINE,
			.package = pkg->name ? pkg->name : "", .version = s->version,
			.event = i / 2 ? "stderr" : "stdout", .host = s->host, .ts_field = -1};
		if (eu_record_source_new(&t, &w->srcs[i / 2][i % 2]))
			ret = eu_error_set(err, -ENOMEM, "out of memory");
	}
	if (!ret)
		ret = eu_wasm_module_new(s->bytes, s->size, &o, &w->m, err);
	if (ret) {
		for (int i = 0; i < 4; i++)
			eu_record_source_unref(w->srcs[i / 2][i % 2]);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return ret;
	}
	*out = w;
	uv_async_init(loop, &w->wake, on_wake);
	w->wake.data = w;
	/* signals go to the loop's thread: an EINTR in the module's poll would end it */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&w->thread, NULL, module_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return eu_error_set(err, -ret, "cannot start the module's thread: %s", strerror(ret));
	w->thread_started = true;
	return 0;
}

void daemon_wasm_retire(struct daemon_wasm *w)
{
	w->retiring = true;
	if (w->thread_started && !w->joined)
		eu_wasm_module_stop(w->m);
	close_when_done(w);
}

void daemon_wasm_info(struct daemon_wasm *w, struct eu_daemon_pkg_info *out)
{
	pthread_mutex_lock(&w->lock);
	uint64_t dropped = w->dropped;
	pthread_mutex_unlock(&w->lock);
	out->received = w->lines + dropped;
	out->decoded = w->lines;
	out->lost = dropped;
	out->attached = w->joined ? 0 : eu_wasm_module_attached(w->m);
	if (w->joined) {
		out->state = w->end_state;
		if (!out->reason)
			out->reason = w->end_reason;
	}
}
