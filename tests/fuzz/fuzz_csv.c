/*
 * Fuzzer: the CSV reader every result file goes through (hvb_csv_read,
 * results.h), and its writer in reverse.  Input: a CSV file.
 *
 * The reader's rows must have fields and line numbers that make sense
 * (1-based, never going back, within the file); a row whose first field
 * is "stop" makes the callback return STOP, which hvb_csv_read must
 * return.  Every row read is then written again with hvb_csv_write_row()
 * and read back: the same rows, field for field (what the result writers
 * write, the readers read), except rows of one empty field (on_row).
 *
 * Depends on: results.h (hvb_csv_read, hvb_csv_write_row).
 */
#include <limits.h>

#include "fuzz.h"
#include "results.h"

#define STOP	 7
#define MAX_ROWS 4096

struct rows {
	char **fields[MAX_ROWS];
	size_t n_fields[MAX_ROWS];
	size_t n;
	long last_line, max_line;
	bool stop_rows; /* honour "stop" */
};

static struct rows first, second;

static int on_row(void *arg, char **fields, size_t n, long line)
{
	struct rows *rs = arg;

	FUZZ_CHECK(n >= 1 && fields);
	FUZZ_CHECK(line >= 1 && line >= rs->last_line && line <= rs->max_line);
	rs->last_line = line;
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(fields[i]);
	if (rs->stop_rows && !strcmp(fields[0], "stop"))
		return STOP;
	/* One empty field (or one starting with NUL: fields are C strings) is
	 * written as an empty line, which CSV readers skip: a row the result
	 * writers never write (they write two fields or more). */
	if (rs->n == MAX_ROWS || (n == 1 && !*fields[0]))
		return 0;
	rs->fields[rs->n] = calloc(n, sizeof(char *));
	FUZZ_CHECK(rs->fields[rs->n]);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((rs->fields[rs->n][i] = strdup(fields[i])));
	rs->n_fields[rs->n++] = n;
	return 0;
}

static void rows_free(struct rows *rs)
{
	for (size_t r = 0; r < rs->n; r++) {
		for (size_t i = 0; i < rs->n_fields[r]; i++)
			free(rs->fields[r][i]);
		free(rs->fields[r]);
	}
	rs->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_path("in.csv"), *out = fuzz_path("out.csv");
	char err[512];
	FILE *f;
	int r;

	fuzz_write(in, data, size);
	first = (struct rows){.stop_rows = true, .max_line = 1};
	for (size_t i = 0; i < size; i++)
		first.max_line += data[i] == '\n';
	err[0] = '\0';
	r = hvb_csv_read(in, on_row, &first, NULL, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == STOP || r == -EINVAL);
	if (r == -EINVAL)
		FUZZ_CHECK(err[0] && fuzz_terminated(err, sizeof(err)));
	if (r) {
		rows_free(&first);
		return 0;
	}

	f = fopen(out, "w");
	FUZZ_CHECK(f);
	for (size_t i = 0; i < first.n; i++)
		FUZZ_CHECK(!hvb_csv_write_row(f, (const char *const *)first.fields[i],
					      first.n_fields[i]));
	FUZZ_CHECK(!fclose(f));
	second = (struct rows){.max_line = LONG_MAX};
	err[0] = '\0';
	r = hvb_csv_read(out, on_row, &second, NULL, err, sizeof(err));
	if (r)
		dprintf(2, "reading back what hvb_csv_write_row wrote: %s\n", err);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(second.n == first.n);
	for (size_t i = 0; i < first.n; i++) {
		FUZZ_CHECK(second.n_fields[i] == first.n_fields[i]);
		for (size_t j = 0; j < first.n_fields[i]; j++)
			FUZZ_CHECK(!strcmp(first.fields[i][j], second.fields[i][j]));
	}
	rows_free(&first);
	rows_free(&second);
	return 0;
}
