/*
 * probes/vmcost.c: the cost of a process tree against a forked tree of known
 * size (a child that touches 16 MiB, burns 100 ms and has reaped a worker
 * that burnt 100 ms; its child that touches 64 MiB and burns 200 ms), a
 * vanished pid (-ESRCH with a reason), `xl list` parsed (a recorded one
 * and hand-made ones) and run through a fake xl on PATH, and the host memory policy (host.ksm.*, host.thp.*,
 * host.overcommit_memory, host.swap.*) on fake /proc + /sys trees.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "vmcost.h"

#define MIB (1024ull * 1024ull)

static char base[] = "/tmp/hvb-test-vmcost-XXXXXX";

static uint64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Spin until this thread has used ms of CPU. */
static void burn_ms(unsigned ms)
{
	uint64_t until = thread_cpu_ns() + ms * 1000000ull;
	volatile uint64_t spin = 0;

	while (thread_cpu_ns() < until)
		spin++;
}

/* Allocate and write every page, so it is resident and private. */
static void touch_mib(size_t mib)
{
	char *p = malloc(mib * MIB);

	if (!p)
		_exit(3);
	memset(p, 0x5a, mib * MIB);
	__asm__ volatile("" : : "r"(p) : "memory"); /* keep it */
}

static void signal_ready(int fd)
{
	if (write(fd, "r", 1) != 1)
		_exit(4);
}

/* The grandchild: 64 MiB, 200 ms, then wait to be killed. */
static void grandchild(int ready)
{
	touch_mib(64);
	burn_ms(200);
	signal_ready(ready);
	for (;;)
		pause();
}

/* The child: reap a worker that burnt 100 ms (cutime), 16 MiB, 100 ms of its
 * own, start the grandchild, wait to be killed.  Returns in the parent
 * with the child's pid and the grandchild's through *gc. */
static pid_t start_tree(int ready, pid_t *gc)
{
	int gcpipe[2];
	pid_t pid;

	if (pipe(gcpipe))
		return -1;
	pid = fork();
	if (pid) {
		close(gcpipe[1]);
		if (pid > 0 && read(gcpipe[0], gc, sizeof(*gc)) != sizeof(*gc))
			*gc = -1;
		close(gcpipe[0]);
		return pid;
	}
	setpgid(0, 0);
	pid_t worker = fork(), g;

	if (worker == 0) {
		burn_ms(100);
		_exit(0);
	}
	waitpid(worker, NULL, 0);
	touch_mib(16);
	burn_ms(100);
	g = fork();
	if (g == 0)
		grandchild(ready);
	if (write(gcpipe[1], &g, sizeof(g)) != sizeof(g))
		_exit(5);
	signal_ready(ready);
	for (;;)
		pause();
}

/* Wait for n ready bytes (a pipe read may return fewer). */
static int wait_ready(int fd, int n)
{
	char b;

	while (n > 0 && read(fd, &b, 1) == 1)
		n--;
	return n == 0;
}

static void test_tree(void)
{
	struct hvb_vmcost c, g, self;
	int ready[2], r;
	pid_t gc = -1, child;

	if (pipe(ready)) {
		TAP_OK(0, "pipe");
		return;
	}
	child = start_tree(ready[1], &gc);
	TAP_OK(child > 0 && gc > 0, "the child and grandchild started");
	TAP_OK(wait_ready(ready[0], 2), "both are set up");

	r = hvb_vmcost_read(child, &c);
	TAP_EQ_INT(r, 0, "the tree of the child is read");
	printf("# tree: pss %llu KiB, cpu %llu ms\n", (unsigned long long)c.pss_kib,
	       (unsigned long long)c.cpu_ns / 1000000);
	/* 80 MiB private and touched; the rest is libc and the binary, shared
	 * with this process (half of it in PSS) and small. */
	TAP_OK(c.pss_kib >= 80 * 1024 && c.pss_kib <= 120 * 1024,
	       "PSS of the tree is its 80 MiB (within 40 MiB of libraries and stacks)");
	/* 400 ms burnt, one of them in a reaped worker; ticks of 10 ms per
	 * process, page faults of 80 MiB on top. */
	TAP_OK(c.cpu_ns >= 370000000ull && c.cpu_ns <= 1000000000ull,
	       "CPU of the tree is its 400 ms, the reaped worker's included");

	r = hvb_vmcost_read(gc, &g);
	TAP_EQ_INT(r, 0, "the grandchild alone is read");
	TAP_OK(g.pss_kib >= 64 * 1024 && g.pss_kib < 80 * 1024,
	       "the grandchild's PSS is its 64 MiB, without its parent's 16");
	TAP_OK(g.cpu_ns >= 170000000ull && g.cpu_ns < 370000000ull,
	       "the grandchild's CPU is its 200 ms, without its parent's");

	kill(-child, SIGKILL);
	waitpid(child, NULL, 0);
	r = hvb_vmcost_read(child, &c);
	TAP_EQ_INT(r, -ESRCH, "a reaped pid gives -ESRCH");
	TAP_OK(strstr(c.why, "gone") && strstr(c.why, "process"), "with a reason");
	printf("# why: %s\n", c.why);
	TAP_EQ_INT(c.pss_kib + c.cpu_ns, 0, "and no figures");

	TAP_EQ_INT(hvb_vmcost_read(0, &c), -EINVAL, "pid 0 is refused");
	TAP_EQ_INT(hvb_vmcost_read(getpid(), &self), 0, "this process is read");
	TAP_OK(self.pss_kib > 0 && self.cpu_ns > 0, "and has memory and CPU time");
	close(ready[0]);
	close(ready[1]);
}

static const char xl_out[] = "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
			     "Domain-0                                     0  2048     2     r-----     "
			     "  81.5\n"
			     "hvb-capacity-vm 3                            7   256     1     -b----     "
			     "   2.3\n";

/* Recorded, not written by hand: `xl list` in the dom0 of ci/xen/smoke (Xen
 * 4.17 from Debian under QEMU TCG), 2026-12-03, byte for byte (its tabs too). */
static const char xl_recorded[] = "Name                                        ID   Mem VCPUs\tState\t"
				  "Time(s)\n"
				  "Domain-0                                     0  1024     1     "
				  "r-----      13.3\n";

static void test_xl_parse(void)
{
	struct hvb_vmcost c;

	TAP_EQ_INT(hvb_vmcost_parse_xl_list(xl_recorded, "Domain-0", &c), 0,
		   "a recorded xl list is read");
	TAP_EQ_INT(c.pss_kib, 1024 * 1024, "dom0's 1024 MiB");
	TAP_EQ_INT(c.cpu_ns, 13300000000ull, "dom0's 13.3 s");

	TAP_EQ_INT(hvb_vmcost_parse_xl_list(xl_out, "hvb-capacity-vm 3", &c), 0,
		   "xl list: a domain whose name has a blank");
	TAP_EQ_INT(c.pss_kib, 256 * 1024, "its memory in KiB");
	TAP_EQ_INT(c.cpu_ns, 2300000000ull, "its CPU time in ns");
	TAP_EQ_INT(hvb_vmcost_parse_xl_list(xl_out, "Domain-0", &c), 0, "dom0's line");
	TAP_EQ_INT(c.pss_kib, 2048 * 1024, "dom0's memory");
	TAP_EQ_INT(hvb_vmcost_parse_xl_list(xl_out, "hvb", &c), -EIO,
		   "a prefix of a name is not the domain");
	TAP_OK(strstr(c.why, "no line for domain hvb") != NULL, "and says so");
	TAP_EQ_INT(hvb_vmcost_parse_xl_list("Name ID Mem\nd1 x y z\n", "d1", &c), -EIO,
		   "a line that is not understood is an error");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
	chmod(path, mode);
}

static void test_xl_run(void)
{
	char *dir = NULL, *xl = NULL, *old = getenv("PATH");
	char *saved = old ? strdup(old) : NULL;
	struct hvb_vmcost c;

	if (asprintf(&dir, "%s/bin", base) < 0 || mkdir(dir, 0755) ||
	    asprintf(&xl, "%s/xl", dir) < 0) {
		TAP_OK(0, "fake xl directory");
		return;
	}
	setenv("PATH", dir, 1);
	TAP_EQ_INT(hvb_vmcost_read_domain("d1", &c), -ENOENT, "no xl on PATH: -ENOENT");
	TAP_OK(strstr(c.why, "xl is not on PATH") != NULL, "and what to install");
	write_file(xl,
		   "#!/bin/sh\n[ \"$1 $2\" = 'list d1' ] || { echo \"$2 is an invalid domain "
		   "identifier\" >&2; exit 1; }\n"
		   "echo 'Name   ID   Mem VCPUs State Time(s)'\n"
		   "echo 'd1      4   512     2 -b----     12.0'\n",
		   0755);
	TAP_EQ_INT(hvb_vmcost_read_domain("d1", &c), 0, "a fake xl's domain is read");
	TAP_EQ_INT(c.pss_kib, 512 * 1024, "its memory");
	TAP_EQ_INT(c.cpu_ns, 12000000000ull, "its CPU time");
	TAP_EQ_INT(hvb_vmcost_read_domain("nosuch", &c), -ENOENT, "an unknown domain: -ENOENT");
	TAP_OK(strstr(c.why, "invalid domain identifier") != NULL, "with xl's words");
	printf("# why: %s\n", c.why);
	if (saved)
		setenv("PATH", saved, 1);
	unlink(xl);
	rmdir(dir);
	free(saved);
	free(xl);
	free(dir);
}

/* ROOT/path with its directories. */
static void put(const char *root, const char *path, const char *text)
{
	char full[512], cmd[600];

	snprintf(full, sizeof(full), "%s%s", root, path);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", full);
	if (system(cmd))
		exit(2);
	write_file(full, text, 0644);
}

static const char *value(const struct hvb_mem_state *st, const char *key)
{
	for (int i = 0; i < st->n; i++)
		if (!strcmp(st->item[i].key, key))
			return st->item[i].value;
	return "(absent)";
}

static void expect(const struct hvb_mem_state *st, const char *key, const char *want)
{
	const char *v = value(st, key);

	if (!TAP_OK(strstr(v, want) != NULL, key))
		printf("#   got '%s', expected '%s' in it\n", v, want);
}

static void test_mem_state(void)
{
	char root[256], empty[256];
	struct hvb_mem_state st;

	snprintf(root, sizeof(root), "%s/host", base);
	put(root, "/sys/kernel/mm/ksm/run", "1\n");
	put(root, "/sys/kernel/mm/ksm/pages_shared", "1200\n");
	put(root, "/sys/kernel/mm/ksm/pages_sharing", "34567\n");
	put(root, "/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
	put(root, "/sys/kernel/mm/transparent_hugepage/defrag",
	    "always defer defer+madvise [madvise] never\n");
	put(root, "/proc/sys/vm/overcommit_memory", "2\n");
	put(root, "/proc/sys/vm/overcommit_ratio", "80\n");
	put(root, "/proc/sys/vm/swappiness", "60\n");
	put(root, "/proc/meminfo", "MemTotal: 100 kB\nSwapTotal:  8388604 kB\nSwapFree: 8000000 kB\n");
	hvb_mem_state_read(root, &st);
	expect(&st, "ksm.run", "1 (merging)");
	expect(&st, "ksm.pages_shared", "1200");
	expect(&st, "ksm.pages_sharing", "34567");
	TAP_EQ_STR(value(&st, "thp.enabled"), "always", "thp.enabled is the selected word");
	TAP_EQ_STR(value(&st, "thp.defrag"), "madvise", "thp.defrag is the selected word");
	expect(&st, "overcommit_memory", "2 (never: strict accounting, ratio 80%)");
	TAP_EQ_STR(value(&st, "swap.total_kib"), "8388604", "swap total");
	TAP_EQ_STR(value(&st, "swap.free_kib"), "8000000", "swap free");
	expect(&st, "swap.swappiness", "60");

	snprintf(empty, sizeof(empty), "%s/empty", base);
	mkdir(empty, 0755);
	hvb_mem_state_read(empty, &st);
	expect(&st, "ksm.run", "unavailable (no /sys/kernel/mm/ksm/run");
	expect(&st, "ksm.pages_sharing", "unknown (/sys/kernel/mm/ksm/pages_sharing");
	expect(&st, "thp.enabled", "unavailable");
	expect(&st, "overcommit_memory", "unknown (");
	expect(&st, "swap.total_kib", "unknown (no SwapTotal");
	TAP_EQ_INT(st.n, 9, "every key is there when nothing is readable");

	hvb_mem_state_read("", &st);
	TAP_OK(strcmp(value(&st, "overcommit_memory"), "(absent)") &&
		       strncmp(value(&st, "overcommit_memory"), "unknown", 7),
	       "this host's overcommit mode is read");
	printf("# this host: ksm.run=%s thp.enabled=%s overcommit=%s swap=%s KiB\n",
	       value(&st, "ksm.run"), value(&st, "thp.enabled"), value(&st, "overcommit_memory"),
	       value(&st, "swap.total_kib"));
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(base)) {
		perror(base);
		return 2;
	}
	test_tree();
	test_xl_parse();
	test_xl_run();
	test_mem_state();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		printf("# could not remove %s\n", base);
	return tap_done();
}
