/* Read-only endpoints: programs, /healthz, /v1/features, /metrics. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "api_priv.h"
#include "eunomia/features.h"
#include "eunomia/program.h"

struct attach_ctx {
	eu_buf *b;
	bool first;
};

static void put_attach(void *ctx, const char *program, const char *section)
{
	struct attach_ctx *c = ctx;
	eu_buf_puts(c->b, c->first ? "" : ",");
	c->first = false;
	eu_buf_puts(c->b, "{\"program\":");
	eu_buf_json_string(c->b, program, strlen(program));
	eu_buf_puts(c->b, ",\"section\":");
	eu_buf_json_string(c->b, section ? section : "", section ? strlen(section) : 0);
	eu_buf_putc(c->b, '}');
}

static void put_choice(void *ctx, const struct eu_program_choice *ch)
{
	struct attach_ctx *c = ctx;
	eu_buf_puts(c->b, c->first ? "" : ",");
	c->first = false;
	eu_buf_puts(c->b, "{\"program\":");
	eu_buf_json_string(c->b, ch->program, strlen(ch->program));
	eu_buf_puts(c->b, ",\"section\":");
	eu_buf_json_string(c->b, ch->section ? ch->section : "", ch->section ? strlen(ch->section) : 0);
	eu_buf_printf(c->b, ",\"loaded\":%s,\"reason\":", ch->loaded ? "true" : "false");
	eu_buf_json_string(c->b, ch->reason, strlen(ch->reason));
	eu_buf_putc(c->b, '}');
}

struct pkg_ctx {
	struct eu_api *a;
	eu_buf *b;
	bool first;
	bool upstream;
	size_t n, loaded, failed;
};

static const char *state_name(const struct eu_daemon_pkg_info *i)
{
	if (i->state == EU_PKG_STATE_EXITED)
		return "exited";
	if (i->state != EU_PKG_STATE_LOADED)
		return "failed";
	return i->paused ? "paused" : "loaded";
}

static void put_str(eu_buf *b, const char *key, const char *v)
{
	eu_buf_printf(b, ",\"%s\":", key);
	if (v)
		eu_buf_json_string(b, v, strlen(v));
	else
		eu_buf_puts(b, "null");
}

static void put_pkg(void *ctx, const struct eu_daemon_pkg_info *i)
{
	struct pkg_ctx *c = ctx;
	eu_buf *b = c->b;
	c->n++;
	if (i->state == EU_PKG_STATE_LOADED)
		c->loaded++;
	else
		c->failed++;
	if (!b)
		return;
	eu_buf_puts(b, c->first ? "" : ",");
	c->first = false;
	if (c->upstream) {
		/* upstream's GET /task: {id, name, status} */
		eu_buf_printf(b, "{\"id\":%llu", (unsigned long long)i->id);
		put_str(b, "name", i->name);
		put_str(b, "status", i->state == EU_PKG_STATE_EXITED ? "exited" :
				      i->state != EU_PKG_STATE_LOADED ? "failed" :
				      i->paused ? "paused" : "running");
		eu_buf_putc(b, '}');
		return;
	}
	eu_buf_puts(b, "{\"name\":");
	eu_buf_json_string(b, i->name, strlen(i->name));
	eu_buf_printf(b, ",\"id\":%llu", (unsigned long long)i->id);
	put_str(b, "source", i->from_api ? "api" : "watch");
	put_str(b, "path", i->path);
	put_str(b, "state", state_name(i));
	put_str(b, "version", i->version[0] ? i->version : NULL);
	eu_buf_printf(b, ",\"attached\":%zu,\"attach_points\":[", i->attached);
	struct attach_ctx ac = {.b = b, .first = true};
	if (c->a->d)
		eu_daemon_foreach_attach_point(c->a->d, i->path, put_attach, &ac);
	eu_buf_puts(b, "],\"choices\":[");
	struct attach_ctx cc = {.b = b, .first = true};
	if (c->a->d)
		eu_daemon_foreach_choice(c->a->d, i->path, put_choice, &cc);
	eu_buf_printf(b, "],\"counters\":{\"received\":%llu,\"decoded\":%llu,\"lost\":%llu,"
			 "\"decode_errors\":%llu,\"records\":%llu,\"format_errors\":%llu}",
		      (unsigned long long)i->received, (unsigned long long)i->decoded,
		      (unsigned long long)i->lost, (unsigned long long)i->decode_errors,
		      (unsigned long long)i->records, (unsigned long long)i->format_errors);
	eu_buf_printf(b, ",\"seq\":%llu", (unsigned long long)i->seq);
	put_str(b, "last_error", i->reason);
	eu_buf_putc(b, '}');
}

int api_package_json(struct eu_api *a, const char *name, eu_buf *out)
{
	struct pkg_ctx c = {.a = a, .b = out, .first = true};
	return eu_daemon_find_package(a->d, name, put_pkg, &c);
}

static void list(struct eu_api *a, struct eu_http_req *r, bool upstream)
{
	if (!api_need_daemon(a, r))
		return;
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_puts(&b, upstream ? "{\"status\":\"Ok\",\"tasks\":[" : "{\"programs\":[");
	struct pkg_ctx c = {.a = a, .b = &b, .first = true, .upstream = upstream};
	eu_daemon_foreach_package(a->d, put_pkg, &c);
	eu_buf_puts(&b, "]}\n");
	eu_http_reply_json(r, 200, &b);
	eu_buf_free(&b);
}

void api_h_list(void *ctx, struct eu_http_req *r)
{
	list(ctx, r, false);
}

void api_h_task_list(void *ctx, struct eu_http_req *r)
{
	list(ctx, r, true);
}

void api_h_healthz(void *ctx, struct eu_http_req *r)
{
	struct eu_api *a = ctx;
	if (!api_need_daemon(a, r))
		return;
	struct pkg_ctx c = {.a = a};
	eu_daemon_foreach_package(a->d, put_pkg, &c);
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_printf(&b, "{\"status\":\"ok\",\"packages\":%zu,\"loaded\":%zu,\"failed\":%zu}\n",
		      c.n, c.loaded, c.failed);
	eu_http_reply_json(r, 200, &b);
	eu_buf_free(&b);
}

void api_h_metrics(void *ctx, struct eu_http_req *r)
{
	struct eu_api *a = ctx;
	if (!api_need_daemon(a, r))
		return;
	eu_buf b;
	eu_buf_init(&b);
	eu_daemon_render_metrics(a->d, &b);
	if (b.oom)
		eu_http_reply_error(r, 500, "out_of_memory", "out of memory");
	else
		eu_http_reply(r, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len);
	eu_buf_free(&b);
}

static const struct {
	const char *name;
	enum bpf_prog_type type;
} prog_types[] = {
	{"socket_filter", BPF_PROG_TYPE_SOCKET_FILTER},
	{"kprobe", BPF_PROG_TYPE_KPROBE},
	{"sched_cls", BPF_PROG_TYPE_SCHED_CLS},
	{"tracepoint", BPF_PROG_TYPE_TRACEPOINT},
	{"xdp", BPF_PROG_TYPE_XDP},
	{"perf_event", BPF_PROG_TYPE_PERF_EVENT},
	{"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},
	{"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
	{"tracing", BPF_PROG_TYPE_TRACING},
	{"lsm", BPF_PROG_TYPE_LSM},
};

static const struct {
	const char *name;
	enum bpf_map_type type;
} map_types[] = {
	{"hash", BPF_MAP_TYPE_HASH},
	{"array", BPF_MAP_TYPE_ARRAY},
	{"perf_event_array", BPF_MAP_TYPE_PERF_EVENT_ARRAY},
	{"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY},
	{"ringbuf", BPF_MAP_TYPE_RINGBUF},
};

static void build_features(struct eu_api *a)
{
	eu_buf *b = &a->features;
	struct utsname u;
	eu_buf_puts(b, "{\"kernel\":");
	if (!uname(&u))
		eu_buf_json_string(b, u.release, strlen(u.release));
	else
		eu_buf_puts(b, "null");
	eu_buf_puts(b, ",\"features\":{");
	struct eu_features *f = eu_daemon_features(a->d);
	eu_features_probe_all(f);
	for (int i = 0; i < EU_FEATURE__COUNT; i++) {
		int why = eu_features_reason(f, (enum eu_feature)i);
		eu_buf_printf(b, "%s\"%s\":{\"available\":%s", i ? "," : "",
			      eu_feature_name((enum eu_feature)i), why ? "false" : "true");
		if (why) {
			const char *m = strerror(-why);
			eu_buf_puts(b, ",\"reason\":");
			eu_buf_json_string(b, m, strlen(m));
		}
		eu_buf_putc(b, '}');
	}
	/* what the attach kinds need, as an operator reads them */
	bool tracefs = eu_features_has(f, EU_FEATURE_TRACEFS);
	eu_buf_printf(b, "},\"attach_kinds\":{\"tracepoint\":%s,\"raw_tracepoint\":true,"
			 "\"tp_btf\":%s,\"kprobe\":%s,\"uprobe\":%s,\"fentry\":%s,\"lsm\":%s,"
			 "\"tc\":true,\"xdp\":true,\"perf_event\":true}",
		      tracefs ? "true" : "false",
		      eu_features_has(f, EU_FEATURE_BTF) ? "true" : "false",
		      eu_features_has(f, EU_FEATURE_KPROBES) ? "true" : "false",
		      eu_features_has(f, EU_FEATURE_UPROBES) ? "true" : "false",
		      eu_features_has(f, EU_FEATURE_FENTRY) ? "true" : "false",
		      eu_features_has(f, EU_FEATURE_LSM) ? "true" : "false");
	eu_buf_puts(b, ",\"program_types\":{");
	for (size_t i = 0; i < sizeof(prog_types) / sizeof(prog_types[0]); i++)
		eu_buf_printf(b, "%s\"%s\":%s", i ? "," : "", prog_types[i].name,
			      libbpf_probe_bpf_prog_type(prog_types[i].type, NULL) == 1 ? "true" :
											    "false");
	eu_buf_puts(b, "},\"map_types\":{");
	for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++)
		eu_buf_printf(b, "%s\"%s\":%s", i ? "," : "", map_types[i].name,
			      libbpf_probe_bpf_map_type(map_types[i].type, NULL) == 1 ? "true" :
											  "false");
	eu_buf_puts(b, "}}\n");
}

void api_h_features(void *ctx, struct eu_http_req *r)
{
	struct eu_api *a = ctx;
	if (!api_need_daemon(a, r))
		return;
	if (!a->features.len || a->features.oom) {
		eu_buf_reset(&a->features);
		a->features.oom = false;
		build_features(a);
	}
	eu_http_reply_json(r, 200, &a->features);
}
