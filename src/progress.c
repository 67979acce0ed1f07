#include "progress.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
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

/* Seconds since the first cell of this process started (a long run shows
 * how far it got, and a slow cell shows where the time goes). */
static unsigned elapsed_s(void)
{
	static struct timespec t0;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!t0.tv_sec && !t0.tv_nsec)
		t0 = now;
	return (unsigned)(now.tv_sec - t0.tv_sec);
}

void hvb_progress_cell(const struct hvb_job *job, const char *runner, unsigned rep,
		       const char *workload)
{
	unsigned s = elapsed_s();

	hvb_progress("rep %u/%u  %-9s %-28s %u:%02u", rep + 1, job->total_reps, runner, workload,
		     s / 60, s % 60);
}
