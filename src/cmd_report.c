/*
 * hvbench report: renders result directories into an HTML + Markdown report.
 *
 * The renderer is reports/hvbench_report.py (Python standard library +
 * gnuplot); this command finds it and hands over the arguments unchanged,
 * so `hvbench report --help` is the script's own help.  It sets HVB_HVBENCH
 * to this binary, whose `hvbench summarize` computes the statistics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "image.h"
#include "util.h"

#ifndef HVB_SRCDIR
#define HVB_SRCDIR "."
#endif
#ifndef HVB_DATADIR
#define HVB_DATADIR "/usr/local/share/hvbench"
#endif

/* The report script: $HVB_REPORTS_DIR, the copy installed with this hvbench
 * (an installed binary must not run whatever its source tree holds now), the
 * source tree of this build, or the copy installed in PREFIX, in that order. */
static char *find_script(void)
{
	char share[4096], installed[4200];
	const char *dirs[] = { getenv("HVB_REPORTS_DIR"), NULL, HVB_SRCDIR "/reports",
			       HVB_DATADIR "/reports" };

	if (!hvb_installed_datadir(share, sizeof(share))) {
		snprintf(installed, sizeof(installed), "%s/reports", share);
		dirs[1] = installed;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char *p;
		if (!dirs[i])
			continue;
		p = xasprintf("%s/hvbench_report.py", dirs[i]);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

static int export_self(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0 || n == (ssize_t)sizeof(self) - 1) {
		hvb_err("report: cannot find this hvbench binary (/proc/self/exe): %s",
			n < 0 ? strerror(errno) : "path too long");
		return -1;
	}
	self[n] = 0;
	if (setenv("HVB_HVBENCH", self, 1)) {
		hvb_err("report: setenv HVB_HVBENCH: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int report_main(int argc, char **argv)
{
	const char *python = getenv("PYTHON") ? getenv("PYTHON") : "python3";
	char *script = find_script();
	char **args;

	if (!script) {
		hvb_err("report: reports/hvbench_report.py not found (set HVB_REPORTS_DIR to the "
			"reports/ directory of the hvbench sources)");
		return HVB_EXIT_FAILURE;
	}
	/* the script computes its statistics with `hvbench summarize`: this
	 * very binary, not whichever hvbench is in PATH */
	if (export_self()) {
		free(script);
		return HVB_EXIT_FAILURE;
	}
	args = xcalloc((size_t)argc + 2, sizeof(char *));
	args[0] = (char *)python;
	args[1] = script;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	fflush(NULL);
	execvp(python, args);
	hvb_err("report: cannot run %s: %s (install python3, or set PYTHON)", python,
		strerror(errno));
	free(args);
	free(script);
	return HVB_EXIT_FAILURE;
}

static const struct hvb_cmd report_cmd = {
	.name = "report",
	.summary = "render result directories as an HTML + Markdown report",
	.main = report_main,
	.order = 5,
};
HVB_CMD(report_cmd);
