/*
 * Fuzzer: the result directory reader (hvb_run_read, results.h), as
 * `hvbench compare` and `report` use it on directories they did not write.
 * Input: meta.csv, then FUZZ_RUN_SEP (fuzz.h), then samples.csv; both are
 * written into a scratch directory where samples.csv.partial is a link to
 * samples.csv, so a run with status=running reads the same samples.
 *
 * Read with allow_partial (the reader goes as far as the input allows); a
 * run it accepts must keep results.h's promises (an ok sample has metric,
 * unit, direction and a finite value; status "running" iff partial), and
 * then a partial run must be refused without allow_partial.
 *
 * Depends on: results.h (hvb_run_read, hvb_run_meta, hvb_run_free, struct
 * hvb_run) and the file names meta.csv, samples.csv, samples.csv.partial.
 */
#include <math.h>

#include "fuzz.h"
#include "results.h"

static const char *dir, *meta, *samples;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	dir = fuzz_tmpdir();
	meta = fuzz_path("meta.csv");
	samples = fuzz_path("samples.csv");
	FUZZ_CHECK(!symlink("samples.csv", fuzz_path("samples.csv.partial")));
	return 0;
}

static void check_run(const struct hvb_run *run)
{
	const char *st = hvb_run_meta(run, "status");

	FUZZ_CHECK(run->dir && !strcmp(run->dir, dir));
	FUZZ_CHECK(run->status && !strcmp(run->status, st ? st : "running"));
	FUZZ_CHECK(run->partial == !strcmp(run->status, "running"));
	for (size_t i = 0; i < run->n_meta; i++)
		FUZZ_CHECK(run->meta_keys[i] && run->meta_values[i]);
	for (size_t i = 0; i < run->n_samples; i++) {
		const struct hvb_sample_row *s = &run->samples[i];

		FUZZ_CHECK(s->run_id && s->runner && s->workload && s->metric && s->unit && s->note);
		FUZZ_CHECK(s->rep >= -1);
		FUZZ_CHECK(s->better == 0 || s->better == HVB_LOWER_IS_BETTER ||
			   s->better == HVB_HIGHER_IS_BETTER);
		FUZZ_CHECK(!s->has_value || isfinite(s->value));
		FUZZ_CHECK(hvb_status_name(s->status) && s->status >= HVB_ST_OK &&
			   s->status <= HVB_ST_FAILED);
		if (s->status == HVB_ST_OK)
			FUZZ_CHECK(s->has_value && s->better && *s->metric && *s->unit);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memmem(data, size, FUZZ_RUN_SEP, sizeof(FUZZ_RUN_SEP) - 1);
	size_t meta_len = sep ? (size_t)(sep - data) : size;
	struct hvb_run run;
	char err[512];
	int r;

	fuzz_write(meta, data, meta_len);
	if (sep)
		fuzz_write(samples, sep + sizeof(FUZZ_RUN_SEP) - 1,
			   size - meta_len - (sizeof(FUZZ_RUN_SEP) - 1));
	else
		fuzz_write(samples, "", 0);

	err[0] = '\0';
	r = hvb_run_read(dir, true, &run, err, sizeof(err));
	if (r) {
		FUZZ_CHECK(r < 0 && err[0] && fuzz_terminated(err, sizeof(err)));
		FUZZ_CHECK(!run.dir && !run.samples && !run.meta_keys);
		return 0;
	}
	check_run(&run);
	if (run.partial) {
		struct hvb_run again;

		err[0] = '\0';
		r = hvb_run_read(dir, false, &again, err, sizeof(err));
		FUZZ_CHECK(r == -EINVAL && err[0]);
	}
	hvb_run_free(&run);
	return 0;
}
