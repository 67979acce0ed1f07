#include "progress.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

static bool progress_shown;

void hvb_progress(const char *fmt, ...)
{
	va_list ap;
	bool tty = isatty(STDERR_FILENO);

	fputs(tty ? "\r\033[K" : "hvbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!tty)
		fputc('\n', stderr);
	progress_shown = tty;
	fflush(stderr);
}

void hvb_progress_end(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = false;
}

void hvb_progress_cell(const struct hvb_job *job, const char *runner, unsigned rep,
		       const char *workload)
{
	hvb_progress("rep %u/%u  %-9s %s", rep + 1, job->total_reps, runner, workload);
}
