/* Fuzzes ecc's `///` comment scanner (ecc/comments.c: ecc_apply_comments) on arbitrary
 * source text against a meta with one variable, one map and two programs (a perf_event one
 * and a tracepoint), so every tag (@cmdarg, @sample, @export_config, @perf_event, doc tags)
 * can find its target. A refusal must carry a message; an accepted @perf_event must leave
 * an event only on the perf_event program. Leaks show under the sanitizers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct eu_package *meta(void)
{
	struct eu_package *pkg = calloc(1, sizeof(*pkg));
	if (!pkg)
		abort();
	pkg->sections = calloc(1, sizeof(*pkg->sections));
	pkg->maps = calloc(1, sizeof(*pkg->maps));
	pkg->progs = calloc(2, sizeof(*pkg->progs));
	struct eu_var_meta *var = calloc(1, sizeof(*var));
	if (!pkg->sections || !pkg->maps || !pkg->progs || !var)
		abort();
	pkg->n_sections = 1;
	pkg->sections[0].name = strdup(".rodata");
	pkg->sections[0].vars = var;
	pkg->sections[0].n_vars = 1;
	var->name = strdup("targ_pid");
	var->type = strdup("int");
	pkg->n_maps = 1;
	pkg->maps[0].name = strdup("counts");
	pkg->maps[0].ident = strdup("counts");
	pkg->n_progs = 2;
	pkg->progs[0].name = strdup("on_miss");
	pkg->progs[0].attach = strdup("perf_event");
	pkg->progs[1].name = strdup("on_open");
	pkg->progs[1].attach = strdup("tp/syscalls/sys_enter_openat");
	return pkg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	struct eu_package *pkg = meta();
	eu_error err = {0};
	int rc = ecc_apply_comments(pkg, src, "fuzz.bpf.c", NULL, NULL, &err);
	if (rc && (!err.msg[0] || rc > 0))
		abort();
	if (!rc && pkg->progs[1].perf_event.set)
		abort();
	eu_package_free(pkg);
	free(src);
	return 0;
}
