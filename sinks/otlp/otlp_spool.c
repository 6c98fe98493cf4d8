/* The OTLP exporter's on-disk spool: batches of packed LogRecords that could not be delivered
 * (or kept in memory), one file per batch, named by a sequence number so a restart replays
 * them in order. A file is written to a temporary name and renamed into place (optionally
 * fsync'd, file and directory), so a crash leaves either the whole batch or none of it; each
 * record is framed with its length and CRC-32, and a damaged tail is cut off on reading.
 *
 * Write-ahead: records are appended one by one to an open batch file under its final name
 * before the exporter acknowledges them; a crash leaves them on disk (a record cut in half by
 * it fails its CRC and is cut off with the tail), and the next start replays the file like
 * any other. The open file joins the replay order when it is sealed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/file.h"
#include "eunomia/log.h"
#include "otlp_priv.h"

#define SPOOL_MAGIC "EUOTLPS1"
#define SPOOL_SUFFIX ".spool"

struct spool_file {
	uint64_t seq;
	uint64_t size;
};

struct eu_otlp_spool {
	char *dir;
	uint64_t max_bytes;
	/* the other signal's spool under the same spool_dir: max_bytes is one budget for both
	 * (one exporter's loop uses them both, so no lock) */
	struct eu_otlp_spool *peer;
	bool fsync;
	struct spool_file *files; /* sorted by seq; the open write-ahead file is not among them */
	size_t n_files, cap_files;
	uint64_t bytes;
	uint64_t next_seq;
	/* the open write-ahead file (fd -1: none) */
	int wal_fd;
	uint64_t wal_seq;
	uint64_t wal_bytes;
	size_t wal_records;
	bool wal_dirty; /* appended since the last fdatasync */
	eu_buf frame;   /* one record's frame, reused */
};

static void file_path(const struct eu_otlp_spool *s, uint64_t seq, bool tmp, char *out,
		      size_t n)
{
	snprintf(out, n, "%s/%s%016" PRIx64 "%s", s->dir, tmp ? ".tmp-" : "", seq,
		 tmp ? "" : SPOOL_SUFFIX);
}

static int cmp_files(const void *a, const void *b)
{
	const struct spool_file *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int add_file(struct eu_otlp_spool *s, uint64_t seq, uint64_t size)
{
	if (s->n_files == s->cap_files) {
		size_t ncap = s->cap_files ? s->cap_files * 2 : 16;
		struct spool_file *nf = realloc(s->files, ncap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		s->files = nf;
		s->cap_files = ncap;
	}
	s->files[s->n_files++] = (struct spool_file){seq, size};
	s->bytes += size;
	if (seq >= s->next_seq)
		s->next_seq = seq + 1;
	return 0;
}

int eu_otlp_spool_open(const char *dir, uint64_t max_bytes, bool fsync_on,
		       struct eu_otlp_spool **out, eu_error *err)
{
	*out = NULL;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return eu_error_set(err, -errno, "OTLP spool %s: %s", dir, strerror(errno));
	DIR *d = opendir(dir);
	if (!d)
		return eu_error_set(err, -errno, "OTLP spool %s: %s", dir, strerror(errno));
	struct eu_otlp_spool *s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		closedir(d);
		return eu_error_set(err, -ENOMEM, "OTLP spool: out of memory");
	}
	s->max_bytes = max_bytes;
	s->fsync = fsync_on;
	s->wal_fd = -1;
	eu_buf_init(&s->frame);
	struct dirent *de;
	int ret = 0;
	while (!ret && (de = readdir(d))) {
		char *end;
		if (!strncmp(de->d_name, ".tmp-", 5)) {
			/* a write that never completed: it was never acknowledged as spooled */
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		uint64_t seq = strtoull(de->d_name, &end, 16);
		if (end != de->d_name + 16 || strcmp(end, SPOOL_SUFFIX))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		ret = add_file(s, seq, (uint64_t)st.st_size);
	}
	closedir(d);
	if (ret) {
		eu_otlp_spool_close(s);
		return eu_error_set(err, ret, "OTLP spool: out of memory");
	}
	/* qsort's pointer must be valid even for 0 elements: an empty directory has none */
	if (s->n_files > 1)
		qsort(s->files, s->n_files, sizeof(*s->files), cmp_files);
	*out = s;
	return 0;
}

void eu_otlp_spool_close(struct eu_otlp_spool *s)
{
	if (!s)
		return;
	eu_otlp_spool_seal(s);
	if (s->peer)
		s->peer->peer = NULL;
	eu_buf_free(&s->frame);
	free(s->files);
	free(s->dir);
	free(s);
}

uint64_t eu_otlp_spool_reserve(struct eu_otlp_spool *s)
{
	return s->next_seq++;
}

size_t eu_otlp_spool_files(const struct eu_otlp_spool *s)
{
	return s->n_files;
}

uint64_t eu_otlp_spool_bytes(const struct eu_otlp_spool *s)
{
	return s->bytes + s->wal_bytes;
}

void eu_otlp_spool_share_cap(struct eu_otlp_spool *a, struct eu_otlp_spool *b)
{
	a->peer = b;
	b->peer = a;
}

/* What counts against max_bytes: this spool's files and those of the one sharing its cap. */
static uint64_t budget_used(const struct eu_otlp_spool *s)
{
	return eu_otlp_spool_bytes(s) + (s->peer ? eu_otlp_spool_bytes(s->peer) : 0);
}

static int full(const struct eu_otlp_spool *s, eu_error *err)
{
	return eu_error_set(err, -ENOSPC, "OTLP spool %s: full (%" PRIu64 " of %" PRIu64
					  " bytes used%s)", s->dir, budget_used(s), s->max_bytes,
			    s->peer ? ", logs and metrics together" : "");
}

static void put32(eu_buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	eu_buf_append(b, t, 4);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* frame: u32 payload length, u32 crc32(payload); payload: u16 name length, name,
 * u16 version length, version, record */
static void append_frame(eu_buf *b, const struct eu_otlp_scoped_record *r)
{
	const char *nm = r->scope_name ? r->scope_name : "";
	const char *vs = r->scope_version ? r->scope_version : "";
	size_t nl = strnlen(nm, 65535), vl = strnlen(vs, 65535);
	size_t plen = 2 + nl + 2 + vl + r->len;
	size_t start = b->len;
	put32(b, (uint32_t)plen);
	put32(b, 0);
	uint8_t l2[2] = {(uint8_t)nl, (uint8_t)(nl >> 8)};
	eu_buf_append(b, l2, 2);
	eu_buf_append(b, nm, nl);
	uint8_t v2[2] = {(uint8_t)vl, (uint8_t)(vl >> 8)};
	eu_buf_append(b, v2, 2);
	eu_buf_append(b, vs, vl);
	eu_buf_append(b, r->record, r->len);
	if (b->oom)
		return;
	uint32_t crc = (uint32_t)crc32(0, (const Bytef *)b->data + start + 8, (uInt)plen);
	uint8_t *c = (uint8_t *)b->data + start + 4;
	c[0] = (uint8_t)crc;
	c[1] = (uint8_t)(crc >> 8);
	c[2] = (uint8_t)(crc >> 16);
	c[3] = (uint8_t)(crc >> 24);
}

static void sync_dir(const struct eu_otlp_spool *s)
{
	int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

int eu_otlp_spool_write(struct eu_otlp_spool *s, uint64_t seq,
			const struct eu_otlp_scoped_record *recs, size_t n, eu_error *err)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_buf_append(&b, SPOOL_MAGIC, 8);
	for (size_t i = 0; i < n && !b.oom; i++)
		append_frame(&b, &recs[i]);
	if (b.oom) {
		eu_buf_free(&b);
		return eu_error_set(err, -ENOMEM, "OTLP spool: out of memory");
	}
	if (s->max_bytes && budget_used(s) + b.len > s->max_bytes) {
		eu_buf_free(&b);
		return full(s, err);
	}
	char tmp[4096], path[4096];
	file_path(s, seq, true, tmp, sizeof(tmp));
	file_path(s, seq, false, path, sizeof(path));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = fd < 0 ? -errno : eu_write_all(fd, b.data, b.len);
	if (!ret && s->fsync && fdatasync(fd))
		ret = -errno;
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (!ret && s->fsync)
		sync_dir(s); /* the rename itself must survive a crash */
	size_t len = b.len;
	eu_buf_free(&b);
	if (ret) {
		unlink(tmp);
		return eu_error_set(err, ret, "OTLP spool %s: %s", tmp, strerror(-ret));
	}
	/* keep the list sorted: a batch reserved earlier may be written after later ones */
	ret = add_file(s, seq, len);
	if (ret)
		return eu_error_set(err, ret, "OTLP spool: out of memory");
	if (s->n_files > 1)
		qsort(s->files, s->n_files, sizeof(*s->files), cmp_files);
	return 0;
}

int eu_otlp_spool_oldest(struct eu_otlp_spool *s, uint64_t *seq, struct eu_otlp_spool_batch *out,
			 eu_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!s->n_files)
		return -ENOENT;
	*seq = s->files[0].seq;
	char path[4096];
	file_path(s, *seq, false, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eu_error_set(err, -errno, "OTLP spool %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return eu_error_set(err, -errno, "OTLP spool %s: %s", path, strerror(errno));
	}
	size_t size = (size_t)st.st_size;
	uint8_t *data = malloc(size ? size : 1);
	size_t got = 0;
	while (data && got < size) {
		ssize_t r = read(fd, data + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (!data)
		return eu_error_set(err, -ENOMEM, "OTLP spool: out of memory");
	out->data = data;
	if (got < 8 || memcmp(data, SPOOL_MAGIC, 8)) {
		out->damaged = true;
		return 0;
	}
	size_t off = 8, cap = 0;
	while (off + 8 <= got) {
		uint32_t plen = get32(data + off), crc = get32(data + off + 4);
		const uint8_t *p = data + off + 8;
		if (plen > got - off - 8 || plen < 4 ||
		    (uint32_t)crc32(0, (const Bytef *)p, (uInt)plen) != crc)
			break;
		size_t nl = (size_t)p[0] | (size_t)p[1] << 8;
		if (2 + nl + 2 > plen)
			break;
		size_t vl = (size_t)p[2 + nl] | (size_t)p[3 + nl] << 8;
		if (4 + nl + vl > plen)
			break;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct eu_otlp_spool_rec *nr = realloc(out->recs, cap * sizeof(*nr));
			if (!nr) {
				eu_otlp_spool_batch_free(out);
				return eu_error_set(err, -ENOMEM, "OTLP spool: out of memory");
			}
			out->recs = nr;
		}
		out->recs[out->n++] = (struct eu_otlp_spool_rec){
			(const char *)p + 2, nl, (const char *)p + 4 + nl, vl, p + 4 + nl + vl,
			plen - 4 - nl - vl};
		off += 8 + plen;
	}
	out->damaged = off != got;
	return 0;
}

void eu_otlp_spool_batch_free(struct eu_otlp_spool_batch *b)
{
	free(b->recs);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void eu_otlp_spool_remove(struct eu_otlp_spool *s, uint64_t seq)
{
	for (size_t i = 0; i < s->n_files; i++) {
		if (s->files[i].seq != seq)
			continue;
		char path[4096];
		file_path(s, seq, false, path, sizeof(path));
		unlink(path);
		s->bytes -= s->files[i].size;
		memmove(&s->files[i], &s->files[i + 1], (s->n_files - i - 1) * sizeof(*s->files));
		s->n_files--;
		return;
	}
}

/* Opens a new write-ahead file with the next sequence number. */
static int wal_open(struct eu_otlp_spool *s, eu_error *err)
{
	uint64_t seq = s->next_seq++;
	char path[4096];
	file_path(s, seq, false, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return eu_error_set(err, -errno, "OTLP spool %s: %s", path, strerror(errno));
	int ret = eu_write_all(fd, SPOOL_MAGIC, 8);
	if (ret) {
		close(fd);
		unlink(path);
		return eu_error_set(err, ret, "OTLP spool %s: %s", path, strerror(-ret));
	}
	if (s->fsync)
		sync_dir(s); /* the new name must survive a power loss with what is written to it */
	s->wal_fd = fd;
	s->wal_seq = seq;
	s->wal_bytes = 8;
	s->wal_records = 0;
	s->wal_dirty = true;
	return 0;
}

int eu_otlp_spool_append(struct eu_otlp_spool *s, const struct eu_otlp_scoped_record *rec,
			 eu_error *err)
{
	eu_buf_reset(&s->frame);
	append_frame(&s->frame, rec);
	if (s->frame.oom)
		return eu_error_set(err, -ENOMEM, "OTLP spool: out of memory");
	uint64_t need = s->frame.len + (s->wal_fd < 0 ? 8 : 0);
	if (s->max_bytes && budget_used(s) + need > s->max_bytes)
		return full(s, err);
	int ret = s->wal_fd < 0 ? wal_open(s, err) : 0;
	if (ret)
		return ret;
	ret = eu_write_all(s->wal_fd, s->frame.data, s->frame.len);
	if (ret) {
		/* a short write (ENOSPC) leaves part of a frame: cut it so what follows is
		 * readable (the file is ours alone, its size is what we wrote) */
		if (ftruncate(s->wal_fd, (off_t)s->wal_bytes))
			eu_otlp_spool_seal(s); /* the torn frame is cut on reading instead */
		return eu_error_set(err, ret, "OTLP spool %s: %s", s->dir, strerror(-ret));
	}
	s->wal_bytes += s->frame.len;
	s->wal_records++;
	s->wal_dirty = true;
	return 0;
}

size_t eu_otlp_spool_open_records(const struct eu_otlp_spool *s)
{
	return s->wal_fd < 0 ? 0 : s->wal_records;
}

uint64_t eu_otlp_spool_open_bytes(const struct eu_otlp_spool *s)
{
	return s->wal_fd < 0 ? 0 : s->wal_bytes;
}

int eu_otlp_spool_sync(struct eu_otlp_spool *s)
{
	if (s->wal_fd < 0 || !s->wal_dirty)
		return 0;
	if (fdatasync(s->wal_fd))
		return -errno;
	s->wal_dirty = false;
	return 0;
}

void eu_otlp_spool_seal(struct eu_otlp_spool *s)
{
	if (s->wal_fd < 0)
		return;
	if (s->fsync)
		eu_otlp_spool_sync(s);
	close(s->wal_fd);
	s->wal_fd = -1;
	char path[4096];
	file_path(s, s->wal_seq, false, path, sizeof(path));
	if (!s->wal_records) {
		unlink(path);
		s->wal_bytes = 0;
		return;
	}
	uint64_t bytes = s->wal_bytes;
	s->wal_bytes = 0;
	if (add_file(s, s->wal_seq, bytes)) {
		/* it stays on disk: the next start replays it */
		eu_log(EU_LOG_WARN, "OTLP spool %s: out of memory: batch file %016" PRIx64
				    " is replayed at the next start", s->dir, s->wal_seq);
		return;
	}
	if (s->n_files > 1)
		qsort(s->files, s->n_files, sizeof(*s->files), cmp_files);
}
