/* The in-memory tar reader: archives written by GNU tar in its three formats read back by
 * value, and every kind of hostile member refused with its name in the message. Hostile
 * headers that tar(1) will not write are built here byte by byte. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "eunomia/package.h"
#include "package/tar_reader.h"

#define MB (1u << 20)

/* ---- archives built by hand ---- */

struct tarbuf {
	uint8_t *p;
	size_t n;
};

static void put_octal(uint8_t *f, size_t width, unsigned long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, v);
	cr_assert(n > 0 && (size_t)n < width);
	memcpy(f, tmp, (size_t)n + 1);
}

/* One header (with a correct checksum unless bad_sum) and its data, padded. */
static void add(struct tarbuf *t, const char *name, char type, const void *data, size_t size,
		const char *link, bool bad_sum)
{
	size_t padded = (size + 511) / 512 * 512;
	t->p = realloc(t->p, t->n + 512 + padded);
	cr_assert(t->p);
	uint8_t *h = t->p + t->n;
	memset(h, 0, 512 + padded);
	strncpy((char *)h, name, 100);
	put_octal(h + 100, 8, 0644);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	put_octal(h + 124, 12, size);
	put_octal(h + 136, 12, 0);
	h[156] = (uint8_t)type;
	if (link)
		strncpy((char *)h + 157, link, 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	put_octal(h + 148, 7, bad_sum ? sum + 1 : sum);
	if (data)
		memcpy(h + 512, data, size);
	t->n += 512 + padded;
}

static void finish(struct tarbuf *t)
{
	t->p = realloc(t->p, t->n + 1024);
	memset(t->p + t->n, 0, 1024);
	t->n += 1024;
}

static int read_hand(struct tarbuf *t, size_t max, struct eu_tar *tar, eu_error *err)
{
	finish(t);
	int rc = eu_tar_read(t->p, t->n, max, "x.tar", tar, err);
	free(t->p);
	t->p = NULL;
	t->n = 0;
	return rc;
}

static void expect_refused(struct tarbuf *t, int code, const char *needle)
{
	struct eu_tar tar;
	eu_error err = {0};
	int rc = read_hand(t, MB, &tar, &err);
	cr_assert_eq(rc, code, "rc %d (%s)", rc, err.msg);
	cr_assert(strstr(err.msg, "x.tar: not a safe tar archive"), "%s", err.msg);
	cr_assert(strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
	cr_assert_eq(tar.n, 0);
	cr_assert_null(tar.members);
}

Test(tar_reader, hand_built_members_by_value)
{
	struct tarbuf t = {0};
	add(&t, "./dir/", '5', NULL, 0, NULL, false);
	add(&t, "./dir/a.txt", '0', "hello", 5, NULL, false);
	add(&t, "b", '\0', "", 0, NULL, false);
	struct eu_tar tar;
	eu_error err = {0};
	cr_assert_eq(read_hand(&t, MB, &tar, &err), 0, "%s", err.msg);
	cr_assert_eq(tar.n, 2);
	cr_assert_str_eq(tar.members[0].name, "dir/a.txt");
	cr_assert_eq(tar.members[0].size, 5);
	cr_assert_eq(memcmp(tar.members[0].data, "hello", 5), 0);
	cr_assert_str_eq(tar.members[1].name, "b");
	cr_assert_eq(tar.members[1].size, 0);
	cr_assert_eq(eu_tar_find(&tar, "dir/a.txt"), &tar.members[0]);
	cr_assert_null(eu_tar_find(&tar, "dir"));
	eu_tar_free(&tar);
}

Test(tar_reader, refuses_dotdot) {
	struct tarbuf t = {0};
	add(&t, "btfhub-archive/../../etc/passwd", '0', "x", 1, NULL, false);
	expect_refused(&t, -EPERM, "\"..\" component");
}

Test(tar_reader, refuses_absolute) {
	struct tarbuf t = {0};
	add(&t, "/etc/passwd", '0', "x", 1, NULL, false);
	expect_refused(&t, -EPERM, "absolute member name");
}

Test(tar_reader, refuses_symlink) {
	struct tarbuf t = {0};
	add(&t, "package.json", '2', NULL, 0, "/etc/shadow", false);
	expect_refused(&t, -EPERM, "member \"package.json\" is a symbolic link");
}

Test(tar_reader, refuses_hard_link) {
	struct tarbuf t = {0};
	add(&t, "a", '0', "x", 1, NULL, false);
	add(&t, "b", '1', NULL, 0, "a", false);
	expect_refused(&t, -EPERM, "member \"b\" is a hard link");
}

Test(tar_reader, refuses_devices_and_fifos) {
	struct tarbuf t = {0};
	add(&t, "dev", '3', NULL, 0, NULL, false);
	expect_refused(&t, -EPERM, "character device");
	add(&t, "fifo", '6', NULL, 0, NULL, false);
	expect_refused(&t, -EPERM, "a FIFO");
}

Test(tar_reader, refuses_huge_and_lying_sizes) {
	/* 8 GiB claimed, a few bytes present */
	struct tarbuf t = {0};
	add(&t, "big", '0', "x", 1, NULL, false);
	put_octal(t.p + 124, 12, 077777777777ull);
	memset(t.p + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += t.p[i];
	put_octal(t.p + 148, 7, sum);
	expect_refused(&t, -EINVAL, "member \"big\" claims 8589934591 bytes past the end");

	/* base-256 sizes are how tar writes members over 8 GiB */
	add(&t, "big", '0', "x", 1, NULL, false);
	t.p[124] = 0x80;
	memset(t.p + 148, ' ', 8);
	sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += t.p[i];
	put_octal(t.p + 148, 7, sum);
	expect_refused(&t, -EFBIG, "base-256");

	/* present but over the caller's limit */
	static uint8_t blob[4096];
	add(&t, "blob", '0', blob, sizeof(blob), NULL, false);
	struct eu_tar tar;
	eu_error err = {0};
	cr_assert_eq(read_hand(&t, 1000, &tar, &err), -EFBIG);
	cr_assert(strstr(err.msg, "member \"blob\" is 4096 bytes, over the limit of 1000"), "%s",
		  err.msg);
}

Test(tar_reader, refuses_bad_checksum_duplicates_and_truncation) {
	struct tarbuf t = {0};
	add(&t, "a", '0', "x", 1, NULL, false);
	add(&t, "b", '0', "y", 1, NULL, true);
	expect_refused(&t, -EINVAL, "bad checksum at byte 1024");

	add(&t, "./a", '0', "x", 1, NULL, false);
	add(&t, "a", '0', "y", 1, NULL, false);
	expect_refused(&t, -EPERM, "member \"a\" appears twice");

	add(&t, "a", '0', "0123456789", 10, NULL, false);
	struct eu_tar tar;
	eu_error err = {0};
	/* cut in the middle of the member's data */
	cr_assert_eq(eu_tar_read(t.p, 512 + 4, MB, "x.tar", &tar, &err), -EINVAL);
	cr_assert(strstr(err.msg, "past the end"), "%s", err.msg);
	free(t.p);
}

Test(tar_reader, not_a_tar)
{
	struct eu_tar tar;
	eu_error err = {0};
	static const char json[] = "{\"bpf_object\": \"\"}";
	cr_assert_not(eu_tar_looks_like(json, sizeof(json)));
	cr_assert_eq(eu_tar_read(json, sizeof(json), MB, "x.tar", &tar, &err), -EINVAL);
	cr_assert_str_eq(err.msg, "x.tar: not a tar archive");
}

/* ---- archives written by GNU tar ---- */

static char dir[] = "/tmp/eu_tar_XXXXXX";

static void run(const char *cmd)
{
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void write_file(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/src/%s", dir, rel);
	FILE *f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	cr_assert(mkdtemp(dir));
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/src/btfhub-archive/debian/12/x86_64 && mkdir -p "
		 "%s/src/%0120d", dir, dir, 7);
	run(cmd);
	write_file("package.json", "{}");
	write_file("btfhub-archive/debian/12/x86_64/6.1.0-18-amd64.btf", "BTF-BYTES");
	char longname[300];
	snprintf(longname, sizeof(longname), "%0120d/long-file-name-beyond-one-hundred.txt", 7);
	write_file(longname, "long");
}

static void teardown(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

static void check_format(const char *format)
{
	char cmd[1024], path[512];
	snprintf(path, sizeof(path), "%s/%s.tar", dir, format);
	/* files only: a ustar directory entry of over 100 bytes cannot be split */
	snprintf(cmd, sizeof(cmd),
		 "cd %s/src && tar --format=%s -cf %s ./package.json "
		 "btfhub-archive/debian/12/x86_64/6.1.0-18-amd64.btf "
		 "%0120d/long-file-name-beyond-one-hundred.txt",
		 dir, format, path, 7);
	run(cmd);
	void *data;
	size_t len;
	eu_error err = {0};
	cr_assert_eq(eu_file_read(path, 16 * MB, &data, &len, &err), 0, "%s", err.msg);
	cr_assert(eu_tar_looks_like(data, len));
	struct eu_tar tar;
	cr_assert_eq(eu_tar_read(data, len, MB, path, &tar, &err), 0, "%s: %s", format, err.msg);
	cr_assert_eq(tar.n, 3, "%s: %zu members", format, tar.n);
	const struct eu_tar_member *m = eu_tar_find(&tar, "package.json");
	cr_assert(m && m->size == 2 && !memcmp(m->data, "{}", 2), "%s", format);
	m = eu_tar_find(&tar, "btfhub-archive/debian/12/x86_64/6.1.0-18-amd64.btf");
	cr_assert(m && m->size == 9 && !memcmp(m->data, "BTF-BYTES", 9), "%s", format);
	char longname[300];
	snprintf(longname, sizeof(longname), "%0120d/long-file-name-beyond-one-hundred.txt", 7);
	m = eu_tar_find(&tar, longname);
	cr_assert(m && m->size == 4 && !memcmp(m->data, "long", 4), "%s", format);
	eu_tar_free(&tar);
	free(data);
}

Test(tar_reader, gnu_ustar_and_pax_archives, .init = setup, .fini = teardown)
{
	check_format("gnu");
	check_format("pax");
	/* ustar cannot hold a 160-byte name in one piece: prefix + name (155 + 100) */
	check_format("ustar");
}

Test(tar_reader, symlink_written_by_tar_is_refused, .init = setup, .fini = teardown)
{
	char cmd[1024], path[512];
	snprintf(cmd, sizeof(cmd), "ln -s /etc/passwd %s/src/evil.json", dir);
	run(cmd);
	snprintf(path, sizeof(path), "%s/evil.tar", dir);
	snprintf(cmd, sizeof(cmd), "tar -C %s/src -cf %s package.json evil.json", dir, path);
	run(cmd);
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_package_read_file(path, &pkg, &err), -EPERM);
	cr_assert(strstr(err.msg, "member \"evil.json\" is a symbolic link"), "%s", err.msg);
	cr_assert_null(pkg);
}
