/*
 * hvbench: hypervisor benchmarking and comparison.
 *
 * Dispatches `hvbench <command> ...` to the commands registered with HVB_CMD().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "util.h"

extern const struct hvb_cmd *const __start_hvb_cmds[];
extern const struct hvb_cmd *const __stop_hvb_cmds[];

const struct hvb_cmd *const *hvb_cmds_begin(void)
{
	return __start_hvb_cmds;
}

const struct hvb_cmd *const *hvb_cmds_end(void)
{
	return __stop_hvb_cmds;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hvbench <command> [options] [args]\n\n"
		   "Runs the same workloads natively and in virtual machines and measures\n"
		   "what virtualization costs.\n\ncommands:\n");
	for (int order = 0; order < 100; order++)
		for (const struct hvb_cmd *const *c = hvb_cmds_begin(); c < hvb_cmds_end(); c++)
			if ((*c)->order == order)
				fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\n'hvbench <command> --help' describes a command's options.\n");
}

static const struct hvb_cmd *find_cmd(const char *name)
{
	for (const struct hvb_cmd *const *c = hvb_cmds_begin(); c < hvb_cmds_end(); c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

int main(int argc, char **argv)
{
	const struct hvb_cmd *cmd;

	if (argc < 2) {
		usage(stderr);
		return HVB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return HVB_EXIT_SUCCESS;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("hvbench %s (%s)\n", hvb_version, hvb_commit);
		return HVB_EXIT_SUCCESS;
	}
	cmd = find_cmd(argv[1]);
	if (!cmd) {
		hvb_err("unknown command '%s' (see 'hvbench --help')", argv[1]);
		return HVB_EXIT_USAGE;
	}
	return cmd->main(argc - 1, argv + 1);
}
