/* Whole-file reads (file.h): what is read, and every refusal with its reason. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/eu-file-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(file, .init = setup, .fini = teardown);

static void path_of(char *out, const char *name)
{
	snprintf(out, 128, "%s/%s", dir, name);
}

Test(file, reads_whole_files_through_symlinks)
{
	char p[128], link[128];
	path_of(p, "data");
	FILE *f = fopen(p, "w");
	cr_assert(f);
	fputs("hello\nworld", f);
	fclose(f);
	path_of(link, "link");
	cr_assert_eq(symlink(p, link), 0);
	void *data;
	size_t len;
	eu_error err = {0};
	cr_assert_eq(eu_file_read(link, 100, &data, &len, &err), 0, "%s", err.msg);
	cr_assert_eq(len, 11);
	cr_assert_str_eq(data, "hello\nworld", "NUL-terminated past the data");
	free(data);
	/* an empty file is fine */
	path_of(p, "empty");
	f = fopen(p, "w");
	cr_assert(f);
	fclose(f);
	cr_assert_eq(eu_file_read(p, 100, &data, &len, &err), 0, "%s", err.msg);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(data, "");
	free(data);
}

Test(file, refusals_name_the_path_and_the_reason)
{
	char p[128];
	void *data = (void *)1;
	size_t len = 7;
	eu_error err = {0};

	path_of(p, "missing");
	cr_assert_eq(eu_file_read(p, 100, &data, &len, &err), -ENOENT);
	cr_assert_null(data);
	cr_assert_eq(len, 0);
	cr_assert(strstr(err.msg, p) && strstr(err.msg, "No such file"), "%s", err.msg);

	cr_assert_eq(eu_file_read(dir, 100, &data, &len, &err), -EISDIR);
	cr_assert(strstr(err.msg, "is a directory"), "%s", err.msg);

	path_of(p, "big");
	FILE *f = fopen(p, "w");
	cr_assert(f);
	fputs("0123456789", f);
	fclose(f);
	cr_assert_eq(eu_file_read(p, 9, &data, &len, &err), -EFBIG);
	cr_assert(strstr(err.msg, "10 bytes is over the size limit of 9"), "%s", err.msg);

	/* a FIFO where a file is expected: refused at once, not waited on for a writer */
	path_of(p, "fifo");
	cr_assert_eq(mkfifo(p, 0600), 0);
	cr_assert_eq(eu_file_read(p, 100, &data, &len, &err), -EINVAL);
	cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);
	cr_assert_eq(eu_file_read("/dev/null", 100, &data, &len, &err), -EINVAL);
}
