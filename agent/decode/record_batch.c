/* Batches of typed records (record.h): filled by the thread that reads the rings, sealed, then
 * shared read-only by every sink. The raw bytes of all records live in one buffer, copied once;
 * a record's pointers are fixed when the batch is sealed (the buffer may move while filling). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/decoder.h"
#include "eunomia/record.h"

/* Every data copy starts 8-byte aligned: plans read fields with memcpy, but keeping natural
 * alignment costs nothing here. */
#define DATA_ALIGN 8u

struct eu_record_batch {
	unsigned refs;
	bool sealed;
	struct eu_record *recs;
	size_t n, cap;
	eu_buf bytes;
	/* the sources referenced, one reference each (consecutive records mostly share one) */
	struct eu_record_source **srcs;
	size_t n_srcs, cap_srcs;
	uint64_t observed_ns;

	pthread_mutex_t json_mu;
	bool json_done;
	size_t text_lines; /* eu_record_batch_text */
	int json_ret;
	eu_buf json;
};

/* Batches let go of are kept for reuse, their buffers grown already: a reader that hands a
 * batch over every few milliseconds then allocates (and faults in) nothing. Bounded in count
 * and in the memory kept. */
#define POOL_MAX 8
#define POOL_KEEP_BYTES (4u << 20)

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct eu_record_batch *pool[POOL_MAX];
static size_t pool_n;

static void batch_free(struct eu_record_batch *b)
{
	free(b->srcs);
	free(b->recs);
	eu_buf_free(&b->bytes);
	eu_buf_free(&b->json);
	pthread_mutex_destroy(&b->json_mu);
	free(b);
}

__attribute__((destructor)) static void pool_drain(void)
{
	pthread_mutex_lock(&pool_mu);
	while (pool_n)
		batch_free(pool[--pool_n]);
	pthread_mutex_unlock(&pool_mu);
}

struct eu_record_batch *eu_record_batch_new(void)
{
	pthread_mutex_lock(&pool_mu);
	struct eu_record_batch *b = pool_n ? pool[--pool_n] : NULL;
	pthread_mutex_unlock(&pool_mu);
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->refs = 1;
	eu_buf_init(&b->bytes);
	eu_buf_init(&b->json);
	pthread_mutex_init(&b->json_mu, NULL);
	return b;
}

struct eu_record_batch *eu_record_batch_text(const char *text, size_t len, size_t n_records)
{
	struct eu_record_batch *b = eu_record_batch_new();
	if (!b)
		return NULL;
	eu_buf_append(&b->json, text, len);
	if (b->json.oom) {
		eu_record_batch_unref(b);
		return NULL;
	}
	b->sealed = b->json_done = true;
	b->text_lines = n_records;
	return b;
}

size_t eu_record_batch_lines(const struct eu_record_batch *b)
{
	return b->n + b->text_lines;
}

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, c * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = c;
	return true;
}

static int hold_source(struct eu_record_batch *b, struct eu_record_source *src)
{
	/* the last few suffice: records of one source come in runs */
	for (size_t i = b->n_srcs, k = 0; i > 0 && k < 4; i--, k++)
		if (b->srcs[i - 1] == src)
			return 0;
	if (!grow((void **)&b->srcs, &b->cap_srcs, b->n_srcs, sizeof(*b->srcs)))
		return -ENOMEM;
	b->srcs[b->n_srcs++] = eu_record_source_ref(src);
	return 0;
}

static size_t aligned(size_t n)
{
	return (n + DATA_ALIGN - 1) & ~(size_t)(DATA_ALIGN - 1);
}

/* Copies p[0..n) to *at (aligned, within the room reserved) and zeroes the padding after it;
 * returns where it went. */
static size_t put_bytes(char *base, size_t *at, const void *p, size_t n)
{
	size_t where = *at, end = aligned(where + n);
	if (n)
		memcpy(base + where, p, n);
	if (end > where + n)
		memset(base + where + n, 0, end - where - n);
	*at = end;
	return where;
}

int eu_record_batch_add(struct eu_record_batch *b, struct eu_record_source *src,
			uint64_t time_ns, const void *key, size_t key_size, const void *data,
			size_t size)
{
	return eu_record_batch_add_stacks(b, src, time_ns, key, key_size, data, size, NULL, 0);
}

int eu_record_batch_add_stacks(struct eu_record_batch *b, struct eu_record_source *src,
			       uint64_t time_ns, const void *key, size_t key_size,
			       const void *data, size_t size, const void *stacks,
			       size_t stacks_size)
{
	if (b->sealed)
		return -EBUSY;
	if (size > UINT32_MAX || key_size > UINT32_MAX || stacks_size > UINT32_MAX)
		return -EINVAL;
	if (src->kind == EU_RECORD_EVENT && size < eu_plan_min_size(src->plan))
		return -EINVAL;
	if (src->kind == EU_RECORD_SAMPLE &&
	    (size < eu_plan_size(src->plan) ||
	     key_size < (src->key_plan ? eu_plan_size(src->key_plan) : 0)))
		return -EINVAL;
	if (!grow((void **)&b->recs, &b->cap, b->n, sizeof(*b->recs)) || hold_source(b, src))
		return -ENOMEM;
	/* one room check for the three parts: every part starts aligned (the buffer's length
	 * is kept a multiple of DATA_ALIGN) */
	size_t room = aligned(key_size) + aligned(size) + (stacks ? aligned(stacks_size) : 0);
	if (!eu_buf_reserve(&b->bytes, room)) {
		b->bytes.oom = false;
		return -ENOMEM;
	}
	size_t at = b->bytes.len;
	size_t key_at = key_size ? put_bytes(b->bytes.data, &at, key, key_size) : 0;
	size_t data_at = put_bytes(b->bytes.data, &at, data, size);
	size_t stacks_at = stacks ? put_bytes(b->bytes.data, &at, stacks, stacks_size) : 0;
	b->bytes.len = at;
	/* offsets until sealed: the buffer may still move */
	b->recs[b->n++] = (struct eu_record){.src = src, .time_ns = time_ns,
					     .data = (const void *)(uintptr_t)data_at,
					     .size = (uint32_t)size, .key_size = (uint32_t)key_size,
					     .key = (const void *)(uintptr_t)key_at,
					     .stacks = (const void *)(uintptr_t)stacks_at,
					     .stacks_size = stacks ? (uint32_t)stacks_size : 0};
	return 0;
}

/* A record's offsets into the bytes as pointers. */
static void resolve(struct eu_record *r, const char *base)
{
	r->data = base + (uintptr_t)r->data;
	r->key = r->key_size ? base + (uintptr_t)r->key : NULL;
	r->stacks = r->stacks_size ? base + (uintptr_t)r->stacks : NULL;
}

void eu_record_batch_seal(struct eu_record_batch *b, uint64_t observed_ns)
{
	if (b->sealed)
		return;
	b->sealed = true;
	b->observed_ns = observed_ns;
	const char *base = b->bytes.data ? b->bytes.data : "";
	for (size_t i = 0; i < b->n; i++)
		resolve(&b->recs[i], base);
}

bool eu_record_batch_get(const struct eu_record_batch *b, size_t i, struct eu_record *out)
{
	if (i >= b->n)
		return false;
	*out = b->recs[i];
	if (!b->sealed)
		resolve(out, b->bytes.data ? b->bytes.data : "");
	return true;
}

size_t eu_record_batch_count(const struct eu_record_batch *b)
{
	return b->n;
}

const struct eu_record *eu_record_batch_at(const struct eu_record_batch *b, size_t i)
{
	return b->sealed && i < b->n ? &b->recs[i] : NULL;
}

uint64_t eu_record_batch_observed(const struct eu_record_batch *b)
{
	return b->observed_ns;
}

size_t eu_record_batch_bytes(const struct eu_record_batch *b)
{
	return b->bytes.len + b->n * sizeof(*b->recs) + (b->text_lines ? b->json.len : 0);
}

int eu_record_batch_json(struct eu_record_batch *b, const char **text, size_t *len)
{
	pthread_mutex_lock(&b->json_mu);
	if (!b->json_done) {
		b->json_done = true;
		int ret = 0;
		/* a JSON line is about three times its event's bytes */
		eu_buf_reserve(&b->json, b->bytes.len * 3 + b->n * 160);
		for (size_t i = 0; i < b->n && !ret; i++) {
			/* records were checked when added: only memory can fail here */
			ret = eu_record_format(&b->json, &b->recs[i]);
		}
		b->json_ret = ret;
	}
	int ret = b->json_ret;
	pthread_mutex_unlock(&b->json_mu);
	*text = b->json.data ? b->json.data : "";
	*len = ret ? 0 : b->json.len;
	return ret;
}

struct eu_record_batch *eu_record_batch_ref(struct eu_record_batch *b)
{
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

void eu_record_batch_unref(struct eu_record_batch *b)
{
	if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (size_t i = 0; i < b->n_srcs; i++)
		eu_record_source_unref(b->srcs[i]);
	b->n_srcs = 0;
	if (b->bytes.cap + b->json.cap + b->cap * sizeof(*b->recs) <= POOL_KEEP_BYTES &&
	    !b->bytes.oom && !b->json.oom) {
		b->refs = 1;
		b->sealed = b->json_done = false;
		b->json_ret = 0;
		b->text_lines = 0;
		b->n = 0;
		b->observed_ns = 0;
		eu_buf_reset(&b->bytes);
		eu_buf_reset(&b->json);
		pthread_mutex_lock(&pool_mu);
		bool kept = pool_n < POOL_MAX;
		if (kept)
			pool[pool_n++] = b;
		pthread_mutex_unlock(&pool_mu);
		if (kept)
			return;
	}
	batch_free(b);
}
