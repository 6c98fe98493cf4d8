/* The sink core and the file sink: rotation by size with N kept files, gzip of rotated files,
 * reopen (logrotate), whole lines only, bounded queues that count their drops. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sinks/sink.h"

static char dir[64];

/* Sets a sink key as the config file would (the plugin's key table parses it). */
static void set_key(struct eu_sink_config *c, const char *key, const char *fmt, ...)
{
	char v[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	eu_error err = {0};
	cr_assert_eq(eu_sink_config_set(c, key, v, &err), 0, "%s=%s: %s", key, v, err.msg);
}

static void init_cfg(struct eu_sink_config *c, const char *type)
{
	eu_error err = {0};
	cr_assert_eq(eu_sink_config_init(c, type, &err), 0, "%s", err.msg);
}

static void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/eu-sink-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Counts lines of a plain or gzip file, checking every one is "line N ...\n" whole; marks
 * seen[N]. Returns the count. */
static size_t count_lines(const char *path, bool *seen, size_t n_seen)
{
	gzFile f = gzopen(path, "rb"); /* reads plain files too */
	cr_assert(f, "%s", path);
	char line[512];
	size_t n = 0;
	while (gzgets(f, line, sizeof(line))) {
		size_t len = strlen(line);
		cr_assert(len > 0 && line[len - 1] == '\n', "%s: split line '%s'", path, line);
		unsigned idx;
		cr_assert_eq(sscanf(line, "{\"line\":%u}", &idx), 1, "%s: bad line '%s'", path, line);
		cr_assert_lt(idx, n_seen);
		cr_assert_not(seen[idx], "line %u twice", idx);
		seen[idx] = true;
		n++;
	}
	gzclose(f);
	return n;
}

static void write_lines(struct eu_sink *s, unsigned from, unsigned count, unsigned per_batch)
{
	char buf[8192];
	for (unsigned i = from; i < from + count;) {
		size_t len = 0, n = 0;
		for (; n < per_batch && i < from + count; n++, i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "{\"line\":%u}\n", i);
		cr_assert(eu_sink_write_lines(s, buf, len, n));
	}
}

Test(sink_file, size_rotation_keeps_n_files, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct eu_sink_config c;
	init_cfg(&c, "file");
	char path[128];
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	set_key(&c, "path", "%s", path);
	set_key(&c, "max_size", "1000");
	set_key(&c, "keep", "100");
	struct eu_sink *s;
	eu_error err = {0};
	cr_assert_eq(eu_sink_open(&c, &s, &err), 0, "%s", err.msg);
	write_lines(s, 0, 1000, 7);
	cr_assert_eq(eu_sink_flush(s, 5000), 0);
	struct eu_sink_stats st;
	eu_sink_get_stats(s, &st);
	cr_assert_eq(st.queued, 1000);
	cr_assert_eq(st.written, 1000);
	cr_assert_eq(st.dropped, 0);
	cr_assert_gt(st.rotations, 10);
	eu_sink_close(s, 1000);

	bool seen[1000] = {0};
	size_t total = count_lines(path, seen, 1000);
	for (unsigned i = 1; i <= 100; i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s.%u", path, i);
		struct stat sb;
		if (stat(p, &sb))
			break;
		cr_assert_leq(sb.st_size, 1000, "%s too big", p);
		total += count_lines(p, seen, 1000);
	}
	cr_assert_eq(total, 1000, "every line in exactly one file");

	/* keep 2: only PATH, PATH.1, PATH.2 remain */
	rm_tmp();
	mkdir_tmp();
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	set_key(&c, "path", "%s", path);
	set_key(&c, "keep", "2");
	cr_assert_eq(eu_sink_open(&c, &s, &err), 0, "%s", err.msg);
	write_lines(s, 0, 1000, 7);
	eu_sink_close(s, 5000);
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	cr_assert_eq(files, 3);
}

Test(sink_file, gzip_rotated_files, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct eu_sink_config c;
	init_cfg(&c, "file");
	char path[128], p1[160];
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	set_key(&c, "path", "%s", path);
	set_key(&c, "max_size", "4096");
	set_key(&c, "keep", "50");
	set_key(&c, "compress", "true");
	set_key(&c, "fsync", "always");
	struct eu_sink *s;
	eu_error err = {0};
	cr_assert_eq(eu_sink_open(&c, &s, &err), 0, "%s", err.msg);
	write_lines(s, 0, 2000, 50);
	eu_sink_close(s, 5000);
	snprintf(p1, sizeof(p1), "%s.1.gz", path);
	unsigned char magic[2] = {0};
	FILE *f = fopen(p1, "rb");
	cr_assert(f, "%s exists", p1);
	cr_assert_eq(fread(magic, 1, 2, f), 2);
	fclose(f);
	cr_assert(magic[0] == 0x1f && magic[1] == 0x8b, "gzip magic");
	snprintf(p1, sizeof(p1), "%s.1", path);
	cr_assert_neq(access(p1, F_OK), 0, "uncompressed copy removed");
	bool seen[2000] = {0};
	size_t total = count_lines(path, seen, 2000);
	for (unsigned i = 1; i <= 50; i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s.%u.gz", path, i);
		if (access(p, F_OK))
			break;
		total += count_lines(p, seen, 2000);
	}
	cr_assert_eq(total, 2000);
}

Test(sink_file, reopen_after_logrotate_move, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct eu_sink_config c;
	init_cfg(&c, "file");
	char path[128], moved[160];
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	snprintf(moved, sizeof(moved), "%s/ev.jsonl.old", dir);
	set_key(&c, "path", "%s", path);
	struct eu_sink *s;
	eu_error err = {0};
	cr_assert_eq(eu_sink_open(&c, &s, &err), 0, "%s", err.msg);
	write_lines(s, 0, 300, 10);
	cr_assert_eq(eu_sink_flush(s, 5000), 0);
	cr_assert_eq(rename(path, moved), 0);
	/* still the old file until reopened */
	write_lines(s, 300, 100, 10);
	cr_assert_eq(eu_sink_flush(s, 5000), 0);
	eu_sink_reopen(s);
	write_lines(s, 400, 100, 10);
	eu_sink_close(s, 5000);
	bool seen[500] = {0};
	size_t a = count_lines(moved, seen, 500), b = count_lines(path, seen, 500);
	cr_assert_eq(a, 400);
	cr_assert_eq(b, 100);
}

Test(sink_file, bad_path_fails_at_open)
{
	struct eu_sink_config c;
	init_cfg(&c, "file");
	set_key(&c, "path", "/nonexistent-dir/x.jsonl");
	struct eu_sink *s = NULL;
	eu_error err = {0};
	cr_assert_eq(eu_sink_open(&c, &s, &err), -ENOENT);
	cr_assert(strstr(err.msg, "/nonexistent-dir/x.jsonl"), "%s", err.msg);
	cr_assert_null(s);
}

Test(sink_core, full_queue_drops_and_counts_without_blocking)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct eu_sink_config c;
	init_cfg(&c, "stdout");
	set_key(&c, "fd", "%d", p[1]);
	set_key(&c, "queue_size", "100");
	struct eu_sink *s;
	eu_error err = {0};
	cr_assert_eq(eu_sink_open(&c, &s, &err), 0, "%s", err.msg);
	/* nobody reads the pipe: the writer blocks once the pipe (64 KiB) is full */
	char line[1024];
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	unsigned accepted = 0, refused = 0;
	for (int i = 0; i < 2000; i++)
		if (eu_sink_write_lines(s, line, sizeof(line), 1))
			accepted++;
		else
			refused++;
	cr_assert_gt(refused, 0, "the bounded queue must refuse");
	struct eu_sink_stats st;
	eu_sink_get_stats(s, &st);
	cr_assert_eq(st.queued, accepted);
	cr_assert_eq(st.dropped, refused);
	cr_assert_leq(st.queue_len, 100);
	/* drain the pipe: everything accepted is written */
	int fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
	size_t got = 0;
	for (int tries = 0; tries < 500; tries++) {
		char buf[65536];
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n > 0) {
			got += (size_t)n;
			tries = 0;
		} else {
			usleep(2000);
		}
		if (got == (size_t)accepted * sizeof(line))
			break;
	}
	cr_assert_eq(got, (size_t)accepted * sizeof(line));
	cr_assert_eq(eu_sink_flush(s, 5000), 0);
	eu_sink_get_stats(s, &st);
	cr_assert_eq(st.written, accepted);
	eu_sink_close(s, 1000);
	close(p[0]);
	close(p[1]);
}

Test(sink_core, closed_pipe_counts_drops_once_per_batch)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	struct eu_sink_config c;
	init_cfg(&c, "stdout");
	set_key(&c, "fd", "%d", p[1]);
	struct eu_sink *s;
	eu_error err = {0};
	cr_assert_eq(eu_sink_open(&c, &s, &err), 0, "%s", err.msg);
	cr_assert(eu_sink_write_lines(s, "a\nb\n", 4, 2));
	cr_assert(eu_sink_write_lines(s, "c\n", 2, 1));
	cr_assert_eq(eu_sink_flush(s, 5000), 0);
	struct eu_sink_stats st;
	eu_sink_get_stats(s, &st);
	cr_assert_eq(st.queued, 3);
	cr_assert_eq(st.written, 0);
	cr_assert_eq(st.dropped, 3);
	eu_sink_close(s, 1000);
	close(p[1]);
}

Test(sink_file, time_rotation_and_fsync_interval, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct eu_sink_config c;
	init_cfg(&c, "file");
	char path[128], p1[160], p2[160];
	snprintf(path, sizeof(path), "%s/ev.jsonl", dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	set_key(&c, "path", "%s", path);
	set_key(&c, "max_age", "1");
	set_key(&c, "fsync", "interval");
	set_key(&c, "fsync_interval_ms", "100");
	struct eu_sink *s;
	eu_error err = {0};
	cr_assert_eq(eu_sink_open(&c, &s, &err), 0, "%s", err.msg);
	write_lines(s, 0, 10, 5);
	cr_assert_eq(eu_sink_flush(s, 5000), 0);
	cr_assert_neq(access(p1, F_OK), 0, "no rotation before the interval");
	/* rotated by the writer's timer, with no new batch needed */
	usleep(1600000);
	cr_assert_eq(access(p1, F_OK), 0, "rotated after 1 s");
	/* an empty live file is not rotated again */
	usleep(1200000);
	cr_assert_neq(access(p2, F_OK), 0, "empty file rotated");
	write_lines(s, 10, 10, 5);
	eu_sink_close(s, 5000);
	bool seen[20] = {0};
	cr_assert_eq(count_lines(p1, seen, 20) + count_lines(path, seen, 20), 20);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
}
