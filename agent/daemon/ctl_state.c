/* The control state of the daemon's packages (ctl_state.h): the checked reads of watched
 * files, ids, pause marks and the record rings the API's streams read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "ctl_state.h"
#include "eunomia/log.h"
#include "eunomia/package.h"
#include "eunomia/program.h"
#include "security.h"

#define DEFAULT_MAX_PROGRAMS 256
#define DEFAULT_RING 256
/* a ring also stops growing at this many bytes of records */
#define RING_BYTES (1u << 20)
/* and keeps its records in the sinks' batches (nothing copied) until the batches it keeps
 * alive, but the newest, add up to this many bytes: then the oldest batch's records are
 * copied and the batch let go of */
#define RING_PINNED_BYTES (2u << 20)
/* the largest watched package read when signatures are required */
#define SIGNED_FILE_MAX (64u << 20)

int daemon_ctl_init(struct eu_daemon *d, const struct eu_daemon_opts *opts, eu_error *err)
{
	struct daemon_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return eu_error_set(err, -ENOMEM, "out of memory");
	d->ctl = c;
	/* the config file's setting counts at start-up only: a SIGHUP cannot loosen it */
	c->insecure = opts->insecure_watch_dir || d->cfg.insecure_watch_dir;
	c->max_programs = opts->max_programs ? opts->max_programs : DEFAULT_MAX_PROGRAMS;
	c->ring_max = opts->events_ring ? opts->events_ring : DEFAULT_RING;
	if (opts->trusted_keys_dir) {
		int ret = eu_trust_load_dir(opts->trusted_keys_dir, &c->trust, err);
		if (ret)
			return ret;
		eu_log(EU_LOG_INFO, "signatures required: %zu trusted key%s from %s",
		       eu_trust_key_count(c->trust), eu_trust_key_count(c->trust) == 1 ? "" : "s",
		       opts->trusted_keys_dir);
	}
	if (c->insecure)
		eu_log(EU_LOG_WARN, "--insecure-watch-dir: packages are loaded whoever can write them");
	return 0;
}

void eu_daemon_set_stop_hook(struct eu_daemon *d, void (*fn)(void *ctx), void *ctx)
{
	if (!d->ctl)
		return;
	d->ctl->on_stop = fn;
	d->ctl->on_stop_ctx = ctx;
}

void eu_daemon_keep_records(struct eu_daemon *d, bool on)
{
	if (d->ctl)
		d->ctl->keep_records = on;
}

void daemon_ctl_stop(struct eu_daemon *d)
{
	if (d->ctl && d->ctl->on_stop) {
		void (*fn)(void *) = d->ctl->on_stop;
		d->ctl->on_stop = NULL;
		fn(d->ctl->on_stop_ctx);
	}
}

void daemon_ctl_free(struct eu_daemon *d)
{
	if (!d->ctl)
		return;
	eu_trust_free(d->ctl->trust);
	free(d->ctl);
	d->ctl = NULL;
}

uv_loop_t *eu_daemon_loop(struct eu_daemon *d)
{
	return &d->loop;
}

struct eu_features *eu_daemon_features(struct eu_daemon *d)
{
	return &d->features;
}

/* --- watched files --- */

/* The bytes of a watched file, after the ownership rule (unless --insecure-watch-dir) and,
 * when signatures are required, its path.sig. */
static int read_checked(struct daemon_ctl *c, const char *path, size_t max, void **data,
			size_t *len, eu_error *err)
{
	int ret = c->insecure ? eu_file_read(path, max, data, len, err)
			      : eu_security_read_watched(path, max, data, len, err);
	if (!ret && c->trust && (ret = eu_trust_verify_sig_of(c->trust, path, *data, *len, err))) {
		free(*data);
		*data = NULL;
		*len = 0;
	}
	return ret;
}

int daemon_ctl_read_companion(struct eu_daemon *d, const char *path, size_t max, void **data,
			      size_t *len, eu_error *err)
{
	*data = NULL;
	*len = 0;
	struct stat st;
	if (stat(path, &st) && errno == ENOENT)
		return -ENOENT;
	if (!d->ctl)
		return eu_file_read(path, max, data, len, err);
	return read_checked(d->ctl, path, max, data, len, err);
}

int daemon_ctl_read_module(struct eu_daemon *d, const char *path, void **data, size_t *len,
			   eu_error *err)
{
	*data = NULL;
	*len = 0;
	if (!d->ctl)
		return eu_file_read(path, EU_PACKAGE_MAX_BYTES, data, len, err);
	return read_checked(d->ctl, path, EU_PACKAGE_MAX_BYTES, data, len, err);
}

int daemon_ctl_read_package(struct eu_daemon *d, const char *path, struct eu_package **out,
			    eu_error *err)
{
	*out = NULL;
	struct daemon_ctl *c = d->ctl;
	if (!c || (!c->trust && c->insecure))
		return eu_package_read_file(path, out, err);
	/* parse exactly the bytes that were checked; a skeleton's object beside it passes the
	 * same checks (its own NAME.bpf.o.sig) */
	void *data;
	size_t len;
	int ret = read_checked(c, path, SIGNED_FILE_MAX, &data, &len, err);
	if (ret)
		return ret;
	ret = eu_package_parse(data, len, path, out, err);
	char *obj_path = ret ? NULL : eu_package_pair_object_path(path);
	if (obj_path && (*out)->format == EU_PKG_META_ONLY) {
		void *obj;
		size_t obj_len;
		ret = daemon_ctl_read_companion(d, obj_path, EU_OBJECT_MAX_BYTES, &obj, &obj_len, err);
		if (ret == -ENOENT)
			ret = 0; /* no object: stays a meta-only package */
		else if (!ret)
			ret = eu_package_attach_pair(*out, data, len, obj, obj_len, obj_path, err);
		if (ret) {
			eu_package_free(*out);
			*out = NULL;
		}
	}
	free(obj_path);
	free(data);
	return ret;
}

int daemon_ctl_parse_inline(struct eu_daemon *d, const char *origin, const void *data,
			    size_t len, struct eu_package **out, eu_error *err)
{
	*out = NULL;
	if (d->ctl && d->ctl->trust)
		return eu_error_set(err, -EPERM, "%s: an inline package (ebpf_data) cannot carry a "
				    "signature and --require-signatures is set: give the package as "
				    "compiled_ebpf_filename with its .sig beside it", origin);
	return eu_package_parse(data, len, origin, out, err);
}

/* --- per-slot state --- */

struct ctl_slot *daemon_ctl_slot(struct eu_daemon *d, struct pkg_slot *slot)
{
	if (slot->ctl || !d->ctl)
		return slot->ctl;
	slot->ctl = calloc(1, sizeof(*slot->ctl));
	if (slot->ctl) {
		slot->ctl->id = ++d->ctl->next_id;
		record_ring_init(&slot->ctl->ring, d->ctl->ring_max, RING_BYTES, RING_PINNED_BYTES);
	}
	return slot->ctl;
}

void daemon_ctl_record(struct pkg_inst *inst, struct eu_record_batch *b)
{
	struct eu_daemon *d = inst->d;
	if (!d->ctl || !d->ctl->keep_records || !inst->slot)
		return;
	struct ctl_slot *cs = daemon_ctl_slot(d, inst->slot);
	if (!cs)
		return;
	/* kept by reference: a JSON line is made only if a stream reads it */
	record_ring_push(&cs->ring, b);
	for (struct eu_daemon_sub *s = cs->subs; s; s = s->next)
		s->wake(s->ctx);
}

void daemon_ctl_slot_free(struct eu_daemon *d, struct pkg_slot *slot)
{
	struct ctl_slot *cs = slot->ctl;
	if (!cs)
		return;
	while (cs->subs) {
		struct eu_daemon_sub *s = cs->subs;
		cs->subs = s->next;
		s->next = s->prev = NULL;
		s->slot = NULL;
		s->wake(s->ctx);
	}
	record_ring_free(&cs->ring);
	free(cs);
	slot->ctl = NULL;
}

/* Paused: the instance that was paused is still the running one, and still detached (a newer
 * instance, even one allocated at the same address, comes attached). */
bool daemon_ctl_paused(const struct pkg_slot *slot)
{
	const struct ctl_slot *cs = slot->ctl;
	return cs && cs->paused_inst && cs->paused_inst == slot->cur && slot->cur->prog &&
	       eu_program_attached_count(slot->cur->prog) == 0;
}

void daemon_ctl_info(struct pkg_slot *slot, struct eu_daemon_pkg_info *out)
{
	struct ctl_slot *cs = daemon_ctl_slot(slot->d, slot);
	if (!cs)
		return;
	out->id = cs->id;
	out->from_api = cs->from_api;
	out->paused = daemon_ctl_paused(slot);
	out->seq = cs->ring.seq;
}

int eu_daemon_sub_next(struct eu_daemon_sub *s, const char **rec, size_t *len, uint64_t *seq,
		       uint64_t *missed)
{
	if (!s->slot)
		return -1;
	if (record_ring_read(&s->slot->ctl->ring, &s->cursor, &s->line, seq, missed) != 1)
		return 0;
	*rec = s->line.data;
	*len = s->line.len;
	return 1;
}

void eu_daemon_unsubscribe(struct eu_daemon_sub *s)
{
	if (!s)
		return;
	if (s->slot && s->slot->ctl) {
		struct ctl_slot *cs = s->slot->ctl;
		if (s->prev)
			s->prev->next = s->next;
		else
			cs->subs = s->next;
		if (s->next)
			s->next->prev = s->prev;
	}
	eu_buf_free(&s->line);
	free(s);
}
