/*
 * Pre-copy live migration of a reference-core VM to another core's VM of
 * the same shape, over a stream (a unix socket or TCP, migrate_stream.h).
 *
 * Source (hv_migrate_send), as QEMU and Xen do it:
 *   round 0   every page of RAM (all-zero pages as ranges, no data) while
 *             the guest runs, with dirty tracking on (dirty.h, o->mode)
 *   round n   the pages dirtied during round n-1, guest still running
 *   until     the pages still dirty would go within o->downtime_ns at the
 *             bandwidth measured over the last round (converged), or
 *             o->max_rounds rounds were sent (not converged: the migration
 *             still completes by stop-and-copy, with converged = 0, so the
 *             verdict and the downtime it cost are both measured)
 *   then      stop-and-copy: o->pause stops every vCPU, the last dirty
 *             pages and every vCPU's state (vcpu_state.h) go, END; the
 *             destination answers one byte once its vCPUs may run.
 * Downtime (VMM-measured) is o->pause's call to that answer.  A bandwidth
 * limit (o->bandwidth) holds the sender to a token bucket, to model the
 * link between two hosts on one.
 *
 * Devices are not moved: a VM that has device state outside guest RAM and
 * the vCPUs (virtio queues in flight, the console's partial line) must be
 * quiet at the stop; the caller recreates its devices on the destination.
 * Pages the source VMM writes into guest RAM during the migration must be
 * hv_dirty_mark()ed (vm->dirty) so they are sent again.
 */
#ifndef HV_MIGRATE_H
#define HV_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dirty.h"
#include "vm.h"

struct hv_mig_opts {
	enum hv_dirty_mode mode;
	uint64_t bandwidth;	/* bytes/s on the stream, 0 = as fast as it goes */
	uint64_t downtime_ns;	/* target for the stop-and-copy */
	unsigned max_rounds;	/* pre-copy rounds (round 0 included) at most, >= 1 */
	/* Stop every vCPU of the VM: they have left KVM_RUN and stay out on
	 * return.  0 or -errno (the migration then fails). */
	int (*pause)(void *arg);
	/* After each pre-copy round (may be NULL): progress; tests. */
	void (*on_round)(void *arg, unsigned round, uint64_t dirty_pages);
	void *arg;
};

struct hv_mig_stats {
	uint64_t total_ns;	/* first byte -> the destination's answer */
	uint64_t downtime_ns;	/* pause -> the destination's answer */
	uint64_t bytes_sent;	/* on the stream, headers included */
	uint64_t pages_sent;	/* page contents sent (all rounds, final included) */
	uint64_t zero_pages;	/* sent as zero ranges */
	uint64_t dirty_pages;	/* dirtied during pre-copy (found dirty after each round, summed) */
	uint64_t final_pages;	/* sent while stopped */
	uint64_t precopy_ns;	/* first byte -> the last round's collect: the time
				 * dirty_pages were made in */
	unsigned rounds;	/* pre-copy rounds sent (round 0 included) */
	bool converged;		/* the stop fitted the downtime target */
	double bandwidth;	/* bytes/s measured over the last round */
};

/* The source: migrate vm over fd (see above).  0, or -errno with `why`
 * (-EPIPE: the destination went away; the VM is then still the caller's,
 * running or paused, and it must stop it). */
int hv_migrate_send(struct vm *vm, int fd, const struct hv_mig_opts *o, struct hv_mig_stats *st,
		    char *why, size_t len);

struct hv_mig_recv_stats {
	uint64_t bytes, sections, pages, zero_pages;
	unsigned rounds; /* HV_SEC_ROUND sections seen */
	uint32_t msrs_refused; /* over all vCPUs (vcpu_state_set) */
};

/*
 * The destination: vm has the source's shape (RAM regions, vCPUs created
 * with CPUID and LAPIC set up, no vCPU run yet).  Reads the stream into
 * guest RAM and, at END, sets every vCPU's state.  0 (the vCPUs may run:
 * call hv_migrate_resumed() as they start), or -errno with `why`:
 * -EPROTO a bad stream, -EPIPE the source went away, -EINVAL a stream of
 * another shape.  On error the VM must not run (its memory is partial).
 */
int hv_migrate_recv(struct vm *vm, int fd, struct hv_mig_recv_stats *st, char *why, size_t len);

/* Tell the source the vCPUs are about to run (ends its downtime). */
int hv_migrate_resumed(int fd);

#endif
