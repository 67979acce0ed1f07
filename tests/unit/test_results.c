/*
 * Result files: CSV round trip (awkward values), atomic finish, partial runs,
 * and the shared table of malformed directories (tests/fixtures/malformed/
 * cases.tsv), which the Python reader is tested against too.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results.h"
#include "sink.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/hvb-test-results-XXXXXX";

static bool exists(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

static void test_round_trip(void)
{
	static const char *awkward = "comma, \"quote\"\nnewline and  spaces ";
	struct hvb_sink *s;
	struct hvb_run run;
	char err[256], *dir;

	TAP_EQ_INT(hvb_sink_open(&s, tmpdir, "run1"), 0, "sink opens a new run directory");
	hvb_sink_meta(s, "command_line", awkward);
	hvb_sink_sample(s, "native",
			&(struct hvb_sample_out){ .workload = "mem/x", .metric = "bandwidth",
						  .unit = "MB/s", .better = HVB_HIGHER_IS_BETTER,
						  .value = 12345.678901234567, .note = awkward });
	hvb_sink_sample(s, "kvm",
			&(struct hvb_sample_out){ .workload = "micro/y", .metric = "ns_per_op",
						  .unit = "ns", .better = HVB_LOWER_IS_BETTER,
						  .rep = 3, .value = 0.1, .note = "" });
	hvb_sink_cell_status(s, "kvm", "micro/z", HVB_ST_SKIPPED, "no port I/O, here");
	dir = xstrdup(hvb_sink_dir(s));
	TAP_OK(exists(dir, "samples.csv.partial") && !exists(dir, "samples.csv"),
	       "while running, data is in .partial files");
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), -EINVAL,
		   "a running (incomplete) run is refused by default");
	TAP_OK(strstr(err, "--allow-partial") != NULL, "the refusal says how to accept it");
	hvb_sink_flush(s);
	TAP_EQ_INT(hvb_run_read(dir, true, &run, err, sizeof(err)), 0,
		   "an incomplete run reads with allow_partial");
	TAP_OK(run.partial && run.n_samples == 3, "partial run has its rows so far");
	TAP_OK(!hvb_run_meta(&run, "command_line"), "meta.csv holds only what was written");
	hvb_run_free(&run);
	TAP_EQ_INT(hvb_sink_write_meta(s), 0, "meta.csv is rewritten mid-run");
	TAP_EQ_INT(hvb_run_read(dir, true, &run, err, sizeof(err)), 0, "... and reads");
	TAP_EQ_STR(hvb_run_meta(&run, "command_line"), awkward, "... with the keys set so far");
	TAP_EQ_STR(run.status, "running", "... still status=running");
	hvb_run_free(&run);
	TAP_EQ_INT(hvb_sink_close(s, "complete"), 0, "sink closes");
	TAP_OK(exists(dir, "samples.csv") && !exists(dir, "samples.csv.partial"),
	       "finish renames data files to their final names");
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), 0, "complete run reads back");
	TAP_EQ_STR(run.status, "complete", "status is complete");
	TAP_EQ_STR(hvb_run_meta(&run, "command_line"), awkward, "awkward meta value round-trips");
	TAP_EQ_INT(run.n_samples, 3, "three rows");
	TAP_EQ_STR(run.samples[0].note, awkward, "awkward note round-trips");
	TAP_OK(run.samples[0].value == 12345.678901234567, "double round-trips exactly");
	TAP_EQ_INT(run.samples[0].better, HVB_HIGHER_IS_BETTER, "direction round-trips");
	TAP_EQ_INT(run.samples[1].rep, 3, "rep round-trips");
	TAP_EQ_INT(run.samples[2].status, HVB_ST_SKIPPED, "skipped cell keeps its status");
	TAP_OK(!run.samples[2].has_value && run.samples[2].rep == -1,
	       "skipped cell has no value and no rep");
	TAP_EQ_STR(run.samples[2].note, "no port I/O, here", "skipped cell keeps its reason");
	hvb_run_free(&run);
	free(dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_malformed(void)
{
	char *dir = xasprintf("%s/bad", tmpdir), *p, err[256];
	struct hvb_run run;

	mkdir(dir, 0755);
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), -ENOENT,
		   "a directory without meta.csv is rejected");
	TAP_OK(strstr(err, "not a result directory") != NULL, "... with a clear message");
	p = xasprintf("%s/meta.csv", dir);
	write_text(p, "key,value\nformat_version,1\nrun_id,r\nstatus,complete\n");
	free(p);
	p = xasprintf("%s/samples.csv", dir);
	write_text(p, "run_id,runner,workload,metric,unit,better,rep,value,status,note\n"
		      "r,native,w,m,ns,lower,0,1.5,ok,\n"
		      "r,native,w,m,ns,lower,1,abc,ok,\n");
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), -EINVAL,
		   "a non-numeric value is rejected");
	TAP_OK(strstr(err, "samples.csv:3") != NULL, "the error names file and line");
	write_text(p, "run_id,runner,workload,metric,unit,better,rep,value,status,note\n"
		      "r,native,w,m,ns,lower,0,\"1.5,ok,\n");
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), -EINVAL,
		   "an unterminated quote is rejected");
	free(p);
	free(dir);
}

/* counters.csv rows without a value keep their status: failed is not unsupported. */
static void test_counter_status(void)
{
	struct hvb_sink *s;
	char line[512], *path;
	bool failed = false, unsupported = false, ok_as_unsupported = false;
	FILE *f;

	if (!TAP_EQ_INT(hvb_sink_open(&s, tmpdir, "ctr"), 0, "sink opens (counters)"))
		return;
	hvb_sink_counter(s, "kvm",
			 &(struct hvb_counter_out){ .workload = "micro/a", .event = "kvm-stats",
						    .source = "kvm-stats", .status = HVB_ST_FAILED,
						    .note = "reading the stats fd failed" });
	hvb_sink_counter(s, "native",
			 &(struct hvb_counter_out){ .workload = "micro/a", .event = "cycles",
						    .source = "pmu", .status = HVB_ST_UNSUPPORTED,
						    .note = "no PMU" });
	hvb_sink_counter(s, "native",
			 &(struct hvb_counter_out){ .workload = "micro/a", .event = "instructions",
						    .source = "pmu", .note = "no value" });
	path = xasprintf("%s/counters.csv", hvb_sink_dir(s));
	TAP_EQ_INT(hvb_sink_close(s, "complete"), 0, "sink closes (counters)");
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		failed |= strstr(line, ",,,,kvm-stats,failed,reading the stats fd failed") != NULL;
		unsupported |= strstr(line, "cycles,,,,pmu,unsupported,no PMU") != NULL;
		ok_as_unsupported |= strstr(line, "instructions,,,,pmu,unsupported,") != NULL;
	}
	if (f)
		fclose(f);
	free(path);
	TAP_OK(failed, "a counter that could not be read is written as failed");
	TAP_OK(unsupported, "an unsupported counter is written as unsupported, no value");
	TAP_OK(ok_as_unsupported, "'ok' without a value is written as unsupported, never a zero");
}

/* libcsv trims unquoted spaces and tabs at both ends of a field: a value
 * that starts or ends with a tab must be quoted like one with a space, or
 * it reads back without it (found by tests/fuzz/fuzz_csv.c). */
static void test_tab_round_trip(void)
{
	static const char *const values[] = { "tab at the end\t", "\ttab at the start",
					      "\t", " \t mixed \t " };
	struct hvb_sink *s;
	struct hvb_run run;
	char err[256], *dir, key[16];

	if (!TAP_EQ_INT(hvb_sink_open(&s, tmpdir, "tabs"), 0, "sink opens (tabs)"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		hvb_sink_meta(s, key, values[i]);
	}
	hvb_sink_cell_status(s, "native", "micro/t", HVB_ST_SKIPPED, values[0]);
	dir = xstrdup(hvb_sink_dir(s));
	TAP_EQ_INT(hvb_sink_close(s, "complete"), 0, "sink closes (tabs)");
	if (TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), 0, "run with tabs reads")) {
		for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
			snprintf(key, sizeof(key), "k%zu", i);
			TAP_EQ_STR(hvb_run_meta(&run, key), values[i],
				   "a value with a tab at either end round-trips");
		}
		TAP_OK(run.n_samples == 1, "one row (tabs)");
		TAP_EQ_STR(run.n_samples ? run.samples[0].note : NULL, values[0],
			   "a note ending in a tab round-trips");
		hvb_run_free(&run);
	}
	free(dir);
}

/* The writer turns a value its unit cannot have into a failed row with the reason. */
static void test_invalid_values(void)
{
	struct hvb_sink *s;
	struct hvb_run run;
	char err[256], *dir;

	if (!TAP_EQ_INT(hvb_sink_open(&s, tmpdir, "values"), 0, "sink opens (values)"))
		return;
	hvb_sink_sample(s, "native",
			&(struct hvb_sample_out){ .workload = "cpu/x", .metric = "ns_per_op",
						  .unit = "ns", .better = HVB_LOWER_IS_BETTER,
						  .value = -20 });
	hvb_sink_sample(s, "native",
			&(struct hvb_sample_out){ .workload = "mem/x", .metric = "bandwidth",
						  .unit = "MB/s", .better = HVB_HIGHER_IS_BETTER,
						  .value = 0 });
	hvb_sink_sample(s, "native",
			&(struct hvb_sample_out){ .workload = "cpu/x", .metric = "page_faults",
						  .unit = "count", .better = HVB_LOWER_IS_BETTER,
						  .value = 0 });
	dir = xstrdup(hvb_sink_dir(s));
	TAP_EQ_INT(hvb_sink_close(s, "complete"), 0, "sink closes (values)");
	if (TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), 0,
		       "a run with invalid values reads back")) {
		TAP_OK(run.samples[0].status == HVB_ST_FAILED && !run.samples[0].has_value &&
			       strstr(run.samples[0].note, "-20 ns") &&
			       strstr(run.samples[0].note, "must be > 0"),
		       "-20 ns: a failed row saying why");
		TAP_OK(run.samples[1].status == HVB_ST_FAILED &&
			       strstr(run.samples[1].note, "must be > 0"),
		       "0 MB/s: a failed row saying why");
		TAP_OK(run.samples[2].status == HVB_ST_OK && run.samples[2].value == 0,
		       "a count of 0 stays a value");
		hvb_run_free(&run);
	} else {
		printf("#   %s\n", err);
	}
	free(dir);
}

static void test_existing_dir(void)
{
	struct hvb_sink *s;
	char *meta = xasprintf("%s/run1/meta.csv", tmpdir);

	TAP_EQ_INT(hvb_sink_open(&s, tmpdir, "run1"), -EEXIST,
		   "an existing run directory is never overwritten");
	TAP_OK(access(meta, F_OK) == 0, "... and a failed open leaves the existing run intact");
	free(meta);
}

/* Every substring of subs[0..n) in text (text NULL: none is). */
static bool has_all(const char *text, char **subs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!text || !strstr(text, subs[i]))
			return false;
	return true;
}

static char *joined_warnings(const struct hvb_run *run)
{
	char *all = xstrdup(""), *next;

	for (size_t i = 0; i < run->n_warnings; i++) {
		next = xasprintf("%s%s\n", all, run->warnings[i]);
		free(all);
		all = next;
	}
	return all;
}

/* One row of cases.tsv: case, mode, expect, substrings (tab-separated). */
static void table_case(const char *root, char *line)
{
	char *f[16], *save = NULL, *dir, *warn, desc[160], err[1024] = "";
	struct hvb_run run;
	size_t n = 0;
	bool ok;
	int r;

	line[strcspn(line, "\n")] = '\0';
	for (char *t = strtok_r(line, "\t", &save); t && n < ARRAY_SIZE(f);
	     t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	if (n < 3) {
		TAP_OK(false, "cases.tsv: a row has case, mode and expect");
		return;
	}
	dir = xasprintf("%s/tests/fixtures/malformed/%s", root, f[0]);
	r = hvb_run_read(dir, !strcmp(f[1], "allow-partial"), &run, err, sizeof(err));
	warn = r ? xstrdup("") : joined_warnings(&run);
	if (!strcmp(f[2], "accept"))
		ok = !r && !*warn;
	else if (!strcmp(f[2], "warn"))
		ok = !r && has_all(warn, f + 3, n - 3);
	else
		ok = r && has_all(err, f + 3, n - 3);
	snprintf(desc, sizeof(desc), "malformed table: %s (%s): %s", f[0], f[1], f[2]);
	if (!TAP_OK(ok, desc))
		printf("#   got: %s%s%s\n", r ? "refused: " : "accepted", err, *warn ? warn : "");
	if (!r)
		hvb_run_free(&run);
	free(warn);
	free(dir);
}

static void test_malformed_table(void)
{
	const char *root = getenv("HVB_ROOT") ? getenv("HVB_ROOT") : ".";
	char *path = xasprintf("%s/tests/fixtures/malformed/cases.tsv", root), *line = NULL;
	FILE *f = fopen(path, "r");
	size_t cap = 0;

	if (!TAP_OK(f != NULL, "the malformed table (cases.tsv) opens")) {
		free(path);
		return;
	}
	while (getline(&line, &cap, f) > 0)
		if (line[0] != '#' && line[0] != '\n')
			table_case(root, line);
	free(line);
	fclose(f);
	free(path);
}

static long file_size(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat st;
	long r = stat(p, &st) ? -1 : (long)st.st_size;

	free(p);
	return r;
}

static void add_rows(struct hvb_sink *s, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++)
		hvb_sink_sample(s, "native",
				&(struct hvb_sample_out){ .workload = "cpu/sort", .metric = "ns_per_op",
							  .unit = "ns", .better = HVB_LOWER_IS_BETTER,
							  .rep = i, .value = 1e7 + i,
							  .note = "a note long enough to make rows longer" });
}

/*
 * A write that fails mid-run (here: RLIMIT_FSIZE, EFBIG, a short write in the
 * middle of a row; a full disk behaves alike) is never lost: the file is cut
 * back to its last complete row, nothing after the failure is written, the
 * data files are not published and meta.csv says failed, with why.
 */
static void test_write_error(void)
{
	struct rlimit old, lim;
	struct hvb_sink *s;
	struct hvb_run run;
	char err[512], *dir;
	long size0;
	int r, flushed, sticky;

	if (!TAP_EQ_INT(hvb_sink_open(&s, tmpdir, "efbig"), 0, "sink opens (write error)"))
		return;
	dir = xstrdup(hvb_sink_dir(s));
	add_rows(s, 0, 5);
	hvb_sink_flush(s);
	size0 = file_size(dir, "samples.csv.partial");
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)size0 + 250; /* the next rows cross it mid-row */
	signal(SIGXFSZ, SIG_IGN);
	fflush(stdout);
	setrlimit(RLIMIT_FSIZE, &lim);
	add_rows(s, 5, 50);
	flushed = hvb_sink_flush(s);
	add_rows(s, 55, 1);
	sticky = hvb_sink_error(s, err, sizeof(err));
	r = hvb_sink_close(s, "complete");
	setrlimit(RLIMIT_FSIZE, &old);
	TAP_EQ_INT(flushed, -EFBIG, "the flush that fails says so (-EFBIG)");
	TAP_EQ_INT(sticky, -EFBIG, "the failure stays (later rows are dropped)");
	TAP_OK(strstr(err, "cannot write ") && strstr(err, "/efbig/samples.csv.partial: File too large "
							  "(errno 27)"),
	       "hvb_sink_error names the file with its path and the errno");
	TAP_EQ_INT(r, -EFBIG, "close reports the failed write (-EFBIG)");
	TAP_OK(!exists(dir, "samples.csv") && exists(dir, "samples.csv.partial"),
	       "a file whose write failed is not published under its final name");
	TAP_EQ_INT(file_size(dir, "samples.csv.partial"), size0,
		   "it is cut back to its last complete row");
	TAP_EQ_INT(hvb_run_read(dir, false, &run, err, sizeof(err)), -EINVAL,
		   "the failed run is refused as incomplete");
	TAP_OK(strstr(err, "status=failed") && strstr(err, "--allow-partial"),
	       "... saying it failed and how to accept it");
	if (TAP_EQ_INT(hvb_run_read(dir, true, &run, err, sizeof(err)), 0,
		       "with allow_partial it reads")) {
		TAP_EQ_STR(run.status, "failed", "meta.csv says status=failed, never complete");
		TAP_EQ_INT(run.n_samples, 5, "it holds the 5 rows written before the failure");
		const char *why = hvb_run_meta(&run, "failed_reason");
		TAP_OK(why && strstr(why, "samples.csv.partial") && strstr(why, "File too large") &&
			       strstr(why, "errno 27"),
		       "failed_reason names the file and the errno");
		hvb_run_free(&run);
	}
	free(dir);
}

/* The run directory removed mid-run: the next flush says so, and close too. */
static void test_dir_gone(void)
{
	struct hvb_sink *s;
	char err[512], *cmd;
	int r;

	if (!TAP_EQ_INT(hvb_sink_open(&s, tmpdir, "gone"), 0, "sink opens (directory gone)"))
		return;
	add_rows(s, 0, 3);
	TAP_EQ_INT(hvb_sink_flush(s), 0, "a flush succeeds while the directory is there");
	cmd = xasprintf("rm -rf %s", hvb_sink_dir(s));
	if (system(cmd))
		TAP_OK(0, "rm -rf the run directory");
	free(cmd);
	add_rows(s, 3, 3);
	TAP_EQ_INT(hvb_sink_flush(s), -ENOENT, "the next flush finds it gone (-ENOENT)");
	hvb_sink_error(s, err, sizeof(err));
	TAP_OK(strstr(err, "/gone is gone (removed, moved or its file system unmounted)") != NULL,
	       "... and says so");
	r = hvb_sink_finish(s, "complete", err, sizeof(err));
	TAP_EQ_INT(r, -ENOENT, "close fails with it");
	TAP_OK(strstr(err, " is gone (") && strstr(err, "the run stopped there"),
	       "... saying what happened");
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	test_round_trip();
	test_malformed();
	test_existing_dir();
	test_counter_status();
	test_tab_round_trip();
	test_invalid_values();
	test_malformed_table();
	test_write_error();
	test_dir_gone();
	char *cmd = xasprintf("rm -rf %s", tmpdir);
	if (system(cmd))
		return 1;
	free(cmd);
	return tap_done();
}
