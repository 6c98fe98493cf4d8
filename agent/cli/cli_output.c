#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_priv.h"
#include "eunomia/consumer.h"
#include "eunomia/decoder.h"
#include "eunomia/package.h"
#include "eunomia/sampler.h"

/* Flush early inside a long batch so the buffer stays small. */
#define OUTPUT_HIGH_WATER (1u << 20)

void cli_output_init(struct cli_output *o, int fd, bool json, bool print_header)
{
	memset(o, 0, sizeof(*o));
	eu_buf_init(&o->buf);
	o->fd = fd;
	o->json = json;
	o->print_header = print_header;
	o->time_sec = (time_t)-1;
}

void cli_output_use_records(struct cli_output *o, const struct eu_package *pkg)
{
	o->record = true;
	o->json = true;
	eu_record_version(pkg->sha256, o->version);
	if (gethostname(o->host, sizeof(o->host) - 1))
		strcpy(o->host, "unknown");
	o->meta = (struct eu_record_meta){.package = pkg->name ? pkg->name : "", .version = o->version,
					  .host = o->host};
}

/* The daemon takes the clock once per batch; so do we (a batch starts with an empty buffer). */
static void record_clock(struct cli_output *o)
{
	if (!o->buf.len)
		eu_record_clock_sync(&o->clock);
}

/* exp's record source for its current plan, made on first use: NULL when out of memory. */
static struct eu_record_source *record_source(struct cli_output *o, const struct eu_export *exp)
{
	bool sample = eu_export_kind(exp) == EU_EXPORT_SAMPLE;
	const struct eu_plan *plan = eu_export_plan(exp);
	struct cli_record_src *slot = NULL;
	for (size_t i = 0; i < o->n_srcs && !slot; i++)
		if (o->srcs[i].exp == exp)
			slot = &o->srcs[i];
	if (slot && slot->plan == plan)
		return slot->src;
	if (!slot) {
		struct cli_record_src *grown = realloc(o->srcs, (o->n_srcs + 1) * sizeof(*grown));
		if (!grown)
			return NULL;
		o->srcs = grown;
		slot = &o->srcs[o->n_srcs++];
		*slot = (struct cli_record_src){.exp = exp};
	}
	eu_record_source_unref(slot->src);
	slot->src = NULL;
	slot->plan = plan;
	struct eu_record_source t = {
		.kind = sample ? EU_RECORD_SAMPLE : EU_RECORD_EVENT,
		.package = o->meta.package, .version = o->meta.version, .host = o->meta.host,
		.event = sample ? eu_export_map_name(exp) : eu_plan_name(plan),
		/* eu_record_source_new takes references of its own */
		.plan = (struct eu_plan *)plan, .key_plan = (struct eu_plan *)eu_export_key_plan(exp),
		.key_scalar = eu_export_key_scalar(exp), .value_scalar = eu_export_value_scalar(exp),
		.ts_field = sample ? -1 : eu_record_time_field(plan),
	};
	if (eu_record_source_new(&t, &slot->src))
		slot->src = NULL;
	return slot->src;
}

/* The daemon's record of an event or a sampled map entry (eunomia/record.h). */
static void put_record(struct cli_output *o, const struct eu_export *exp, const void *key,
		       size_t key_size, const void *data, size_t size)
{
	struct eu_record_source *src = record_source(o, exp);
	if (!src) {
		o->buf.oom = true; /* the batch is dropped as for any allocation failure */
		return;
	}
	record_clock(o);
	bool sample = src->kind == EU_RECORD_SAMPLE;
	struct eu_record r = {
		.src = src, .data = data, .size = (uint32_t)size, .key = key,
		.key_size = (uint32_t)key_size,
		.time_ns = sample ? o->clock.real_now_ns
				  : eu_record_event_time(src->plan, src->ts_field, data, size,
							 &o->clock),
	};
	eu_record_format(&o->buf, &r);
}

void cli_output_free(struct cli_output *o)
{
	eu_buf_free(&o->buf);
	for (size_t i = 0; i < o->n_srcs; i++)
		eu_record_source_unref(o->srcs[i].src);
	free(o->srcs);
}

bool cli_output_flush(struct cli_output *o)
{
	size_t off = 0;
	while (!o->broken && off < o->buf.len) {
		ssize_t n = write(o->fd, o->buf.data + off, o->buf.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			o->broken = true; /* EPIPE or a dead terminal: nobody reads us any more */
			break;
		}
		off += (size_t)n;
	}
	eu_buf_reset(&o->buf);
	if (o->buf.oom) {
		/* an allocation failed mid-batch: drop that batch, keep going */
		eu_buf_free(&o->buf);
	}
	return !o->broken;
}

static void maybe_flush(struct cli_output *o)
{
	if (o->buf.len >= OUTPUT_HIGH_WATER)
		cli_output_flush(o);
}

static const char *local_time(struct cli_output *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != o->time_sec) {
		struct tm tm;
		localtime_r(&ts.tv_sec, &tm);
		strftime(o->time_str, sizeof(o->time_str), "%H:%M:%S", &tm);
		o->time_sec = ts.tv_sec;
	}
	return o->time_str;
}

void cli_output_header(struct cli_output *o, const struct eu_export *exp)
{
	/* no plan yet: the first record's size chooses the struct (consumer.h) */
	if (o->json || !o->print_header || o->header_for == exp ||
	    eu_export_kind(exp) == EU_EXPORT_SAMPLE || !eu_export_plan(exp))
		return;
	o->header_for = exp;
	if (eu_export_has_stacks(exp)) {
		eu_export_stacks_text_header(exp, &o->buf);
		return;
	}
	eu_plan_text_header(eu_export_plan(exp), &o->buf);
	eu_buf_putc(&o->buf, '\n');
}

void cli_output_event(struct cli_output *o, const struct eu_export *exp, const void *data,
		      size_t size)
{
	if (o->broken)
		return;
	const struct eu_plan *plan = eu_export_plan(exp);
	if (o->record) {
		put_record(o, exp, NULL, 0, data, size);
	} else if (o->json) {
		if (plan)
			eu_export_format_json(exp, NULL, 0, data, size, &o->buf);
	} else if (plan && eu_export_has_stacks(exp)) {
		cli_output_header(o, exp);
		eu_export_format_stacks_event(exp, data, size, false, local_time(o), &o->buf);
	} else {
		cli_output_header(o, exp);
		if (eu_plan_text_row(plan, local_time(o), data, size, &o->buf) == 0)
			eu_buf_putc(&o->buf, '\n');
	}
	maybe_flush(o);
}

void cli_output_sample(struct cli_output *o, const struct eu_export *exp, const void *key,
		       size_t key_size, const void *value, size_t value_size)
{
	if (o->broken || eu_sample_hist_empty(exp, value, value_size))
		return;
	if (o->record) {
		put_record(o, exp, key, key_size, value, value_size);
	} else if (o->json) {
		eu_export_format_json(exp, key, key_size, value, value_size, &o->buf);
	} else if (eu_export_has_stacks(exp)) {
		eu_export_format_stacks_sample(exp, key, key_size, value, value_size, false,
					       &o->buf);
	} else {
		eu_sample_format_text(exp, key, key_size, value, value_size, &o->buf);
	}
	maybe_flush(o);
}
