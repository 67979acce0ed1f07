/*
 * A capacity step's VMs' results into the rows of the capacity run
 * (results/FORMAT.md "Capacity"): every row of VM i under runner
 * <runner>.n<N> with metric suffix .vm<i>, and per (workload, metric, rep)
 * an aggregate row without suffix: the worst VM's value of that repetition
 * (the highest for lower-is-better metrics, the lowest for higher-is-
 * better ones) over the VMs that ran the workload.
 */
#ifndef HVB_CAPACITY_ROWS_H
#define HVB_CAPACITY_ROWS_H

#include <stddef.h>

#include "capacity_vms.h"
#include "sink.h"

/* What the SLO and the step rows need from the children's results. */
struct hvb_cap_step_figures {
	double *p99_ns;   /* per repetition: the worst probe VM's req_ns.p99 */
	size_t np;
	double *tput;     /* per repetition: the worst probe VM's ops_per_s */
	size_t nt;
	double *boot_ms;  /* each VM's first boot (rep 0), VMs that booted */
	size_t nboot;
	unsigned runs_read;  /* VMs whose run directory could be read */
	unsigned failed_rows; /* rows with status failed from the probe VMs */
	unsigned probe_ok_rows; /* ok rows of the probe workload */
};

/*
 * Read every VM's run (allowing partial: background VMs are interrupted on
 * purpose) and write its rows and the aggregates to sink under runner_n;
 * fill f (free with hvb_cap_figures_free).  A VM whose run cannot be read
 * gets a failed `capacity/step` row `run.vm<i>` saying why.  When
 * meta_from_vm0 is set, vm0's runner.<runner>.* keys are copied as
 * runner.<runner_n>.* and its primary.* keys as they are.
 */
void hvb_cap_write_step(struct hvb_sink *sink, const char *runner, const char *runner_n,
			const struct hvb_cap_step_run *run, const char *probe,
			struct hvb_cap_step_figures *f);

void hvb_cap_figures_free(struct hvb_cap_step_figures *f);

#endif
