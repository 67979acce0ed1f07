/*
 * QEMU as a peer VMM: the hvbench guest image under qemu-system-x86_64.
 *
 *   qemu-kvm  QEMU on /dev/kvm: the peer of the reference core (kvm runner)
 *   qemu-tcg  full emulation: a faithful x86 on which the guest's ring-0
 *             paths run where the host KVM cannot; functional numbers only
 *
 * The guest is booted with -kernel (PVH entry note) and gets the job on the
 * command line (-append, read from the PVH start info).  Records come back
 * over the serial port as framed, checksummed lines (console_codec.h, the
 * same codec the guest encodes with); everything else QEMU's serial says
 * (firmware banners, guest text) goes to the run log, bounded.  The guest
 * ends with isa-debug-exit; QEMU is always reaped: on timeout, interrupt or
 * a protocol error it gets SIGTERM, then SIGKILL.
 *
 * Exit devices: QEMU has no hvbench device, so the micro benchmarks are
 * pointed at devices QEMU really handles in userspace: an isa-debugcon with
 * a null backend sits at HVB_PORT_BENCH_USER (write: one chardev write to
 * nothing; read: returns its readback byte), and pc-testdev's MMIO region
 * at 0xff000000 stands in for HVB_MMIO_BENCH_USER (mmio_user= word).
 * Nothing is handled in the host kernel, so the *-kernel benchmarks skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "meta.h"
#include "qemu.h"
#include "util.h"

/* Set by `hvbench run` when the user interrupts (SIGINT/SIGTERM). */
extern volatile int hvb_interrupted;

#define QEMU_DEFAULT_BIN     "qemu-system-x86_64"
#define QEMU_DEFAULT_MEM     "1G"
#define QEMU_DEFAULT_MACHINE "pc"
#define QEMU_PIO_USER	     HVB_PORT_BENCH_USER /* isa-debugcon placed here */
#define QEMU_LOG_BUDGET	     (64 * 1024)	 /* console text logged per job */
#define QEMU_TERM_GRACE_MS   2000		 /* SIGTERM -> SIGKILL */

static const struct qemu_conf conf_kvm = {
    .accel = "kvm",
    /* Plain -cpu host aborts on nested PVM hosts (MSR 0x10a); dropping
     * ARCH_CAPABILITIES changes nothing the workloads use. */
    .cpu = "host,-arch-capabilities",
    .kvm = true,
};

static const struct qemu_conf conf_tcg = {
    .accel = "tcg",
    .cpu = "max",
    .kvm = false,
};

static const struct hvb_runner qemu_kvm_runner, qemu_tcg_runner;

static const struct qemu_conf *conf_of(const struct hvb_runner *r)
{
	return r == &qemu_kvm_runner ? &conf_kvm : &conf_tcg;
}

/* ------------------------------------------------------------ environment */

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static const char *qemu_bin(void)
{
	return env_or("HVB_QEMU", QEMU_DEFAULT_BIN);
}

/* Resolve a command name through PATH (or take a path as is); 0 or -ENOENT. */
static int find_exe(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL;
	int r = -ENOENT;

	if (strchr(name, '/')) {
		hvb_strlcpy(out, name, len);
		return access(out, X_OK) ? -ENOENT : 0;
	}
	dirs = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, name);
		if (!access(out, X_OK)) {
			r = 0;
			break;
		}
	}
	free(dirs);
	return r;
}

/* The guest image: $HVB_GUEST_IMAGE, else guest/hvbench-guest.elf next to
 * the hvbench binary (the build tree layout: $(O)/hvbench, $(O)/guest/). */
void qemu_guest_image(char *out, size_t len)
{
	char self[2048];
	ssize_t n;
	char *slash;

	if (getenv("HVB_GUEST_IMAGE") && *getenv("HVB_GUEST_IMAGE")) {
		hvb_strlcpy(out, getenv("HVB_GUEST_IMAGE"), len);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, len, "%s/guest/hvbench-guest.elf", n > 0 ? self : ".");
}

/* Is the host's KVM the nested PVM flavour (guest ring 0 emulated)?  The
 * same test as the kvm runner, so both grant the same capabilities. */
static bool host_is_pvm(void)
{
	char buf[200];

	hvb_meta_nesting(buf, sizeof(buf));
	return !strncmp(buf, "pvm", 3);
}

static int kvm_usable(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), v;

	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(why, len,
				 "/dev/kvm does not exist: load kvm_intel/kvm_amd "
				 "(or enable virtualization in the firmware)");
		else
			snprintf(why, len,
				 "cannot open /dev/kvm: %s (add yourself to group kvm, "
				 "or run as root)",
				 strerror(e));
		return -e;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v != KVM_API_VERSION) {
		snprintf(why, len, "/dev/kvm speaks KVM API %d, QEMU needs %d", v, KVM_API_VERSION);
		return -ENOTSUP;
	}
	return 0;
}

static bool qemu_available(const struct qemu_conf *conf, char *why, size_t len)
{
	char exe[4096], img[4096];

	if (find_exe(qemu_bin(), exe, sizeof(exe))) {
		snprintf(why, len, "%s is not installed: apt-get install qemu-system-x86%s",
			 qemu_bin(), getenv("HVB_QEMU") ? " (or fix HVB_QEMU)" : "");
		return false;
	}
	if (conf->kvm && kvm_usable(why, len))
		return false;
	qemu_guest_image(img, sizeof(img));
	if (access(img, R_OK)) {
		snprintf(why, len, "guest image %s: %s (run make, or set HVB_GUEST_IMAGE)", img,
			 strerror(errno));
		return false;
	}
	return true;
}

static bool qemu_kvm_available(char *why, size_t len)
{
	return qemu_available(&conf_kvm, why, len);
}

static bool qemu_tcg_available(char *why, size_t len)
{
	return qemu_available(&conf_tcg, why, len);
}

/*
 * Capabilities granted to the guest (abi.h HVB_CAP_*) without a probe: the
 * userspace exit devices QEMU is given.  Under TCG the rest is a property
 * of QEMU's emulator, not of the host: ring 0 is a faithful x86 for cpuid
 * and MSRs, vmcall/vmmcall outside a nested guest raise #UD (no null
 * hypercall) and hlt with interrupts off never wakes.  Under KVM the host
 * decides (nested PVM emulates guest ring 0 and may fault or hang on some
 * instructions), so the capability probe (probe.c) adds what really works.
 */
static uint32_t base_caps(const struct qemu_conf *conf)
{
	uint32_t caps = HVB_CAP_PIO_USER | HVB_CAP_MMIO_USER;

	if (!conf->kvm)
		return caps | HVB_CAP_CPUID | HVB_CAP_MSR | HVB_CAP_EMULATED;
	return host_is_pvm() ? caps | HVB_CAP_PVM : caps;
}

/* The capabilities for a job: under KVM, probed at the first job of the
 * run (recorded in meta.csv and the log then), the cached answer after. */
static uint32_t job_caps(const struct hvb_runner *r, const struct hvb_job *job,
			 struct hvb_sink *sink)
{
	static bool recorded;
	const struct qemu_conf *conf = conf_of(r);
	uint32_t caps = base_caps(conf);
	const char *desc;
	char key[96];

	if (!conf->kvm)
		return caps;
	caps |= qemu_probe_caps(conf, job, caps, &desc);
	if (recorded)
		return caps;
	recorded = true;
	snprintf(key, sizeof(key), "runner.%s.caps_probe", r->name);
	hvb_sink_meta(sink, key, desc);
	snprintf(key, sizeof(key), "runner.%s.caps", r->name);
	hvb_sink_metaf(sink, key, "0x%x", caps);
	hvb_sink_log(sink, r->name, "capability probe: %s", desc);
	return caps;
}

/* ------------------------------------------------------------ describe */

/* First line of `qemu --version`, or why not. */
static void qemu_version(char *buf, size_t len)
{
	char *cmd = xasprintf("'%s' --version 2>&1", qemu_bin());
	FILE *f = popen(cmd, "r");

	free(cmd);
	snprintf(buf, len, "unknown");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	pclose(f);
}

static void qemu_describe(const struct hvb_runner *r, struct hvb_sink *sink)
{
	const struct qemu_conf *conf = conf_of(r);
	char key[96], buf[256], img[4096];

#define META(k, ...)                                                                               \
	do {                                                                                       \
		snprintf(key, sizeof(key), "runner.%s.%s", r->name, k);                            \
		hvb_sink_metaf(sink, key, __VA_ARGS__);                                            \
	} while (0)

	qemu_version(buf, sizeof(buf));
	META("version", "%s", buf);
	META("machine", "%s", env_or("HVB_QEMU_MACHINE", QEMU_DEFAULT_MACHINE));
	META("cpu", "%s", conf->cpu);
	META("accelerator", "%s", conf->accel);
	META("memory", "%s", env_or("HVB_QEMU_MEM", QEMU_DEFAULT_MEM));
	META("firmware", "QEMU default for the machine (SeaBIOS for pc) + PVH boot of -kernel");
	META("devices",
	     "isa-debugcon(null) at port 0x%x for pio-*-user; pc-testdev iomem at "
	     "0x%x for mmio-*-user; isa-debug-exit at 0xf4; serial 0x3f8 for records",
	     QEMU_PIO_USER, QEMU_MMIO_USER);
	if (conf->kvm)
		META("caps", "0x%x + what the capability probe finds at the first job",
		     base_caps(conf));
	else
		META("caps", "0x%x", base_caps(conf));
	qemu_guest_image(img, sizeof(img));
	META("guest_image", "%s", img);
	META("boot_ms", "host clock: QEMU fork -> first byte of the guest's HELLO record "
			"on the serial line (HELLO is sent right after the first workload "
			"instruction's TSC read)");
	if (!conf->kvm)
		META("emulated", "yes: TCG full emulation; functional evidence only, not "
				 "performance (the guest TSC is QEMU's virtual clock)");
#undef META
}

/* ------------------------------------------------------------ the job */

/* --page-size: the guest's page tables (pt=4k) and QEMU's backing of RAM. */
static void describe_pages(const struct hvb_runner *r, const struct hvb_job *job,
			   struct hvb_sink *sink)
{
	char *key = xasprintf("runner.%s.page_size", r->name);

	hvb_sink_meta(sink, key,
		      job->page_kib == HVB_PAGE_2M
			      ? "2m: guest page tables map RAM with 2 MiB pages; QEMU backs RAM "
				"with madvise(MADV_HUGEPAGE) (THP as the host's setting allows)"
			      : "4k: guest word pt=4k (4 KiB guest page tables); QEMU started "
				"with THP off (prctl PR_SET_THP_DISABLE): 4 KiB host backing");
	free(key);
}

static char *build_cmdline(const struct hvb_job *job, uint32_t caps)
{
	return xasprintf("%s%s dev=serial caps=0x%x mmio_user=0x%x", job->cmdline,
			 job->page_kib == HVB_PAGE_2M ? "" : " pt=4k", caps, QEMU_MMIO_USER);
}

char **qemu_argv(const struct qemu_conf *conf, const char *image, const char *append)
{
	char **v = xcalloc(48, sizeof(char *));
	int n = 0;

#define ARG(...) (v[n++] = xasprintf(__VA_ARGS__))
	ARG("%s", qemu_bin());
	ARG("-name");
	ARG("hvbench,debug-threads=on"); /* names the vCPU thread, for pinning */
	ARG("-nographic");
	ARG("-nodefaults");
	ARG("-no-reboot");
	ARG("-machine");
	ARG("%s", env_or("HVB_QEMU_MACHINE", QEMU_DEFAULT_MACHINE));
	ARG("-accel");
	ARG("%s", conf->accel);
	ARG("-cpu");
	ARG("%s", conf->cpu);
	ARG("-smp");
	ARG("1");
	ARG("-m");
	ARG("%s", env_or("HVB_QEMU_MEM", QEMU_DEFAULT_MEM));
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
#undef ARG
	v[n] = NULL;
	return v;
}

/* The command as a shell would need it, for the log (reproducible by hand). */
static void log_argv(struct hvb_sink *sink, const char *runner, unsigned rep, char **v)
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
	hvb_sink_log(sink, runner, "rep %u: %s", rep, line);
	free(line);
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
					       bool thp_off)
{
	int null = open("/dev/null", O_RDONLY);

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

/*
 * Pin QEMU's vCPU thread (named "CPU 0/KVM" or "CPU 0/TCG" with
 * -name debug-threads=on) to the job's CPU, as the reference core pins its
 * vCPU thread; QEMU's other threads (main loop, RCU, ...) stay unpinned.
 * Returns the thread id, 0 if it does not exist yet, or -errno.
 */
static int pin_vcpu_thread(pid_t pid, int cpu)
{
	char path[64], comm[64];
	struct dirent *d;
	cpu_set_t set;
	DIR *dir;
	int tid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!tid && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", (int)pid, d->d_name);
		if (!hvb_read_file(path, comm, sizeof(comm)) && !strncmp(comm, "CPU 0/", 6))
			tid = atoi(d->d_name);
	}
	closedir(dir);
	if (!tid)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : tid;
}

/* Console text: to the run log, control bytes escaped, within a budget. */
static void on_text(void *arg, const char *text, size_t len)
{
	struct qemu_job *q = arg;
	char buf[HVB_CONSOLE_TEXT_MAX * 4 + 1];
	size_t o = 0;

	if (q->log_used + len > QEMU_LOG_BUDGET) {
		q->log_dropped++;
		return;
	}
	q->log_used += len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
	}
	buf[o] = '\0';
	if (o)
		hvb_sink_log(q->sink, q->runner->name, "console: %s", buf);
}

static void record_boot(struct qemu_job *q, uint64_t stamp, const struct hvb_record *rec)
{
	const struct hvb_job *job = q->job;
	double ms = (double)(stamp - q->t_start) / 1e6;
	char note[HVB_TEXT_MAX * 2];
	int n;

	n = snprintf(note, sizeof(note), "QEMU fork -> first workload instruction (HELLO)");
	if (job->tsc_khz && rec->u64[1] > rec->u64[0] && rec->u64[0])
		n += snprintf(note + n, sizeof(note) - (size_t)n,
			      "; of which guest PVH entry -> first workload %.3f ms by guest TSC",
			      (double)(rec->u64[1] - rec->u64[0]) / (double)job->tsc_khz);
	if (!conf_of(q->runner)->kvm)
		snprintf(note + n, sizeof(note) - (size_t)n, "; emulated (TCG): not performance");
	hvb_sink_sample(q->sink, q->runner->name, "boot", "boot_ms", "ms", HVB_LOWER_IS_BETTER,
			job->rep, ms, HVB_ST_OK, note);
	q->boot_recorded = true;
}

/*
 * A workload the guest skipped for want of a capability that failed the
 * probe: its row says what the probe found, within the record's text field
 * (the whole story is in meta.csv, runner.qemu-kvm.caps_probe).
 */
static const struct hvb_record *note_probe(const struct hvb_record *rec, struct hvb_record *copy)
{
	char buf[HVB_TEXT_MAX];
	const char *why;
	size_t n;

	if (rec->type != HVB_REC_STATUS || rec->status != HVB_ST_SKIPPED ||
	    !(why = qemu_probe_failure(rec->workload, buf, sizeof(buf))))
		return rec;
	*copy = *rec;
	n = strnlen(copy->text, sizeof(copy->text));
	snprintf(copy->text + n, sizeof(copy->text) - n, "%sprobe: %s", n ? "; " : "", why);
	return copy;
}

static int on_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct qemu_job *q = arg;
	bool had_hello = q->consumer.hello;
	struct hvb_record copy;

	(void)seq;
	if (hvb_rec_deliver(&q->consumer, note_probe(rec, &copy)))
		return -EPROTO;
	if (!had_hello && q->consumer.hello)
		record_boot(q, q->stream.line_stamp, rec);
	return 0;
}

/* Keep the last QEMU_STDERR_TAIL bytes of QEMU's stderr. */
static void err_append(struct qemu_job *q, const char *buf, size_t n)
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
void qemu_err_summary(const struct qemu_job *q, char *out, size_t len)
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

enum qemu_end qemu_collect(struct qemu_job *q, int out_fd, int err_fd)
{
	struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	char buf[16384];

	while (p[0].fd >= 0) {
		int64_t left = (int64_t)(q->deadline - hvb_now_ns());
		ssize_t n;

		if (hvb_interrupted)
			return QEMU_END_INTERRUPT;
		if (left <= 0)
			return QEMU_END_TIMEOUT;
		if (!q->vcpu_tid && q->job->cpu >= 0)
			q->vcpu_tid = pin_vcpu_thread(q->pid, q->job->cpu);
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
		q->stream.stamp = hvb_now_ns();
		if (hvb_console_stream_feed(&q->stream, buf, (size_t)n))
			return QEMU_END_PROTO;
	}
	/* Drain what QEMU said on the way out. */
	while (p[1].fd >= 0 && poll(&p[1], 1, 500) > 0) {
		ssize_t n = read(err_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		err_append(q, buf, (size_t)n);
	}
	return hvb_console_stream_finish(&q->stream) ? QEMU_END_PROTO : QEMU_END_EOF;
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
int qemu_reap(pid_t pid, bool must_stop)
{
	int status = 0;

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

/* Verdict from how the job ended; empty = clean. */
static void verdict(struct qemu_job *q, enum qemu_end end, int status, char *why, size_t len)
{
	const struct hvb_rec_consumer *c = &q->consumer;
	char tail[QEMU_STDERR_TAIL + 1];
	int code;

	qemu_err_summary(q, tail, sizeof(tail));
	why[0] = '\0';
	switch (end) {
	case QEMU_END_TIMEOUT:
		snprintf(why, len, "guest timed out after %.0f s (%s); QEMU stopped",
			 q->job->timeout_s, c->hello ? "it had started" : "it never said hello");
		return;
	case QEMU_END_INTERRUPT:
		snprintf(why, len, "interrupted");
		return;
	case QEMU_END_PROTO:
		snprintf(why, len, "protocol error: %s", c->error);
		return;
	case QEMU_END_EOF:
		break;
	}
	if (WIFSIGNALED(status)) {
		snprintf(why, len, "QEMU killed by signal %d (%s)%s%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), *tail ? ": " : "", tail);
		return;
	}
	code = WEXITSTATUS(status);
	/* isa-debug-exit makes QEMU exit with (value << 1) | 1; QEMU's own
	 * errors exit with 1 too, but then no record line ever arrived. */
	if (!q->stream.stats.records && !q->stream.stats.corrupt) {
		snprintf(why, len, "QEMU exited with status %d before the guest started%s%s", code,
			 *tail ? ": " : " (no message)", tail);
		return;
	}
	if (code & 1) {
		code >>= 1;
		if (code == HVB_EXIT_OK && c->done)
			return;
		snprintf(why, len, "guest exited with code %d (%s)", code,
			 code == HVB_EXIT_BADCMD  ? "command line not understood"
			 : code == HVB_EXIT_FAULT ? "guest fault, see log"
			 : code == HVB_EXIT_PANIC ? "guest runtime gave up, see log"
			 : code == HVB_EXIT_OK	  ? "ok, but no DONE record arrived"
						  : "unknown code");
		return;
	}
	if (code == 0 && c->done)
		return; /* the guest powered off after DONE */
	snprintf(why, len,
		 "guest stopped without finishing (QEMU status %d: triple fault, reset "
		 "or poweroff)%s%s",
		 code, *tail ? ": " : "", tail);
}

static void log_damage(struct qemu_job *q)
{
	const struct hvb_console_stats *st = &q->stream.stats;

	if (st->corrupt || st->lost || st->duplicates || st->overlong)
		hvb_sink_log(q->sink, q->runner->name,
			     "console damage: %lu corrupt lines, %lu records lost, %lu duplicates "
			     "dropped, %lu over-long lines (%llu bytes discarded)",
			     st->corrupt, st->lost, st->duplicates, st->overlong,
			     st->discarded_bytes);
	if (q->log_dropped)
		hvb_sink_log(q->sink, q->runner->name,
			     "console: %lu more text lines not logged (budget %d bytes)",
			     q->log_dropped, QEMU_LOG_BUDGET);
}

static void log_pinning(struct qemu_job *q)
{
	const char *name = q->runner->name;
	int cpu = q->job->cpu;

	if (cpu < 0)
		hvb_sink_log(q->sink, name, "vCPU thread: unpinned");
	else if (q->vcpu_tid > 0)
		hvb_sink_log(q->sink, name,
			     "vCPU thread %d pinned to cpu %d (other QEMU threads "
			     "unpinned)",
			     q->vcpu_tid, cpu);
	else if (q->vcpu_tid < 0)
		hvb_sink_log(q->sink, name, "vCPU thread: pinning to cpu %d failed: %s", cpu,
			     strerror(-q->vcpu_tid));
	else
		hvb_sink_log(q->sink, name, "vCPU thread: not found, not pinned");
}

/* What QEMU said on stderr (warnings, or why it failed), for the log. */
static void log_stderr(struct qemu_job *q)
{
	char tail[QEMU_STDERR_TAIL + 1];

	qemu_err_summary(q, tail, sizeof(tail));
	if (*tail)
		hvb_sink_log(q->sink, q->runner->name, "QEMU stderr (last %d bytes at most): %s",
			     QEMU_STDERR_TAIL, tail);
}

int qemu_spawn(char **argv, bool thp_off, int *out_fd, int *err_fd, pid_t *pid)
{
	int out[2], err[2];

	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		close(out[0]), close(out[1]);
		return -errno;
	}
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		int e = -errno;
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		return e;
	}
	if (*pid == 0)
		exec_qemu(argv, out[1], err[1], thp_off);
	close(out[1]);
	close(err[1]);
	*out_fd = out[0];
	*err_fd = err[0];
	return 0;
}

static int qemu_run(const struct hvb_runner *r, const struct hvb_job *job, struct hvb_sink *sink)
{
	const struct qemu_conf *conf = conf_of(r);
	struct qemu_job *q = xcalloc(1, sizeof(*q));
	char img[4096], why[QEMU_STDERR_TAIL + 256], **argv, *append;
	enum qemu_end end;
	int out_fd = -1, err_fd = -1, status, e;
	pid_t pid = -1;

	q->runner = r;
	q->job = job;
	q->sink = sink;
	qemu_guest_image(img, sizeof(img));
	append = build_cmdline(job, job_caps(r, job, sink));
	argv = qemu_argv(conf, img, append);
	hvb_rec_init(&q->consumer, r->name, job, sink);
	hvb_console_stream_init(&q->stream, on_record, on_text, q);

	log_argv(sink, r->name, job->rep, argv);
	q->t_start = hvb_now_ns();
	describe_pages(r, job, sink);
	e = qemu_spawn(argv, job->page_kib != HVB_PAGE_2M, &out_fd, &err_fd, &pid);
	q->pid = pid;
	if (e) {
		snprintf(why, sizeof(why), "cannot start QEMU: %s", strerror(-e));
		goto out;
	}
	q->deadline = q->t_start + (uint64_t)(job->timeout_s * 1e9);
	end = qemu_collect(q, out_fd, err_fd);
	status = qemu_reap(pid, end != QEMU_END_EOF);
	close(out_fd);
	close(err_fd);
	verdict(q, end, status, why, sizeof(why));
	log_damage(q);
	log_stderr(q);
	log_pinning(q);
	if (end == QEMU_END_INTERRUPT)
		e = -EINTR;
out:
	if (why[0])
		hvb_sink_log(sink, r->name, "rep %u: %s", job->rep, why);
	if (!q->boot_recorded && e != -EINTR)
		hvb_sink_sample(sink, r->name, "boot", "boot_ms", "ms", HVB_LOWER_IS_BETTER,
				job->rep, 0, HVB_ST_FAILED,
				why[0] ? why
				: q->stream.stats.records
				    ? "the HELLO record was lost on the console"
				    : "the guest never said HELLO");
	hvb_rec_finish(&q->consumer, why[0] ? why : NULL);
	qemu_argv_free(argv);
	free(append);
	free(q);
	return e == -EINTR ? -EINTR : 0;
}

/* Listed in reverse definition order: qemu-kvm first. */
static const struct hvb_runner qemu_tcg_runner = {
    .name = "qemu-tcg",
    .desc = "the guest image under QEMU TCG emulation (functional checks, not performance)",
    .emulated = true,
    .in_default = false,
    .available = qemu_tcg_available,
    .describe = qemu_describe,
    .run = qemu_run,
};
HVB_RUNNER(qemu_tcg_runner);

static const struct hvb_runner qemu_kvm_runner = {
    .name = "qemu-kvm",
    .desc = "the guest image under QEMU on /dev/kvm (the full-featured peer VMM)",
    .in_default = true,
    .available = qemu_kvm_available,
    .describe = qemu_describe,
    .run = qemu_run,
};
HVB_RUNNER(qemu_kvm_runner);
