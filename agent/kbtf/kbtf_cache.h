/* The kernel's BTF parsed once (the daemon keeps one cache for all its loads) and the
 * minimal BTF trimmed from it per BPF object, cached per (object sha256, kernel build) in
 * memory and on disk between processes (kbtf_store.h). A
 * package whose relocations the trimmer cannot serve falls back to libbpf's own lookup; every
 * fallback is counted by reason. Thread-safe. */
#ifndef EUNOMIA_KBTF_CACHE_H
#define EUNOMIA_KBTF_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "eunomia/error.h"

struct eu_package;
struct eu_kbtf_choice;
struct eu_kbtf_cache;

enum eu_kbtf_fallback {
	EU_KBTF_FB_KERNEL_BTF = 0, /* the kernel BTF could not be read or parsed */
	EU_KBTF_FB_OBJECT,         /* the object's BTF or .BTF.ext could not be read */
	EU_KBTF_FB_MODULE,         /* a relocation has no candidate in vmlinux (module type?) */
	EU_KBTF_FB_UNSUPPORTED,    /* a relocation kind or type the trimmer does not serve */
	EU_KBTF_FB_OTHER,          /* out of memory, memfd, ... */
	EU_KBTF_FB_COUNT,
};

struct eu_kbtf_stats {
	uint64_t kernel_parses;  /* times the kernel BTF was parsed */
	uint64_t trims;          /* minimal BTFs computed */
	uint64_t hits;           /* loads served from the in-memory cache */
	uint64_t store_hits;     /* loads served from the on-disk store (kbtf_store.h) */
	uint64_t deferred;       /* misses left to eu_kbtf_cache_fill_later */
	uint64_t fallbacks[EU_KBTF_FB_COUNT];
	double kernel_parse_ms;  /* the last parse */
};

struct eu_kbtf_cache_opts {
	/* On a miss (in memory and in the on-disk store), do not parse the kernel BTF now: the
	 * load uses libbpf's own lookup, and eu_kbtf_cache_fill_later trims for next time. For
	 * `run`, where one parse by libbpf is what a load costs anyway. */
	bool defer_trim;
};

int eu_kbtf_cache_new(struct eu_kbtf_cache **out, eu_error *err);
int eu_kbtf_cache_new_opts(struct eu_kbtf_cache **out, const struct eu_kbtf_cache_opts *opts,
			   eu_error *err);
void eu_kbtf_cache_free(struct eu_kbtf_cache *c);

/* A trimmed CO-RE target for pkg in *out (a memfd); nonzero when the load must fall back to
 * libbpf's own lookup (counted, the reason logged at debug level). */
int eu_kbtf_cache_trimmed(struct eu_kbtf_cache *c, const struct eu_package *pkg,
			  struct eu_kbtf_choice *out);

/* Trims the deferred misses in a detached low-priority process and writes them to the store;
 * returns at once. Nothing to do without a store. */
void eu_kbtf_cache_fill_later(struct eu_kbtf_cache *c);
void eu_kbtf_cache_stats(struct eu_kbtf_cache *c, struct eu_kbtf_stats *out);
const char *eu_kbtf_fallback_name(enum eu_kbtf_fallback f);

#endif
