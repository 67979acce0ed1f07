/*
 * Fuzzer: the record validator (records.c hvb_rec_deliver).  Input: the
 * records one job's guest sends, 256 bytes each (a trailing part record is
 * ignored), validated against a fixed job (fuzz.h FUZZ_JOB_*) until the
 * first protocol error, then hvb_rec_finish().
 *
 * Written against the validator's API alone: the result sink is this
 * file's own (the hvb_sink_* functions records.c calls, with sink.h's
 * prototypes), which writes nothing and checks what the validator lets
 * through to a result file: the job's own workload names (never a guest
 * string), metric, unit and note terminated, printable and non-empty where
 * required, a finite value with a direction, a repetition of the job, a
 * status that is not ok.
 *
 * Depends on: records.h (hvb_rec_init/deliver/finish, struct
 * hvb_rec_consumer's on_rep and error), job.h (struct hvb_job), sink.h
 * (the sink prototypes below).  Only rec_open() knows how a
 * consumer is initialised.
 */
#include <math.h>

#include "fuzz.h"
#include "job.h"
#include "records.h"
#include "sink.h"

static const char *const workloads[] = {FUZZ_JOB_WORKLOADS};
#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))
static const struct hvb_job job = {
    .workloads = workloads,
    .n_workloads = N_WORKLOADS,
    .rep = FUZZ_JOB_REP,
    .reps = FUZZ_JOB_REPS,
    .total_reps = FUZZ_JOB_REP + FUZZ_JOB_REPS,
    .cpu = -1,
    .page_kib = HVB_PAGE_4K,
};
static const char runner[] = "fuzz";
static char sink_token;
#define SINK ((struct hvb_sink *)&sink_token)
static const struct hvb_out out = { .sink = SINK, .runner = runner };

/* A string from the validator: terminated within max bytes, no control
 * characters. */
static void check_str(const char *s, size_t max, bool nonempty)
{
	FUZZ_CHECK(s && fuzz_terminated(s, max));
	FUZZ_CHECK(!nonempty || *s);
	for (; *s; s++)
		FUZZ_CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
}

/* The job's own name (the same pointer), not a copy of the guest's. */
static void check_workload(const char *w)
{
	for (size_t i = 0; i < N_WORKLOADS; i++)
		if (w == workloads[i])
			return;
	FUZZ_CHECK(!"the sink got a workload name that is not the job's");
}

static bool rep_of_job(unsigned rep)
{
	return rep >= job.rep && rep - job.rep < job.reps;
}

void hvb_sink_sample(struct hvb_sink *s, const char *r, const struct hvb_sample_out *x)
{
	FUZZ_CHECK(s == SINK && r == runner);
	check_workload(x->workload);
	check_str(x->metric, HVB_METRIC_MAX, true);
	check_str(x->unit, HVB_UNIT_MAX, true);
	check_str(x->note, HVB_TEXT_MAX, false);
	FUZZ_CHECK(x->better == HVB_LOWER_IS_BETTER || x->better == HVB_HIGHER_IS_BETTER);
	FUZZ_CHECK(rep_of_job(x->rep));
	/* A measured sample has a finite value; one the guest could not
	 * measure (skipped/unsupported) carries its reason instead. */
	if (x->status == HVB_ST_OK)
		FUZZ_CHECK(isfinite(x->value));
	else
		FUZZ_CHECK((x->status == HVB_ST_SKIPPED || x->status == HVB_ST_UNSUPPORTED) &&
			   x->note && *x->note);
}

void hvb_sink_cell_status(struct hvb_sink *s, const char *r, const char *workload,
			  enum hvb_status status, const char *reason)
{
	FUZZ_CHECK(s == SINK && r == runner);
	check_workload(workload);
	FUZZ_CHECK(status == HVB_ST_SKIPPED || status == HVB_ST_UNSUPPORTED ||
		   status == HVB_ST_FAILED);
	check_str(reason, 256, true);
}

void hvb_sink_log(struct hvb_sink *s, const char *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	FUZZ_CHECK(s == SINK && r == runner);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap); /* reads every argument */
	va_end(ap);
}

int hvb_sink_flush(struct hvb_sink *s)
{
	FUZZ_CHECK(s == SINK);
	return 0;
}

static void on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	(void)arg;
	FUZZ_CHECK(rec->type == (begin ? HVB_REC_REP_BEGIN : HVB_REC_REP_END));
	FUZZ_CHECK(rep_of_job(rec->rep));
	check_str(rec->workload, sizeof(rec->workload), true);
	FUZZ_CHECK(!rec->metric[0] && !rec->unit[0] && !rec->text[0]);
	for (size_t i = 0; i < N_WORKLOADS; i++)
		if (!strcmp(rec->workload, workloads[i]))
			return;
	FUZZ_CHECK(!"on_rep got a workload that is not the job's");
}

static void rec_open(struct hvb_rec_consumer *c)
{
	hvb_rec_init(c, &out, &job);
	c->on_rep = on_rep;
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
	(void)argc, (void)argv;
	/* The job has no progress callback, so nothing is printed per
	 * CELL_BEGIN; libFuzzer's and the sanitizers' output stays on fd 2. */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hvb_rec_consumer c;
	bool failed = false;

	rec_open(&c);
	for (size_t off = 0; size - off >= sizeof(struct hvb_record); off += sizeof(struct hvb_record)) {
		struct hvb_record rec; /* aligned, as runners copy records out of guest memory */
		int r;

		memcpy(&rec, data + off, sizeof(rec));
		r = hvb_rec_deliver(&c, &rec);
		FUZZ_CHECK(r == 0 || r == -EPROTO);
		FUZZ_CHECK(c.n_records == off / sizeof(rec) + 1);
		if (r) {
			FUZZ_CHECK(c.error[0] && fuzz_terminated(c.error, sizeof(c.error)));
			failed = true;
			break;
		}
		FUZZ_CHECK(!c.error[0]);
	}
	hvb_rec_finish(&c, failed ? c.error : NULL);
	return 0;
}
