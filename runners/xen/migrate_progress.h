/*
 * runners/xen/migrate_progress.h: the parts of a Xen live migration
 * (migrate.h) that need no Xen, so they are unit-tested off Xen
 * (tests/unit/test_xen_migrate.c): libxc's progress messages into
 * pre-copy rounds, the relay's token bucket, the HVB_XEN_MIGRATE_*
 * variables.
 */
#ifndef HVB_XEN_MIGRATE_PROGRESS_H
#define HVB_XEN_MIGRATE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XEN_MIG_LIMIT_MS     120000 /* default: give up after this long */
/* libxc's precopy policy (xg_sr_save.c simple_precopy_policy, the one
 * libxl-save-helper uses): stop-and-copy below this many dirty pages, or
 * after XEN_MIG_MAX_ROUNDS rounds whatever is left. */
#define XEN_MIG_TARGET_PAGES 50
#define XEN_MIG_MAX_ROUNDS   5

struct xen_mig_params {
	unsigned at_ms;	   /* start this long after xen_mig_arm */
	uint64_t bw_bytes; /* the relay's limit, bytes/s; 0: unlimited */
	unsigned limit_ms; /* give up after this long; 0: XEN_MIG_LIMIT_MS */
	bool debug;	   /* libxl/libxc messages of all levels on stderr */
	bool cancel;	   /* tests: give up once the source is suspended (suspend_cancel) */
};

/* HVB_XEN_MIGRATE_AT_MS (on: *on), _BW_MIBS, _LIMIT_MS, _DEBUG, _CANCEL into p:
 * 0, or -EINVAL with why naming the variable. */
int xen_mig_params_env(struct xen_mig_params *p, bool *on, char *why, size_t len);

/*
 * libxc's save reports "Frames iteration N" (done, total pages of the
 * round) for every round, "Domain now suspended" once the domain is, then
 * the stop-and-copy round under the next iteration's name.
 */
struct xen_mig_rounds {
	int iteration;			/* the round reported now, -1: none */
	bool suspended;
	bool has_progress;		/* any message came */
	unsigned rounds;		/* pre-copy rounds ended */
	unsigned long round_total;	/* pages of the round reported now */
	unsigned long last_round_pages; /* of the last pre-copy round */
	unsigned long final_pages;	/* of the stop-and-copy round */
};

void xen_mig_rounds_init(struct xen_mig_rounds *r);

/* One progress message (libxc's doing_what and total): true when it is
 * the first to say the domain is suspended. */
bool xen_mig_rounds_note(struct xen_mig_rounds *r, const char *doing, unsigned long total);

/* The save ended: the round reported last is over. */
void xen_mig_rounds_end(struct xen_mig_rounds *r);

/* Did libxc's policy stop pre-copy by itself (the last round under
 * XEN_MIG_TARGET_PAGES), rather than at its round limit? */
bool xen_mig_converged(unsigned rounds, unsigned long last_round_pages);

/* Bytes the relay may send now, at most cap: all of cap without a limit
 * (bw 0), else what a link of bw bytes/s would have carried in elapsed_ns
 * less what was sent. */
size_t xen_mig_allowance(uint64_t bw, uint64_t elapsed_ns, uint64_t sent, size_t cap);

#endif /* HVB_XEN_MIGRATE_PROGRESS_H */
