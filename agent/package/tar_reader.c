/* The in-memory tar reader (see tar_reader.h for what it refuses and why). */
#include "tar_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offsets of the header fields (POSIX ustar; GNU shares them up to the magic). */
enum {
	H_NAME = 0, H_NAME_LEN = 100,
	H_SIZE = 124, H_SIZE_LEN = 12,
	H_CHKSUM = 148, H_CHKSUM_LEN = 8,
	H_TYPE = 156,
	H_MAGIC = 257,
	H_PREFIX = 345, H_PREFIX_LEN = 155,
};

/* What a pax ('x') or GNU long-name ('L') header says about the member after it. */
struct pending {
	char *name;
	bool has_size;
	uint64_t size;
};

struct reader {
	const uint8_t *base;
	size_t size;
	size_t max_member;
	const char *origin;
	eu_error *err;
	struct eu_tar *tar;
	size_t cap;
	size_t headers;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct reader *r, int code, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return eu_error_set(r->err, code, "%s: not a safe tar archive: %s", r->origin, what);
}

static bool is_zero_block(const uint8_t *b)
{
	for (size_t i = 0; i < EU_TAR_BLOCK; i++)
		if (b[i])
			return false;
	return true;
}

/* An octal number field ending in NUL or space; false when anything else is in it. */
static bool octal_field(const uint8_t *f, size_t len, uint64_t *out)
{
	size_t i = 0;
	while (i < len && f[i] == ' ')
		i++;
	uint64_t v = 0;
	size_t digits = 0;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v >> 60)
			return false;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return false;
	*out = v;
	return digits > 0;
}

static bool checksum_ok(const uint8_t *h)
{
	uint64_t want;
	if (!octal_field(h + H_CHKSUM, H_CHKSUM_LEN, &want))
		return false;
	uint64_t usum = 0;
	int64_t ssum = 0;
	for (size_t i = 0; i < EU_TAR_BLOCK; i++) {
		uint8_t c = (i >= H_CHKSUM && i < H_CHKSUM + H_CHKSUM_LEN) ? ' ' : h[i];
		usum += c;
		ssum += (int8_t)c;  /* some old writers summed signed chars */
	}
	return want == usum || (int64_t)want == ssum;
}

static bool is_ustar(const uint8_t *h)
{
	return memcmp(h + H_MAGIC, "ustar", 5) == 0;
}

bool eu_tar_looks_like(const void *data, size_t size)
{
	const uint8_t *h = data;
	return data && size >= EU_TAR_BLOCK && is_ustar(h) && checksum_ok(h);
}

/* A header text field that may fill its whole width without a NUL. */
static size_t field_len(const uint8_t *f, size_t width)
{
	const uint8_t *z = memchr(f, '\0', width);
	return z ? (size_t)(z - f) : width;
}

/* Normalises name (drops "./", empty components and a trailing "/") into out; refuses
 * absolute names and "..". Returns 0, or -EPERM with the reason in why. */
static int normalise(const char *name, size_t len, char *out, size_t cap, const char **why)
{
	if (len == 0) {
		*why = "a member without a name";
		return -EPERM;
	}
	if (name[0] == '/') {
		*why = "an absolute member name";
		return -EPERM;
	}
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && name[j] != '/')
			j++;
		size_t clen = j - i;
		if (clen == 2 && name[i] == '.' && name[i + 1] == '.') {
			*why = "a member name with a \"..\" component";
			return -EPERM;
		}
		if (clen && !(clen == 1 && name[i] == '.')) {
			if (o + clen + 2 > cap) {
				*why = "a member name that is too long";
				return -EPERM;
			}
			if (o)
				out[o++] = '/';
			memcpy(out + o, name + i, clen);
			o += clen;
		}
		i = j + 1;
	}
	for (size_t i = 0; i < o; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
			*why = "a member name with control characters";
			return -EPERM;
		}
	}
	out[o] = '\0';
	return 0;
}

/* The "path" and "size" records of a pax extended header ("LEN key=value\n" each). */
static int parse_pax(struct reader *r, const uint8_t *p, size_t n, struct pending *next)
{
	size_t i = 0;
	while (i < n) {
		if (p[i] == '\0')
			break;  /* padding some writers leave */
		size_t len = 0, k = i;
		while (k < n && p[k] >= '0' && p[k] <= '9' && len < n)
			len = len * 10 + (size_t)(p[k++] - '0');
		if (k == i || k >= n || p[k] != ' ' || len <= k - i || len > n - i ||
		    p[i + len - 1] != '\n')
			return fail(r, -EINVAL, "a malformed pax record at byte %llu",
				    (unsigned long long)i);
		const char *kv = (const char *)p + k + 1;
		size_t kvlen = i + len - 1 - (k + 1);
		const char *eq = memchr(kv, '=', kvlen);
		if (!eq)
			return fail(r, -EINVAL, "a pax record without '=' at byte %llu",
				    (unsigned long long)i);
		size_t klen = (size_t)(eq - kv), vlen = kvlen - klen - 1;
		if (klen == 4 && !memcmp(kv, "path", 4)) {
			if (vlen == 0 || vlen >= EU_TAR_MAX_NAME)
				return fail(r, -EPERM, "a pax path of %llu bytes",
					    (unsigned long long)vlen);
			free(next->name);
			if (!(next->name = strndup(eq + 1, vlen)))
				return eu_error_set(r->err, -ENOMEM, "out of memory");
			if (strlen(next->name) != vlen)
				return fail(r, -EPERM, "a pax path with a NUL byte");
		} else if (klen == 4 && !memcmp(kv, "size", 4)) {
			uint64_t v = 0;
			if (vlen == 0 || vlen > 19)
				return fail(r, -EINVAL, "a malformed pax size");
			for (size_t q = 0; q < vlen; q++) {
				char c = eq[1 + q];
				if (c < '0' || c > '9')
					return fail(r, -EINVAL, "a malformed pax size");
				v = v * 10 + (uint64_t)(c - '0');
			}
			next->has_size = true;
			next->size = v;
		} else if (klen == 8 && !memcmp(kv, "linkpath", 8)) {
			/* only links carry one, and links are refused when their header comes */
		}
		i += len;
	}
	return 0;
}

static int add_member(struct reader *r, const char *name, const uint8_t *data, size_t size)
{
	struct eu_tar *t = r->tar;
	if (t->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct eu_tar_member *m = realloc(t->members, cap * sizeof(*m));
		if (!m)
			return eu_error_set(r->err, -ENOMEM, "out of memory");
		t->members = m;
		r->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return eu_error_set(r->err, -ENOMEM, "out of memory");
	t->members[t->n++] = (struct eu_tar_member){.name = copy, .data = data, .size = size};
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct eu_tar_member *)a)->name,
		      ((const struct eu_tar_member *)b)->name);
}

/* Two members of one name would make what a reader sees depend on which it takes. */
static int check_duplicates(struct reader *r)
{
	struct eu_tar *t = r->tar;
	if (t->n < 2)
		return 0;
	struct eu_tar_member *sorted = malloc(t->n * sizeof(*sorted));
	if (!sorted)
		return eu_error_set(r->err, -ENOMEM, "out of memory");
	memcpy(sorted, t->members, t->n * sizeof(*sorted));
	qsort(sorted, t->n, sizeof(*sorted), cmp_member);
	int rc = 0;
	for (size_t i = 1; i < t->n && !rc; i++)
		if (!strcmp(sorted[i - 1].name, sorted[i].name))
			rc = fail(r, -EPERM, "member \"%s\" appears twice", sorted[i].name);
	free(sorted);
	return rc;
}

static const char *type_word(char type)
{
	switch (type) {
	case '1': return "a hard link";
	case '2': return "a symbolic link";
	case '3': return "a character device";
	case '4': return "a block device";
	case '6': return "a FIFO";
	case 'K': return "a long link name";
	case 'S': return "a sparse file";
	case 'V': return "a volume label";
	case 'M': return "a multi-volume continuation";
	default: return NULL;
	}
}

/* One header at off; *next_off is where the following header starts. */
static int read_header(struct reader *r, size_t off, struct pending *pend, size_t *next_off,
		       bool *end)
{
	const uint8_t *h = r->base + off;
	if (is_zero_block(h)) {
		*end = true;
		return 0;
	}
	if (++r->headers > EU_TAR_MAX_MEMBERS)
		return fail(r, -E2BIG, "more than %u members", EU_TAR_MAX_MEMBERS);
	if (!checksum_ok(h))
		return fail(r, -EINVAL, "a header with a bad checksum at byte %llu",
			    (unsigned long long)off);
	if (h[H_SIZE] & 0x80)
		return fail(r, -EFBIG, "a member size in base-256 (huge) at byte %llu",
			    (unsigned long long)off);
	uint64_t size;
	if (!octal_field(h + H_SIZE, H_SIZE_LEN, &size))
		return fail(r, -EINVAL, "a malformed size field at byte %llu",
			    (unsigned long long)off);
	char type = (char)h[H_TYPE];
	if (pend->has_size && type != 'x' && type != 'g' && type != 'L')
		size = pend->size;

	/* the raw name: pax/GNU long name, else ustar prefix + name */
	char raw[EU_TAR_MAX_NAME + H_PREFIX_LEN + H_NAME_LEN + 2];
	size_t rawlen = 0;
	if (pend->name) {
		rawlen = strlen(pend->name);
		memcpy(raw, pend->name, rawlen);
	} else {
		size_t plen = 0;
		/* GNU headers use the prefix area for other things: only POSIX "ustar\0" */
		if (is_ustar(h) && h[H_MAGIC + 5] == '\0')
			plen = field_len(h + H_PREFIX, H_PREFIX_LEN);
		if (plen) {
			memcpy(raw, h + H_PREFIX, plen);
			raw[plen] = '/';
			rawlen = plen + 1;
		}
		size_t nlen = field_len(h + H_NAME, H_NAME_LEN);
		memcpy(raw + rawlen, h + H_NAME, nlen);
		rawlen += nlen;
	}
	raw[rawlen] = '\0';

	size_t data_off = off + EU_TAR_BLOCK;
	size_t avail = r->size - data_off;
	if (size > avail)
		return fail(r, -EINVAL, "member \"%s\" claims %llu bytes past the end of the archive",
			    type == 'x' || type == 'g' || type == 'L' ? "(header)" : raw,
			    (unsigned long long)size);
	size_t padded = ((size_t)size + EU_TAR_BLOCK - 1) / EU_TAR_BLOCK * EU_TAR_BLOCK;
	*next_off = data_off + (padded < avail ? padded : avail);
	const uint8_t *data = r->base + data_off;

	if (type == 'x')
		return parse_pax(r, data, (size_t)size, pend);
	if (type == 'g')
		return 0;  /* global pax defaults: nothing we use */
	if (type == 'L') {
		size_t n = field_len(data, (size_t)size);
		if (n == 0 || n >= EU_TAR_MAX_NAME)
			return fail(r, -EPERM, "a GNU long name of %llu bytes",
				    (unsigned long long)n);
		free(pend->name);
		if (!(pend->name = strndup((const char *)data, n)))
			return eu_error_set(r->err, -ENOMEM, "out of memory");
		return 0;
	}

	/* a real member: whatever was pending applied to it */
	free(pend->name);
	*pend = (struct pending){0};

	char name[EU_TAR_MAX_NAME + 1];
	const char *why;
	if (normalise(raw, rawlen, name, sizeof(name), &why))
		return fail(r, -EPERM, "member \"%s\" is refused: %s", raw, why);
	const char *bad = type_word(type);
	if (bad)
		return fail(r, -EPERM,
			    "member \"%s\" is %s (only regular files and directories are accepted)",
			    raw, bad);
	if (type == '5')
		return 0;
	if (type != '0' && type != '\0' && type != '7')
		return fail(r, -EPERM, "member \"%s\" has unknown type '%c'", raw,
			    type >= 0x20 && type < 0x7f ? type : '?');
	if (!*name)
		return fail(r, -EPERM, "member \"%s\" is a file without a name", raw);
	if (size > r->max_member)
		return fail(r, -EFBIG, "member \"%s\" is %llu bytes, over the limit of %zu", name,
			    (unsigned long long)size, r->max_member);
	return add_member(r, name, data, (size_t)size);
}

int eu_tar_read(const void *data, size_t size, size_t max_member, const char *origin,
		struct eu_tar *out, eu_error *err)
{
	eu_error scratch;
	if (!err)
		err = &scratch;
	*out = (struct eu_tar){0};
	struct reader r = {.base = data, .size = data ? size : 0, .max_member = max_member,
			   .origin = origin && *origin ? origin : "<tar>", .err = err, .tar = out};
	if (!eu_tar_looks_like(data, size))
		return eu_error_set(err, -EINVAL, "%s: not a tar archive", r.origin);
	struct pending pend = {0};
	int rc = 0;
	size_t off = 0;
	bool end = false;
	while (!rc && !end && off + EU_TAR_BLOCK <= r.size) {
		size_t next = off;
		rc = read_header(&r, off, &pend, &next, &end);
		off = next;
	}
	if (!rc && !end && off < r.size)
		rc = fail(&r, -EINVAL, "a truncated header at byte %llu",
			  (unsigned long long)off);
	if (!rc && pend.name)
		rc = fail(&r, -EINVAL, "a long name with no member after it");
	free(pend.name);
	if (!rc)
		rc = check_duplicates(&r);
	if (rc)
		eu_tar_free(out);
	return rc;
}

const struct eu_tar_member *eu_tar_find(const struct eu_tar *tar, const char *name)
{
	for (size_t i = 0; tar && name && i < tar->n; i++)
		if (!strcmp(tar->members[i].name, name))
			return &tar->members[i];
	return NULL;
}

void eu_tar_free(struct eu_tar *tar)
{
	if (!tar)
		return;
	for (size_t i = 0; i < tar->n; i++)
		free(tar->members[i].name);
	free(tar->members);
	*tar = (struct eu_tar){0};
}
