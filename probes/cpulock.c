/* Per-CPU run locks: flock(2) on DIR/cpu<N>.lock (cpulock.h).  libc only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cpulock.h"

#define WHO_MAX 4096 /* bytes of a lock file that are read back */

/* ------------------------------------------------------------ directory */

/* path as a lock directory: made if missing (a shared one sticky and open
 * to all users, as /tmp is; a private one 0700 and ours). */
static int usable_dir(const char *path, bool shared)
{
	struct stat st;

	if (!mkdir(path, shared ? 01777 : 0700)) {
		if (shared && chmod(path, 01777)) /* umask narrowed it */
			return -errno;
	} else if (errno != EEXIST) {
		return -errno;
	}
	if (lstat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (!shared && st.st_uid != geteuid())
		return -EPERM; /* someone else's /tmp/hvbench-<uid>: not ours to trust */
	return access(path, W_OK | X_OK) ? -errno : 0;
}

int hvb_cpulock_dir(char *dir, size_t len, char *err, size_t elen)
{
	const char *env = getenv("HVB_LOCK_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	int r;

	if (env && *env) {
		snprintf(dir, len, "%s", env);
		r = usable_dir(dir, true);
		if (r)
			snprintf(err, elen, "HVB_LOCK_DIR=%s: %s (give a writable directory for "
					    "the CPU locks, or unset it)", env, strerror(-r));
		return r;
	}
	snprintf(dir, len, "/run/hvbench");
	if (!usable_dir(dir, true))
		return 0;
	if (xdg && *xdg) {
		snprintf(dir, len, "%s/hvbench", xdg);
		if (!usable_dir(dir, false))
			return 0;
	}
	snprintf(dir, len, "/tmp/hvbench-%u", (unsigned)geteuid());
	r = usable_dir(dir, false);
	if (r)
		snprintf(err, elen, "no directory for the CPU locks: /run/hvbench and %s: %s "
				    "(set HVB_LOCK_DIR to a writable directory)", dir, strerror(-r));
	return r;
}

/* ------------------------------------------------------------ holder text */

static void lock_path(const char *dir, int cpu, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cpu%d.lock", dir, cpu);
}

/* "key value\n" into buf at *at, control bytes of value as '?' (a command
 * line may hold anything; the file is read line by line). */
static void put_line(char *buf, size_t len, size_t *at, const char *key, const char *value)
{
	int n = snprintf(buf + *at, len - *at, "%s ", key);

	if (n < 0 || (size_t)n >= len - *at)
		return;
	*at += (size_t)n;
	for (const char *p = value; *p && *at + 2 < len; p++)
		buf[(*at)++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
	buf[(*at)++] = '\n';
	buf[*at] = '\0';
}

/* path, absolute: whoever reads a lock file may stand elsewhere. */
static void abs_path(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		snprintf(buf, len, "%s", path);
	else
		snprintf(buf, len, "%s/%s", cwd, path);
}

static void write_who(int fd, const struct hvb_cpulock_who *who)
{
	char buf[WHO_MAX], pid[16], since[32], dir[PATH_MAX + 8];
	time_t now = time(NULL);
	struct tm tm;
	size_t at = 0;

	gmtime_r(&now, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	buf[0] = '\0';
	put_line(buf, sizeof(buf), &at, "pid", pid);
	put_line(buf, sizeof(buf), &at, "command", who && who->command ? who->command : "?");
	abs_path(who && who->run_dir ? who->run_dir : "none", dir, sizeof(dir));
	put_line(buf, sizeof(buf), &at, "run_dir", who && who->run_dir ? dir : "none");
	put_line(buf, sizeof(buf), &at, "since", since);
	/* Best effort: the lock is what counts, the text only explains it. */
	if (!ftruncate(fd, 0) && pwrite(fd, buf, at, 0) < 0)
		return;
}

/* The value of the "key value" line of text, or "" (into out). */
static void who_field(const char *text, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);

	out[0] = '\0';
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, k) && p[k] == ' ') {
			snprintf(out, len, "%.*s", (int)strcspn(p + k + 1, "\n"), p + k + 1);
			return;
		}
}

/* The pid holding an flock on (dev, ino) per /proc/locks, or 0. */
static int lock_holder(FILE *locks, dev_t dev, ino_t ino)
{
	char line[256];

	rewind(locks);
	while (fgets(line, sizeof(line), locks)) {
		unsigned maj, min;
		unsigned long long i;
		char type[16];
		int pid;

		/* "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF"; "1: -> ..." waits */
		if (strstr(line, "->") ||
		    sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%llu", type, &pid, &maj, &min, &i) != 5)
			continue;
		if (!strcmp(type, "FLOCK") && major(dev) == maj && minor(dev) == min && ino == i)
			return pid;
	}
	return 0;
}

/* The pid /proc/locks says holds fd's file, or 0 if it cannot tell. */
static int holder_pid(int fd)
{
	FILE *locks = fopen("/proc/locks", "re");
	struct stat st;
	int pid = 0;

	if (locks && !fstat(fd, &st))
		pid = lock_holder(locks, st.st_dev, st.st_ino);
	if (locks)
		fclose(locks);
	return pid;
}

static void say_busy(int fd, int cpu, const char *path, char *err, size_t len)
{
	char text[WHO_MAX], pid[32], cmd[1024], dir[1024], since[64];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	int real = holder_pid(fd);

	text[n > 0 ? n : 0] = '\0';
	who_field(text, "pid", pid, sizeof(pid));
	who_field(text, "command", cmd, sizeof(cmd));
	who_field(text, "run_dir", dir, sizeof(dir));
	who_field(text, "since", since, sizeof(since));
	/* The text is the last writer's: a holder that wrote nothing (flock(1),
	 * or one that has just locked) leaves an earlier run's there. */
	if (real > 0 && (!pid[0] || atoi(pid) != real))
		snprintf(err, len, "CPU %d is held by pid %d (lock %s), which did not say who it "
				   "is (flock(1)? or a run just starting)", cpu, real, path);
	else if (!pid[0])
		snprintf(err, len, "CPU %d is held (lock %s) by a process that wrote nothing into "
				   "it (just starting, or flock(1))", cpu, path);
	else
		snprintf(err, len, "CPU %d is in use by another run: pid %s (%s), run directory "
				   "%s, since %s (lock %s)", cpu, pid, cmd, dir, since, path);
}

/* ------------------------------------------------------------ inherited */

/* The parent's locks named by HVB_CPULOCK_ENV whose descriptor is open on
 * that CPU's lock file in l->dir; returns how many (into cpu[], fd[]). */
static unsigned env_locks(const struct hvb_cpulock *l, pid_t *parent, int *cpu, int *fd)
{
	const char *env = getenv(HVB_CPULOCK_ENV), *p;
	char *end, path[PATH_MAX + 32];
	unsigned n = 0;
	long pid;

	if (!env)
		return 0;
	pid = strtol(env, &end, 10);
	if (end == env || *end != ':' || pid <= 0)
		return 0;
	*parent = (pid_t)pid;
	for (p = end + 1; *p && n < HVB_CPULOCK_MAX; p = *end ? end + 1 : end) {
		long c = strtol(p, &end, 10), f;
		struct stat a, b;

		if (end == p || *end != '=' || c < 0)
			break;
		p = end + 1;
		f = strtol(p, &end, 10);
		if (end == p || (*end && *end != ',') || f < 0 || f > INT_MAX)
			break;
		lock_path(l->dir, (int)c, path, sizeof(path));
		if (fstat((int)f, &a) || stat(path, &b) || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino)
			continue; /* not that file (a stale or foreign variable): ignored */
		cpu[n] = (int)c, fd[n++] = (int)f;
	}
	return n;
}

/* The parent's open file of cpu's lock, if the lock is held through it. */
static int adopt(int cpu, const int *ecpu, const int *efd, unsigned en)
{
	for (unsigned i = 0; i < en; i++)
		if (ecpu[i] == cpu && !flock(efd[i], LOCK_EX | LOCK_NB))
			return efd[i]; /* same open file: already ours, nothing waits */
	return -1;
}

/* ------------------------------------------------------------ take */

static bool seen(const struct hvb_cpulock *l, int cpu)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->cpu[i] == cpu)
			return true;
	return false;
}

/* Lock one CPU's file: its fd, or -EBUSY / -errno with err. */
/*
 * A run killed with SIGKILL releases its lock only when the last process
 * sharing the lock's open file is gone: a forked child (the native
 * runner's worker, a fill process) may still be exiting on its
 * PR_SET_PDEATHSIG.  When the pid recorded in the file is dead, wait a
 * little for those to go instead of refusing a free CPU.  0 once locked,
 * -1 (errno EWOULDBLOCK) if still held.
 */
static int flock_after_dead_holder(int fd)
{
	char text[WHO_MAX], pid[32];
	ssize_t n;

	if (errno != EWOULDBLOCK)
		return -1;
	n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	who_field(text, "pid", pid, sizeof(pid));
	if (!pid[0] || atoi(pid) <= 0 || !(kill(atoi(pid), 0) && errno == ESRCH)) {
		errno = EWOULDBLOCK;
		return -1;
	}
	for (int i = 0; i < 100; i++) { /* 5 s */
		struct timespec t = { 0, 50 * 1000 * 1000 };

		if (!flock(fd, LOCK_EX | LOCK_NB))
			return 0;
		if (errno != EWOULDBLOCK)
			return -1;
		nanosleep(&t, NULL);
	}
	return -1;
}

static int lock_one(const struct hvb_cpulock *l, int cpu, char *err, size_t len)
{
	char path[PATH_MAX + 32];
	int fd, e;

	lock_path(l->dir, cpu, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* another user's file */
	if (fd < 0) {
		e = -errno;
		snprintf(err, len, "cannot open the lock of CPU %d, %s: %s (set HVB_LOCK_DIR to "
				   "a writable directory)", cpu, path, strerror(-e));
		return e;
	}
	(void)fchmod(fd, 0666); /* runs of other users share /run/hvbench: let them record */
	if (!flock(fd, LOCK_EX | LOCK_NB) || !flock_after_dead_holder(fd))
		return fd;
	e = errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (e == -EBUSY)
		say_busy(fd, cpu, path, err, len);
	else
		snprintf(err, len, "cannot lock %s: %s", path, strerror(-e));
	close(fd);
	return e;
}

/* Children inherit the locks (pass_down), or nothing of them. */
static void hand_over(const struct hvb_cpulock *l, const int *efd, unsigned en, bool pass_down)
{
	char env[HVB_CPULOCK_MAX * 24 + 16];
	size_t at = (size_t)snprintf(env, sizeof(env), "%d:", (int)getpid());

	for (unsigned i = 0; i < en; i++)
		(void)fcntl(efd[i], F_SETFD, FD_CLOEXEC);
	if (!pass_down) {
		unsetenv(HVB_CPULOCK_ENV);
		return;
	}
	for (unsigned i = 0; i < l->n && at < sizeof(env); i++) {
		(void)fcntl(l->fd[i], F_SETFD, 0);
		at += (size_t)snprintf(env + at, sizeof(env) - at, "%s%d=%d", i ? "," : "",
				       l->cpu[i], l->fd[i]);
	}
	setenv(HVB_CPULOCK_ENV, env, 1);
}

int hvb_cpulock_take(struct hvb_cpulock *l, const int *cpus, unsigned n,
		     const struct hvb_cpulock_who *who, bool pass_down, char *err, size_t len)
{
	int ecpu[HVB_CPULOCK_MAX], efd[HVB_CPULOCK_MAX], r;
	pid_t parent = 0;
	unsigned en;

	memset(l, 0, sizeof(*l));
	if ((r = hvb_cpulock_dir(l->dir, sizeof(l->dir), err, len)))
		return r;
	en = env_locks(l, &parent, ecpu, efd);
	for (unsigned i = 0; i < n; i++) {
		int fd;

		if (cpus[i] < 0 || seen(l, cpus[i]))
			continue;
		if (l->n == HVB_CPULOCK_MAX) {
			snprintf(err, len, "more than %d CPUs to lock", HVB_CPULOCK_MAX);
			hvb_cpulock_release(l);
			return -E2BIG;
		}
		fd = adopt(cpus[i], ecpu, efd, en);
		l->inherited[l->n] = fd >= 0;
		l->parent = fd >= 0 ? parent : l->parent;
		if (fd < 0 && (fd = lock_one(l, cpus[i], err, len)) < 0) {
			hvb_cpulock_release(l);
			return fd;
		}
		if (!l->inherited[l->n])
			write_who(fd, who);
		l->cpu[l->n] = cpus[i], l->fd[l->n++] = fd;
	}
	hand_over(l, efd, en, pass_down);
	return 0;
}

/* ------------------------------------------------------------ the rest */

static size_t list_cpus(const struct hvb_cpulock *l, bool inherited, char *buf, size_t len)
{
	size_t at = 0;

	for (unsigned i = 0; i < l->n && at < len; i++)
		if (!inherited || l->inherited[i])
			at += (size_t)snprintf(buf + at, len - at, "%s%d", at ? "," : "", l->cpu[i]);
	return at;
}

void hvb_cpulock_describe(const struct hvb_cpulock *l, char *buf, size_t len)
{
	char cpus[HVB_CPULOCK_MAX * 6] = "", path[PATH_MAX + 32];
	size_t at;

	list_cpus(l, false, cpus, sizeof(cpus));
	at = (size_t)snprintf(buf, len, "cpus %s (flock", cpus);
	for (unsigned i = 0; i < l->n && at < len; i++) {
		lock_path(l->dir, l->cpu[i], path, sizeof(path));
		at += (size_t)snprintf(buf + at, len - at, " %s", path);
	}
	if (l->parent > 0 && at < len && list_cpus(l, true, cpus, sizeof(cpus)))
		at += (size_t)snprintf(buf + at, len - at, "; passed down by pid %d: cpus %s",
				       (int)l->parent, cpus);
	if (at < len)
		snprintf(buf + at, len - at, ")");
}

void hvb_cpulock_release(struct hvb_cpulock *l)
{
	/* close, never LOCK_UN: an inherited open file is the parent's lock too */
	for (unsigned i = 0; i < l->n; i++)
		close(l->fd[i]);
	l->n = 0;
	l->parent = 0;
}

static int held_one(FILE *locks, const char *dir, int cpu, char *buf, size_t len, size_t *at)
{
	char path[PATH_MAX + 32];
	struct stat st;
	int pid;

	lock_path(dir, cpu, path, sizeof(path));
	if (stat(path, &st) || !(pid = lock_holder(locks, st.st_dev, st.st_ino)))
		return 0;
	if (*at < len)
		*at += (size_t)snprintf(buf + *at, len - *at, "%s%d (pid %d)", *at ? ", " : "",
					cpu, pid);
	return 1;
}

int hvb_cpulock_held(const char *dir, const int *cpus, unsigned n, char *buf, size_t len)
{
	FILE *locks = fopen("/proc/locks", "re");
	size_t at = 0;
	int found = 0;

	buf[0] = '\0';
	if (!locks)
		return -errno;
	for (unsigned i = 0; i < n; i++)
		found += cpus[i] >= 0 && held_one(locks, dir, cpus[i], buf, len, &at);
	if (!n) {
		DIR *d = opendir(dir);
		struct dirent *e;
		int cpu;
		char end;

		while (d && (e = readdir(d)))
			if (sscanf(e->d_name, "cpu%d.loc%c", &cpu, &end) == 2 && end == 'k' &&
			    cpu >= 0)
				found += held_one(locks, dir, cpu, buf, len, &at);
		if (d)
			closedir(d);
	}
	fclose(locks);
	return found;
}
