/* Column arithmetic shared by the decoder's text table and the sinks' readable lines (not
 * part of the embedding API). */
#ifndef EU_DECODER_TEXT_H
#define EU_DECODER_TEXT_H

#include <stddef.h>

#include "eunomia/buf.h"

/* Terminal columns a UTF-8 run of n bytes occupies, one per code point (continuation bytes
 * take none). */
size_t eu_text_columns(const char *s, size_t n);
/* Appends spaces to b until a run of used columns reaches width (nothing when it does). */
void eu_text_pad(eu_buf *b, size_t used, size_t width);

#endif
