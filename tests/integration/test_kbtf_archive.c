/* Kernels without BTF, tested on this one by hiding its BTF (EUNOMIA_KERNEL_BTF=/nonexistent,
 * and for real in a private mount namespace with a tmpfs over /sys/kernel/btf): .tar packages
 * from `ecc --btfgen` and from GNU tar with bpftool's min_core_btf, --btf-archive DIR, the
 * daemon's watched directory; the right kernel's file picked (decoys beside it would fail the
 * load), corerelo's values decoded right; a wrong release, a missing BTF_FILE_PATH and hostile
 * tars refused with messages naming what was looked for. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "daemon_fixture.h"
#include "eu_agent.h"
#include "eu_run_util.h"
#include "eu_test.h"

#define CORERELO_DIR EU_TESTBPF_BUILD_DIR "/corerelo"
#define CORERELO_SRC EU_SOURCE_DIR "/tests/bpf/corerelo/corerelo.bpf.c"

static char *dir;
static char name[512];  /* <ID>/<VERSION_ID>/<machine>/<release>.btf, found independently */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "failed: %s", cmd);
}

static void os_value(const char *text, const char *key, char *out, size_t size)
{
	out[0] = '\0';
	char pat[64];
	snprintf(pat, sizeof(pat), "\n%s=", key);
	char *buf = malloc(strlen(text) + 2);
	sprintf(buf, "\n%s", text);
	const char *p = strstr(buf, pat);
	if (p) {
		p += strlen(pat);
		size_t n = strcspn(p, "\n");
		if (n >= 2 && p[0] == '"') {
			p++;
			n -= 2;
		}
		snprintf(out, size, "%.*s", (int)n, p);
	}
	free(buf);
}

static void setup(void)
{
	dir = eu_tmpdir("kbtfa");
	char *osr = eu_test_read_file("/etc/os-release", NULL);
	cr_assert(osr);
	char id[64], ver[64];
	os_value(osr, "ID", id, sizeof(id));
	os_value(osr, "VERSION_ID", ver, sizeof(ver));
	free(osr);
	struct utsname u;
	uname(&u);
	snprintf(name, sizeof(name), "%s/%s/%s/%s.btf", id, ver, u.machine, u.release);
	sh("bash %s/scripts/mount-fs.sh >/dev/null 2>&1 || true", EU_SOURCE_DIR);
}

static void teardown(void)
{
	eu_tmpdir_remove(dir);
	free(dir);
}

/* bpftool's minimal BTF for corerelo at DIR/<stage>/btfhub-archive/<rel> (independent of our
 * trimmer), with package.json beside it. */
static void stage_bpftool(const char *stage, const char *rel)
{
	sh("mkdir -p %s/%s/btfhub-archive/$(dirname %s) && cp %s/package.json %s/%s/ && "
	   "bpftool gen min_core_btf /sys/kernel/btf/vmlinux %s/%s/btfhub-archive/%s "
	   "%s/corerelo.bpf.o",
	   dir, stage, rel, CORERELO_DIR, dir, stage, dir, stage, rel, CORERELO_DIR);
}

static void getppid_trigger(void *ctx)
{
	(void)ctx;
	syscall(SYS_getppid);
}

static bool is_mine(const cJSON *rec, void *ctx)
{
	(void)ctx;
	return eu_json_int(rec, "pid", -1) == getpid();
}

/* The agent (argv, started by the caller's way) sends corerelo's event with right values. */
static void expect_corerelo(struct eu_agent *a)
{
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached:\n%s", eu_agent_stderr(a));
	cJSON *e = eu_agent_trigger_find(a, getppid_trigger, NULL, is_mine, NULL, 300, 10000);
	cr_assert(e, "no event; stderr:\n%s", eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(e, "ppid", -1), getppid());
	cr_expect_eq(eu_json_int(e, "flavor_tgid", -1), getpid());
	cr_expect_eq(eu_json_int(e, "has_pid", -1), 1);
	cr_expect_eq(eu_json_int(e, "has_missing", -1), 0);
	cr_expect_eq(eu_json_int(e, "pid_size", -1), 4);
	cr_expect_eq(eu_json_int(e, "task_exists", -1), 1);
	cr_expect_eq(eu_json_int(e, "tgid_enum", -1), 1);
	cr_expect_eq(eu_json_int(e, "sid_exists", -1), 1);
	cr_expect_geq(eu_json_int(e, "mm_count", -1), 1);
	char comm[16];
	cr_assert_eq(eu_self_comm(comm, sizeof(comm)), 0);
	cr_expect_str_eq(eu_json_str(e, "comm"), comm);
	cJSON_Delete(e);
	cr_assert_eq(eu_agent_stop(a, 10000), 0, "%s", eu_agent_stderr(a));
}

static struct eu_agent *run_pkg(const char *pkg, const char *extra)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	const char *args[] = {extra ? extra : "--target_pid", extra ? dir : pid,
			      extra ? "--target_pid" : NULL, pid, NULL};
	struct eu_agent *a = eu_agent_start(pkg, args);
	cr_assert(a);
	return a;
}

static int run_fail(const char *pkg, const char *extra, char **out)
{
	const char *argv[] = {EU_AGENT_BIN, "run", pkg, "--duration", "1", extra, extra ? dir : NULL,
			      NULL};
	return eu_run_capture(argv, 20000, out);
}

Test(kbtf_archive, btfgen_tar_round_trips_without_kernel_btf, .init = setup, .fini = teardown)
{
	char *out = NULL;
	char tar[600];
	snprintf(tar, sizeof(tar), "%s/out/corerelo.tar", dir);
	const char *argv[] = {EU_ECC_BIN, CORERELO_SRC, "-I", EU_SOURCE_DIR "/plugins/include",
			      "-o", NULL, "--btfgen", NULL};
	char outdir[600];
	snprintf(outdir, sizeof(outdir), "%s/out", dir);
	argv[5] = outdir;
	cr_assert_eq(eu_run_capture(argv, 120000, &out), 0, "%s", out);
	cr_assert(strstr(out, "minimal BTF for 1 kernel, this machine's: "), "%s", out);
	cr_assert(strstr(out, name), "ecc names %s: %s", name, out);
	free(out);
	/* GNU tar reads what ecc wrote */
	sh("tar tf %s | grep -qx 'btfhub-archive/%s'", tar, name);

	setenv("EUNOMIA_KERNEL_BTF", "/nonexistent", 1);
	struct eu_agent *a = run_pkg(tar, NULL);
	expect_corerelo(a);
	char want[700];
	snprintf(want, sizeof(want), "using btfhub-archive/%s from the package", name);
	cr_assert(strstr(eu_agent_stderr(a), want), "%s", eu_agent_stderr(a));
	eu_agent_free(a);
}

Test(kbtf_archive, the_matching_kernel_is_picked_among_decoys, .init = setup, .fini = teardown)
{
	stage_bpftool("s", name);
	/* decoys: if any were taken, libbpf would fail to parse it and the load would fail */
	sh("cd %s/s/btfhub-archive && mkdir -p other/1/x && echo garbage > other/1/x/$(basename %s) && "
	   "echo garbage > $(dirname %s)/0.0.0-decoy.btf && echo garbage > %s.old && "
	   "tar -C %s/s -cf %s/p.tar package.json btfhub-archive",
	   dir, name, name, name, dir, dir);
	setenv("EUNOMIA_KERNEL_BTF", "/nonexistent", 1);
	char tar[600];
	snprintf(tar, sizeof(tar), "%s/p.tar", dir);
	struct eu_agent *a = run_pkg(tar, NULL);
	expect_corerelo(a);
	eu_agent_free(a);
}

Test(kbtf_archive, a_wrong_release_is_refused_naming_the_path, .init = setup, .fini = teardown)
{
	char other[600];
	snprintf(other, sizeof(other), "%.*s/0.0.0-other.btf", (int)(strrchr(name, '/') - name), name);
	stage_bpftool("s", other);
	sh("tar -C %s/s -cf %s/w.tar package.json btfhub-archive", dir, dir);
	setenv("EUNOMIA_KERNEL_BTF", "/nonexistent", 1);
	char tar[600], *out = NULL;
	snprintf(tar, sizeof(tar), "%s/w.tar", dir);
	int rc = run_fail(tar, NULL, &out);
	cr_assert_neq(rc, 0, "%s", out);
	char want[700];
	snprintf(want, sizeof(want), "looked for btfhub-archive/%s in the package", name);
	cr_assert(strstr(out, want), "%s", out);
	cr_assert(strstr(out, "this kernel has no BTF (/nonexistent is missing)"), "%s", out);
	snprintf(want, sizeof(want), "covers 1 kernel: %s", other);
	cr_assert(strstr(out, want), "%s", out);
	free(out);
}

Test(kbtf_archive, btf_archive_dir_option, .init = setup, .fini = teardown)
{
	stage_bpftool("s", name);
	setenv("EUNOMIA_KERNEL_BTF", "/nonexistent", 1);
	/* run's --btf-archive DIR, DIR being the btfhub-archive itself */
	char *arch = dir;
	char path[600];
	snprintf(path, sizeof(path), "%s/s/btfhub-archive", arch);
	sh("mv %s %s/archive", path, arch);
	struct eu_agent *a = NULL;
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	char archive[600];
	snprintf(archive, sizeof(archive), "%s/archive", dir);
	const char *args[] = {"--btf-archive", archive, "--target_pid", pid, NULL};
	a = eu_agent_start(CORERELO_DIR "/package.json", args);
	cr_assert(a);
	expect_corerelo(a);
	eu_agent_free(a);

	/* a directory without this kernel: the path looked for is named */
	char *out = NULL;
	const char *argv[] = {EU_AGENT_BIN, "run", CORERELO_DIR "/package.json", "--btf-archive",
			      dir, "--duration", "1", NULL};
	cr_assert_neq(eu_run_capture(argv, 20000, &out), 0, "%s", out);
	char want[1200];
	snprintf(want, sizeof(want), "and %s/%s", dir, name);
	cr_assert(strstr(out, want), "%s", out);
	free(out);
}

Test(kbtf_archive, missing_btf_file_path_is_named, .init = setup, .fini = teardown)
{
	setenv("BTF_FILE_PATH", "/nonexistent/eu-x.btf", 1);
	char *out = NULL;
	int rc = run_fail(CORERELO_DIR "/package.json", NULL, &out);
	cr_assert_neq(rc, 0, "%s", out);
	cr_assert(strstr(out, "BTF_FILE_PATH=/nonexistent/eu-x.btf: No such file or directory"),
		  "%s", out);
	free(out);
}

Test(kbtf_archive, hostile_tars_are_refused, .init = setup, .fini = teardown)
{
	stage_bpftool("s", name);
	sh("ln -s /etc/shadow %s/s/evil.json && tar -C %s/s -cf %s/link.tar package.json evil.json",
	   dir, dir, dir);
	char tar[600], *out = NULL;
	snprintf(tar, sizeof(tar), "%s/link.tar", dir);
	cr_assert_neq(run_fail(tar, NULL, &out), 0);
	cr_assert(strstr(out, "not a safe tar archive: member \"evil.json\" is a symbolic link"),
		  "%s", out);
	free(out);

	/* a "../" member written by tar itself (-P keeps it) */
	sh("mkdir -p %s/s/sub && cd %s/s/sub && tar -P -cf %s/dots.tar ../package.json", dir, dir,
	   dir);
	snprintf(tar, sizeof(tar), "%s/dots.tar", dir);
	cr_assert_neq(run_fail(tar, NULL, &out), 0);
	cr_assert(strstr(out, "member \"../package.json\" is refused: a member name with a \"..\""),
		  "%s", out);
	free(out);

	/* no package.json at the root */
	sh("tar -C %s/s -cf %s/none.tar btfhub-archive", dir, dir);
	snprintf(tar, sizeof(tar), "%s/none.tar", dir);
	cr_assert_neq(run_fail(tar, NULL, &out), 0);
	cr_assert(strstr(out, "a tar package needs package.json at its root"), "%s", out);
	free(out);
}

Test(kbtf_archive, private_mount_namespace_without_sys_kernel_btf, .init = setup,
     .fini = teardown)
{
	stage_bpftool("s", name);
	sh("tar -C %s/s -cf %s/p.tar package.json btfhub-archive", dir, dir);
	char script[2000], pid[16];
	snprintf(pid, sizeof(pid), "%d", getpid());
	snprintf(script, sizeof(script),
		 "mount -t tmpfs eu-nobtf /sys/kernel/btf && test ! -e /sys/kernel/btf/vmlinux && "
		 "exec %s run %s/p.tar --json --target_pid %s",
		 EU_AGENT_BIN, dir, pid);
	const char *argv[] = {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh",
			      "-c", script, NULL};
	struct eu_agent *a = eu_agent_start_argv(argv);
	cr_assert(a);
	expect_corerelo(a);
	cr_assert(strstr(eu_agent_stderr(a), "the kernel has no BTF (/sys/kernel/btf/vmlinux)"),
		  "%s", eu_agent_stderr(a));
	eu_agent_free(a);
	/* the namespace was private: the host still has its BTF */
	cr_assert_eq(access("/sys/kernel/btf/vmlinux", R_OK), 0);
}

Test(kbtf_archive, daemon_loads_a_watched_tar_without_kernel_btf)
{
	struct dfix f;
	dfix_init(&f);
	char out[300];
	snprintf(out, sizeof(out), "%s/b", f.root);
	char *log = NULL;
	const char *argv[] = {EU_ECC_BIN, EU_SOURCE_DIR "/plugins/bootstrap/bootstrap.bpf.c",
			      EU_SOURCE_DIR "/plugins/bootstrap/bootstrap.h", "-I",
			      EU_SOURCE_DIR "/plugins/include", "-o", out, "--btfgen", NULL};
	cr_assert_eq(eu_run_capture(argv, 120000, &log), 0, "%s", log);
	free(log);
	setenv("EUNOMIA_KERNEL_BTF", "/nonexistent", 1);
	dfix_start(&f, (const char *const[]){"--api", "none", NULL});
	dfix_sh("cp %s/bootstrap.tar %s/.b.tmp && mv %s/.b.tmp %s/boot.tar", out, f.watch, f.watch,
		f.watch);
	cr_assert(dfix_wait_log(&f, "attached", 1, 20000), "%s", eu_agent_stderr(f.a));
	cr_assert(strstr(eu_agent_stderr(f.a), "using btfhub-archive/"), "%s", eu_agent_stderr(f.a));
	struct dfix_match m = {.package = "bootstrap", .filename = f.bin, .exit_event = 0};
	cr_assert_geq(dfix_exec_until(&f, &m, 0, 10000), 1, "no exec record of %s:\n%s", f.bin,
		      eu_agent_stdout(f.a));
	dfix_fini(&f);
}
