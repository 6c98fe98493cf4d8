/* The exported-struct choice of export_pick.h. */
#include "export_pick.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eunomia/buf.h"
#include "eunomia/decoder.h"
#include "eunomia/package.h"
#include "insn_scan.h"

#define MAX_SIZES 16

struct cand {
	size_t size, min_size;
};

bool eu_export_size_fits(size_t size, size_t struct_size, size_t min_size, bool perf)
{
	if (size == struct_size || (size >= min_size && size < struct_size))
		return true;
	/* perf raw samples: a u32 size, then the data padded so the two end 8-byte aligned */
	return perf && size > struct_size && size <= ((struct_size + 4 + 7) & ~(size_t)7) - 4;
}

static const char *helper_name(int helper)
{
	switch (helper) {
	case 25: return "bpf_perf_event_output";
	case 130: return "bpf_ringbuf_output";
	case 131: return "bpf_ringbuf_reserve";
	case 198: return "bpf_ringbuf_reserve_dynptr";
	default: return "an output helper";
	}
}

static void cand_sizes(const struct eu_package *pkg, const struct btf *btf, struct cand *c)
{
	for (size_t i = 0; i < pkg->n_export_types; i++) {
		const struct eu_export_type *et = &pkg->export_types[i];
		struct eu_plan *plan = NULL;
		c[i].size = c[i].min_size = et->size;
		if (btf && et->type_id && eu_plan_new(btf, et->type_id, &plan, NULL) == 0) {
			c[i].size = eu_plan_size(plan);
			c[i].min_size = eu_plan_min_size(plan);
		}
		eu_plan_free(plan);
	}
}

static void list_names(const struct eu_package *pkg, eu_buf *b)
{
	for (size_t i = 0; i < pkg->n_export_types; i++) {
		if (i)
			eu_buf_puts(b, ", ");
		eu_buf_puts(b, pkg->export_types[i].name ? pkg->export_types[i].name : "?");
	}
}

static int pick_forced(const struct eu_package *pkg, const char *forced, struct eu_export_pick *out,
		       eu_error *err)
{
	for (size_t i = 0; i < pkg->n_export_types; i++) {
		const char *n = pkg->export_types[i].name;
		if (n && (!strcmp(n, forced) ||
			  (!strncmp(forced, "struct ", 7) && !strcmp(n, forced + 7)))) {
			out->index = (int)i;
			out->certain = true;
			snprintf(out->why, sizeof(out->why), "named by --export-type");
			return 0;
		}
	}
	eu_buf b;
	eu_buf_init(&b);
	list_names(pkg, &b);
	int r = eu_error_set(err, -ENOENT,
			     "--export-type %s: the package exports no struct of that name (it has: %s)",
			     forced, b.data ? b.data : "none");
	eu_buf_free(&b);
	return r;
}

static bool event_name(const char *n, bool exact)
{
	if (!n)
		return false;
	return exact ? !strcmp(n, "event") : strstr(n, "event") != NULL;
}

/* Rule 4, by name, among the candidates in mask (all when mask is NULL). */
static int by_name(const struct eu_package *pkg, const bool *mask)
{
	for (int exact = 1; exact >= 0; exact--)
		for (size_t i = 0; i < pkg->n_export_types; i++)
			if ((!mask || mask[i]) && event_name(pkg->export_types[i].name, exact))
				return (int)i;
	return -1;
}

int eu_export_pick(const struct eu_package *pkg, const struct btf *btf, const struct eu_scan *scan,
		   const char *map, const char *forced, struct eu_export_pick *out, eu_error *err)
{
	memset(out, 0, sizeof(*out));
	out->index = -1;
	size_t n = pkg->n_export_types;
	if (!n)
		return eu_error_set(err, -ENOENT, "the package exports no struct");
	if (forced && *forced)
		return pick_forced(pkg, forced, out, err);
	if (n == 1) {
		out->index = 0;
		out->certain = true;
		snprintf(out->why, sizeof(out->why), "the only exported struct");
		return 0;
	}
	struct cand *c = calloc(n, sizeof(*c));
	bool *fits = calloc(n, sizeof(*fits));
	if (!c || !fits) {
		free(c);
		free(fits);
		return eu_error_set(err, -ENOMEM, "out of memory");
	}
	cand_sizes(pkg, btf, c);

	/* rule 3: the sizes the programs send through this map */
	int64_t sizes[MAX_SIZES];
	size_t ns = 0;
	const struct eu_scan_output *first = NULL;
	bool variable = false;
	for (size_t k = 0; scan && k < scan->n_outputs; k++) {
		const struct eu_scan_output *o = &scan->outputs[k];
		if (map && o->map[0] && strcmp(o->map, map))
			continue;
		if (o->size < 0) {
			variable = true;
			continue;
		}
		if (!first)
			first = o;
		bool seen = false;
		for (size_t j = 0; j < ns; j++)
			seen |= sizes[j] == o->size;
		if (!seen && ns < MAX_SIZES)
			sizes[ns++] = o->size;
	}
	size_t n_fit = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < ns && !fits[i]; j++)
			fits[i] = eu_export_size_fits((size_t)sizes[j], c[i].size, c[i].min_size, false);
		n_fit += fits[i];
	}
	if (n_fit) {
		/* an exact size beats a cut tail; among equals, the name decides */
		size_t n_exact = 0;
		bool *exact = calloc(n, sizeof(*exact));
		for (size_t i = 0; exact && i < n; i++) {
			for (size_t j = 0; j < ns && fits[i]; j++)
				exact[i] |= c[i].size == (size_t)sizes[j];
			n_exact += exact[i];
		}
		bool *among = n_exact ? exact : fits;
		int pick = by_name(pkg, among);
		for (size_t i = 0; i < n && pick < 0; i++)
			if (among[i])
				pick = (int)i;
		n_fit = n_exact ? n_exact : n_fit;
		free(exact);
		out->index = pick;
		out->certain = n_fit == 1;
		snprintf(out->why, sizeof(out->why),
			 "its size (%zu bytes) is what %s in %s sends%s%s%s", c[pick].size,
			 helper_name(first->helper), first->func[0] ? first->func : "a program",
			 map ? " through map " : "", map ? map : "",
			 n_fit > 1 ? " (other exported structs have that size too)" : "");
		goto out;
	}
	/* rule 4; with variable sizes only, among the structs that have a variable tail */
	if (variable) {
		size_t n_tail = 0;
		for (size_t i = 0; i < n; i++)
			n_tail += (fits[i] = c[i].min_size < c[i].size);
		if (n_tail == 1) {
			for (size_t i = 0; i < n; i++)
				if (fits[i])
					out->index = (int)i;
			out->certain = true;
			snprintf(out->why, sizeof(out->why),
				 "the programs send records of varying size and it is the only exported "
				 "struct that ends in an array");
			goto out;
		}
	}
	out->index = by_name(pkg, NULL);
	if (out->index >= 0) {
		out->certain = event_name(pkg->export_types[out->index].name, true);
		snprintf(out->why, sizeof(out->why), "it is named %s%s",
			 pkg->export_types[out->index].name,
			 ns ? " (no exported struct has the size the programs send)" : "");
		goto out;
	}
	/* rule 5: the consumer matches the first record's size */
	snprintf(out->why, sizeof(out->why),
		 "nothing in the programs tells: the first record's size decides");
out:
	free(c);
	free(fits);
	return 0;
}
