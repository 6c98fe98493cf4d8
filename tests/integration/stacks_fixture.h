/* Shared by the stack tests (run, the daemon, OTLP): functions with distinctive names for the
 * stacks to show, called the way the kernel can unwind them. Static functions compiled into
 * each test file, which is built with frame pointers (tests/CMakeLists.txt): each file
 * includes it once. */
#ifndef EU_STACKS_FIXTURE_H
#define EU_STACKS_FIXTURE_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* getppid(2) called two frames below a function with a distinctive name: libc's getppid
 * keeps no frame pointer, so unwinding goes from it to eu_stacks_inner's caller, which is
 * why the name to look for is the outer one. */
static __attribute__((noinline)) int eu_stacks_inner(void)
{
	int r = getppid();
	__asm__ volatile("" ::: "memory");
	return r;
}

static __attribute__((noinline)) int eu_stacks_outer(void)
{
	int r = eu_stacks_inner();
	__asm__ volatile("" ::: "memory");
	return r + 1;
}

static atomic_bool eu_stacks_spinning;

/* Where a profiled thread spends its time: the name folded lines must show. */
static __attribute__((noinline)) void eu_stacks_spin_in_user(volatile uint64_t *sink)
{
	for (uint64_t i = 0; i < 4000000; i++)
		*sink += i * 2654435761u;
}

/* A thread body: spins while eu_stacks_spinning is set, 20 s at most. */
static inline void *eu_stacks_spin_thread(void *arg)
{
	(void)arg;
	volatile uint64_t sink = 0;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		eu_stacks_spin_in_user(&sink);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (atomic_load(&eu_stacks_spinning) && now.tv_sec - start.tv_sec < 20);
	return NULL;
}

/* Whether a JSON array of frame names holds name. */
static inline bool eu_stacks_array_has(const cJSON *arr, const char *name)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, arr)
	{
		if (cJSON_IsString(f) && !strcmp(f->valuestring, name))
			return true;
	}
	return false;
}

#endif
