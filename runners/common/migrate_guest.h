/*
 * The guest-observed downtime of a migration, migrate.guest_downtime_ms,
 * as every migrating runner writes it (kvm's, qemu-kvm's), so that one
 * definition lines them up: migrate/dirty's largest heartbeat gap
 * (req_ns.max) in the repetition that migrated.
 */
#ifndef HVB_MIGRATE_GUEST_H
#define HVB_MIGRATE_GUEST_H

#define HVB_MIG_GUEST_DOWNTIME "migrate.guest_downtime_ms"
#define HVB_MIG_GUEST_DOWNTIME_NOTE \
	"the guest's largest heartbeat gap in the migrated repetition (req_ns.max)"

struct hvb_record;

/* rec's value (ns) if it is that gap of repetition rep, else -1. */
double hvb_mig_guest_gap(const struct hvb_record *rec, unsigned rep);

#endif
