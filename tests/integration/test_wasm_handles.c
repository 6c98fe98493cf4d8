/* Handles are per instance, through the real bridge: two instances of a module in one process
 * (as the daemon runs them), the first holding a loaded BPF object; the second, given the
 * first's handle and map fd, gets -EINVAL/-EBADF for every use and its close changes nothing,
 * while the first goes on using its object. Root (BPF). */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_test.h"
#include "eunomia/buf.h"
#include "wasm/wasm_module.h"

#define MOD(name) EU_TESTWASM_BUILD_DIR "/" name ".wasm"

struct inst {
	struct eu_wasm_module *m;
	pthread_mutex_t lock;
	eu_buf out;
	enum eu_wasm_outcome end;
	int code;
	eu_error err;
};

static ssize_t capture(void *ctx, int fd, const void *data, size_t len)
{
	struct inst *in = ctx;
	pthread_mutex_lock(&in->lock);
	if (fd == 1)
		eu_buf_append(&in->out, data, len);
	pthread_mutex_unlock(&in->lock);
	return (ssize_t)len;
}

static void inst_new(struct inst *in, int argc, char **argv)
{
	memset(in, 0, sizeof(*in));
	pthread_mutex_init(&in->lock, NULL);
	eu_buf_init(&in->out);
	size_t size;
	char *bytes = eu_test_read_file(MOD("probe"), &size);
	cr_assert(bytes, "%s is not built", MOD("probe"));
	struct eu_wasm_opts o = {.sz = sizeof(o), .name = "probe.wasm", .argc = argc,
				 .argv = argv, .write = capture, .write_ctx = in};
	cr_assert_eq(eu_wasm_module_new(bytes, size, &o, &in->m, &in->err), 0, "%s",
		     in->err.msg);
	free(bytes);
}

static void *run_thread(void *arg)
{
	struct inst *in = arg;
	in->end = eu_wasm_module_run(in->m, &in->code, &in->err);
	return NULL;
}

/* "NAME VALUE" from the instance's stdout; false when not printed yet. */
static bool value_of(struct inst *in, const char *name, long long *v)
{
	pthread_mutex_lock(&in->lock);
	eu_buf_putc(&in->out, '\0');
	in->out.len--;
	bool found = false;
	size_t n = strlen(name);
	for (const char *p = in->out.data; p && *p && !found;) {
		if (!strncmp(p, name, n) && p[n] == ' ') {
			*v = strtoll(p + n + 1, NULL, 10);
			found = true;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	pthread_mutex_unlock(&in->lock);
	return found;
}

Test(wasm_handles, another_instance_cannot_use_them, .timeout = 60)
{
	struct inst owner, intruder;
	inst_new(&owner, 2, (char *[]){"probe.wasm", "owner", NULL});
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, run_thread, &owner), 0);
	/* "handle H fd F" once the owner has loaded its object */
	char line[128] = "";
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&owner.lock);
		eu_buf_putc(&owner.out, '\0');
		owner.out.len--;
		const char *h = strstr(owner.out.data, "handle ");
		if (h)
			snprintf(line, sizeof(line), "%.*s", (int)strcspn(h, "\n"), h);
		pthread_mutex_unlock(&owner.lock);
		if (line[0])
			break;
		usleep(50000);
	}
	unsigned long long handle = 0;
	int fd = -1;
	cr_assert_eq(sscanf(line, "handle %llu fd %d", &handle, &fd), 2,
		     "the owner printed '%s' (%s)", line, owner.err.msg);
	cr_assert_neq(handle, 0);
	cr_assert_geq(fd, 0);

	char hs[32], fs[16];
	snprintf(hs, sizeof(hs), "%llu", handle);
	snprintf(fs, sizeof(fs), "%d", fd);
	inst_new(&intruder, 4, (char *[]){"probe.wasm", "intruder", hs, fs, NULL});
	run_thread(&intruder);
	cr_assert_eq(intruder.end, EU_WASM_EXITED, "%s", intruder.err.msg);
	static const struct {
		const char *name;
		long long want;
	} refused[] = {
		{"intruder_attach", -EINVAL}, {"intruder_map_fd", -EINVAL},
		{"intruder_lookup", -EBADF},  {"intruder_update", -EBADF},
		{"intruder_poll", -EINVAL},   {"intruder_close", 0},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		long long v = 1;
		cr_assert(value_of(&intruder, refused[i].name, &v), "no %s", refused[i].name);
		cr_expect_eq(v, refused[i].want, "%s: %lld", refused[i].name, v);
	}

	pthread_join(t, NULL);
	cr_assert_eq(owner.end, EU_WASM_EXITED, "%s", owner.err.msg);
	cr_assert_eq(owner.code, 0);
	long long v = -1;
	/* the owner's object survived the intruder's close: same map fd, attach, map walk */
	cr_assert(value_of(&owner, "after_map_fd", &v));
	cr_expect_eq(v, 1);
	cr_assert(value_of(&owner, "after_attach", &v));
	cr_expect_eq(v, 0);
	cr_assert(value_of(&owner, "after_next_key", &v));
	cr_expect(v == 0 || v == -ENOENT, "after_next_key %lld", v);
	cr_assert(value_of(&owner, "after_close", &v));
	cr_expect_eq(v, 0);
	eu_wasm_module_free(owner.m);
	eu_wasm_module_free(intruder.m);
	eu_buf_free(&owner.out);
	eu_buf_free(&intruder.out);
}
