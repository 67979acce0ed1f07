/* Host-side record validation (src/records.c): what a guest sends is never trusted. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "records.h"
#include "results.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/hvb-test-records-XXXXXX";

/* A workload name that fills the record's field with no terminating NUL. */
static char long_name[HVB_NAME_MAX];

static const char *const workloads[] = {"micro/a", long_name};
static const struct hvb_job job = {
    .workloads = workloads,
    .n_workloads = 2,
    .rep = 3,
    .reps = 2,
    .total_reps = 5,
};

static struct hvb_record rec(uint16_t type, const char *workload, unsigned rep)
{
	struct hvb_record r;

	memset(&r, 0, sizeof(r));
	r.magic = HVB_RECORD_MAGIC;
	r.version = HVB_ABI_VERSION;
	r.type = type;
	r.size = sizeof(r);
	r.rep = rep;
	memcpy(r.workload, workload, strnlen(workload, sizeof(r.workload)));
	return r;
}

static struct hvb_record sample(const char *workload, unsigned rep, double value)
{
	struct hvb_record r = rec(HVB_REC_SAMPLE, workload, rep);

	strcpy(r.metric, "ns_per_op");
	strcpy(r.unit, "ns");
	r.better = HVB_LOWER_IS_BETTER;
	r.value = value;
	return r;
}

static char seen_workload[HVB_NAME_MAX + 1];
static int seen_reps;
static uint64_t seen_ops;

static void on_rep(void *arg, const struct hvb_record *r, bool begin)
{
	const struct hvb_rec_consumer *c = arg;

	(void)begin;
	seen_ops = c ? c->rep_ops : 0;
	/* The consumer promises a terminated name: strlen must stay inside. */
	if (strnlen(r->workload, sizeof(r->workload)) < sizeof(r->workload))
		strcpy(seen_workload, r->workload);
	seen_reps++;
}

static void test_reps(struct hvb_sink *sink)
{
	struct hvb_rec_consumer c;
	struct hvb_record r;

	hvb_rec_init(&c, &(const struct hvb_out){ .sink = sink, .runner = "native" }, &job);
	c.on_rep = on_rep;
	r = rec(HVB_REC_REP_BEGIN, "micro/a", 3);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "REP_BEGIN of the job's first repetition");
	TAP_EQ_STR(seen_workload, "micro/a", "the runner's probe hook sees the workload");
	r = sample("micro/a", 4, 1.5);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "a sample of the job's last repetition");
	r = sample("micro/a", 5, 1.5);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a repetition past the job is refused");
	TAP_OK(strstr(c.error, "repetition 5") != NULL, "the error names the repetition");
	hvb_rec_finish(&c, NULL);
}

/* The probes' exits.csv rows carry the operations of the repetition
 * (exits per operation = count / ops): the CELL_BEGIN's iterations x
 * batches, for that workload only, and never a product that overflowed. */
static void test_rep_ops(struct hvb_sink *sink)
{
	struct hvb_rec_consumer c;
	struct hvb_record r;

	hvb_rec_init(&c, &(const struct hvb_out){ .sink = sink, .runner = "native" }, &job);
	c.on_rep = on_rep;
	c.arg = &c;
	seen_ops = 99;
	r = rec(HVB_REC_REP_BEGIN, "micro/a", 3);
	TAP_OK(hvb_rec_deliver(&c, &r) == 0 && seen_ops == 0,
	       "rep_ops: 0 (unknown) before any CELL_BEGIN");
	r = rec(HVB_REC_CELL_BEGIN, "micro/a", 3);
	r.u64[0] = 1000, r.u64[1] = 7;
	hvb_rec_deliver(&c, &r);
	r = rec(HVB_REC_REP_BEGIN, "micro/a", 3);
	TAP_OK(hvb_rec_deliver(&c, &r) == 0 && seen_ops == 7000,
	       "rep_ops: iterations per batch x batches of the cell");
	TAP_EQ_INT((int)c.rep_ops, 0, "rep_ops is only set while the probe hook runs");
	r = rec(HVB_REC_REP_END, long_name, 3);
	TAP_OK(hvb_rec_deliver(&c, &r) == 0 && seen_ops == 0,
	       "rep_ops: 0 for a repetition of another workload than the cell's");
	r = rec(HVB_REC_CELL_BEGIN, "micro/a", 4);
	r.u64[0] = UINT64_MAX / 2, r.u64[1] = 3;
	TAP_EQ_INT((int)hvb_rec_cell_ops(&r), 0, "a product that overflows is unknown (0)");
	r.u64[0] = 0;
	TAP_EQ_INT((int)hvb_rec_cell_ops(&r), 0, "no iterations: 0");
	hvb_rec_finish(&c, "test over");
}

/* A time per operation or a rate is > 0; a count may be 0; nothing < 0. */
static void test_values(struct hvb_sink *sink)
{
	const struct hvb_out out = { .sink = sink, .runner = "native" };
	struct hvb_rec_consumer c;
	struct hvb_record r;

	hvb_rec_init(&c, &out, &job);
	r = sample("micro/a", 3, -20);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a negative ns_per_op is a protocol error");
	TAP_OK(strstr(c.error, "micro/a/ns_per_op") && strstr(c.error, "-20 ns"),
	       "... naming the sample and its value");
	hvb_rec_finish(&c, NULL);
	hvb_rec_init(&c, &out, &job);
	r = sample("micro/a", 3, 0);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a zero ns_per_op is a protocol error");
	hvb_rec_finish(&c, NULL);
	hvb_rec_init(&c, &out, &job);
	r = sample("micro/a", 3, 0);
	strcpy(r.metric, "page_faults");
	strcpy(r.unit, "count");
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "a count of 0 is a value");
	r.value = -1;
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a negative count is a protocol error");
	hvb_rec_finish(&c, NULL);

	hvb_rec_init(&c, &(const struct hvb_out){ .sink = sink, .runner = "native" }, &job);
	c.on_rep = on_rep;
	seen_reps = 0;
	r = rec(HVB_REC_REP_END, "micro/a", 2);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a repetition before the job is refused");
	TAP_EQ_INT(seen_reps, 0, "... and never reaches the probe hook");
	hvb_rec_finish(&c, NULL);
}

/* A row the guest sends twice would make the run unreadable (readers refuse
 * a repeated runner, workload, metric, rep): it is a protocol error. */
static void test_repeats(void)
{
	struct hvb_sink *sink;
	struct hvb_rec_consumer c;
	struct hvb_record r;

	/* A sink of its own: the shared one's rows are counted at the end. */
	if (!TAP_EQ_INT(hvb_sink_open(&sink, tmpdir, "repeats"), 0, "a sink for the repeats"))
		return;
	const struct hvb_out out = { .sink = sink, .runner = "native" };
	hvb_rec_init(&c, &out, &job);
	r = sample("micro/a", 3, 12.5);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "a sample is delivered");
	r.value = 13;
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "the same sample again is a protocol error");
	TAP_OK(strstr(c.error, "sent twice") != NULL, "... saying it was sent twice");
	hvb_rec_finish(&c, NULL);
	hvb_rec_init(&c, &out, &job);
	r = sample("micro/a", 3, 12.5);
	strcpy(r.metric, "cycles_per_op");
	strcpy(r.unit, "cycles");
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "another metric of the same repetition is fine");
	r = rec(HVB_REC_STATUS, long_name, 3);
	r.status = HVB_ST_SKIPPED;
	strcpy(r.text, "no port I/O");
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "a status record is delivered");
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a second status for it is a protocol error");
	hvb_rec_finish(&c, NULL);
	hvb_sink_close(sink, "complete");
}

static void test_unterminated(struct hvb_sink *sink)
{
	struct hvb_rec_consumer c;
	struct hvb_record r, u;

	hvb_rec_init(&c, &(const struct hvb_out){ .sink = sink, .runner = "native" }, &job);
	c.on_rep = on_rep;
	/* Every string field full, no NUL anywhere after the header. */
	r = sample("", 3, NAN);
	memset(r.workload, 'w', sizeof(r.workload));
	memset(r.metric, 'm', sizeof(r.metric));
	memset(r.unit, 'u', sizeof(r.unit));
	memset(r.text, 't', sizeof(r.text));
	memset(r.u64, 'x', sizeof(r.u64));
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a non-finite value is refused");
	TAP_OK(strstr(c.error, "not a finite number") != NULL && strlen(c.error) < sizeof(c.error),
	       "the error is bounded (no guest string read past its field)");
	hvb_rec_finish(&c, NULL);

	hvb_rec_init(&c, &(const struct hvb_out){ .sink = sink, .runner = "native" }, &job);
	u = sample("micro/a", 3, 1.5);
	strcpy(u.text, "cut \xe2\x82");
	TAP_EQ_INT(hvb_rec_deliver(&c, &u), -EPROTO,
		   "a string that is not UTF-8 is refused (readers refuse such a file)");
	TAP_OK(strstr(c.error, "UTF-8") != NULL, "... and the error says so");
	u = sample("micro/a", 3, 1.5);
	for (size_t i = 0; i + 1 < sizeof(u.text); i += 2)
		memcpy(u.text + i, "\xc3\xa9", 2); /* e-acute, up to the field's end */
	c.error[0] = '\0';
	TAP_EQ_INT(hvb_rec_deliver(&c, &u), 0,
		   "UTF-8 text cut at its field's end is kept, without the cut character");
	hvb_rec_finish(&c, NULL);

	hvb_rec_init(&c, &(const struct hvb_out){ .sink = sink, .runner = "native" }, &job);
	c.on_rep = on_rep;
	memset(seen_workload, 0, sizeof(seen_workload));
	r.type = HVB_REC_REP_END;
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "REP_END with an unterminated (truncated) name");
	TAP_EQ_INT(strlen(seen_workload), HVB_NAME_MAX - 1,
		   "the probe hook gets the job's terminated name");
	hvb_rec_finish(&c, "test over");
}

/* A sample the guest could not measure (e.g. an smp phase that could not
 * be set up): status skipped or unsupported with the reason, no value. */
static void test_unmeasured(struct hvb_sink *sink)
{
	const struct hvb_out out = { .sink = sink, .runner = "native" };
	struct hvb_rec_consumer c;
	struct hvb_record r = sample("micro/a", 3, 0);

	strcpy(r.metric, "bandwidth.smp2");
	strcpy(r.unit, "MB/s");
	r.better = HVB_HIGHER_IS_BETTER;
	r.status = HVB_ST_SKIPPED;
	hvb_rec_init(&c, &out, &job);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "an unmeasured sample without a reason is refused");
	TAP_OK(strstr(c.error, "without the reason") != NULL, "... saying so");
	hvb_rec_finish(&c, NULL);
	strcpy(r.text, "smp: CPU 1: out of memory (test)");
	r.status = HVB_ST_FAILED;
	hvb_rec_init(&c, &out, &job);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), -EPROTO, "a sample with status failed is refused (cells fail)");
	hvb_rec_finish(&c, NULL);
	r.status = HVB_ST_SKIPPED;
	hvb_rec_init(&c, &out, &job);
	TAP_EQ_INT(hvb_rec_deliver(&c, &r), 0, "a skipped sample with its reason is accepted (value 0 unchecked)");
	hvb_rec_finish(&c, NULL);
}

int main(void)
{
	struct hvb_sink *sink;
	struct hvb_run run;
	char err[256], *dir;
	int failed = 0, skipped_row = 0;

	memset(long_name, 'w', sizeof(long_name) - 1);
	if (!mkdtemp(tmpdir)) {
		TAP_OK(0, "mkdtemp");
		return tap_done();
	}
	if (hvb_sink_open(&sink, tmpdir, "run") != 0) {
		TAP_OK(0, "sink opens");
		return tap_done();
	}
	test_reps(sink);
	test_rep_ops(sink);
	test_values(sink);
	test_repeats();
	test_unterminated(sink);
	test_unmeasured(sink);
	dir = xstrdup(hvb_sink_dir(sink));
	TAP_EQ_INT(hvb_sink_close(sink, "complete"), 0, "sink closes");
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), 0, "the rows read back");
	for (size_t i = 0; i < run.n_samples; i++) {
		failed += run.samples[i].status == HVB_ST_FAILED;
		skipped_row += run.samples[i].status == HVB_ST_SKIPPED &&
			       !strcmp(run.samples[i].metric, "bandwidth.smp2") &&
			       !run.samples[i].has_value && run.samples[i].rep == 3;
	}
	TAP_OK(run.n_samples > 0 && run.samples[0].rep == 4 && run.samples[0].has_value,
	       "the valid sample was written");
	TAP_EQ_INT(failed, 20, "every undelivered cell of every job got a failed row"); /* 15 + test_unmeasured's 2 + 2 + 1 */
	TAP_EQ_INT(skipped_row, 1, "the skipped sample reads back: metric, rep, status, no value");
	hvb_run_free(&run);
	free(dir);
	dir = xasprintf("rm -rf %s", tmpdir);
	if (system(dir))
		TAP_OK(0, "remove the temporary directory");
	free(dir);
	return tap_done();
}
