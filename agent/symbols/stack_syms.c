/* Stack frames as names: the kernel's table and the processes' tables behind one call. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "eunomia/log.h"
#include "symbols.h"

struct eu_stack_syms {
	struct eu_ksyms *k;
	bool k_tried;
	struct eu_usyms *u;
	char text[32];
};

int eu_stack_syms_new(struct eu_stack_syms **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	int rc = eu_usyms_new(&(*out)->u);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

void eu_stack_syms_free(struct eu_stack_syms *s)
{
	if (!s)
		return;
	eu_ksyms_free(s->k);
	eu_usyms_free(s->u);
	free(s);
}

bool eu_stack_addr_is_kernel(uint64_t addr)
{
	return addr >> 63;
}

const char *eu_stack_syms_name(struct eu_stack_syms *s, uint32_t pid, uint64_t addr,
			       bool with_names)
{
	const char *name = NULL;
	if (!with_names) {
		snprintf(s->text, sizeof(s->text), "0x%" PRIx64, addr);
		return s->text;
	}
	if (eu_stack_addr_is_kernel(addr)) {
		if (!s->k_tried) {
			eu_error err = {0};
			s->k_tried = true;
			if (eu_ksyms_load(NULL, &s->k, &err))
				eu_log(EU_LOG_WARN, "kernel stack frames print as [unknown]: %s",
				       err.msg);
		}
		name = eu_ksyms_lookup(s->k, addr, NULL);
	} else {
		name = eu_usyms_lookup(s->u, pid, addr, NULL, NULL);
	}
	return name ? name : "[unknown]";
}
