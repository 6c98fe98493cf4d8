/* What loading a package under the config would refuse, found without the kernel: the
 * package opened (not loaded), its parameters set and its metric rules compiled against its
 * exported types. The daemon's load uses the same functions, so `--check-config` reports
 * exactly the messages a load would give. */
#ifndef EUNOMIA_CONFIG_CHECK_H
#define EUNOMIA_CONFIG_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "eunomia/error.h"
#include "eunomia/program.h"

struct eu_exporter_program;

/* The program options a package's config section gives (sampling frequency, map sizes,
 * attach targets); cp may be NULL. */
void eu_config_program_opts(const struct eu_config_package *cp, struct eu_program_opts *po);

/* Sets the parameters (names[i] = values[i]) of an opened program. Every unknown name and
 * bad value is named in one message, not only the first. */
int eu_config_apply_params(struct eu_program *prog, const char *pkg_name,
			   char *const *names, char *const *values, size_t n, eu_error *err);

/* Checks every package the config knows: the files of the watched directories and the
 * exporter config's programs (files or inline). Each problem is printed to out as
 * "eunomia-agent: WHERE: MESSAGE"; a config section naming no known package is a warning.
 * Returns the number of problems. */
size_t eu_config_check_packages(const struct eu_config *cfg,
				const struct eu_exporter_program *progs, size_t n_progs,
				FILE *out);

#endif
