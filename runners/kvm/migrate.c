/*
 * Live migration of a kvm job's guest to a second reference-core process
 * on this host (hvbench migrate, HVB_KVM_MIGRATE; hv/migrate.h does the
 * migration itself).
 *
 * The source is the job: it boots the guest as always and, before the
 * guest runs, starts the destination, `hvbench migrate-dest` (fork + exec
 * of this binary, so the destination shares nothing with the source but
 * the socket) with an empty VM of the same shape, and a migration thread.
 * That thread waits for the first REP_BEGIN of migrate/dirty, lets the
 * guest dirty for after_ms, then migrates.  From the destination's answer
 * on, the destination runs the guest and sends back everything the guest
 * reports (records, console lines, its verdict) over the same socket: the
 * thread hands them to the job's record consumer, so the run's rows come
 * out as from any job.
 *
 * Failures: a destination that dies (or a stream that breaks) before the
 * guest runs there stops the guest on the source: the job ends with a
 * host error naming what happened, and the destination is killed and
 * reaped.  A destination that dies afterwards ends the relay the same
 * way.  A source that dies takes the destination with it (PR_SET_PDEATHSIG;
 * a broken socket ends its run too).  No VM is left running.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "iothread.h"
#include "irqchip.h"
#include "kvm.h"
#include "mem.h"
#include "migrate.h"
#include "migrate_guest.h"
#include "util.h"
#include "watchdog.h"

/* Messages from the destination once its guest runs: u32 type, u32 len,
 * len bytes. */
enum { MSG_RECORD = 'C', MSG_CONSOLE = 'T', MSG_LOG = 'L', MSG_VERDICT = 'V' };
#define MSG_MAX 512

struct mig_verdict {
	int32_t outcome, guest_code;
	char msg[256];
};

struct kvm_mig {
	struct kvm_job *kj;
	struct hvb_mig_cfg cfg;
	int fd;		      /* the socket to the destination */
	pid_t dest;	      /* its process (0: none) */
	pthread_t thread;
	bool started;	      /* the thread exists */
	uint64_t go_ns;	      /* atomic: REP_BEGIN of migrate/dirty, 0 = not yet */
	unsigned rep;	      /* that repetition */
	bool quit;	      /* atomic: the job is over without a migration */
	/* Outcome, written by the thread, read after its join. */
	bool migrated;	      /* the guest runs on the destination */
	bool failed;
	bool have_verdict;
	struct mig_verdict verdict;
	struct hv_mig_stats st;
	double guest_gap_ns;  /* req_ns.max of the migrated repetition (-1 none) */
	char why[400];
	void (*on_rep)(void *arg, const struct hvb_record *rec, bool begin);
};

/* ------------------------------------------------------------ source */

int kvm_mig_prepare(struct kvm_job *kj, char *why, size_t len)
{
	const struct hvb_mig_cfg *m = &kj->job->cfg->migrate;
	int r;

	if (!m->on || kj->probing)
		return 0;
	if (hv_dirty_probe(kj->vm, m->dirty, why, len))
		return -EOPNOTSUPP;
	if (m->dirty == HV_DIRTY_RING && (r = hv_dirty_ring_enable(kj->vm))) {
		snprintf(why, len, "migration: cannot enable the dirty ring: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The host CPU vCPU i of the job is pinned to, -1 for none (as
 * describe_placement in kvm.c reads the job). */
static int vcpu_cpu(const struct hvb_job *job, unsigned i)
{
	return i < job->vcpus ? job->cpus[i] : i ? -1 : job->cpu;
}

/* The destination: this binary again, `migrate-dest`, on the socket. */
static int spawn_dest(struct kvm_mig *mg, int fd, char *why, size_t len)
{
	const struct hvb_job *job = mg->kj->job;
	char fds[16], mem[32], chip[16], tmo[32], vcpus[16], cpus[HVB_MAX_VCPUS * 6 + 1] = "";
	pid_t parent = getpid(), pid;
	size_t at = 0;

	snprintf(fds, sizeof(fds), "%d", fd);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)job->cfg->guest_mem_mib);
	snprintf(chip, sizeof(chip), "%s", hv_irqchip_name(mg->kj->vm->irqchip));
	snprintf(tmo, sizeof(tmo), "%.0f", job->timeout_s > 0 ? job->timeout_s : 600);
	snprintf(vcpus, sizeof(vcpus), "%u", mg->kj->vm->n_vcpus);
	/* Each destination vCPU pinned where the source's was (-1: not). */
	for (unsigned i = 0; i < mg->kj->vm->n_vcpus && at < sizeof(cpus); i++)
		at += (size_t)snprintf(cpus + at, sizeof(cpus) - at, "%s%d", i ? "," : "",
				       vcpu_cpu(job, i));
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "migration: cannot start the destination: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		/* Dies with the source, whatever kills it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		execl("/proc/self/exe", "hvbench", "migrate-dest", "--fd", fds, "--mem-mib", mem,
		      "--irqchip", chip, "--timeout", tmo, "--vcpus", vcpus, "--cpus", cpus,
		      (char *)NULL);
		_exit(127);
	}
	mg->dest = pid;
	return 0;
}

#define PAUSED "paused: the guest moved to the destination"

/* Every vCPU's thread past vcpu_run: vCPU 0's (vcpu_out) and each AP's. */
static bool vcpus_out(struct kvm_job *kj)
{
	if (!__atomic_load_n(&kj->vcpu_out, __ATOMIC_ACQUIRE))
		return false;
	for (unsigned i = 1; i < kj->vm->n_vcpus; i++) {
		const struct hv_ap *ap = &kj->smp.ap[i];

		if (ap->started && !__atomic_load_n(&ap->done, __ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

/* The pause of hv_migrate_send: every vCPU out of KVM_RUN (and its thread
 * past vcpu_run), so that no vCPU writes memory or changes its state
 * while the last pages and the states go. */
static int mig_pause(void *arg)
{
	struct kvm_mig *mg = arg;
	struct kvm_job *kj = mg->kj;
	uint64_t t0 = hv_now_ns();

	/* A guest that ended on the source meanwhile (its last exit taken,
	 * its records delivered here) must not be resumed after its end:
	 * vm_stop keeps the first verdict: ours, or the guest's own end. */
	vm_stop(kj->vm, NULL, HV_INTERRUPTED, "%s", PAUSED);
	if (__atomic_load_n(&kj->vm->verdict.outcome, __ATOMIC_ACQUIRE) != HV_INTERRUPTED ||
	    strcmp(kj->vm->verdict.msg, PAUSED))
		return -ECANCELED;
	/* The APs first: vCPU 0, once out, joins their threads. */
	for (unsigned i = 1; i < kj->vm->n_vcpus; i++)
		if (kj->smp.ap[i].started)
			vcpu_kick(kj->vm->vcpus[i], kj->smp.ap[i].thread);
	vcpu_kick(kj->vcpu, kj->vcpu_main);
	while (!vcpus_out(kj))
		if (hv_now_ns() - t0 > 5000000000ull)
			return -ETIMEDOUT;
	return 0;
}

static int read_exact(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, (uint8_t *)p + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k ? -errno : -EPIPE;
		got += (size_t)k;
	}
	return 0;
}

/* A relayed record: delivered, and req_ns.max of migrate/dirty's
 * migrated repetition kept as the guest-observed downtime. */
static int relay_record(struct kvm_mig *mg, const struct hvb_record *rec)
{
	char why[200];
	double gap = hvb_mig_guest_gap(rec, mg->rep);

	if (gap >= 0)
		mg->guest_gap_ns = gap;
	if (mg->kj->deliver(mg->kj, rec, why, sizeof(why))) {
		snprintf(mg->why, sizeof(mg->why), "after the migration: %s", why);
		return -EPROTO;
	}
	return 0;
}

/* After the move: the destination's messages until its verdict. */
static void relay(struct kvm_mig *mg)
{
	uint8_t buf[MSG_MAX + 1];
	uint32_t head[2];

	for (;;) {
		int r = read_exact(mg->fd, head, sizeof(head));

		if (!r && head[1] > MSG_MAX)
			r = -EPROTO;
		if (!r)
			r = read_exact(mg->fd, buf, head[1]);
		if (r) {
			snprintf(mg->why, sizeof(mg->why),
				 "the destination went away after the migration, before the guest "
				 "ended there (%s)", r == -EPIPE ? "its socket closed" : strerror(-r));
			mg->failed = true;
			return;
		}
		if (head[0] == MSG_RECORD && head[1] == sizeof(struct hvb_record)) {
			if (relay_record(mg, (const struct hvb_record *)buf)) {
				mg->failed = true;
				return;
			}
		} else if (head[0] == MSG_CONSOLE) {
			buf[head[1]] = '\0';
			hvb_out_log(mg->kj->out, "guest console (destination): %s", (char *)buf);
		} else if (head[0] == MSG_LOG) {
			buf[head[1]] = '\0';
			hvb_out_log(mg->kj->out, "migration: destination %s", (char *)buf);
		} else if (head[0] == MSG_VERDICT && head[1] == sizeof(mg->verdict)) {
			memcpy(&mg->verdict, buf, sizeof(mg->verdict));
			mg->verdict.msg[sizeof(mg->verdict.msg) - 1] = '\0';
			mg->have_verdict = true;
			return;
		}
	}
}

static void on_round(void *arg, unsigned round, uint64_t dirty)
{
	struct kvm_mig *mg = arg;

	hvb_out_log(mg->kj->out, "migration: round %u sent, %llu pages dirty", round,
		    (unsigned long long)dirty);
}

/* Wait for migrate/dirty's first repetition and after_ms into it; false
 * if the job ended first. */
static bool wait_for_go(struct kvm_mig *mg)
{
	const struct timespec ms = {0, 1000000};
	uint64_t go;

	while (!(go = __atomic_load_n(&mg->go_ns, __ATOMIC_ACQUIRE)))
		if (__atomic_load_n(&mg->quit, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&mg->kj->vcpu_out, __ATOMIC_ACQUIRE))
			return false;
		else
			nanosleep(&ms, NULL);
	while (hv_now_ns() < go + mg->cfg.after_ms * 1000000ull)
		if (__atomic_load_n(&mg->kj->vcpu_out, __ATOMIC_ACQUIRE))
			return false;
		else
			nanosleep(&ms, NULL);
	return true;
}

static void *mig_thread(void *arg)
{
	struct kvm_mig *mg = arg;
	struct kvm_job *kj = mg->kj;
	struct hv_mig_opts o = {
		.mode = mg->cfg.dirty,
		.bandwidth = mg->cfg.bw_mib << 20,
		.downtime_ns = mg->cfg.downtime_ms * 1000000ull,
		.max_rounds = mg->cfg.rounds,
		.pause = mig_pause,
		.on_round = on_round,
		.arg = mg,
	};
	int r;

	if (!wait_for_go(mg)) {
		snprintf(mg->why, sizeof(mg->why), "not migrated: the guest ended before %s's "
			 "first repetition had run %llu ms", HVB_MIGRATE_WORKLOAD,
			 (unsigned long long)mg->cfg.after_ms);
		return NULL;
	}
	r = hv_migrate_send(kj->vm, mg->fd, &o, &mg->st, mg->why, sizeof(mg->why));
	if (r == -ECANCELED) {
		snprintf(mg->why, sizeof(mg->why), "not migrated: the guest ended on the source "
			 "during pre-copy round %u (give the workload more --batches, or a faster "
			 "link)", mg->st.rounds);
		return NULL;
	}
	if (r) {
		mg->failed = true;
		/* Not moved: the guest must not go on here either. */
		vm_stop(kj->vm, NULL, HV_HOST_ERROR, "migration failed: %.220s", mg->why);
		vcpu_kick(kj->vcpu, kj->vcpu_main);
		return NULL;
	}
	mg->migrated = true;
	hvb_out_log(kj->out, "migration: done in %u rounds (%s), %llu bytes, downtime %.3f ms, "
		    "total %.3f ms; the guest runs on the destination (pid %d)",
		    mg->st.rounds, mg->st.converged ? "converged" : "not converged: round limit",
		    (unsigned long long)mg->st.bytes_sent, (double)mg->st.downtime_ns / 1e6,
		    (double)mg->st.total_ns / 1e6, (int)mg->dest);
	relay(mg);
	return NULL;
}

/* REP_BEGIN of migrate/dirty: the migration may start (vCPU thread, no
 * system call: it only stores the time). */
static void mig_on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct kvm_job *kj = arg;
	struct kvm_mig *mg = kj->mig;

	if (begin && !__atomic_load_n(&mg->go_ns, __ATOMIC_RELAXED) &&
	    !strcmp(rec->workload, HVB_MIGRATE_WORKLOAD)) {
		mg->rep = rec->rep;
		__atomic_store_n(&mg->go_ns, hv_now_ns(), __ATOMIC_RELEASE);
	}
	/* The probes of a migrated repetition would be the source's, which
	 * stopped: no runner rows for it. */
	if (mg->on_rep && !mg->migrated)
		mg->on_rep(arg, rec, begin);
}

int kvm_mig_start(struct kvm_job *kj, char *why, size_t len)
{
	struct kvm_mig *mg;
	char spec[200];
	int sv[2], r;

	if (!kj->job->cfg->migrate.on || kj->probing)
		return 0;
	mg = kj->mig = xcalloc(1, sizeof(*mg));
	mg->kj = kj;
	mg->cfg = kj->job->cfg->migrate;
	mg->guest_gap_ns = -1;
	mg->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		snprintf(why, len, "migration: socketpair: %s", strerror(errno));
		return -errno;
	}
	/* The destination's end survives its exec; ours does not. */
	fcntl(sv[1], F_SETFD, 0);
	r = spawn_dest(mg, sv[1], why, len);
	close(sv[1]);
	mg->fd = sv[0];
	if (r)
		return r;
	mg->on_rep = kj->c.on_rep;
	kj->c.on_rep = mig_on_rep;
	hvb_mig_cfg_format(&mg->cfg, spec, sizeof(spec));
	hvb_out_meta(kj->out, "migrate", spec);
	hvb_out_metaf(kj->out, "migrate_vcpus", "%u (every one paused, its state sent, and run "
		      "on its own thread at the destination)", kj->vm->n_vcpus);
	hvb_out_metaf(kj->out, "migrate_tsc",
		      "the TSC offset moves with the vCPU (not IA32_TSC): one host, so the "
		      "guest's TSC is continuous and a gap in it is time it did not run");
	r = pthread_create(&mg->thread, NULL, mig_thread, mg);
	if (r) {
		snprintf(why, len, "migration: cannot start its thread: %s", strerror(r));
		return -r;
	}
	mg->started = true;
	return 0;
}

static void row(struct kvm_mig *mg, const char *metric, const char *unit, int better,
		double value, const char *note)
{
	hvb_out_sample(mg->kj->out, .workload = HVB_MIGRATE_WORKLOAD, .metric = metric,
		       .unit = unit, .better = better, .rep = mg->rep, .value = value,
		       .status = HVB_ST_OK, .note = note);
}

/* The migration's rows (results/FORMAT.md "Migration rows"): the migrate.*
 * names and units QEMU's runner writes too, so compare and the report line
 * the two up. */
static void write_rows(struct kvm_mig *mg)
{
	const struct hv_mig_stats *st = &mg->st;
	char note[300], spec[200];
	double dirty_mb_s = st->precopy_ns ? (double)st->dirty_pages * 4096 * 1e3 /
						     (double)st->precopy_ns : 0;

	hvb_mig_cfg_format(&mg->cfg, spec, sizeof(spec));
	snprintf(note, sizeof(note), "%s; %s after %u round(s); reference core, two processes over "
		 "a unix socket", spec, st->converged ? "converged" : "not converged: round limit",
		 st->rounds);
	row(mg, "migrate.total_ms", "ms", HVB_LOWER_IS_BETTER, (double)st->total_ns / 1e6, note);
	row(mg, "migrate.downtime_ms", "ms", HVB_LOWER_IS_BETTER, (double)st->downtime_ns / 1e6,
	    "VMM-measured: the vCPU's stop -> the destination's answer that it runs");
	if (mg->guest_gap_ns > 0)
		row(mg, HVB_MIG_GUEST_DOWNTIME, "ms", HVB_LOWER_IS_BETTER, mg->guest_gap_ns / 1e6,
		    HVB_MIG_GUEST_DOWNTIME_NOTE);
	row(mg, "migrate.bytes", "bytes", HVB_LOWER_IS_BETTER, (double)st->bytes_sent, note);
	row(mg, "migrate.rounds", "rounds", HVB_LOWER_IS_BETTER, st->rounds, note);
	row(mg, "migrate.converged", "bool", HVB_HIGHER_IS_BETTER, st->converged, note);
	row(mg, "migrate.final_pages", "pages", HVB_LOWER_IS_BETTER, (double)st->final_pages,
	    "pages sent while the vCPU was stopped");
	if (dirty_mb_s > 0)
		row(mg, "migrate.dirty_rate_vmm", "MB/s", HVB_HIGHER_IS_BETTER, dirty_mb_s,
		    "pages found dirty after the pre-copy rounds x 4 KiB / pre-copy time (the "
		    "dirty log's view of the guest's rate)");
}

/* The job's verdict now that the guest ran where it ran. */
static void set_verdict(struct kvm_mig *mg)
{
	struct hv_verdict *v = &mg->kj->vm->verdict;

	if (mg->failed) {
		*v = (struct hv_verdict){.outcome = HV_HOST_ERROR};
		snprintf(v->msg, sizeof(v->msg), "migration failed: %.220s", mg->why);
	} else if (mg->migrated && mg->have_verdict) {
		*v = (struct hv_verdict){.outcome = (enum hv_outcome)mg->verdict.outcome,
					 .guest_code = mg->verdict.guest_code};
		snprintf(v->msg, sizeof(v->msg), "on the destination: %.200s", mg->verdict.msg);
	}
}

void kvm_mig_finish(struct kvm_job *kj)
{
	struct kvm_mig *mg = kj->mig;
	int status;

	if (!mg)
		return;
	__atomic_store_n(&mg->quit, true, __ATOMIC_RELEASE);
	if (mg->started)
		pthread_join(mg->thread, NULL);
	if (mg->failed || !mg->migrated)
		hvb_out_log(kj->out, "migration: %s", mg->why);
	if (mg->fd >= 0)
		close(mg->fd);
	if (mg->dest > 0) {
		/* It ends by itself after its verdict; otherwise it must not
		 * outlive the job. */
		if (!mg->have_verdict)
			kill(mg->dest, SIGKILL);
		if (waitpid(mg->dest, &status, 0) == mg->dest)
			hvb_out_log(kj->out, "migration: the destination (pid %d) %s %d", (int)mg->dest,
				    WIFSIGNALED(status) ? "died of signal" : "exited with",
				    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	if (mg->migrated && !mg->failed)
		write_rows(mg);
	set_verdict(mg);
	kj->c.on_rep = mg->on_rep;
	free(mg);
	kj->mig = NULL;
}

/* ------------------------------------------------------------ destination */

struct dest {
	int fd;
	struct vm *vm;
	struct hv_console con;
	struct hv_hvb hvb;
	struct hv_smp smp;		 /* vCPUs 1.. on their own threads */
	unsigned n_vcpus;
	int cpus[HV_MAX_VCPUS];		 /* each vCPU's host CPU, as the source's (-1: none) */
	pthread_mutex_t lock;		 /* one message at a time, from any vCPU's thread */
	bool broken; /* the socket to the source failed: stop the guest */
};

static int send_msg(struct dest *d, uint32_t type, const void *p, uint32_t n)
{
	uint32_t head[2] = {type, n};
	uint8_t buf[sizeof(head) + MSG_MAX];
	size_t want = sizeof(head) + n;

	memcpy(buf, head, sizeof(head));
	memcpy(buf + sizeof(head), p, n);
	pthread_mutex_lock(&d->lock);
	/* A signal (the watchdog's kick) may cut a send short: go on. */
	for (size_t sent = 0; sent < want && !d->broken;) {
		ssize_t k = send(d->fd, buf + sent, want - sent, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			d->broken = true;
		else
			sent += (size_t)k;
	}
	pthread_mutex_unlock(&d->lock);
	return d->broken ? -EPIPE : 0;
}

static int dest_record(void *arg, struct vcpu *vcpu, const struct hvb_record *rec, char *why,
		       size_t len)
{
	struct dest *d = arg;

	(void)vcpu;
	if (!send_msg(d, MSG_RECORD, rec, sizeof(*rec)))
		return 0;
	snprintf(why, len, "the source went away (its socket broke): the guest stops here");
	return -1;
}

static void dest_console(void *arg, const char *text)
{
	struct dest *d = arg;
	size_t n = strlen(text);

	send_msg(d, MSG_CONSOLE, text, (uint32_t)(n > MSG_MAX ? MSG_MAX : n));
}

/* The source's vCPUs, each with CPUID and LAPIC; their state (registers,
 * LAPIC, mp_state: an AP halted or running) comes with the stream. */
static int dest_vcpus(struct dest *d, char *why, size_t len)
{
	for (unsigned i = 0; i < d->n_vcpus; i++) {
		struct vcpu *v;
		int r;

		if ((r = vcpu_create(d->vm, (int)i, &v)) || (r = vcpu_cpuid_init(v)) ||
		    (r = vcpu_lapic_setup(v))) {
			snprintf(why, len, "vCPU %u: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* The source's shape: RAM, irqchip, its vCPUs, the console and the
 * hvbench device (records go back to the source). */
static int dest_vm(struct dest *d, uint64_t mem_mib, enum hv_irqchip chip, char *why, size_t len)
{
	int r = vm_create(&d->vm, NULL);

	if (!r && (r = vm_irqchip_create(d->vm, chip)))
		snprintf(why, len, "irqchip %s: %s", hv_irqchip_name(chip), strerror(-r));
	else if (!r && (r = vm_mem_add(d->vm, 0, mem_mib << 20)))
		snprintf(why, len, "%llu MiB of RAM: %s", (unsigned long long)mem_mib, strerror(-r));
	else if (!r && (r = dest_vcpus(d, why, len)))
		;
	else if (!r && (r = dev_console_attach(d->vm, &d->con, 0, dest_console, d)))
		snprintf(why, len, "console: %s", strerror(-r));
	if (!r) {
		d->hvb.record = dest_record;
		d->hvb.arg = d;
		if ((r = dev_hvb_attach(d->vm, &d->hvb)))
			snprintf(why, len, "hvbench device: %s", strerror(-r));
	}
	if (r && !why[0])
		snprintf(why, len, "cannot create a VM: %s", strerror(-r));
	return r;
}

/* --cpus C0,C1,...: one host CPU (or -1) per vCPU. */
static int dest_cpus(struct dest *d, const char *list)
{
	unsigned n = 0;

	for (const char *p = list; *p && n < HV_MAX_VCPUS; n++) {
		char *end;
		long c = strtol(p, &end, 10);

		if (end == p || c < -1 || (*end && *end != ','))
			return -EINVAL;
		d->cpus[n] = (int)c;
		p = *end ? end + 1 : end;
	}
	return n == d->n_vcpus ? 0 : -EINVAL;
}

static int dest_args(struct dest *d, int argc, char **argv, uint64_t *mem, enum hv_irqchip *chip,
		     double *timeout)
{
	bool have_fd = false, have_mem = false;
	const char *cpus = NULL;
	int *fd = &d->fd;

	d->n_vcpus = 1;
	for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
		d->cpus[i] = -1;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--fd"))
			*fd = atoi(v), have_fd = *fd >= 0;
		else if (!strcmp(k, "--mem-mib"))
			*mem = strtoull(v, NULL, 10), have_mem = *mem > 0;
		else if (!strcmp(k, "--irqchip") && !hv_irqchip_parse(v, chip))
			return -EINVAL;
		else if (!strcmp(k, "--timeout"))
			*timeout = atof(v);
		else if (!strcmp(k, "--vcpus"))
			d->n_vcpus = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "--cpus"))
			cpus = v;
		else if (strcmp(k, "--irqchip"))
			return -EINVAL;
	}
	if (!d->n_vcpus || d->n_vcpus > HV_MAX_VCPUS || (cpus && dest_cpus(d, cpus)))
		return -EINVAL;
	return have_fd && have_mem && !(argc % 2 == 0) ? 0 : -EINVAL;
}

/* Where each vCPU thread runs, in the source's log (MSG_LOG): beside the
 * source's runner.kvm.vcpuN.cpu. */
static void dest_placement(struct dest *d, unsigned i, int ran, int err)
{
	char t[160];

	if (d->cpus[i] < 0)
		snprintf(t, sizeof(t), "vCPU %u: ran on cpu %d (not pinned)", i, ran);
	else
		snprintf(t, sizeof(t), "vCPU %u: ran on cpu %d (pinned to %d%s%s)", i, ran,
			 d->cpus[i], err ? ": failed, " : "", err ? strerror(-err) : "");
	send_msg(d, MSG_LOG, t, (uint32_t)strlen(t));
}

/* vCPU 0 on this thread, the others on theirs (hv/smp.h), each pinned
 * as the source's was; false if an AP's KVM_RUN never came back (the VM
 * must then be left to the process's exit). */
static bool dest_run(struct dest *d, const struct hv_run_opts *o)
{
	int err = hv_thread_pin_self(d->cpus[0]), ran = sched_getcpu();
	bool joined = true;

	if (d->n_vcpus > 1)
		hv_smp_start(&d->smp, d->vm, d->cpus, o); /* a failure is the VM's verdict */
	vcpu_run(d->vm->vcpus[0], o);
	if (d->n_vcpus > 1)
		joined = !hv_smp_join(&d->smp, 5 * 1000000000ull);
	dest_placement(d, 0, ran, err);
	for (unsigned i = 1; i < d->n_vcpus; i++)
		dest_placement(d, i, d->smp.ap[i].cpu_first, d->smp.ap[i].pin_err);
	return joined;
}

int kvm_mig_dest_main(int argc, char **argv)
{
	struct dest d = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};
	struct hv_mig_recv_stats st;
	struct hv_run_opts o = {0};
	struct mig_verdict mv = {0};
	enum hv_irqchip chip = HV_IRQCHIP_SPLIT;
	uint64_t mem = 0;
	double timeout = 600;
	char why[400] = "";
	bool joined;
	int r;

	if (dest_args(&d, argc, argv, &mem, &chip, &timeout)) {
		fprintf(stderr, "hvbench migrate-dest: internal command of hvbench migrate (the kvm "
				"runner starts it): --fd N --mem-mib M --irqchip split|kernel|none "
				"--timeout S [--vcpus N --cpus C0,C1,...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((r = dest_vm(&d, mem, chip, why, sizeof(why)))) {
		fprintf(stderr, "hvbench migrate-dest: %s\n", why);
		return 1;
	}
	if ((r = hv_migrate_recv(d.vm, d.fd, &st, why, sizeof(why)))) {
		/* Nothing ran: the partial VM goes with the process. */
		fprintf(stderr, "hvbench migrate-dest: %s\n", why);
		return 1;
	}
	o.timeout_ns = (uint64_t)(timeout * 1e9);
	if (hv_migrate_resumed(d.fd))
		return 1;
	joined = dest_run(&d, &o);
	dev_console_flush(&d.con);
	mv.outcome = (int32_t)d.vm->verdict.outcome;
	mv.guest_code = d.vm->verdict.guest_code;
	snprintf(mv.msg, sizeof(mv.msg), "%s", d.vm->verdict.msg);
	r = d.broken ? -EPIPE : send_msg(&d, MSG_VERDICT, &mv, sizeof(mv));
	if (joined)
		vm_destroy(d.vm);
	return r ? 1 : 0;
}
