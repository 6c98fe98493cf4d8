/* The trust rule for kubelet volumes (kubelet_volume.h) through eu_security_read_watched:
 * the kubelet's exact layout in a world-writable directory is read; each way of posing as
 * it (a payload directory or file someone else owns or may write, a link that goes
 * elsewhere, a file planted beside the links, a name not of the kubelet's form) is refused
 * naming the step; an ordinary world-writable directory keeps the ordinary refusal. The
 * layouts are real directories; ownership cases need root (chown) and are checked as
 * refusals of the user's own files otherwise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eu_run_util.h"
#include "daemon/kubelet_volume.h"
#include "daemon/security.h"

#define PAYLOAD "..2026_12_05_11_00_00.123456789"
#define BODY "{\"k\":1}"

static char *vol;

static void sh(const char *fmt, const char *arg)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg, arg);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* The kubelet's layout for one key, k.json, as its atomic writer leaves it. */
static void setup(void)
{
	vol = eu_tmpdir("kubelet");
	cr_assert(vol);
	sh("cd %s && chmod 0777 . && mkdir " PAYLOAD " && chmod 0755 " PAYLOAD
	   " && printf '" BODY "' > " PAYLOAD "/k.json && chmod 0644 " PAYLOAD "/k.json"
	   " && ln -s " PAYLOAD " ..data && ln -s ..data/k.json k.json", vol);
}

static void teardown(void)
{
	eu_tmpdir_remove(vol);
	free(vol);
}

TestSuite(kubelet_volume, .init = setup, .fini = teardown);

static int read_key(const char *key, eu_error *err, char **data)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", vol, key);
	void *d = NULL;
	size_t len = 0;
	int ret = eu_security_read_watched(path, 1 << 20, &d, &len, err);
	*data = d;
	return ret;
}

static void expect_refused(const char *key, const char *needle)
{
	eu_error err = {0};
	char *data;
	cr_expect_eq(read_key(key, &err, &data), -EPERM, "read: %s", data ? data : "");
	cr_expect(strstr(err.msg, needle), "\"%s\" not in: %s", needle, err.msg);
	free(data);
}

Test(kubelet_volume, payload_names)
{
	cr_expect(eu_kubelet_payload_name("..2026_12_05_11_00_00.1"));
	cr_expect(eu_kubelet_payload_name(PAYLOAD));
	cr_expect_not(eu_kubelet_payload_name("..2026_12_05_11_00_00."));
	cr_expect_not(eu_kubelet_payload_name("..2026_12_05_11_00_00.12a"));
	cr_expect_not(eu_kubelet_payload_name("..2026-12-05_11_00_00.1"));
	cr_expect_not(eu_kubelet_payload_name("../etc"));
	cr_expect_not(eu_kubelet_payload_name("/tmp/..2026_12_05_11_00_00.1"));
	cr_expect_not(eu_kubelet_payload_name(""));
}

Test(kubelet_volume, the_kubelets_layout_is_read)
{
	eu_error err = {0};
	char *data;
	if (geteuid() != 0) {
		/* the payload must be root's: a user's own copy of the layout is refused */
		cr_expect_eq(read_key("k.json", &err, &data), -EPERM);
		cr_expect(strstr(err.msg, "owned by uid"), "%s", err.msg);
		free(data);
		return;
	}
	cr_assert_eq(read_key("k.json", &err, &data), 0, "%s", err.msg);
	cr_expect_str_eq(data, BODY);
	free(data);
	/* the tmpfs root of a Secret volume (1777), and an fsGroup's setgid one (2777) */
	sh("chmod 1777 %s", vol);
	cr_expect_eq(read_key("k.json", &err, &data), 0, "%s", err.msg);
	free(data);
	sh("chmod 2777 %s", vol);
	cr_expect_eq(read_key("k.json", &err, &data), 0, "%s", err.msg);
	free(data);
	/* a key that is gone is ENOENT, not a refusal */
	cr_expect_eq(read_key("gone.json", &err, &data), -ENOENT, "%s", err.msg);
}

Test(kubelet_volume, an_ordinary_world_writable_directory_is_refused)
{
	sh("cd %s && rm ..data && printf x > plain.json && chmod 0644 plain.json", vol);
	expect_refused("plain.json", "world-writable (mode 0777)");
	expect_refused("k.json", "world-writable (mode 0777)");
}

Test(kubelet_volume, data_link_to_another_name)
{
	sh("cd %s && mkdir evil && chmod 0755 evil && cp " PAYLOAD "/k.json evil/ && "
	   "ln -sfn evil ..data", vol);
	expect_refused("k.json", "points to 'evil', not a kubelet payload directory");
	sh("cd %s && ln -sfn /etc ..data", vol);
	expect_refused("k.json", "points to '/etc'");
}

Test(kubelet_volume, data_not_a_link)
{
	sh("cd %s && rm ..data && mkdir ..data", vol);
	expect_refused("k.json", "..data: refused: not a link to the payload");
}

Test(kubelet_volume, payload_directory_writable_or_a_link)
{
	sh("chmod 0775 %s/" PAYLOAD, vol);
	expect_refused("k.json", "mode 0775");
	sh("chmod 0755 %s/" PAYLOAD, vol);
	/* the payload name a link to a directory elsewhere */
	sh("cd %s && mv " PAYLOAD " real && ln -s real " PAYLOAD, vol);
	expect_refused("k.json", "not a directory of its own");
}

Test(kubelet_volume, key_not_the_kubelets_link)
{
	/* a file planted beside the links */
	sh("cd %s && printf x > planted.json && chmod 0644 planted.json", vol);
	expect_refused("planted.json", "this is no link");
	/* a link to another key's data, or around ..data */
	sh("cd %s && printf y > " PAYLOAD "/other.json && ln -sfn ..data/other.json k.json", vol);
	expect_refused("k.json", "this one points elsewhere");
	sh("cd %s && ln -sfn " PAYLOAD "/k.json k.json", vol);
	expect_refused("k.json", "this one points elsewhere");
}

Test(kubelet_volume, payload_file_writable_or_a_link)
{
	sh("chmod 0666 %s/" PAYLOAD "/k.json", vol);
	expect_refused("k.json", "mode 0666");
	sh("cd %s && rm " PAYLOAD "/k.json && ln -s /etc/hostname " PAYLOAD "/k.json", vol);
	expect_refused("k.json", "a link inside the payload directory");
}

Test(kubelet_volume, ownership_by_anyone_but_root)
{
	if (geteuid() != 0) {
		expect_refused("k.json", "owned by uid");
		return;
	}
	sh("chown 65534 %s/" PAYLOAD "/k.json", vol);
	expect_refused("k.json", "owned by uid 65534, mode 0644");
	sh("chown 0 %s/" PAYLOAD "/k.json && chown 65534 %s/" PAYLOAD, vol);
	expect_refused("k.json", "owned by uid 65534, mode 0755");
	sh("chown 0 %s/" PAYLOAD " && chown 65534 %s", vol);
	expect_refused("k.json", "owned by uid 65534: a kubelet volume (..data) only when the "
				 "volume's directory is root's");
}

Test(kubelet_volume, ordinary_directories_are_unchanged)
{
	/* a 0755 directory: the ordinary rule, links followed as before */
	sh("cd %s && chmod 0755 . && rm ..data", vol);
	eu_error err = {0};
	char *data;
	if (geteuid() == 0) {
		cr_expect_eq(read_key("k.json", &err, &data), -ENOENT, "%s", err.msg);
		sh("cd %s && ln -sfn " PAYLOAD "/k.json k.json", vol);
		cr_expect_eq(read_key("k.json", &err, &data), 0, "%s", err.msg);
		cr_expect_str_eq(data, BODY);
		free(data);
	}
	sh("chmod 0666 %s/" PAYLOAD "/k.json", vol);
	sh("cd %s && ln -sfn " PAYLOAD "/k.json k.json", vol);
	expect_refused("k.json", "world-writable (mode 0666)");
}
