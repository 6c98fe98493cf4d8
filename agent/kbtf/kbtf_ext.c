/* Reading .BTF.ext's CO-RE relocation part (layout in the kernel's btf_ext_header and
 * bpf_core_relo). Every length is checked against the section: the object is untrusted. */
#include "kbtf_ext.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BTF_MAGIC_LE 0xeB9F

int eu_elf_section(const void *elf, size_t size, const char *name, const uint8_t **data,
		   size_t *len)
{
	const uint8_t *base = elf;
	Elf64_Ehdr eh;
	if (!elf || size < sizeof(eh))
		return -EINVAL;
	memcpy(&eh, base, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_shentsize != sizeof(Elf64_Shdr))
		return -EINVAL;
	if (eh.e_shoff > size || (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > size - eh.e_shoff ||
	    eh.e_shstrndx >= eh.e_shnum)
		return -EINVAL;
	Elf64_Shdr strh;
	memcpy(&strh, base + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof(strh));
	if (strh.sh_offset > size || strh.sh_size > size - strh.sh_offset)
		return -EINVAL;
	const char *names = (const char *)base + strh.sh_offset;
	size_t want = strlen(name);
	for (size_t i = 1; i < eh.e_shnum; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, base + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(sh));
		if (sh.sh_name >= strh.sh_size || strh.sh_size - sh.sh_name <= want ||
		    memcmp(names + sh.sh_name, name, want + 1))
			continue;
		if (sh.sh_type == SHT_NOBITS || sh.sh_offset > size ||
		    sh.sh_size > size - sh.sh_offset)
			return -EINVAL;
		*data = base + sh.sh_offset;
		*len = sh.sh_size;
		return 0;
	}
	return -ENOENT;
}

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

int eu_core_relos_read(const void *elf, size_t size, struct eu_core_relos *out, eu_error *err)
{
	*out = (struct eu_core_relos){0};
	const uint8_t *ext;
	size_t len;
	int rc = eu_elf_section(elf, size, ".BTF.ext", &ext, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return eu_error_set(err, rc, "the object's section headers are unreadable");
	/* magic u16, version u8, flags u8, hdr_len u32, func/line info off+len, then (hdr_len
	 * >= 32) core_relo_off, core_relo_len; offsets count from the end of the header */
	if (len < 8 || (ext[0] | ext[1] << 8) != BTF_MAGIC_LE)
		return eu_error_set(err, -EINVAL, ".BTF.ext: bad magic");
	uint32_t hdr_len = u32_at(ext + 4);
	if (hdr_len < 32 || hdr_len > len)
		return 0;  /* an old header without the CO-RE part */
	uint32_t off = u32_at(ext + 24), rlen = u32_at(ext + 28);
	if (!rlen)
		return 0;
	if (off > len - hdr_len || rlen > len - hdr_len - off || rlen < 4)
		return eu_error_set(err, -EINVAL, ".BTF.ext: the CO-RE part lies outside it");
	const uint8_t *p = ext + hdr_len + off, *end = p + rlen;
	uint32_t rec_size = u32_at(p);
	p += 4;
	if (rec_size < sizeof(struct eu_core_relo) || rec_size > 256)
		return eu_error_set(err, -EINVAL, ".BTF.ext: CO-RE record size %u", rec_size);
	size_t cap = 0;
	while (p < end) {
		if ((size_t)(end - p) < 8) {
			rc = eu_error_set(err, -EINVAL, ".BTF.ext: a truncated CO-RE section entry");
			break;
		}
		uint32_t n = u32_at(p + 4);
		p += 8;
		if (n > (size_t)(end - p) / rec_size) {
			rc = eu_error_set(err, -EINVAL, ".BTF.ext: %u CO-RE records overrun it", n);
			break;
		}
		if (out->n + n > cap) {
			size_t ncap = (out->n + n) * 2;
			struct eu_core_relo *v = realloc(out->v, ncap * sizeof(*v));
			if (!v) {
				rc = eu_error_set(err, -ENOMEM, "out of memory");
				break;
			}
			out->v = v;
			cap = ncap;
		}
		for (uint32_t i = 0; i < n; i++, p += rec_size)
			out->v[out->n++] = (struct eu_core_relo){u32_at(p), u32_at(p + 4), u32_at(p + 8),
								 u32_at(p + 12)};
	}
	if (rc)
		eu_core_relos_free(out);
	return rc;
}

void eu_core_relos_free(struct eu_core_relos *r)
{
	free(r->v);
	*r = (struct eu_core_relos){0};
}
