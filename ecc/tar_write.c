/* Writing the uncompressed tar of `ecc --btfgen` (ustar; a GNU long-name header before any
 * name over 100 bytes, as GNU tar and upstream's runtime read). */
#include "ecc.h"

#include <stdio.h>
#include <string.h>

static void octal(char *field, size_t width, unsigned long long v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, v);
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
}

static void header(eu_buf *out, const char *name, size_t name_len, char type, size_t size)
{
	char h[512];
	memset(h, 0, sizeof(h));
	memcpy(h, name, name_len < 100 ? name_len : 100);
	octal(h + 100, 8, 0644);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 0);  /* mtime 0: the same inputs give the same bytes */
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += (unsigned char)h[i];
	octal(h + 148, 7, sum);
	eu_buf_append(out, h, sizeof(h));
}

static void data(eu_buf *out, const void *p, size_t size)
{
	static const char zeros[512];
	eu_buf_append(out, p, size);
	if (size % 512)
		eu_buf_append(out, zeros, 512 - size % 512);
}

void ecc_tar_add(eu_buf *out, const char *name, const void *p, size_t size)
{
	size_t len = strlen(name);
	if (len > 100) {
		header(out, "././@LongLink", 13, 'L', len + 1);
		data(out, name, len + 1);
	}
	header(out, name, len, '0', size);
	data(out, p, size);
}

void ecc_tar_finish(eu_buf *out)
{
	static const char end[1024];
	eu_buf_append(out, end, sizeof(end));
}
