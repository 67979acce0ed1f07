/*
 * runners/xen/migrate_progress.c off Xen: libxc's progress messages, in
 * the order and shape a live save under Xen-in-QEMU sent them
 * (ci/xen/migrate-test with HVB_XEN_MIGRATE_DEBUG=1), into pre-copy rounds, the last round's and the stop-and-copy's pages
 * and the convergence verdict; the relay's token bucket; the
 * HVB_XEN_MIGRATE_* variables and their errors.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xen/migrate_progress.h"

struct msg {
	const char *doing;
	unsigned long total;
};

/* Feed msgs (NULL-terminated); returns how many said "suspended first". */
static unsigned feed(struct xen_mig_rounds *r, const struct msg *msgs)
{
	unsigned firsts = 0;

	xen_mig_rounds_init(r);
	for (const struct msg *m = msgs; m->doing; m++)
		firsts += xen_mig_rounds_note(r, m->doing, m->total);
	xen_mig_rounds_end(r);
	return firsts;
}

/* Five rounds, the last of 505 pages: libxc's round limit stopped it. */
static void test_round_limit(void)
{
	static const struct msg msgs[] = {
		{ "Start of stream", 0 },
		{ "Frames iteration 0", 1044480 }, { "Frames iteration 0", 1044480 },
		{ "Frames iteration 1", 1048 },	   { "Frames iteration 1", 1048 },
		{ "Frames iteration 2", 667 },	   { "Frames iteration 3", 610 },
		{ "Frames iteration 4", 505 },	   { "Frames iteration 4", 505 },
		{ "Domain now suspended", 0 },	   { "Frames iteration 5", 363 },
		{ "Frames iteration 5", 363 },	   { "End of stream", 0 },
		{ NULL, 0 },
	};
	struct xen_mig_rounds r;

	TAP_EQ_INT((int)feed(&r, msgs), 1, "the suspend is announced once");
	TAP_EQ_INT((int)r.rounds, 5, "five pre-copy rounds, round 0 included");
	TAP_EQ_INT((int)r.last_round_pages, 505, "the last pre-copy round's pages");
	TAP_EQ_INT((int)r.final_pages, 363, "the pages sent suspended");
	TAP_OK(r.has_progress && r.suspended, "progress seen, the domain suspended");
	TAP_OK(!xen_mig_converged(r.rounds, r.last_round_pages),
	       "505 pages left: not converged (the round limit)");
}

/* Two rounds, the second under 50 pages: the policy stopped by itself. */
static void test_converged(void)
{
	static const struct msg msgs[] = {
		{ "Frames iteration 0", 8192 }, { "Frames iteration 1", 12 },
		{ "Domain now suspended", 0 },	{ "Domain now suspended", 0 },
		{ "Frames iteration 2", 3 },	{ NULL, 0 },
	};
	struct xen_mig_rounds r;

	TAP_EQ_INT((int)feed(&r, msgs), 1, "a repeated suspend message is announced once");
	TAP_EQ_INT((int)r.rounds, 2, "two pre-copy rounds");
	TAP_OK(xen_mig_converged(r.rounds, r.last_round_pages), "12 pages: converged");
	TAP_EQ_INT((int)r.final_pages, 3, "3 pages sent suspended");
	TAP_OK(!xen_mig_converged(0, 0), "no round at all is no convergence");
}

static void test_no_progress(void)
{
	static const struct msg none[] = { { NULL, 0 } };
	struct xen_mig_rounds r;

	feed(&r, none);
	TAP_OK(!r.has_progress && !r.rounds && !r.suspended,
	       "no progress message: nothing counted (the rows say unsupported)");
}

static void test_allowance(void)
{
	TAP_EQ_INT((int)xen_mig_allowance(0, 0, 1u << 30, 4096), 4096, "no limit: the whole buffer");
	TAP_EQ_INT((int)xen_mig_allowance(1000, 2000000000ull, 1500, 4096), 500,
		   "1000 B/s for 2 s, 1500 sent: 500 more");
	TAP_EQ_INT((int)xen_mig_allowance(1000, 2000000000ull, 2000, 4096), 0,
		   "at the limit: nothing");
	TAP_EQ_INT((int)xen_mig_allowance(1000, 2000000000ull, 2600, 4096), 0,
		   "over it (a write larger than asked): nothing, never negative");
	TAP_EQ_INT((int)xen_mig_allowance(1u << 30, 1000000000ull, 0, 4096), 4096,
		   "capped at the buffer");
}

static void test_env(void)
{
	struct xen_mig_params p;
	char why[200] = "";
	bool on = true;

	unsetenv("HVB_XEN_MIGRATE_AT_MS");
	unsetenv("HVB_XEN_MIGRATE_BW_MIBS");
	unsetenv("HVB_XEN_MIGRATE_LIMIT_MS");
	unsetenv("HVB_XEN_MIGRATE_DEBUG");
	TAP_EQ_INT(xen_mig_params_env(&p, &on, why, sizeof(why)), 0, "unset: fine");
	TAP_OK(!on && p.limit_ms == XEN_MIG_LIMIT_MS && !p.bw_bytes, "unset: off, defaults");
	setenv("HVB_XEN_MIGRATE_AT_MS", "250", 1);
	setenv("HVB_XEN_MIGRATE_BW_MIBS", "3", 1);
	TAP_EQ_INT(xen_mig_params_env(&p, &on, why, sizeof(why)), 0, "set: fine");
	TAP_OK(on && p.at_ms == 250 && p.bw_bytes == 3u << 20, "on, at 250 ms, 3 MiB/s in bytes");
	setenv("HVB_XEN_MIGRATE_BW_MIBS", "fast", 1);
	TAP_OK(xen_mig_params_env(&p, &on, why, sizeof(why)) < 0 &&
		       strstr(why, "HVB_XEN_MIGRATE_BW_MIBS=fast: want a whole number"),
	       "a malformed value is refused, naming the variable");
	setenv("HVB_XEN_MIGRATE_BW_MIBS", "-1", 1);
	TAP_OK(xen_mig_params_env(&p, &on, why, sizeof(why)) < 0, "a negative value is refused");
	unsetenv("HVB_XEN_MIGRATE_BW_MIBS");
	TAP_OK(!xen_mig_params_env(&p, &on, why, sizeof(why)) && !p.cancel, "no _CANCEL: off");
	setenv("HVB_XEN_MIGRATE_CANCEL", "1", 1);
	TAP_OK(!xen_mig_params_env(&p, &on, why, sizeof(why)) && p.cancel, "_CANCEL=1: on");
	setenv("HVB_XEN_MIGRATE_CANCEL", "2", 1);
	TAP_OK(xen_mig_params_env(&p, &on, why, sizeof(why)) < 0 &&
		       strstr(why, "HVB_XEN_MIGRATE_CANCEL=2: want a whole number 0-1"),
	       "_CANCEL=2 is refused");
	unsetenv("HVB_XEN_MIGRATE_CANCEL");
	unsetenv("HVB_XEN_MIGRATE_BW_MIBS");
	unsetenv("HVB_XEN_MIGRATE_AT_MS");
}

int main(void)
{
	test_round_limit();
	test_converged();
	test_no_progress();
	test_allowance();
	test_env();
	return tap_done();
}
