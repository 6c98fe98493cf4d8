/* Helpers shared by the tests. */
#ifndef EU_TEST_H
#define EU_TEST_H

#include <stddef.h>

/* Reads a whole file; returns a malloc'd, NUL-terminated buffer or NULL. */
char *eu_test_read_file(const char *path, size_t *size);

#endif
