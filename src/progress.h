/* Progress lines of long runs, on stderr (rewritten in place on a tty). */
#ifndef HVB_PROGRESS_H
#define HVB_PROGRESS_H

#include "job.h"

void hvb_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hvb_progress_end(void);

/* struct hvb_job's progress callback: "rep 2/5  kvm       micro/cpuid". */
void hvb_progress_cell(const struct hvb_job *job, const char *runner, unsigned rep,
		       const char *workload);

#endif
