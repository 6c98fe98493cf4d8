/* The file sink: JSON lines appended to a file, with rotation by size and by age, N kept
 * files, optional gzip of rotated files, reopen on SIGHUP and an fsync policy. Everything here
 * runs on the sink's writer thread (see sink.c), so rotation and compression never touch the
 * daemon's loop.
 *
 * A batch that cannot be written whole (ENOSPC, EIO, ...) is cut back off the file with
 * ftruncate, so the file holds only whole lines; the core counts the batch as dropped.
 *
 * The file may be truncated under us (logrotate's copytruncate, `: > file` to free space):
 * writes append (O_APPEND), the size is taken from the file before each batch, and a batch
 * cut back is cut from the file's real end, never extending it (a stale size there would
 * fill the file with a hole of NUL bytes). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "eunomia/log.h"
#include "sinks/plugin_api/sink_plugin.h"

enum eu_fsync_policy {
	EU_FSYNC_NONE = 0, /* leave it to the kernel */
	EU_FSYNC_INTERVAL, /* fdatasync at most every fsync_interval_ms when there are new bytes */
	EU_FSYNC_ALWAYS,   /* fdatasync after every batch */
};

/* The file sink's settings (file_keys below). Rotation: the live file is renamed PATH.1
 * (PATH.1.gz when compressed), older ones shift to PATH.2 ... PATH.<keep>; the one beyond
 * keep is deleted. */
struct file_conf {
	char *path;
	uint64_t max_bytes;         /* rotate before a batch would make the file bigger; 0: never */
	uint64_t rotate_interval_s; /* rotate a non-empty file this long after it was opened */
	uint64_t keep;              /* rotated files kept (0: rotated data is deleted) */
	bool compress;              /* gzip rotated files (in the sink's writer thread) */
	int fsync;                  /* enum eu_fsync_policy */
	uint64_t fsync_interval_ms;
};

struct eu_sink_backend {
	struct file_conf cfg;
	int fd;
	uint64_t size;       /* of the live file */
	uint64_t opened_ms;
	uint64_t synced_ms;
	bool dirty;          /* written since the last fdatasync */
	uint64_t rotations;
};

static int file_open_live(struct eu_sink_backend *b, eu_error *err)
{
	int fd = open(b->cfg.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return eu_error_set(err, -errno, "file sink %s: cannot open: %s", b->cfg.path,
				    strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) &&
	    !S_ISFIFO(st.st_mode)) {
		close(fd);
		return eu_error_set(err, -EINVAL, "file sink %s: not a regular file", b->cfg.path);
	}
	if (b->fd >= 0)
		close(b->fd);
	b->fd = fd;
	b->size = (uint64_t)st.st_size;
	b->opened_ms = eu_sink_now_ms();
	return 0;
}

static char *rotated_name(const char *path, uint32_t i, bool gz)
{
	char *s = NULL;
	if (asprintf(&s, "%s.%u%s", path, i, gz ? ".gz" : "") < 0)
		return NULL;
	return s;
}

/* gzips src into dst (via dst.tmp, renamed when complete) and removes src. */
static int gzip_file(const char *src, const char *dst)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp", dst) < 0)
		return -ENOMEM;
	int ret = 0;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	gzFile out = in >= 0 ? gzopen(tmp, "wb6") : NULL;
	if (in < 0 || !out) {
		ret = -errno ? -errno : -EIO;
		goto done;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (gzwrite(out, buf, (unsigned)n) != (int)n) {
			ret = -EIO;
			break;
		}
	}
	if (n < 0)
		ret = -errno;
	if (gzclose(out) != Z_OK && !ret)
		ret = -EIO;
	out = NULL;
	if (!ret && rename(tmp, dst))
		ret = -errno;
	if (!ret)
		unlink(src);
	else
		unlink(tmp);
done:
	if (in >= 0)
		close(in);
	free(tmp);
	return ret;
}

/* Generation i gzipped into i.gz, unless that exists already; logged when it fails (the
 * plain file stays, and is tried again at the next rotation). */
static void compress_generation(const char *path, uint32_t i)
{
	char *plain = rotated_name(path, i, false), *gz = rotated_name(path, i, true);
	struct stat st;
	if (plain && gz && stat(plain, &st) == 0 && stat(gz, &st) != 0) {
		int ret = gzip_file(plain, gz);
		if (ret)
			eu_log(EU_LOG_WARN, "file sink %s: cannot compress %s: %s (kept as is; "
			       "tried again at the next rotation)", path, plain, strerror(-ret));
	}
	free(plain);
	free(gz);
}

/* Moves generation i (plain and compressed alike: a file whose compression failed is
 * still a generation) to i + 1. */
static void shift_generation(const char *path, uint32_t i)
{
	for (int z = 0; z < 2; z++) {
		char *from = rotated_name(path, i, z), *to = rotated_name(path, i + 1, z);
		if (from && to)
			rename(from, to);
		free(from);
		free(to);
	}
}

static void file_rotate(struct eu_sink_backend *b)
{
	const char *path = b->cfg.path;
	uint32_t keep = (uint32_t)b->cfg.keep;
	bool gz = b->cfg.compress;
	if (b->dirty && b->cfg.fsync != EU_FSYNC_NONE)
		fdatasync(b->fd);
	if (keep == 0) {
		unlink(path);
	} else {
		for (int z = 0; z < 2; z++) {
			char *last = rotated_name(path, keep, z);
			if (last)
				unlink(last);
			free(last);
		}
		for (uint32_t i = keep - 1; i >= 1; i--)
			shift_generation(path, i);
		char *first = rotated_name(path, 1, false);
		if (first && rename(path, first) == 0 && gz)
			for (uint32_t i = 1; i <= keep; i++)
				compress_generation(path, i);
		free(first);
	}
	eu_error err = {0};
	if (file_open_live(b, &err))
		eu_log(EU_LOG_ERROR, "%s", err.msg);
	__atomic_add_fetch(&b->rotations, 1, __ATOMIC_RELAXED);
	b->dirty = false;
}

static bool rotation_due(struct eu_sink_backend *b, size_t incoming, uint64_t now_ms)
{
	if (b->size == 0)
		return false;
	if (b->cfg.max_bytes && b->size + incoming > b->cfg.max_bytes)
		return true;
	return b->cfg.rotate_interval_s &&
	       now_ms - b->opened_ms >= (uint64_t)b->cfg.rotate_interval_s * 1000u;
}

/* The live file's size as it is now: someone may have truncated it (copytruncate). */
static void file_refresh_size(struct eu_sink_backend *b)
{
	struct stat st;
	if (b->fd >= 0 && fstat(b->fd, &st) == 0 && S_ISREG(st.st_mode))
		b->size = (uint64_t)st.st_size;
}

static int file_write(void *state, const struct eu_sink_batch *batch, uint64_t *retries,
		      uint64_t *bytes)
{
	struct eu_sink_backend *b = state;
	const char *data;
	size_t len;
	int ret = eu_sink_batch_json(batch, &data, &len);
	if (ret)
		return ret;
	uint64_t now = eu_sink_now_ms();
	file_refresh_size(b);
	if (rotation_due(b, len, now))
		file_rotate(b);
	if (b->fd < 0) {
		eu_error err = {0};
		ret = file_open_live(b, &err);
		if (ret)
			return ret;
	}
	uint64_t start = b->size;
	/* a file's age counts from its first line, not from when it was opened empty */
	if (start == 0)
		b->opened_ms = now;
	size_t off;
	ret = eu_sink_write_all(b->fd, data, len, false, retries, &off);
	if (ret) {
		/* a batch is all or nothing: take the partial line back off the file's real end
		 * (appended there, whatever happened to the file meanwhile); never extend it */
		struct stat st;
		if (off && fstat(b->fd, &st) == 0) {
			off_t end = st.st_size, cut = end >= (off_t)off ? end - (off_t)off : 0;
			if (ftruncate(b->fd, cut) == 0)
				off = 0;
			b->size = (uint64_t)cut + off;
		}
		return ret;
	}
	b->size += len;
	*bytes = len;
	b->dirty = true;
	if (b->cfg.fsync == EU_FSYNC_ALWAYS) {
		fdatasync(b->fd);
		b->dirty = false;
		b->synced_ms = now;
	}
	return 0;
}

static void file_tick(void *state, uint64_t now_ms)
{
	struct eu_sink_backend *b = state;
	if (b->cfg.fsync == EU_FSYNC_INTERVAL && b->dirty &&
	    now_ms - b->synced_ms >= b->cfg.fsync_interval_ms) {
		fdatasync(b->fd);
		b->dirty = false;
		b->synced_ms = now_ms;
	}
	if (b->cfg.rotate_interval_s && rotation_due(b, 0, now_ms))
		file_rotate(b);
}

static uint32_t file_tick_period(void *state)
{
	struct eu_sink_backend *b = state;
	uint32_t p = 0;
	if (b->cfg.fsync == EU_FSYNC_INTERVAL)
		p = b->cfg.fsync_interval_ms ? (uint32_t)b->cfg.fsync_interval_ms : 1000;
	if (b->cfg.rotate_interval_s && (!p || p > 1000))
		p = 1000;
	return p;
}

static int file_reopen(void *state, eu_error *err)
{
	struct eu_sink_backend *b = state;
	if (b->fd >= 0 && b->dirty && b->cfg.fsync != EU_FSYNC_NONE)
		fdatasync(b->fd);
	b->dirty = false;
	return file_open_live(b, err);
}

static void file_close(void *state)
{
	struct eu_sink_backend *b = state;
	if (b->fd >= 0) {
		if (b->dirty && b->cfg.fsync != EU_FSYNC_NONE)
			fdatasync(b->fd);
		close(b->fd);
	}
	free(b->cfg.path);
	free(b);
}

static void file_stats(void *state, struct eu_sink_stats *st)
{
	struct eu_sink_backend *b = state;
	st->rotations = __atomic_load_n(&b->rotations, __ATOMIC_RELAXED);
}

static int file_open(const struct eu_sink_config *cfg, const void *conf, void **out,
		     eu_error *err)
{
	struct eu_sink_backend *b = calloc(1, sizeof(*b));
	if (b) {
		b->cfg = *(const struct file_conf *)conf;
		b->cfg.path = strdup(b->cfg.path);
	}
	if (!b || !b->cfg.path) {
		free(b);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	b->fd = -1;
	int ret = file_open_live(b, err);
	if (ret) {
		file_close(b);
		return ret;
	}
	b->synced_ms = b->opened_ms;
	*out = b;
	return 0;
}

static const char *const fsync_choices[] = {"none", "interval", "always", NULL};

static const struct eu_sink_key file_keys[] = {
	{.key = "path", .type = EU_SINK_KEY_STRING, .required = true,
	 .offset = offsetof(struct file_conf, path),
	 .desc = "the live file (created, appended to)"},
	{.key = "max_size", .type = EU_SINK_KEY_SIZE, .def = "0",
	 .offset = offsetof(struct file_conf, max_bytes),
	 .desc = "rotate before a batch would make the file bigger (0: never)"},
	{.key = "max_age", .type = EU_SINK_KEY_SECONDS, .def = "0",
	 .offset = offsetof(struct file_conf, rotate_interval_s),
	 .desc = "rotate a non-empty file this long after its first line (0: never)"},
	{.key = "keep", .type = EU_SINK_KEY_UINT, .def = "5", .max = 1000,
	 .offset = offsetof(struct file_conf, keep),
	 .desc = "rotated files kept: PATH.1 (newest) .. PATH.keep"},
	{.key = "compress", .type = EU_SINK_KEY_BOOL, .def = "false",
	 .offset = offsetof(struct file_conf, compress),
	 .desc = "gzip rotated files (PATH.1.gz ...)"},
	{.key = "fsync", .type = EU_SINK_KEY_ENUM, .def = "none", .choices = fsync_choices,
	 .offset = offsetof(struct file_conf, fsync),
	 .desc = "none: leave it to the kernel; interval: fdatasync every fsync_interval_ms "
		 "when written to; always: after every batch"},
	{.key = "fsync_interval_ms", .type = EU_SINK_KEY_UINT, .def = "1000", .max = 3600000,
	 .offset = offsetof(struct file_conf, fsync_interval_ms),
	 .desc = "the interval of fsync: interval"},
	{0},
};

const struct eu_sink_plugin eu_sink_plugin_file = {
	.name = "file",
	.desc = "JSON lines appended to a file, rotated by size and age, optionally gzipped; "
		"SIGHUP reopens it (after logrotate).",
	.arg_key = "path",
	.keys = file_keys,
	.conf_size = sizeof(struct file_conf),
	.open = file_open,
	.write = file_write,
	.tick = file_tick,
	.tick_period_ms = file_tick_period,
	.reopen = file_reopen,
	.close = file_close,
	.stats = file_stats,
};
