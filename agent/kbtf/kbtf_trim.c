/* The minimal-BTF generator (what it keeps and why: kbtf_trim.h). Kernel types are marked at
 * one of three depths, then the marked ones are written, in kernel order, into a new BTF with
 * libbpf's btf__add_* API and their references renumbered. */
#include "kbtf_trim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <linux/bpf.h>

#include "core/btf_util.h"
#include "kbtf_ext.h"

/* Deeper than any real type nesting; a BTF that goes further is refused. */
#define MAX_DEPTH 512
/* libbpf's BPF_CORE_SPEC_MAX_LEN */
#define MAX_ACCESS 64

/* ---- the index ---- */

struct eu_kbtf_index {
	uint32_t mask;    /* buckets - 1 */
	uint32_t *head;   /* bucket -> first type id, 0 = empty */
	uint32_t *next;   /* type id -> next id of the bucket */
};

/* libbpf's rule: "name___flavor" is "name" when the separator has a non-'_' on each side. */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;) {
		const char *s = name + i;
		if (s[0] != '_' && s[1] == '_' && s[2] == '_' && s[3] == '_' && s[4] != '_')
			return i + 1;
	}
	return n;
}

static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

int eu_kbtf_index_new(const struct btf *kernel, struct eu_kbtf_index **out, eu_error *err)
{
	*out = NULL;
	uint32_t n = btf__type_cnt(kernel);
	uint32_t buckets = 1024;
	while (buckets < n && buckets < (1u << 24))
		buckets <<= 1;
	struct eu_kbtf_index *idx = calloc(1, sizeof(*idx));
	if (idx) {
		idx->mask = buckets - 1;
		idx->head = calloc(buckets, sizeof(uint32_t));
		idx->next = calloc(n ? n : 1, sizeof(uint32_t));
	}
	if (!idx || !idx->head || !idx->next) {
		eu_kbtf_index_free(idx);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	/* in descending order so each chain lists ids ascending */
	for (uint32_t id = n; id-- > 1;) {
		const char *name = btf__name_by_offset(kernel, btf__type_by_id(kernel, id)->name_off);
		if (!name || !*name)
			continue;
		uint32_t b = name_hash(name, essential_len(name)) & idx->mask;
		idx->next[id] = idx->head[b];
		idx->head[b] = id;
	}
	*out = idx;
	return 0;
}

void eu_kbtf_index_free(struct eu_kbtf_index *idx)
{
	if (!idx)
		return;
	free(idx->head);
	free(idx->next);
	free(idx);
}

/* ---- marking ---- */

enum level { L_NONE = 0, L_SHELL, L_PATH, L_FULL };

struct trim {
	const struct btf *k;
	uint32_t n;
	uint8_t *level;
	uint64_t **members;  /* per composite at L_PATH: which members are kept */
	eu_error *err;
};

static int unsupported(struct trim *t, uint32_t id, const char *what)
{
	return eu_error_set(t->err, -EOPNOTSUPP, "kernel type %u: %s", id, what);
}

static int mark_full(struct trim *t, uint32_t id, int depth);

static int mark_shell(struct trim *t, uint32_t id, int depth)
{
	if (!id)
		return 0;
	if (id >= t->n)
		return unsupported(t, id, "a reference past the end of the BTF");
	if (depth > MAX_DEPTH)
		return unsupported(t, id, "nested too deep");
	if (t->level[id] >= L_SHELL)
		return 0;
	t->level[id] = L_SHELL;
	const struct btf_type *bt = btf__type_by_id(t->k, id);
	switch (btf_kind(bt)) {
	case BTF_KIND_INT: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
	case BTF_KIND_FLOAT: case BTF_KIND_FWD:
		t->level[id] = L_FULL;
		return 0;
	case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		return 0;  /* its size, no members */
	case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
		return mark_shell(t, bt->type, depth + 1);
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(bt);
		int rc = mark_shell(t, a->type, depth + 1);
		return rc ? rc : mark_full(t, a->index_type, depth + 1);
	}
	case BTF_KIND_FUNC_PROTO: {
		int rc = mark_shell(t, bt->type, depth + 1);
		const struct btf_param *p = btf_params(bt);
		for (uint16_t i = 0; !rc && i < btf_vlen(bt); i++)
			rc = mark_shell(t, p[i].type, depth + 1);
		return rc;
	}
	default:
		return unsupported(t, id, "a kind CO-RE does not relocate against");
	}
}

static int mark_full(struct trim *t, uint32_t id, int depth)
{
	if (!id)
		return 0;
	int rc = mark_shell(t, id, depth);
	if (rc || t->level[id] == L_FULL)
		return rc;
	t->level[id] = L_FULL;
	const struct btf_type *bt = btf__type_by_id(t->k, id);
	switch (btf_kind(bt)) {
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
		const struct btf_member *m = btf_members(bt);
		for (uint16_t i = 0; !rc && i < btf_vlen(bt); i++)
			rc = mark_full(t, m[i].type, depth + 1);
		return rc;
	}
	case BTF_KIND_PTR:
		return 0;  /* the pointee stays a shell: CO-RE compares only names behind pointers */
	case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
		return mark_full(t, bt->type, depth + 1);
	case BTF_KIND_ARRAY:
		return mark_full(t, btf_array(bt)->type, depth + 1);
	case BTF_KIND_FUNC_PROTO: {
		rc = mark_full(t, bt->type, depth + 1);
		const struct btf_param *p = btf_params(bt);
		for (uint16_t i = 0; !rc && i < btf_vlen(bt); i++)
			rc = mark_full(t, p[i].type, depth + 1);
		return rc;
	}
	default:
		return 0;
	}
}

static int keep_member(struct trim *t, uint32_t id, uint16_t i)
{
	if (t->level[id] < L_PATH)
		t->level[id] = L_PATH;
	if (!t->members[id]) {
		size_t words = (btf_vlen(btf__type_by_id(t->k, id)) + 63u) / 64u;
		if (!(t->members[id] = calloc(words ? words : 1, sizeof(uint64_t))))
			return eu_error_set(t->err, -ENOMEM, "out of memory");
	}
	t->members[id][i / 64] |= 1ull << (i % 64);
	return 0;
}

/* libbpf's member search: by name, looking inside anonymous struct/union members. Keeps the
 * members on the way; *found is the member's type, 0 when there is none of that name. */
static int match_member(struct trim *t, uint32_t comp, const char *name, uint32_t *found,
			int depth)
{
	*found = 0;
	if (depth > MAX_DEPTH)
		return unsupported(t, comp, "nested too deep");
	const struct btf_type *ct = btf__type_by_id(t->k, comp);
	const struct btf_member *m = btf_members(ct);
	for (uint16_t i = 0; i < btf_vlen(ct); i++) {
		const char *mname = btf__name_by_offset(t->k, m[i].name_off);
		int rc;
		if (mname && *mname) {
			if (strcmp(mname, name))
				continue;
			*found = m[i].type;
		} else {
			uint32_t inner = eu_btf_skip_mods(t->k, m[i].type, true);
			const struct btf_type *it = inner ? btf__type_by_id(t->k, inner) : NULL;
			if (!it || !btf_is_composite(it))
				continue;
			if ((rc = match_member(t, inner, name, found, depth + 1)))
				return rc;
			if (!*found)
				continue;
		}
		if ((rc = keep_member(t, comp, i)) || (rc = mark_shell(t, m[i].type, depth + 1)))
			return rc;
		return 0;
	}
	return 0;
}

static int parse_access(const char *s, uint32_t *acc, size_t *n)
{
	*n = 0;
	while (s && *s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v > UINT32_MAX || *n == MAX_ACCESS || (*end && *end != ':'))
			return -EINVAL;
		acc[(*n)++] = (uint32_t)v;
		s = *end ? end + 1 : end;
	}
	return *n ? 0 : -EINVAL;
}

/* A field relocation against one candidate: walk the local access path and the kernel type
 * side by side as libbpf does, keeping what it reads. A candidate that stops matching is
 * left as kept so far: libbpf rejects it against the whole BTF too. */
static int walk_field(struct trim *t, const struct btf *local, uint32_t local_root,
		      uint32_t cand, const uint32_t *acc, size_t nacc)
{
	int rc = mark_shell(t, cand, 0);
	if (rc)
		return rc;
	uint32_t lid = eu_btf_skip_mods(local, local_root, true);
	uint32_t tid = eu_btf_skip_mods(t->k, cand, true);
	for (size_t i = 1; i < nacc && lid && tid; i++) {
		const struct btf_type *lt = btf__type_by_id(local, lid);
		const struct btf_type *tt = btf__type_by_id(t->k, tid);
		if (btf_is_composite(lt)) {
			if (acc[i] >= btf_vlen(lt))
				return eu_error_set(t->err, -EOPNOTSUPP, "an access index out of range");
			const struct btf_member *m = btf_members(lt) + acc[i];
			lid = eu_btf_skip_mods(local, m->type, true);
			const char *name = btf__name_by_offset(local, m->name_off);
			if (!name || !*name)
				continue;  /* an anonymous local member: the kernel side stays */
			if (!btf_is_composite(tt))
				return 0;
			uint32_t found;
			if ((rc = match_member(t, tid, name, &found, 0)))
				return rc;
			tid = found ? eu_btf_skip_mods(t->k, found, true) : 0;
		} else if (btf_is_array(lt)) {
			if (!btf_is_array(tt))
				return 0;
			lid = eu_btf_skip_mods(local, btf_array(lt)->type, true);
			tid = eu_btf_skip_mods(t->k, btf_array(tt)->type, true);
		} else {
			return eu_error_set(t->err, -EOPNOTSUPP, "an access path through a scalar");
		}
	}
	return 0;
}

static bool kinds_match(const struct btf_type *a, const struct btf_type *b)
{
	if (btf_is_any_enum(a) && btf_is_any_enum(b))
		return true;
	return btf_kind(a) == btf_kind(b);
}

static int trim_relo(struct trim *t, const struct eu_kbtf_index *idx, const struct btf *local,
		     const struct eu_core_relo *r, bool for_kernel_ids)
{
	if (r->kind == BPF_CORE_TYPE_ID_LOCAL)
		return 0;
	if (r->kind == BPF_CORE_TYPE_ID_TARGET && for_kernel_ids)
		return eu_error_set(t->err, -EOPNOTSUPP,
				    "a bpf_core_type_id_kernel() relocation needs the kernel's own "
				    "type ids");
	if (r->kind > BPF_CORE_TYPE_MATCHES)
		return eu_error_set(t->err, -EOPNOTSUPP, "CO-RE relocation kind %u", r->kind);
	const struct btf_type *lt = btf__type_by_id(local, r->type_id);
	const char *lname = lt ? btf__name_by_offset(local, lt->name_off) : NULL;
	const char *access = btf__name_by_offset(local, r->access_str_off);
	if (!lname || !*lname || !access)
		return eu_error_set(t->err, -EOPNOTSUPP, "a relocation of an unnamed type");
	uint32_t acc[MAX_ACCESS];
	size_t nacc;
	if (parse_access(access, acc, &nacc))
		return eu_error_set(t->err, -EOPNOTSUPP, "access string \"%s\"", access);
	size_t elen = essential_len(lname);
	bool field = r->kind <= BPF_CORE_FIELD_RSHIFT_U64;
	size_t cands = 0;
	for (uint32_t id = idx->head[name_hash(lname, elen) & idx->mask]; id; id = idx->next[id]) {
		const struct btf_type *kt = btf__type_by_id(t->k, id);
		const char *kname = btf__name_by_offset(t->k, kt->name_off);
		if (essential_len(kname) != elen || strncmp(kname, lname, elen) || !kinds_match(lt, kt))
			continue;
		cands++;
		int rc = field ? walk_field(t, local, r->type_id, id, acc, nacc) : mark_full(t, id, 0);
		if (rc)
			return rc;
	}
	if (!cands && for_kernel_ids)
		return eu_error_set(t->err, -ENOENT,
				    "no kernel type named %.*s (a kernel module's type?)", (int)elen,
				    lname);
	return 0;
}

/* ---- writing ---- */

static int emit(struct trim *t, struct btf *b, const uint32_t *map, uint32_t id)
{
	const struct btf_type *bt = btf__type_by_id(t->k, id);
	const char *name = btf__name_by_offset(t->k, bt->name_off);
	if (name && !*name)
		name = NULL;
	switch (btf_kind(bt)) {
	case BTF_KIND_INT: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
	case BTF_KIND_FLOAT: case BTF_KIND_FWD:
		return btf__add_type(b, t->k, bt);  /* no references: copied as is */
	case BTF_KIND_PTR: return btf__add_ptr(b, (int)map[bt->type]);
	case BTF_KIND_TYPEDEF: return btf__add_typedef(b, name, (int)map[bt->type]);
	case BTF_KIND_VOLATILE: return btf__add_volatile(b, (int)map[bt->type]);
	case BTF_KIND_CONST: return btf__add_const(b, (int)map[bt->type]);
	case BTF_KIND_RESTRICT: return btf__add_restrict(b, (int)map[bt->type]);
	case BTF_KIND_TYPE_TAG: return btf__add_type_tag(b, name, (int)map[bt->type]);
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(bt);
		return btf__add_array(b, (int)map[a->index_type], (int)map[a->type], a->nelems);
	}
	case BTF_KIND_FUNC_PROTO: {
		int rc = btf__add_func_proto(b, (int)map[bt->type]);
		const struct btf_param *p = btf_params(bt);
		for (uint16_t i = 0; rc > 0 && i < btf_vlen(bt); i++) {
			const char *pn = btf__name_by_offset(t->k, p[i].name_off);
			int e = btf__add_func_param(b, pn && *pn ? pn : NULL, (int)map[p[i].type]);
			if (e < 0)
				rc = e;
		}
		return rc;
	}
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
		int rc = btf_is_struct(bt) ? btf__add_struct(b, name, bt->size) :
					     btf__add_union(b, name, bt->size);
		const struct btf_member *m = btf_members(bt);
		for (uint16_t i = 0; rc > 0 && i < btf_vlen(bt); i++) {
			bool keep = t->level[id] == L_FULL ||
				    (t->members[id] && (t->members[id][i / 64] >> (i % 64) & 1));
			if (!keep)
				continue;
			const char *mn = btf__name_by_offset(t->k, m[i].name_off);
			int e = btf__add_field(b, mn && *mn ? mn : NULL, (int)map[m[i].type],
					       btf_member_bit_offset(bt, i),
					       btf_member_bitfield_size(bt, i));
			if (e < 0)
				rc = e;
		}
		return rc;
	}
	default:
		return -EOPNOTSUPP;
	}
}

static int write_btf(struct trim *t, void **out, size_t *out_size)
{
	uint32_t *map = calloc(t->n, sizeof(uint32_t));
	struct btf *b = btf__new_empty();
	int rc = 0;
	if (!map || !b) {
		rc = eu_error_set(t->err, -ENOMEM, "out of memory");
		goto out;
	}
	uint32_t next = 1;
	for (uint32_t id = 1; id < t->n; id++)
		if (t->level[id])
			map[id] = next++;
	for (uint32_t id = 1; id < t->n; id++) {
		if (!t->level[id])
			continue;
		int got = emit(t, b, map, id);
		if (got < 0 || (uint32_t)got != map[id]) {
			rc = eu_error_set(t->err, got < 0 ? got : -EINVAL,
					  "writing kernel type %u into the minimal BTF failed", id);
			goto out;
		}
	}
	uint32_t size;
	const void *raw = btf__raw_data(b, &size);
	if (!raw || !(*out = malloc(size))) {
		rc = eu_error_set(t->err, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, raw, size);
	*out_size = size;
out:
	btf__free(b);
	free(map);
	return rc;
}

int eu_kbtf_trim(const struct btf *kernel, const struct eu_kbtf_index *idx,
		 const struct btf *local, const struct eu_core_relos *relos, bool for_kernel_ids,
		 void **out, size_t *out_size, eu_error *err)
{
	eu_error scratch;
	if (!err)
		err = &scratch;
	*out = NULL;
	*out_size = 0;
	struct trim t = {.k = kernel, .n = btf__type_cnt(kernel), .err = err};
	t.level = calloc(t.n, 1);
	t.members = calloc(t.n, sizeof(*t.members));
	int rc = 0;
	if (!t.level || !t.members)
		rc = eu_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < relos->n; i++)
		rc = trim_relo(&t, idx, local, &relos->v[i], for_kernel_ids);
	if (!rc)
		rc = write_btf(&t, out, out_size);
	if (t.members)
		for (uint32_t id = 0; id < t.n; id++)
			free(t.members[id]);
	free(t.members);
	free(t.level);
	return rc;
}

int eu_kbtf_trim_object(const struct btf *kernel, const struct eu_kbtf_index *idx,
			const void *obj, size_t obj_size, bool for_kernel_ids, void **out,
			size_t *out_size, eu_error *err)
{
	const uint8_t *sec;
	size_t len;
	int rc = eu_elf_section(obj, obj_size, ".BTF", &sec, &len);
	if (rc)
		return eu_error_set(err, rc, "the object has no readable .BTF section");
	struct btf *local = btf__new(sec, (uint32_t)len);
	if (!local)
		return eu_error_set(err, -errno ? -errno : -EINVAL, "the object's .BTF is invalid");
	struct eu_core_relos relos;
	rc = eu_core_relos_read(obj, obj_size, &relos, err);
	if (!rc)
		rc = eu_kbtf_trim(kernel, idx, local, &relos, for_kernel_ids, out, out_size, err);
	eu_core_relos_free(&relos);
	btf__free(local);
	return rc;
}
