/*
 * Dirty-page tracking of guest RAM, for pre-copy migration (migrate.h).
 *
 * Three ways KVM tells a VMM which pages the guest wrote, each selectable
 * and each probed (hv_dirty_probe) before use, because nested hosts (PVM)
 * and older kernels lack some:
 *   log    KVM_MEM_LOG_DIRTY_PAGES on every slot, KVM_GET_DIRTY_LOG fetches
 *          and re-protects a slot's bitmap in one call
 *   clear  the same bitmap with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: the fetch
 *          does not re-protect, KVM_CLEAR_DIRTY_LOG does, only for the pages
 *          the VMM is about to send (less write-protect work per round)
 *   ring   KVM_CAP_DIRTY_LOG_RING(_ACQ_REL): each vCPU pushes the gfns it
 *          dirtied into a ring the VMM maps and harvests; KVM_RESET_DIRTY_RINGS
 *          re-protects.  A full ring exits the vCPU (KVM_EXIT_DIRTY_RING_FULL):
 *          exit.c harvests it on the vCPU's thread through vm->dirty.
 * Pages the VMM itself writes into guest memory are not seen by KVM:
 * hv_dirty_mark() them.
 *
 * Call order: hv_dirty_ring_enable() (ring only) before the first
 * vcpu_create(); hv_dirty_start() once the vCPUs exist; then collect and
 * take as often as wanted; hv_dirty_stop() before vm_destroy().
 */
#ifndef HV_DIRTY_H
#define HV_DIRTY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

enum hv_dirty_mode { HV_DIRTY_LOG = 0, HV_DIRTY_CLEAR, HV_DIRTY_RING, HV_DIRTY_MODES };

/* Ring entries per vCPU (a power of two; 64 KiB of ring at 16 B each). */
#define HV_DIRTY_RING_ENTRIES 4096u

struct hv_dirty {
	struct vm *vm;
	enum hv_dirty_mode mode;
	bool started;
	uint64_t *bits[HV_MAX_MEM_REGIONS]; /* per slot: pages dirtied, not yet taken */
	uint64_t *fetch;		    /* scratch bitmap for KVM_GET_DIRTY_LOG */
	struct kvm_dirty_gfn *ring[HV_MAX_VCPUS];
	uint32_t ring_next[HV_MAX_VCPUS]; /* next entry to harvest, free-running */
	uint64_t ring_full_exits;	  /* KVM_EXIT_DIRTY_RING_FULL taken */
	uint64_t bad_entries;		  /* ring entries naming no slot/page of ours */
	pthread_mutex_t lock;		  /* ring harvests from two threads */
};

/* "log", "clear", "ring"; the reverse (false for anything else). */
const char *hv_dirty_mode_name(enum hv_dirty_mode mode);
bool hv_dirty_mode_parse(const char *s, enum hv_dirty_mode *mode);

/*
 * Can this KVM do `mode`?  Asks the capabilities on vm (any VM of this
 * host).  0, or -EOPNOTSUPP with `why` saying what is missing.
 */
int hv_dirty_probe(struct vm *vm, enum hv_dirty_mode mode, char *why, size_t len);

/* Ring mode, before the first vcpu_create(): KVM_ENABLE_CAP with
 * HV_DIRTY_RING_ENTRIES entries per vCPU (ACQ_REL where offered). */
int hv_dirty_ring_enable(struct vm *vm);

/*
 * Start tracking every RAM slot of vm in `mode`.  From here on every page
 * the guest writes is reported once by a later collect.  0 or -errno (the
 * VM is left as before).
 */
int hv_dirty_start(struct hv_dirty *d, struct vm *vm, enum hv_dirty_mode mode);

/* Stop tracking (slots back without the log flag), free the bitmaps. */
void hv_dirty_stop(struct hv_dirty *d);

/*
 * Fetch what KVM recorded since the last collect into d->bits (or-ed in)
 * and re-protect those pages, so a later write is seen again.  0 or -errno.
 */
int hv_dirty_collect(struct hv_dirty *d);

/* Pages in d->bits now. */
uint64_t hv_dirty_pending(const struct hv_dirty *d);

/*
 * Take the next dirty page after *cursor (slot, page index packed as
 * cursor = slot << 40 | page; start at 0): clears its bit and returns its
 * gpa in *gpa.  false when none is left.
 */
bool hv_dirty_take(struct hv_dirty *d, uint64_t *cursor, uint64_t *gpa);

/* The VMM wrote [gpa, gpa + len) itself: mark those pages dirty. */
void hv_dirty_mark(struct hv_dirty *d, uint64_t gpa, uint64_t len);

/* KVM_EXIT_DIRTY_RING_FULL on vcpu: harvest its ring (exit.c).  0 or -errno. */
int hv_dirty_ring_full(struct hv_dirty *d, struct vcpu *vcpu);

#endif
