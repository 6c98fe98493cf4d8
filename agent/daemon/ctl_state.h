/* The control state of the daemon's packages (ctl_state.c), below the package slots and the
 * control API: the checks every watched file passes before it is read (ownership,
 * signature), each package's id and pause mark, and its ring of recent records for the API's
 * streams. Calls nothing above it. */
#ifndef EUNOMIA_CTL_STATE_H
#define EUNOMIA_CTL_STATE_H

#include "daemon_priv.h"
#include "record_ring.h"

struct ctl_slot {
	uint64_t id;
	bool from_api;
	struct pkg_inst *paused_inst;  /* the instance eu_daemon_pause detached */
	struct record_ring ring;       /* its sequence numbers are the streams' */
	struct eu_daemon_sub *subs;
};

struct eu_daemon_sub {
	struct eu_daemon_sub *next, *prev;
	struct pkg_slot *slot;         /* NULL once the package is gone */
	uint64_t cursor;               /* the next sequence number wanted */
	eu_daemon_sub_fn wake;
	void *ctx;
	eu_buf line;                   /* the JSON line eu_daemon_sub_next returned last */
};

struct daemon_ctl {
	bool insecure;
	struct eu_trust *trust;
	size_t max_programs, ring_max;
	uint64_t next_id;
	bool keep_records;             /* only when someone (the API) may read them */
	void (*on_stop)(void *ctx);
	void *on_stop_ctx;
};

/* The slot's control state, made on first use (NULL when out of memory or before
 * daemon_ctl_init). */
struct ctl_slot *daemon_ctl_slot(struct eu_daemon *d, struct pkg_slot *slot);
/* Paused: the instance that was paused is still the running one, and still detached. */
bool daemon_ctl_paused(const struct pkg_slot *slot);

#endif
