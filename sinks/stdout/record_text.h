/* Records as a person reads them on a terminal (the stdout sink's `format: text`): one line
 * per event, aligned, from the typed record (never from its JSON):
 *
 *   14:03:27.512 sigsnoop   pid=4242  tpid=4243  sig=SIGUSR1  ret=0  comm=bash
 *
 * the time (local, HH:MM:SS.mmm), the package padded to the widest name seen so far, then
 * every field as key=value (the event's timestamp field left out: the time says it), each
 * padded to its type's usual width (eu_plan_text_width) so that one package's lines align.
 * Values print as the table does (decoded names, addresses, signals, errnos; strings
 * unquoted), quoted "like this" when they are empty or hold a space, a quote or a backslash.
 * Sampled maps: `key=K value=V` (struct keys and values as their members), and histograms
 * as the header line (key, other members) followed by bcc's histogram lines.
 * With colour: the time dim, the package bold, key names cyan (ANSI SGR). */
#ifndef EUNOMIA_RECORD_TEXT_H
#define EUNOMIA_RECORD_TEXT_H

#include <stdbool.h>

#include "eunomia/buf.h"
#include "eunomia/record.h"

struct eu_text_style {
	bool color;
	unsigned pkg_width; /* the package column; grows to the widest name seen */
};

/* Appends the record's line(s), each ending in '\n'. -EINVAL (a record shorter than its
 * plan) or -ENOMEM with nothing appended. */
int eu_record_text(eu_buf *out, const struct eu_record *r, struct eu_text_style *st);

/* Appends a record that came as a JSON line (a producer without a plan, e.g. a Wasm
 * module's output) in the same layout; a line that does not parse is appended as it is. */
void eu_record_text_from_json(eu_buf *out, const char *line, size_t len,
			      struct eu_text_style *st);

/* Colour on fd: a terminal, NO_COLOR unset or empty (https://no-color.org), TERM not dumb. */
bool eu_text_color_wanted(int fd);

#endif
