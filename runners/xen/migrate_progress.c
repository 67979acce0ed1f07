/*
 * runners/xen/migrate_progress.c: a Xen live migration's rounds, relay
 * pacing and variables (see migrate_progress.h).  libc only.
 */
#include "migrate_progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int env_uint(const char *name, uint64_t max, uint64_t *out, bool *set, char *why,
		    size_t len)
{
	const char *v = getenv(name);
	char *end;

	if (set)
		*set = v && *v;
	if (!v || !*v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (errno || *end || v[0] == '-' || *out > max) {
		snprintf(why, len, "%s=%s: want a whole number 0-%llu", name, v,
			 (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

int xen_mig_params_env(struct xen_mig_params *p, bool *on, char *why, size_t len)
{
	uint64_t at = 0, bw = 0, lim = 0, dbg = 0, cancel = 0;

	memset(p, 0, sizeof(*p));
	if (env_uint("HVB_XEN_MIGRATE_AT_MS", 3600000, &at, on, why, len) ||
	    env_uint("HVB_XEN_MIGRATE_BW_MIBS", 1u << 20, &bw, NULL, why, len) ||
	    env_uint("HVB_XEN_MIGRATE_LIMIT_MS", 3600000, &lim, NULL, why, len) ||
	    env_uint("HVB_XEN_MIGRATE_DEBUG", 1, &dbg, NULL, why, len) ||
	    env_uint("HVB_XEN_MIGRATE_CANCEL", 1, &cancel, NULL, why, len))
		return -EINVAL;
	p->at_ms = (unsigned)at;
	p->bw_bytes = bw << 20;
	p->limit_ms = lim ? (unsigned)lim : XEN_MIG_LIMIT_MS;
	p->debug = dbg;
	p->cancel = cancel;
	return 0;
}

void xen_mig_rounds_init(struct xen_mig_rounds *r)
{
	memset(r, 0, sizeof(*r));
	r->iteration = -1;
}

/* A round ends where the next "Frames iteration" begins (or the
 * suspend, or the save's end): its total is what it sent. */
void xen_mig_rounds_end(struct xen_mig_rounds *r)
{
	if (r->iteration < 0)
		return;
	if (r->suspended) {
		r->final_pages = r->round_total;
	} else {
		r->rounds++;
		r->last_round_pages = r->round_total;
	}
	r->iteration = -1;
}

bool xen_mig_rounds_note(struct xen_mig_rounds *r, const char *doing, unsigned long total)
{
	unsigned it;

	if (!doing)
		return false;
	r->has_progress = true;
	if (!strcmp(doing, "Domain now suspended")) {
		xen_mig_rounds_end(r);
		if (r->suspended)
			return false;
		r->suspended = true;
		return true;
	}
	if (sscanf(doing, "Frames iteration %u", &it) != 1)
		return false;
	if ((int)it != r->iteration) {
		xen_mig_rounds_end(r);
		r->iteration = (int)it;
	}
	r->round_total = total;
	return false;
}

bool xen_mig_converged(unsigned rounds, unsigned long last_round_pages)
{
	return rounds && last_round_pages < XEN_MIG_TARGET_PAGES;
}

size_t xen_mig_allowance(uint64_t bw, uint64_t elapsed_ns, uint64_t sent, size_t cap)
{
	double may;

	if (!bw)
		return cap;
	may = (double)bw * (double)elapsed_ns / 1e9 - (double)sent;
	if (may <= 0)
		return 0;
	return may < (double)cap ? (size_t)may : cap;
}
