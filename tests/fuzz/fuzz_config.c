/* The daemon's YAML config parser on arbitrary bytes: it must fail cleanly, never crash or
 * leak, and a config it accepts must be well-formed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eu_config c;
	eu_error err = {0};
	if (eu_config_parse((const char *)data, size, "fuzz.yaml", &c, &err) == 0) {
		for (size_t i = 0; i < c.n_watch; i++)
			if (!c.watch[i] || !*c.watch[i])
				__builtin_trap();
		for (size_t i = 0; i < c.n_sinks; i++)
			if (eu_sink_config_check(&c.sinks[i], NULL))
				__builtin_trap(); /* a sink without a key its type requires */
		eu_config_find_package(&c, "a", "b");
		eu_config_free(&c);
	} else if (!err.msg[0]) {
		__builtin_trap(); /* every failure explains itself */
	}
	return 0;
}
