/*
 * hvbench: hypervisor benchmarking and comparison.
 *
 * Dispatches `hvbench <command> ...` to the commands registered with HVB_CMD().
 */
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
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
	fprintf(f, "\n'hvbench <command> --help' describes a command's options.\n"
		   "\nenvironment (read once per command; a malformed value is an error):\n");
	for (const struct hvb_env_doc *e = hvb_env_docs; e->name; e++)
		fprintf(f, "  %-22s %s\n", e->name, e->help);
}

static const struct hvb_cmd *find_cmd(const char *name)
{
	for (const struct hvb_cmd *const *c = hvb_cmds_begin(); c < hvb_cmds_end(); c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

/*
 * A crash of hvbench itself (never of a guest: those are verdicts) prints
 * the raw return addresses before dying, so a crash on a machine without a
 * debugger (e.g. a Xen dom0 initramfs) can be located afterwards with
 * `addr2line -e hvbench ADDR...` (the binary is not position-independent).
 */
static void on_crash(int sig)
{
	static const char msg[] = "hvbench: crashed; return addresses (addr2line -e hvbench):\n";
	void *frames[48];
	int n = backtrace(frames, 48);

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) > 0)
		backtrace_symbols_fd(frames, n, STDERR_FILENO);
	raise(sig); /* SA_RESETHAND: the default action now, with its core dump */
}

/*
 * The handler runs on its own stack so that a stack overflow (SIGSEGV on a
 * guard page) is reported too, instead of killing hvbench silently.
 */
static void catch_crashes(void)
{
	static char altstack[64 * 1024];
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = on_crash,
				.sa_flags = SA_ONSTACK | SA_RESETHAND | SA_NODEFER };
	void *warm[1];

#ifdef __SANITIZE_ADDRESS__
	return; /* ASan reports crashes better itself */
#endif
	backtrace(warm, 1); /* loads libgcc now, not inside the handler */
	if (sigaltstack(&ss, NULL))
		return; /* no report on crashes; nothing else changes */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int main(int argc, char **argv)
{
	const struct hvb_cmd *cmd;

	catch_crashes();

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
