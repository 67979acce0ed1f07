#include "vmcost.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- process trees ---- */

struct proc_stat {
	pid_t ppid;
	uint64_t ticks; /* utime + stime + cutime + cstime */
};

/* /proc/pid/stat: ppid and CPU ticks.  0, or -errno of the open (ENOENT:
 * gone) or -EIO when the line is not understood. */
static int read_proc_stat(pid_t pid, struct proc_stat *ps)
{
	char path[64], line[1024], *p;
	unsigned long long f[17];
	ssize_t got;
	int fd, n;

	/* open + read + close, no stdio: this runs for every process of the
	 * host on every read (capacity polls it), on hosts where a syscall is
	 * costly (nested PVM). */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (got <= 0)
		return got < 0 ? -EIO : -ESRCH;
	line[got] = '\0';
	/* comm may hold spaces and parentheses: the fields start after the last ')'. */
	if (!(p = strrchr(line, ')')))
		return -EIO;
	/* Fields 4 (ppid) .. 17 (cstime), after the state character (field 3). */
	n = sscanf(p + 1, " %*c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11], &f[12], &f[13],
		   &f[14], &f[15], &f[16], &f[3]);
	if (n != 14)
		return -EIO;
	ps->ppid = (pid_t)f[4];
	ps->ticks = f[14] + f[15] + f[16] + f[3]; /* utime, stime, cutime, cstime */
	return 0;
}

/* Sum of the "Pss:" lines of one smaps file; -errno of the open. */
static int sum_pss(const char *path, uint64_t *kib)
{
	char line[256];
	unsigned long long v;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return -errno;
	*kib = 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Pss: %llu kB", &v) == 1)
			*kib += v;
	fclose(fp);
	return 0;
}

/* PSS of one process: smaps_rollup, or smaps where the kernel has no
 * rollup (before 4.14). */
static int read_pss(pid_t pid, uint64_t *kib)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	r = sum_pss(path, kib);
	if (r != -ENOENT)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	return sum_pss(path, kib);
}

struct pid_list {
	pid_t *pid, *ppid;
	size_t n, cap;
};

static int pid_list_add(struct pid_list *l, pid_t pid, pid_t ppid)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		pid_t *a = realloc(l->pid, cap * sizeof(*a)), *b;

		if (!a)
			return -ENOMEM;
		l->pid = a;
		b = realloc(l->ppid, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		l->ppid = b;
		l->cap = cap;
	}
	l->pid[l->n] = pid;
	l->ppid[l->n++] = ppid;
	return 0;
}

static void pid_list_free(struct pid_list *l)
{
	free(l->pid);
	free(l->ppid);
}

/* Every process of the host with its parent (processes that exit while we
 * read are left out). */
static int scan_processes(struct pid_list *all)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (e = readdir(d))) {
		struct proc_stat ps;
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || read_proc_stat((pid_t)pid, &ps))
			continue;
		r = pid_list_add(all, (pid_t)pid, ps.ppid);
	}
	closedir(d);
	return r;
}

/* root and its descendants, breadth first, root first. */
static int collect_tree(pid_t root, struct pid_list *tree)
{
	struct pid_list all = { 0 };
	int r = scan_processes(&all);

	if (!r)
		r = pid_list_add(tree, root, 0);
	for (size_t i = 0; !r && i < tree->n; i++)
		for (size_t j = 0; !r && j < all.n; j++)
			if (all.ppid[j] == tree->pid[i] && all.pid[j] != root)
				r = pid_list_add(tree, all.pid[j], tree->pid[i]);
	pid_list_free(&all);
	return r;
}

static int fail(struct hvb_vmcost *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return err;
}

/* Add one process of the tree; a descendant that is gone is skipped. */
static int add_process(pid_t pid, bool is_root, struct hvb_vmcost *c, uint64_t *ticks)
{
	struct proc_stat ps;
	uint64_t kib = 0;
	int r = read_proc_stat(pid, &ps);

	if (r == -ENOENT || r == -ESRCH)
		return is_root ? fail(c, -ESRCH, "process %d is gone (exited and reaped)", (int)pid)
			       : 0;
	if (r)
		return fail(c, r, "/proc/%d/stat: %s", (int)pid, strerror(-r));
	r = read_pss(pid, &kib);
	if ((r == -ENOENT || r == -ESRCH) && !is_root)
		return 0;
	if (r == -EACCES || r == -EPERM)
		return fail(c, -EACCES,
			    "may not read the memory map of process %d: run as its user or root",
			    (int)pid);
	if (r)
		return fail(c, r, "/proc/%d/smaps_rollup: %s", (int)pid, strerror(-r));
	c->pss_kib += kib;
	*ticks += ps.ticks;
	return 0;
}

int hvb_vmcost_read(pid_t pid, struct hvb_vmcost *c)
{
	struct pid_list tree = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ticks = 0;
	int r;

	memset(c, 0, sizeof(*c));
	if (pid <= 0)
		return fail(c, -EINVAL, "no process: pid %d", (int)pid);
	r = collect_tree(pid, &tree);
	if (r)
		fail(c, r, "cannot list the processes in /proc: %s", strerror(-r));
	for (size_t i = 0; !r && i < tree.n; i++)
		r = add_process(tree.pid[i], i == 0, c, &ticks);
	pid_list_free(&tree);
	if (r) {
		c->pss_kib = 0;
		return r;
	}
	c->cpu_ns = ticks * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
	return 0;
}

/* ---- Xen domains ---- */

/* Run argv (no shell), its stdout and stderr into buf; the exit status,
 * 127 when it could not be started, or -errno. */
static int run_capture(char *const argv[], char *buf, size_t len)
{
	int fd[2], status;
	size_t at = 0;
	ssize_t got;
	pid_t pid;

	if (pipe(fd))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	while ((got = read(fd[0], buf + at, len - 1 - at)) > 0 || (got < 0 && errno == EINTR))
		at += got > 0 ? (size_t)got : 0;
	buf[at] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Does line start with name followed by blanks? */
static bool line_names(const char *line, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(line, name, n) && (line[n] == ' ' || line[n] == '\t');
}

/* "Name ID Mem VCPUs State Time(s)": read from the end, so a name with
 * blanks in it does not shift the columns. */
static int parse_xl_line(const char *line, struct hvb_vmcost *c)
{
	const char *tok[5];
	size_t end = strlen(line);
	char *stop;
	double secs;
	unsigned long long mib;

	while (end && isspace((unsigned char)line[end - 1]))
		end--;
	for (int t = 0; t < 5; t++) {
		while (end && !isspace((unsigned char)line[end - 1]))
			end--;
		tok[t] = line + end; /* Time, State, VCPUs, Mem, ID */
		while (end && isspace((unsigned char)line[end - 1]))
			end--;
	}
	secs = strtod(tok[0], &stop);
	if (stop == tok[0] || (*stop && !isspace((unsigned char)*stop)))
		return -EIO;
	mib = strtoull(tok[3], &stop, 10);
	if (stop == tok[3] || !isspace((unsigned char)*stop) || !isdigit((unsigned char)*tok[4]))
		return -EIO;
	c->pss_kib = mib * 1024;
	c->cpu_ns = (uint64_t)(secs * 1e9 + 0.5);
	return 0;
}

int hvb_vmcost_parse_xl_list(const char *text, const char *name, struct hvb_vmcost *c)
{
	const char *line = text;

	memset(c, 0, sizeof(*c));
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", (int)(nl ? nl - line : (long)strlen(line)), line);
		if (line_names(buf, name)) {
			if (parse_xl_line(buf, c) == 0)
				return 0;
			return fail(c, -EIO, "xl list: cannot read the line of domain %s: '%.80s'",
				    name, buf);
		}
		line = nl ? nl + 1 : NULL;
	}
	return fail(c, -EIO, "xl list printed no line for domain %s", name);
}

int hvb_vmcost_read_domain(const char *name, struct hvb_vmcost *c)
{
	char out[4096], *argv[] = { "xl", "list", (char *)name, NULL };
	int r;

	memset(c, 0, sizeof(*c));
	if (!name || !*name)
		return fail(c, -EINVAL, "no Xen domain name");
	r = run_capture(argv, out, sizeof(out));
	if (r < 0)
		return fail(c, r, "cannot run xl: %s", strerror(-r));
	if (r == 127)
		return fail(c, -ENOENT, "xl is not on PATH: install xen-utils and run in dom0");
	if (r != 0)
		return fail(c, -ENOENT, "xl list %s failed (exit %d): %.*s", name, r, 80,
			    out[0] ? strtok(out, "\n") : "no output");
	return hvb_vmcost_parse_xl_list(out, name, c);
}

/* ---- host memory policy ---- */

/* First line of ROOT/path without the newline; -errno. */
static int read_line(const char *root, const char *path, char *buf, size_t len)
{
	char p[PATH_MAX];
	FILE *f;
	int r = 0;

	snprintf(p, sizeof(p), "%s%s", root, path);
	f = fopen(p, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		r = -EIO;
	fclose(f);
	buf[r ? 0 : strcspn(buf, "\n")] = '\0';
	return r;
}

static char *item(struct hvb_mem_state *st, const char *key)
{
	st->item[st->n].key = key;
	return st->item[st->n++].value;
}

static void put_unknown(char *v, const char *path, int err)
{
	snprintf(v, 160, "unknown (%s: %s)", path, strerror(-err));
}

/* The raw value of one file, or unknown with the reason. */
static void put_file(struct hvb_mem_state *st, const char *key, const char *root,
		     const char *path)
{
	char *v = item(st, key);
	int r = read_line(root, path, v, 160);

	if (r)
		put_unknown(v, path, r);
}

static void put_ksm(struct hvb_mem_state *st, const char *root)
{
	static const char *const words[] = { "off", "merging", "unmerging" };
	const char *path = "/sys/kernel/mm/ksm/run";
	char buf[64], *v = item(st, "ksm.run");
	int r = read_line(root, path, buf, sizeof(buf));
	long mode = r ? -1 : strtol(buf, NULL, 10);

	if (r == -ENOENT)
		snprintf(v, 160, "unavailable (no %s: kernel without CONFIG_KSM)", path);
	else if (r)
		put_unknown(v, path, r);
	else
		snprintf(v, 160, "%s (%s)", buf, mode >= 0 && mode <= 2 ? words[mode] : "?");
	put_file(st, "ksm.pages_shared", root, "/sys/kernel/mm/ksm/pages_shared");
	put_file(st, "ksm.pages_sharing", root, "/sys/kernel/mm/ksm/pages_sharing");
}

/* "always [madvise] never" -> "madvise". */
static void put_selected(struct hvb_mem_state *st, const char *key, const char *root,
			 const char *path)
{
	char buf[160], *v = item(st, key), *open, *close;
	int r = read_line(root, path, buf, sizeof(buf));

	if (r == -ENOENT)
		snprintf(v, 160, "unavailable (no %s)", path);
	else if (r)
		put_unknown(v, path, r);
	else if ((open = strchr(buf, '[')) && (close = strchr(open, ']')))
		snprintf(v, 160, "%.*s", (int)(close - open - 1), open + 1);
	else
		snprintf(v, 160, "%s", buf);
}

static void put_overcommit(struct hvb_mem_state *st, const char *root)
{
	static const char *const words[] = { "heuristic", "always", "never: strict accounting" };
	const char *path = "/proc/sys/vm/overcommit_memory";
	char buf[64], ratio[64], *v = item(st, "overcommit_memory");
	int r = read_line(root, path, buf, sizeof(buf));
	long mode = r ? -1 : strtol(buf, NULL, 10);

	if (r)
		put_unknown(v, path, r);
	else if (mode == 2 && !read_line(root, "/proc/sys/vm/overcommit_ratio", ratio, sizeof(ratio)))
		snprintf(v, 160, "2 (%s, ratio %s%%)", words[2], ratio);
	else
		snprintf(v, 160, "%s (%s)", buf, mode >= 0 && mode <= 2 ? words[mode] : "?");
}

static void put_swap(struct hvb_mem_state *st, const char *root)
{
	char p[PATH_MAX], line[256], *total = item(st, "swap.total_kib"),
				      *freev = item(st, "swap.free_kib");
	unsigned long long t = 0, f = 0;
	int have = 0;
	FILE *fp;

	snprintf(p, sizeof(p), "%s/proc/meminfo", root);
	fp = fopen(p, "r");
	while (fp && fgets(line, sizeof(line), fp)) {
		have |= sscanf(line, "SwapTotal: %llu kB", &t) == 1 ? 1 : 0;
		have |= sscanf(line, "SwapFree: %llu kB", &f) == 1 ? 2 : 0;
	}
	if (fp)
		fclose(fp);
	if (have == 3) {
		snprintf(total, 160, "%llu", t);
		snprintf(freev, 160, "%llu", f);
	} else {
		snprintf(total, 160, "unknown (no SwapTotal in /proc/meminfo)");
		snprintf(freev, 160, "unknown (no SwapFree in /proc/meminfo)");
	}
	put_file(st, "swap.swappiness", root, "/proc/sys/vm/swappiness");
}

void hvb_mem_state_read(const char *root, struct hvb_mem_state *st)
{
	st->n = 0;
	put_ksm(st, root);
	put_selected(st, "thp.enabled", root, "/sys/kernel/mm/transparent_hugepage/enabled");
	put_selected(st, "thp.defrag", root, "/sys/kernel/mm/transparent_hugepage/defrag");
	put_overcommit(st, root);
	put_swap(st, root);
}
