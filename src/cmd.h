/*
 * Subcommands of the hvbench command (kvmtool-style table).
 *
 * Each cmd_*.c defines one struct hvb_cmd and registers it with HVB_CMD();
 * main.c finds them through the "hvb_cmds" linker section, so adding a
 * command touches no central table.
 */
#ifndef HVB_CMD_H
#define HVB_CMD_H

struct hvb_cmd {
	const char *name;
	const char *summary; /* one line for `hvbench --help` */
	/* Run the command; argv[0] is the command name.  Returns the process
	 * exit status: 0 ok, 1 failure (or regression for compare), 2 usage,
	 * 3 inconclusive (compare and ab in gate mode). */
	int (*main)(int argc, char **argv);
	int order; /* position in `hvbench --help` */
};

#define HVB_CMD(var)                                                                       \
	static const struct hvb_cmd *const hvb_cmd_ptr_##var                               \
		__attribute__((section("hvb_cmds"), used, aligned(sizeof(void *)))) = &var

/* Exit statuses of every command. */
#define HVB_EXIT_SUCCESS 0
#define HVB_EXIT_FAILURE 1
#define HVB_EXIT_USAGE   2
/* compare/ab in gate mode: no regression, but a gated metric could not be
 * judged (too few repetitions, an interval that straddles the threshold, a
 * metric on one side only, a partial run, nothing compared): the gate
 * cannot pass on what it did not test. */
#define HVB_EXIT_INCONCLUSIVE 3

/* Iterate over registered commands. */
const struct hvb_cmd *const *hvb_cmds_begin(void);
const struct hvb_cmd *const *hvb_cmds_end(void);

#endif
