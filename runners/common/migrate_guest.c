/*
 * The guest-observed downtime's source (migrate_guest.h).
 */
#include "migrate_guest.h"

#include <string.h>

#include "hvb/abi.h"
#include "migrate_cfg.h"

double hvb_mig_guest_gap(const struct hvb_record *rec, unsigned rep)
{
	if (rec->type == HVB_REC_SAMPLE && rec->rep == rep &&
	    !strcmp(rec->workload, HVB_MIGRATE_WORKLOAD) && !strcmp(rec->metric, "req_ns.max"))
		return rec->value;
	return -1;
}
