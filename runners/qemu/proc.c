/*
 * The QEMU process driver: QEMU's command line, starting it in its own
 * process group (dying with hvbench), pinning its vCPU thread, feeding its
 * serial line to a console record stream, keeping the tail of its stderr,
 * and stopping and reaping it.  It knows nothing of runners or results:
 * the qemu-kvm/qemu-tcg runner (qemu.c) and its capability probe
 * (probe.c) build on it.
 */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "disk.h"
#include "util.h"

#define QEMU_TERM_GRACE_MS 2000 /* SIGTERM -> SIGKILL */

/* A file name inside a QEMU option value: commas doubled. */
static char *qemu_escape(const char *s)
{
	char *out = xcalloc(2 * strlen(s) + 1, 1), *o = out;

	for (; *s; s++) {
		*o++ = *s;
		if (*s == ',')
			*o++ = ',';
	}
	return out;
}

bool qemu_machine_microvm(const struct hvb_config *cfg)
{
	const char *m = cfg->qemu_machine;

	return !strncmp(m, "microvm", 7) && (!m[7] || m[7] == ',');
}

bool qemu_blk_usable(const struct hvb_config *cfg)
{
	return cfg->disk && qemu_machine_microvm(cfg);
}

char *qemu_machine_arg(const struct hvb_config *cfg, bool net)
{
	/* microvm writes the virtio_mmio.device= words the guest looks for
	 * only without ACPI (with it, the windows are in the DSDT alone). */
	if ((qemu_blk_usable(cfg) || (net && qemu_machine_microvm(cfg))) &&
	    !strstr(cfg->qemu_machine, "acpi="))
		return xasprintf("%s,acpi=off", cfg->qemu_machine);
	return xstrdup(cfg->qemu_machine);
}

const char *qemu_blk_cache(const struct hvb_disk *d)
{
	/* cache=none is O_DIRECT, and aio=native needs it; without O_DIRECT
	 * the page cache is in the path anyway: QEMU's thread pool then. */
	return d->odirect ? "cache=none,aio=native" : "cache=writeback,aio=threads";
}

char **qemu_argv(const struct qemu_conf *conf, const struct hvb_config *cfg, const char *image,
		  const char *append, const struct qemu_net *net, unsigned vcpus)
{
	char **v = xcalloc(QEMU_ARGV_CAP, sizeof(char *));
	int n = 0;

#define ARG(...) (v[n++] = xasprintf(__VA_ARGS__))
	ARG("%s", cfg->qemu_bin);
	ARG("-name");
	ARG("hvbench,debug-threads=on"); /* names the vCPU thread, for pinning */
	ARG("-nographic");
	ARG("-nodefaults");
	ARG("-no-reboot");
	ARG("-machine");
	v[n++] = qemu_machine_arg(cfg, net != NULL);
	ARG("-accel");
	ARG("%s", conf->accel);
	ARG("-cpu");
	ARG("%s", conf->cpu);
	ARG("-smp");
	ARG("%u", vcpus ? vcpus : 1);
	ARG("-m");
	ARG("%lluM", (unsigned long long)cfg->guest_mem_mib);
	ARG("-kernel");
	ARG("%s", image);
	ARG("-append");
	ARG("%s", append);
	ARG("-serial");
	ARG("stdio");
	ARG("-monitor");
	ARG("none");
	ARG("-device");
	ARG("isa-debug-exit,iobase=0x%x,iosize=4", HVB_PORT_QEMU_EXIT);
	ARG("-chardev");
	ARG("null,id=hvbnull");
	ARG("-device");
	ARG("isa-debugcon,iobase=0x%x,chardev=hvbnull", QEMU_PIO_USER);
	ARG("-device");
	ARG("pc-testdev");
	if (qemu_blk_usable(cfg) || net) {
		ARG("-global");
		ARG("virtio-mmio.force-legacy=false");
	}
	if (net) {
		/* The job's tap, opened by hvbench in the job's namespace and
		 * inherited: QEMU probes its IFF_VNET_HDR itself (TUNGETIFF). */
		ARG("-netdev");
		ARG("tap,id=hvbnet,fd=%d%s", net->tap_fd, net->vhost ? ",vhost=on" : ",vhost=off");
		ARG("-device");
		ARG("virtio-net-device,netdev=hvbnet,mac=%s", net->mac);
	}
	if (qemu_blk_usable(cfg)) {
		/* The run's disk as virtio-blk on virtio-mmio (modern, version 2:
		 * what the guest driver speaks); microvm tells the guest where
		 * with virtio_mmio.device= words of its own. */
		char *file = qemu_escape(cfg->disk->path);
		ARG("-drive");
		ARG("id=hvbdisk,file=%s,if=none,format=raw,%s", file, qemu_blk_cache(cfg->disk));
		ARG("-device");
		ARG("virtio-blk-device,drive=hvbdisk");
		free(file);
	}
#undef ARG
	v[n] = NULL;
	return v;
}

/* The command as a shell would need it, for the log (reproducible by hand). */
char *qemu_argv_line(char **v)
{
	char *line = xstrdup("");

	for (char **p = v; *p; p++) {
		bool plain = strspn(*p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789-_=,.:/+") == strlen(*p);
		char *t = xasprintf("%s%s%s%s%s", line, p == v ? "" : " ", plain ? "" : "'", *p,
				    plain ? "" : "'");
		free(line);
		line = t;
	}
	return line;
}

void qemu_argv_free(char **v)
{
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* Child: QEMU in its own process group (the terminal's Ctrl-C reaches
 * hvbench, which stops QEMU itself), dying with hvbench. */
static void __attribute__((noreturn)) exec_qemu(char **argv, int out_fd, int err_fd,
					       bool thp_off, int keep_fd)
{
	int null = open("/dev/null", O_RDONLY);

	/* The tap QEMU is handed by number: across execve. */
	if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0))
		_exit(127);
	/* QEMU madvises guest RAM MADV_HUGEPAGE itself and has no option
	 * against it: --page-size 4k turns THP off for the process (kept
	 * across execve), so guest RAM is backed by 4 KiB pages. */
	if (thp_off && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		fprintf(stderr, "hvbench: PR_SET_THP_DISABLE: %s\n", strerror(errno));
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	execvp(argv[0], argv);
	fprintf(stderr, "cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int qemu_vcpu_tid(pid_t pid, unsigned index)
{
	char path[64], comm[64], want[16];
	struct dirent *d;
	DIR *dir;
	int tid = 0;

	snprintf(want, sizeof(want), "CPU %u/", index);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!tid && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", (int)pid, d->d_name);
		if (!hvb_read_file(path, comm, sizeof(comm)) && !strncmp(comm, want, strlen(want)))
			tid = atoi(d->d_name);
	}
	closedir(dir);
	return tid;
}

/*
 * Pin QEMU's thread of vCPU `index` to cpu, as the reference core pins its
 * vCPU threads; QEMU's other threads (main loop, RCU, ...) stay unpinned.
 * (No QMP here: the thread names are what query-cpus-fast would give.)
 * Returns the thread id, 0 if it does not exist yet, or -errno.
 */
static int pin_vcpu_thread(pid_t pid, unsigned index, int cpu)
{
	int tid = qemu_vcpu_tid(pid, index);
	cpu_set_t set;

	if (tid <= 0)
		return tid;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : tid;
}

/* Pin every vCPU thread not pinned yet (QEMU starts them one by one). */
static void pin_vcpu_threads(struct qemu_proc *q)
{
	if (!q->vcpu_tid && q->cpu >= 0)
		q->vcpu_tid = pin_vcpu_thread(q->pid, 0, q->cpu);
	for (unsigned i = 1; i < q->vcpus && i < HVB_MAX_VCPUS; i++)
		if (!q->vcpu_tids[i] && q->cpus[i] >= 0)
			q->vcpu_tids[i] = pin_vcpu_thread(q->pid, i, q->cpus[i]);
}

/* Keep the last QEMU_STDERR_TAIL bytes of QEMU's stderr. */
static void err_append(struct qemu_proc *q, const char *buf, size_t n)
{
	if (n >= sizeof(q->err_tail)) {
		buf += n - sizeof(q->err_tail);
		n = sizeof(q->err_tail);
	}
	if (q->err_len + n > sizeof(q->err_tail)) {
		size_t drop = q->err_len + n - sizeof(q->err_tail);
		memmove(q->err_tail, q->err_tail + drop, q->err_len - drop);
		q->err_len -= drop;
	}
	memcpy(q->err_tail + q->err_len, buf, n);
	q->err_len += n;
}

/* The stderr tail as one line (for a verdict). */
void qemu_err_summary(const struct qemu_proc *q, char *out, size_t len)
{
	size_t o = 0, i = 0;

	/* Skip empty trailing lines; show the last few lines, joined. */
	while (i < q->err_len && o + 2 < len) {
		char c = q->err_tail[i++];
		if (c == '\n')
			c = i < q->err_len ? '|' : '\0';
		if (c && (unsigned char)c >= 0x20 && c != 0x7f)
			out[o++] = c;
	}
	out[o] = '\0';
}

/* Does this read hold the first byte of a line (its first byte, when the
 * last read ended one, or a byte after a newline)?  Tell the hook, and
 * whether that line also ended within the read. */
static void note_line_start(struct qemu_proc *q, const char *buf, size_t n)
{
	const char *nl = memchr(buf, '\n', n), *start = NULL;

	if (!q->line_open)
		start = buf;
	else if (nl && nl + 1 < buf + n)
		start = nl + 1;
	q->line_open = buf[n - 1] != '\n';
	if (start && q->on_line_start)
		q->on_line_start(q->hook_arg, memchr(start, '\n', (size_t)(buf + n - start)));
}

enum qemu_end qemu_collect(struct qemu_proc *q)
{
	int out_fd = q->out_fd, err_fd = q->err_fd;
	struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	char buf[16384];

	while (p[0].fd >= 0) {
		int64_t left = (int64_t)(q->deadline - hvb_now_ns());
		ssize_t n;

		if (q->stop && *q->stop)
			return QEMU_END_INTERRUPT;
		if (left <= 0)
			return QEMU_END_TIMEOUT;
		pin_vcpu_threads(q);
		if (poll(p, 2, left / 1000000 > 200 ? 200 : (int)(left / 1000000) + 1) <= 0)
			continue;
		if (p[1].revents) {
			n = read(err_fd, buf, sizeof(buf));
			if (n > 0)
				err_append(q, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				p[1].fd = -1;
		}
		if (!p[0].revents)
			continue;
		n = read(out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		q->stream->stamp = hvb_now_ns();
		note_line_start(q, buf, (size_t)n);
		if (hvb_console_stream_feed(q->stream, buf, (size_t)n))
			return QEMU_END_PROTO;
	}
	/* Drain what QEMU said on the way out. */
	while (p[1].fd >= 0 && poll(&p[1], 1, 500) > 0) {
		ssize_t n = read(err_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		err_append(q, buf, (size_t)n);
	}
	return hvb_console_stream_finish(q->stream) ? QEMU_END_PROTO : QEMU_END_EOF;
}

/* Wait up to ms for pid to end: true and *status if it did. */
static bool wait_for(pid_t pid, int *status, unsigned ms)
{
	uint64_t until = hvb_now_ns() + (uint64_t)ms * 1000000;

	do {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		usleep(10000);
	} while (hvb_now_ns() < until);
	return false;
}

/*
 * Always reaps QEMU and returns its wait status.  A QEMU that closed the
 * serial line is exiting by itself and gets time to do so; one that must be
 * stopped gets SIGTERM (it exits cleanly), then SIGKILL after a grace period.
 */
int qemu_reap(struct qemu_proc *q, bool must_stop)
{
	pid_t pid = q->pid;
	int status = 0;

	close(q->out_fd);
	close(q->err_fd);
	q->out_fd = q->err_fd = -1;
	if (must_stop)
		kill(pid, SIGTERM);
	if (wait_for(pid, &status, QEMU_TERM_GRACE_MS))
		return status;
	if (!must_stop && (kill(pid, SIGTERM), wait_for(pid, &status, QEMU_TERM_GRACE_MS)))
		return status;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int qemu_spawn_on(struct qemu_proc *q, char **argv, bool thp_off, int out_wr, int err_wr)
{
	fflush(NULL);
	q->t_start = hvb_now_ns();
	q->out_fd = q->err_fd = -1;
	q->pid = fork();
	if (q->pid < 0)
		return -errno;
	if (q->pid == 0)
		exec_qemu(argv, out_wr, err_wr, thp_off, q->keep_fd);
	return 0;
}

int qemu_spawn(struct qemu_proc *q, char **argv, bool thp_off)
{
	int out[2], err[2];
	pid_t *pid = &q->pid;

	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		close(out[0]), close(out[1]);
		return -errno;
	}
	fflush(NULL);
	q->t_start = hvb_now_ns();
	*pid = fork();
	if (*pid < 0) {
		int e = -errno;
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		return e;
	}
	if (*pid == 0)
		exec_qemu(argv, out[1], err[1], thp_off, q->keep_fd);
	close(out[1]);
	close(err[1]);
	q->out_fd = out[0];
	q->err_fd = err[0];
	return 0;
}
