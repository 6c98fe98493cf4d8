/* Structural checks of a BPF ELF before libbpf sees it. Debian's libbpf (1.1) trusts section
 * offsets, symbol and relocation indices, and .BTF.ext contents in places, and crashes on
 * objects that break them (found by fuzzing our package reader). A package is untrusted input,
 * so everything libbpf would index through is checked here first. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "package_priv.h"

#include "core/codec.h"

struct elf_view {
	Elf *elf;
	size_t size;
	size_t shnum;
	size_t shstrndx;
	char *why;
	size_t why_len;
};

static int bad(struct elf_view *v, const char *fmt, size_t a, size_t b)
{
	snprintf(v->why, v->why_len, fmt, a, b);
	return -EINVAL;
}

static bool in_file(const struct elf_view *v, uint64_t off, uint64_t len)
{
	return off <= v->size && len <= v->size - off;
}

static int check_sections(struct elf_view *v, size_t *symtab_idx)
{
	*symtab_idx = 0;
	for (size_t i = 1; i < v->shnum; i++) {
		Elf_Scn *scn = elf_getscn(v->elf, i);
		GElf_Shdr sh;
		if (!scn || !gelf_getshdr(scn, &sh))
			return bad(v, "section %zu has an unreadable header%.0zu", i, 0);
		if (sh.sh_type != SHT_NOBITS && !in_file(v, sh.sh_offset, sh.sh_size))
			return bad(v, "section %zu lies outside the file (%zu bytes)", i, v->size);
		if (!elf_strptr(v->elf, v->shstrndx, sh.sh_name))
			return bad(v, "section %zu has an invalid name%.0zu", i, 0);
		if (sh.sh_type == SHT_SYMTAB) {
			if (*symtab_idx)
				return bad(v, "more than one symbol table (sections %zu and %zu)",
					   *symtab_idx, i);
			if (sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_size % sizeof(Elf64_Sym))
				return bad(v, "symbol table section %zu has a bad entry size%.0zu", i, 0);
			if (sh.sh_link == 0 || sh.sh_link >= v->shnum)
				return bad(v, "symbol table section %zu links to section %zu", i,
					   sh.sh_link);
			*symtab_idx = i;
		}
		if (sh.sh_type == SHT_REL) {
			if (sh.sh_entsize != sizeof(Elf64_Rel) || sh.sh_size % sizeof(Elf64_Rel))
				return bad(v, "relocation section %zu has a bad entry size%.0zu", i, 0);
			if (sh.sh_info == 0 || sh.sh_info >= v->shnum || sh.sh_link >= v->shnum)
				return bad(v, "relocation section %zu targets section %zu", i,
					   sh.sh_info);
		}
	}
	return 0;
}

static int check_symbols(struct elf_view *v, size_t symtab_idx, size_t *nsyms)
{
	Elf_Scn *scn = elf_getscn(v->elf, symtab_idx);
	GElf_Shdr sh;
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	if (!data || !gelf_getshdr(scn, &sh))
		return bad(v, "symbol table section %zu is unreadable%.0zu", symtab_idx, 0);
	*nsyms = sh.sh_size / sizeof(Elf64_Sym);
	for (size_t i = 0; i < *nsyms; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			return bad(v, "symbol %zu is unreadable%.0zu", i, 0);
		if (sym.st_name && !elf_strptr(v->elf, sh.sh_link, sym.st_name))
			return bad(v, "symbol %zu has an invalid name%.0zu", i, 0);
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
			continue;
		if (sym.st_shndx >= v->shnum)
			return bad(v, "symbol %zu points to missing section %zu", i, sym.st_shndx);
		GElf_Shdr target;
		if (!gelf_getshdr(elf_getscn(v->elf, sym.st_shndx), &target))
			return bad(v, "symbol %zu points to unreadable section %zu", i, sym.st_shndx);
		if (sym.st_value > target.sh_size || sym.st_size > target.sh_size - sym.st_value)
			return bad(v, "symbol %zu lies outside its section %zu", i, sym.st_shndx);
	}
	return 0;
}

static int check_relocations(struct elf_view *v, size_t nsyms)
{
	for (size_t i = 1; i < v->shnum; i++) {
		Elf_Scn *scn = elf_getscn(v->elf, i);
		GElf_Shdr sh, target;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_REL)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !gelf_getshdr(elf_getscn(v->elf, sh.sh_info), &target))
			return bad(v, "relocation section %zu is unreadable%.0zu", i, 0);
		size_t n = sh.sh_size / sizeof(Elf64_Rel);
		for (size_t r = 0; r < n; r++) {
			GElf_Rel rel;
			if (!gelf_getrel(data, (int)r, &rel))
				return bad(v, "relocation %zu of section %zu is unreadable", r, i);
			if (GELF_R_SYM(rel.r_info) >= nsyms)
				return bad(v, "relocation %zu of section %zu names a missing symbol", r,
					   i);
			if (target.sh_type != SHT_NOBITS && rel.r_offset >= target.sh_size)
				return bad(v, "relocation %zu of section %zu points outside it", r, i);
		}
	}
	return 0;
}

/* .BTF.ext goes through libbpf's own validating parser first (.BTF is checked with the
 * export types, see package_btf.c). */
static int check_btf_ext(struct elf_view *v, const void *base)
{
	for (size_t i = 1; i < v->shnum; i++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(elf_getscn(v->elf, i), &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		const char *name = elf_strptr(v->elf, v->shstrndx, sh.sh_name);
		if (strcmp(name, ".BTF.ext") != 0)
			continue;
		struct btf_ext *ext = btf_ext__new((const uint8_t *)base + sh.sh_offset,
						   (uint32_t)sh.sh_size);
		if (!ext)
			return bad(v, "not loadable: its .BTF.ext section (%zu bytes) is invalid%.0zu",
				   sh.sh_size, 0);
		btf_ext__free(ext);
	}
	return 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* The checks above cover what we know libbpf 1.1 trips on, but not everything it parses.
 * libbpf's open is tried once in a child process, so that an object that still crashes or
 * hangs it is refused with a message instead of taking the agent down. About 1 ms in a small
 * process; a fork of a daemon holding the kernel BTF index costs far more (see below). */
static int trial_open(struct elf_view *v, const void *data)
{
	pid_t pid = fork();
	if (pid < 0)
		return 0; /* cannot isolate: the real open will tell */
	if (pid == 0) {
		/* die of the signal itself: a crash handler inherited from the parent (a
		 * sanitizer's, libFuzzer's) would report this expected crash as its own */
		static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		libbpf_set_print(silent_print);
		LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "eu_probe");
		struct bpf_object *obj = bpf_object__open_mem(data, v->size, &opts);
		if (obj)
			bpf_object__close(obj);
		_exit(0);
	}
	int status = 0;
	/* woken by the child's exit itself (a pidfd): polling every millisecond costs a
	 * scheduling round each time, tens of milliseconds on a busy machine */
	int limit_ms = 5000;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int r;
		do
			r = poll(&p, 1, 5000);
		while (r < 0 && errno == EINTR);
		close(pfd);
		if (r == 0)
			limit_ms = 0;    /* the 5 s are over */
		else if (r > 0)
			limit_ms = 100;  /* it has exited: reaping is immediate */
	}
	for (int waited_ms = 0;; waited_ms++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return 0;
		if (waited_ms >= limit_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return bad(v, "not loadable: libbpf did not finish parsing it in %zu s%.0zu", 5,
				   0);
		}
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	if (WIFSIGNALED(status))
		return bad(v, "not loadable: libbpf crashed parsing it (signal %zu)%.0zu",
			   (size_t)WTERMSIG(status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return bad(v, "not loadable: libbpf failed parsing it (exit %zu)%.0zu",
			   (size_t)WEXITSTATUS(status), 0);
	return 0;
}

/* Objects whose trial open passed, by digest: libbpf's open is deterministic in the bytes,
 * so an object proven once need not be proven again. A daemon that reloads or swaps versions
 * of a package (the object unchanged, the package around it not) would otherwise fork a
 * process as large as itself (its kernel BTF index included) for every load; that fork and
 * the child's copy-on-write faults were most of a hot-load's time. */
#define TRIED_MAX 64
static struct {
	pthread_mutex_t lock;
	uint8_t digest[TRIED_MAX][EU_SHA256_LEN];
	unsigned n, next;
} tried = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool tried_before(const uint8_t digest[EU_SHA256_LEN])
{
	bool hit = false;
	pthread_mutex_lock(&tried.lock);
	for (unsigned i = 0; i < tried.n && !hit; i++)
		hit = !memcmp(tried.digest[i], digest, EU_SHA256_LEN);
	pthread_mutex_unlock(&tried.lock);
	return hit;
}

static void remember_tried(const uint8_t digest[EU_SHA256_LEN])
{
	pthread_mutex_lock(&tried.lock);
	memcpy(tried.digest[tried.next], digest, EU_SHA256_LEN);
	tried.next = (tried.next + 1) % TRIED_MAX;
	if (tried.n < TRIED_MAX)
		tried.n++;
	pthread_mutex_unlock(&tried.lock);
}

static int trial_open_once(struct elf_view *v, const void *data)
{
	uint8_t digest[EU_SHA256_LEN];
	bool hashed = eu_sha256(data, v->size, digest) == 0;
	if (hashed && tried_before(digest))
		return 0;
	int rc = trial_open(v, data);
	if (!rc && hashed)
		remember_tried(digest);
	return rc;
}

int eu_pkg_check_elf_layout(const void *data, size_t size, char *why, size_t why_len)
{
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(why, why_len, "libelf is unusable: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	struct elf_view v = {.size = size, .why = why, .why_len = why_len};
	v.elf = elf_memory((char *)data, size);
	if (!v.elf) {
		snprintf(why, why_len, "an unreadable ELF file: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	int rc;
	GElf_Ehdr eh;
	size_t symtab_idx = 0, nsyms = 0;
	if (!gelf_getehdr(v.elf, &eh) || elf_getshdrnum(v.elf, &v.shnum) ||
	    elf_getshdrstrndx(v.elf, &v.shstrndx)) {
		rc = bad(&v, "an ELF file with unreadable headers%.0zu%.0zu", 0, 0);
		goto out;
	}
	if (eh.e_type != ET_REL) {
		rc = bad(&v, "an ELF file of type %zu, not a relocatable BPF object%.0zu", eh.e_type,
			 0);
		goto out;
	}
	if (v.shnum == 0 || v.shstrndx == 0 || v.shstrndx >= v.shnum ||
	    !in_file(&v, eh.e_shoff, (uint64_t)v.shnum * sizeof(Elf64_Shdr))) {
		rc = bad(&v, "an ELF file whose section table is invalid (%zu sections)%.0zu",
			 v.shnum, 0);
		goto out;
	}
	rc = check_sections(&v, &symtab_idx);
	if (!rc && !symtab_idx)
		rc = bad(&v, "an ELF file without a symbol table%.0zu%.0zu", 0, 0);
	if (!rc)
		rc = check_symbols(&v, symtab_idx, &nsyms);
	if (!rc)
		rc = check_relocations(&v, nsyms);
	if (!rc)
		rc = check_btf_ext(&v, data);
	if (!rc)
		rc = trial_open_once(&v, data);
out:
	elf_end(v.elf);
	return rc;
}
