/*
 * For unit tests that run the real harness natively (test_harness_req,
 * test_harness_loss, test_io, test_net_native): run it on a command line
 * with records going to a temporary file, read them back, and look rows
 * up.  One copy, so every such test captures records the same way.
 */
#ifndef HVB_TESTS_HARNESS_CAPTURE_H
#define HVB_TESTS_HARNESS_CAPTURE_H

#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "native/rt_native.h"

/* hvb_harness_main(cmdline) with its records read into recs[] (at most
 * max, *n of them); returns the harness's exit code. */
static inline int harness_capture(const char *cmdline, struct hvb_record *recs, unsigned max,
				  unsigned *n)
{
	FILE *f = tmpfile();
	int r;

	rt_native_set_fd(fileno(f));
	r = hvb_harness_main(cmdline, 0);
	fflush(f);
	rewind(f);
	*n = (unsigned)fread(recs, sizeof(recs[0]), max, f);
	fclose(f);
	return r;
}

/* The SAMPLE of workload / metric in repetition rep, or NULL. */
static inline const struct hvb_record *capture_sample(const struct hvb_record *recs, unsigned n,
						      const char *workload, const char *metric,
						      unsigned rep)
{
	for (unsigned i = 0; i < n; i++)
		if (recs[i].type == HVB_REC_SAMPLE && recs[i].rep == rep &&
		    !strcmp(recs[i].workload, workload) && !strcmp(recs[i].metric, metric))
			return &recs[i];
	return NULL;
}

/* The STATUS row of workload, or NULL. */
static inline const struct hvb_record *capture_status(const struct hvb_record *recs, unsigned n,
						      const char *workload)
{
	for (unsigned i = 0; i < n; i++)
		if (recs[i].type == HVB_REC_STATUS && !strcmp(recs[i].workload, workload))
			return &recs[i];
	return NULL;
}

#endif
