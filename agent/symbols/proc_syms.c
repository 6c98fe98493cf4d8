/* User-space addresses of a process as function names: its executable mappings from
 * /proc/PID/maps, each file's symbols (elf_syms.c) read once and shared by every process that
 * maps it (keyed by device, inode, size and mtime, so a replaced file is read again).
 *
 * A process's table is read at its first lookup and again when an address falls outside every
 * mapping it knows (a library loaded since, or a pid reused) — at most once a second per
 * process — and once it is MAX_AGE_NS old (an exec keeps the pid: its new image is seen within
 * that; a process that exited keeps resolving from its table until then, then its frames are
 * unknown). At most MAX_PROCS tables are kept (all dropped when full). At most 1024 files are kept; frames in files past that print as unknown. Files are
 * opened through /proc/PID/root so processes in other mount namespaces resolve too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "symbols.h"

#define MAX_PROCS 4096
#define MAX_FILES 1024
#define REREAD_NS 1000000000ull
#define MAX_AGE_NS 10000000000ull

struct elf_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct eu_elf_syms *syms; /* NULL: the file could not be read (remembered, not retried) */
	char *name;               /* the mapped path's last component */
};

struct mapping {
	uint64_t start, end, offset;
	struct elf_file *file; /* NULL: anonymous or special ([vdso], ...) */
	const char *special;   /* "[vdso]" and such, into the process's names */
};

struct proc_table {
	uint32_t pid;
	struct mapping *maps;
	size_t n;
	char *names;           /* special mapping names, NUL-separated */
	uint64_t read_ns;      /* when the table was read (CLOCK_MONOTONIC) */
};

struct eu_usyms {
	struct proc_table *procs;
	size_t n_procs;
	struct elf_file *files;
	size_t n_files;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int eu_usyms_new(struct eu_usyms **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->procs = calloc(MAX_PROCS, sizeof(struct proc_table));
	(*out)->files = calloc(MAX_FILES, sizeof(struct elf_file));
	if (!(*out)->procs || !(*out)->files) {
		eu_usyms_free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void proc_clear(struct proc_table *p)
{
	free(p->maps);
	free(p->names);
	memset(p, 0, sizeof(*p));
}

void eu_usyms_free(struct eu_usyms *u)
{
	if (!u)
		return;
	for (size_t i = 0; u->procs && i < u->n_procs; i++)
		proc_clear(&u->procs[i]);
	for (size_t i = 0; u->files && i < u->n_files; i++) {
		eu_elf_syms_free(u->files[i].syms);
		free(u->files[i].name);
	}
	free(u->procs);
	free(u->files);
	free(u);
}

/* The symbols of the file a process maps at path (read once per file identity). */
static struct elf_file *file_for(struct eu_usyms *u, uint32_t pid, const char *path)
{
	char full[4096 + 32];
	snprintf(full, sizeof(full), "/proc/%u/root%s", pid, path);
	struct stat st;
	if (stat(full, &st) && stat(path, &st))
		return NULL;
	for (size_t i = 0; i < u->n_files; i++) {
		struct elf_file *f = &u->files[i];
		if (f->dev == st.st_dev && f->ino == st.st_ino && f->size == st.st_size &&
		    f->mtime.tv_sec == st.st_mtim.tv_sec && f->mtime.tv_nsec == st.st_mtim.tv_nsec)
			return f;
	}
	if (u->n_files == MAX_FILES)
		return NULL; /* a bound on memory: files past it stay unnamed */
	struct elf_file *f = &u->files[u->n_files];
	memset(f, 0, sizeof(*f));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	const char *base = strrchr(path, '/');
	f->name = strdup(base ? base + 1 : path);
	if (!f->name)
		return NULL;
	if (eu_elf_syms_load(full, &f->syms, NULL) && eu_elf_syms_load(path, &f->syms, NULL))
		f->syms = NULL;
	u->n_files++;
	return f;
}

/* "start-end perms offset dev inode   path" for executable mappings. */
static int read_maps(struct eu_usyms *u, struct proc_table *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/maps", p->pid);
	FILE *f = fopen(path, "re");
	free(p->maps);
	free(p->names);
	p->maps = NULL;
	p->names = NULL;
	p->n = 0;
	p->read_ns = now_ns();
	if (!f)
		return -errno;
	size_t cap = 0, names_len = 0;
	char *line = NULL;
	size_t lcap = 0;
	int rc = 0;
	while (!rc && getline(&line, &lcap, f) > 0) {
		unsigned long long start, end, offset;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset,
			   &name_at) < 4 ||
		    perms[2] != 'x')
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		if (p->n == cap) {
			cap = cap ? cap * 2 : 32;
			struct mapping *m = realloc(p->maps, cap * sizeof(*m));
			if (!m) {
				rc = -ENOMEM;
				break;
			}
			p->maps = m;
		}
		struct mapping *m = &p->maps[p->n];
		*m = (struct mapping){.start = start, .end = end, .offset = offset};
		if (name[0] == '/') {
			m->file = file_for(u, p->pid, name);
		} else if (name[0] == '[') {
			/* remembered by offset into names, pointers fixed below */
			size_t len = strlen(name) + 1;
			char *n = realloc(p->names, names_len + len);
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			p->names = n;
			memcpy(n + names_len, name, len);
			m->special = (const char *)(uintptr_t)(names_len + 1);
			names_len += len;
		}
		p->n++;
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->maps[i].special)
			p->maps[i].special = p->names + ((uintptr_t)p->maps[i].special - 1);
	free(line);
	fclose(f);
	return rc;
}

static struct proc_table *proc_for(struct eu_usyms *u, uint32_t pid)
{
	for (size_t i = 0; i < u->n_procs; i++) {
		struct proc_table *p = &u->procs[i];
		if (p->pid != pid)
			continue;
		if (now_ns() - p->read_ns >= MAX_AGE_NS)
			read_maps(u, p);
		return p;
	}
	if (u->n_procs == MAX_PROCS) {
		for (size_t i = 0; i < u->n_procs; i++)
			proc_clear(&u->procs[i]);
		u->n_procs = 0;
	}
	struct proc_table *p = &u->procs[u->n_procs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	read_maps(u, p);
	return p;
}

static const struct mapping *find_mapping(const struct proc_table *p, uint64_t addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			return &p->maps[i];
	return NULL;
}

const char *eu_usyms_lookup(struct eu_usyms *u, uint32_t pid, uint64_t addr, uint64_t *offset,
			    const char **module)
{
	if (module)
		*module = NULL;
	if (!u || !pid)
		return NULL;
	struct proc_table *p = proc_for(u, pid);
	const struct mapping *m = find_mapping(p, addr);
	if (!m && now_ns() - p->read_ns >= REREAD_NS) {
		read_maps(u, p);
		m = find_mapping(p, addr);
	}
	if (!m)
		return NULL;
	if (m->special) {
		if (module)
			*module = m->special;
		return NULL;
	}
	if (!m->file)
		return NULL;
	if (module)
		*module = m->file->name;
	uint64_t vaddr;
	if (!m->file->syms ||
	    !eu_elf_syms_vaddr(m->file->syms, addr - m->start + m->offset, &vaddr))
		return NULL;
	return eu_elf_syms_lookup(m->file->syms, vaddr, offset);
}
