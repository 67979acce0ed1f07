/*
 * Host-side exit accounting for the Xen runners: xentrace records the
 * domain's VM exits (PV domUs: its entries into Xen) while the job runs, probes/xentrace.c adds them up per
 * repetition (between the guest's cpuid markers), and the rows go to
 * exits.csv (source "xentrace") with a lost-records counter per repetition.
 * Where tracing is not possible the repetitions get counters.csv rows with
 * status unsupported and the reason: never zeros.
 *
 *	struct xen_trace *xt = xen_trace_start(out, pv, job);
 *	... c.on_rep = xen_trace_on_rep; c.arg = xt; run the domain ...
 *	xen_trace_finish(xt, domid);
 *
 * Configuration (struct hvb_config): HVB_XENTRACE=0 turns tracing off (each traced exit costs Xen
 * a few trace-buffer writes, which the micro-benchmarks then include);
 * HVB_XENTRACE=PATH names the xentrace binary; HVB_XENTRACE_KEEP=DIR keeps
 * the raw trace as DIR/xentrace-d<domid>.bin.
 */
#ifndef HVB_XEN_TRACE_H
#define HVB_XEN_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "hvb/abi.h"

struct hvb_job;
struct hvb_out;
struct xen_trace;

/*
 * Start tracing before the domain is created: spawns xentrace (HVM and
 * scheduler classes) into a temporary file and waits until it writes.  Never
 * fails: if tracing is impossible the returned object remembers why, and
 * xen_trace_finish() records that.  Sets meta runner.<name>.exits.  pv: the
 * domain is a PV domU, which has no VM exits: its entries into Xen are
 * traced instead (TRC_PV class: hypercalls by op, bounced traps, faults,
 * emulations; no handling time), bracketed by the guest's vcpu_op markers.
 */
struct xen_trace *xen_trace_start(const struct hvb_out *out, bool pv, const struct hvb_job *job);

/* struct hvb_rec_consumer's on_rep: remembers the guest's REP_BEGIN/REP_END
 * records in order, to pair them with the markers in the trace. */
void xen_trace_on_rep(void *arg, const struct hvb_record *rec, bool begin);

/* A CELL_BEGIN record the consumer accepted: remembers the operations per
 * repetition (iterations per batch x batches) for the rows' notes. */
void xen_trace_on_cell(struct xen_trace *xt, const struct hvb_record *rec);

/*
 * After the domain is gone: stop xentrace, parse the trace for domain
 * `domid` (-1: no domain was created) and write the rows.  Frees xt.
 */
void xen_trace_finish(struct xen_trace *xt, int domid);

#endif
