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
 *
 * Live migration (migrate.h): with HVB_QEMU_MIGRATE_AT_MS (or the migrate
 * command) the job's guest moves once to a second QEMU that writes into
 * the same serial pipe, so collecting goes on unchanged; the QEMU reaped
 * for the verdict is then the destination.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "config.h"
#include "disk.h"
#include "guest.h"
#include "host.h"
#include "hostcpu.h"
#include "kvm_qmp.h"
#include "migrate.h"
#include "netjob.h"
#include "prealloc.h"
#include "thread_placement.h"
#include "vmm_counters.h"
#include "qemu.h"
#include "records.h"
#include "runner.h"
#include "util.h"
#include "vhost_net.h"

#define QEMU_LOG_BUDGET (64 * 1024) /* console text logged per job */

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

static const struct hvb_runner qemu_kvm_runner, qemu_kvm_vhost_runner, qemu_tcg_runner;

/* The runner's variant: vhost=on for the job's virtio-net. */
#define QEMU_VARIANT_VHOST 1

static const struct qemu_conf *conf_of(const struct hvb_runner *r)
{
	return r == &qemu_tcg_runner ? &conf_tcg : &conf_kvm;
}

/* One job: a QEMU process and what the runner makes of what it said. */
struct qemu_job {
	struct qemu_proc proc;
	const struct hvb_runner *runner;
	const struct hvb_job *job;
	const struct hvb_out *out;
	struct hvb_rec_consumer consumer;
	struct hvb_console_stream stream;
	bool boot_recorded;
	struct hvb_hostcpu cpu;	   /* per_request workloads: all of QEMU's threads */
	struct hvb_netjob nj;	   /* net/: the job's namespace, tap and responder */
	struct qemu_kvm_stats kst; /* qemu-kvm: KVM's vCPU stats over QMP */
	struct hvb_vmm_counters vc; /* perf counters on QEMU's threads */
	/* qemu-kvm-vhost: QEMU's vhost worker, looked up at the first REP_BEGIN */
	bool vhost_looked;
	pid_t vhost_worker;	   /* 0: not found */
	bool vhost_kthread;	   /* a kernel thread (Linux < 6.4), not one of QEMU's */
	/* HVB_QEMU_MIGRATE_AT_MS (or the migrate command): the guest moves
	 * once to a second QEMU during the job (migrate.h). */
	bool mig_on;
	struct qemu_migrate mig;
	bool prefault;		   /* -S and a RAM backend populated over QMP */
	struct qemu_prealloc pre;  /* its socket, window and outcome (prealloc.h) */
	unsigned long mig_records_after; /* records read after the switch */
	size_t log_used;	   /* console text bytes logged */
	unsigned long log_dropped; /* console lines not logged (budget) */
};

/* ------------------------------------------------------------ environment */

static bool qemu_available(const struct qemu_conf *conf, const struct hvb_config *cfg, char *why,
			   size_t len)
{
	char exe[4096];

	if (hvb_find_exe(cfg->qemu_bin, exe, sizeof(exe))) {
		snprintf(why, len, "%s is not installed: apt-get install qemu-system-x86%s",
			 cfg->qemu_bin, strcmp(cfg->qemu_bin, "qemu-system-x86_64") ? " (or fix HVB_QEMU)" : "");
		return false;
	}
	if (conf->kvm && hvb_kvm_usable(why, len))
		return false;
	if (cfg->image.error) {
		snprintf(why, len, "%s", cfg->image.why);
		return false;
	}
	return true;
}

static bool qemu_kvm_available(const struct hvb_config *cfg, char *why, size_t len)
{
	return qemu_available(&conf_kvm, cfg, why, len);
}

static bool qemu_kvm_vhost_available(const struct hvb_config *cfg, char *why, size_t len)
{
	return qemu_available(&conf_kvm, cfg, why, len) && hvb_vhost_net_usable(why, len);
}

static bool qemu_tcg_available(const struct hvb_config *cfg, char *why, size_t len)
{
	return qemu_available(&conf_tcg, cfg, why, len);
}

/*
 * Capabilities granted to the guest (abi.h HVB_CAP_*) without a probe: the
 * userspace exit devices QEMU is given.  Under TCG the rest is a property
 * of QEMU's emulator, not of the host: ring 0 is a faithful x86 for cpuid
 * and MSRs, vmcall/vmmcall outside a nested guest raise #UD (no null
 * hypercall).  Under KVM the host decides (nested PVM emulates guest ring
 * 0 and may fault or hang on some instructions), so the capability probe
 * (probe.c) adds what really works.
 * HVB_CAP_IRQ: TCG emulates the LAPIC (xAPIC and x2APIC, TSC-deadline with
 * -cpu max) faithfully, so IPIs and timers are delivered; and with it
 * HVB_CAP_HLT: the guest then halts with interrupts on and the LAPIC timer
 * wakes it (micro/hlt-wake, about 15 us per wake-up measured under TCG).
 * Under KVM the LAPIC is in the host kernel, whose ring-0 path nested PVM
 * emulates: the interrupt probe (hvb_caps_probe_irq) decides both.
 */
static uint32_t base_caps(const struct qemu_conf *conf)
{
	uint32_t caps = HVB_CAP_PIO_USER | HVB_CAP_MMIO_USER;

	if (!conf->kvm)
		return caps | HVB_CAP_CPUID | HVB_CAP_MSR | HVB_CAP_IRQ | HVB_CAP_HLT |
		       HVB_CAP_EMULATED;
	return hvb_host_is_pvm() ? caps | HVB_CAP_PVM : caps;
}

/* The capabilities for a job: under KVM, probed at the first job of the
 * run (recorded in meta.csv and the log then), the cached answer after:
 * interrupt delivery first (with it, hlt-wake is woken by the timer, so
 * the other probes' boots run as the jobs will), then the rest. */
static uint32_t job_caps(const struct hvb_runner *r, const struct hvb_job *job,
			 const struct hvb_out *out, const char *image)
{
	const struct qemu_conf *conf = conf_of(r);
	struct qemu_probe_arg arg = { .conf = conf, .job = job, .image = image };
	uint32_t caps = base_caps(conf);

	if (!conf->kvm)
		return caps;
	caps |= hvb_caps_probe_irq(job->caps, job, out, caps, qemu_probe_boot, &arg);
	return caps | hvb_caps_probe(job->caps, job, out, caps, qemu_probe_boot, &arg);
}

/* ------------------------------------------------------------ describe */

/* First line of `qemu --version`, or why not. */
static void qemu_version(const struct hvb_config *cfg, char *buf, size_t len)
{
	char *cmd = xasprintf("'%s' --version 2>&1", cfg->qemu_bin);
	FILE *f = popen(cmd, "r");

	free(cmd);
	snprintf(buf, len, "unknown");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	pclose(f);
}

static void qemu_describe(const struct hvb_runner *r, const struct hvb_config *cfg,
			  const struct hvb_out *out)
{
	const struct qemu_conf *conf = conf_of(r);
	char buf[256], *line;

#define META(k, ...) hvb_out_metaf(out, k, __VA_ARGS__)
	qemu_version(cfg, buf, sizeof(buf));
	META("version", "%s", buf);
	line = qemu_machine_arg(cfg, false);
	META("machine", "%s", line);
	free(line);
	META("cpu", "%s", conf->cpu);
	META("accelerator", "%s", conf->accel);
	META("guest_mem_mib", "%llu", (unsigned long long)cfg->guest_mem_mib);
	META("firmware", "QEMU default for the machine (qboot for microvm, SeaBIOS for pc) + "
			 "PVH boot of -kernel");
	META("devices",
	     "isa-debugcon(null) at port 0x%x for pio-*-user; pc-testdev iomem at "
	     "0x%x for mmio-*-user; isa-debug-exit at 0xf4; serial 0x3f8 for records",
	     QEMU_PIO_USER, QEMU_MMIO_USER);
	META("smp", "--vcpus N: -smp N, the guest's BSP starts the APs with INIT-SIPI-SIPI "
		    "(smp=sipi); vCPU thread i ('CPU i/%s', -name debug-threads=on) pinned to "
		    "--cpus entry i (log: which thread where)",
	     conf->kvm ? "KVM" : "TCG");
	META("irq", "%s", conf->kvm ? "in-kernel LAPIC; HVB_CAP_IRQ as the interrupt probe "
				      "finds at the first job (replaced by its outcome)"
				    : "emulated LAPIC (xAPIC/x2APIC, TSC-deadline): HVB_CAP_IRQ, "
				      "and HVB_CAP_HLT (the LAPIC timer wakes hlt)");
	if (conf->kvm)
		META("caps", "0x%x (%s) + what the capability probe finds at the first job "
			     "(replaced by the job's caps once a guest booted)",
		     base_caps(conf), hvb_caps_names(base_caps(conf), buf, sizeof(buf)));
	else
		META("caps", "0x%x (%s)", base_caps(conf),
		     hvb_caps_names(base_caps(conf), buf, sizeof(buf)));
	if (qemu_blk_usable(cfg))
		META("blk", "qemu virtio-blk-device (virtio-mmio, modern) %s, raw file %s",
		     qemu_blk_cache(cfg->disk),
		     cfg->disk->odirect ? "with O_DIRECT" : "through the page cache (no O_DIRECT)");
	else if (cfg->disk)
		META("blk", "none: machine %s has no virtio-mmio (io/ needs microvm)",
		     cfg->qemu_machine);
	if (qemu_machine_microvm(cfg))
		META("net", "qemu virtio-net-device (virtio-mmio, modern), tap (the job's, fd "
			    "inherited), vhost=%s",
		     r->variant == QEMU_VARIANT_VHOST ? "on" : "off");
	else
		META("net", "none: machine %s has no virtio-mmio (net/ needs microvm)",
		     cfg->qemu_machine);
	META("guest_image", "%s", cfg->image.path);
	if (cfg->image.error)
		META("image_error", "%s", cfg->image.why);
	else
		META("image_sha256", "%s", cfg->image.sha256);
	META("boot_ms", "host clock: QEMU fork -> first byte of the guest's HELLO record "
			"on the serial line (HELLO is sent right after the first workload "
			"instruction's TSC read), less the window QEMU was paused populating "
			"guest RAM (prefault on)");
	/* Which probes bracket each repetition (FORMAT.md runner.<name>.probes):
	 * HVB_KVM_STATS and HVB_VMM_COUNTERS switch them. */
	if (conf->kvm)
		META("probes", "kvm-stats=%s vmm-counters=%s", hvb_on_off(cfg->kvm_stats),
		     hvb_on_off(cfg->qemu_vmm_counters));
	else
		META("probes", "vmm-counters=%s", hvb_on_off(cfg->qemu_vmm_counters));
	if (!conf->kvm)
		META("emulated", "yes: TCG full emulation; functional evidence only, not "
				 "performance (the guest TSC is QEMU's virtual clock)");
#undef META
}

/* ------------------------------------------------------------ the job */

/* --page-size: the guest's page tables (pt=4k) and QEMU's backing of RAM. */
static void describe_pages(const struct hvb_job *job, const struct hvb_out *out)
{
	hvb_out_meta(out, "page_size",
		      job->page_kib == HVB_PAGE_2M
			      ? "2m: guest page tables map RAM with 2 MiB pages; QEMU backs RAM "
				"with madvise(MADV_HUGEPAGE) (THP as the host's setting allows)"
			      : "4k: guest word pt=4k (4 KiB guest page tables); QEMU started "
				"with THP off (prctl PR_SET_THP_DISABLE): 4 KiB host backing");
}

/*
 * HVB_PREFAULT under qemu-kvm: QEMU starts paused with guest RAM as a
 * backend object, hvbench populates it over QMP, then resumes the guest
 * (prealloc.h), so STREAM's first touches of 768 MiB under nested PVM (a
 * host fault through PVM per 4 KiB page, 3-4 s a boot) become one shadow
 * fault per 8 pages (the guest's PTEs are accessed and dirty:
 * workloads/rt/mem.c).  The populate window is left out of boot_ms, as
 * kvm's prefault phase is: -mem-prealloc did it inside (boot_ms ~80-150 ms
 * -> ~320-400 ms for 1 GiB), hvbench's cost, not QEMU's boot.  Not under
 * TCG (no such fault to save) nor for a migrating job (QEMU's zero-page
 * scan would read populated pages).
 */
static bool prefault_wanted(const struct qemu_job *q)
{
	return q->job->cfg->prefault && conf_of(q->runner)->kvm && !q->mig_on;
}

static void describe_prefault(const struct qemu_job *q)
{
	if (q->prefault)
		hvb_out_meta(q->out, "prefault",
			     "on: QEMU started paused (-S), all guest RAM (memory-backend-ram "
			     QEMU_PREALLOC_BACKEND ") populated over QMP (qom-set prealloc), then cont; "
			     "outside boot_ms (boot phase prefault(not-in-boot_ms))");
	else if (!conf_of(q->runner)->kvm)
		hvb_out_meta(q->out, "prefault", "off: TCG (no host fault per guest page to save)");
	else if (q->mig_on)
		hvb_out_meta(q->out, "prefault", "off: the job migrates (HVB_QEMU_MIGRATE_AT_MS)");
	else if (prefault_wanted(q))
		hvb_out_metaf(q->out, "prefault", "off: %s",
			      q->pre.why[0] ? q->pre.why : "no room for -S and a RAM backend on "
							   "QEMU's command line");
	else
		hvb_out_meta(q->out, "prefault", "off: HVB_PREFAULT=0");
}

/* -S, the RAM backend and a QMP socket at the end of argv. */
static void prefault_argv(struct qemu_job *q, char **argv)
{
	if (!prefault_wanted(q) || qemu_prealloc_init(&q->pre))
		return;
	q->prefault = !qemu_prealloc_argv(&q->pre, argv, QEMU_ARGV_CAP, q->job->cfg->guest_mem_mib);
	if (!q->prefault)
		qemu_prealloc_close(&q->pre);
}

/* QEMU is up and paused: populate guest RAM and let it run.  0, or
 * -EIO with why when QEMU cannot be resumed (the caller stops it).  A
 * refused qom-set runs the guest unprefaulted: the log and meta.csv
 * runner.<name>.prefault_fallback say so. */
static int prefault_run(struct qemu_job *q, char *why, size_t len)
{
	const struct qemu_prealloc *p = &q->pre;

	if (!q->prefault)
		return 0;
	qemu_prealloc_run(&q->pre, q->proc.pid, q->proc.t_start, q->proc.deadline);
	if (p->state == QEMU_PREALLOC_FAILED) {
		snprintf(why, len, "prefault: %s; QEMU stopped (HVB_PREFAULT=0 boots without it)",
			 p->why);
		return -EIO;
	}
	if (p->state == QEMU_PREALLOC_FALLBACK) {
		hvb_out_log(q->out, "rep %u: prefault: %s", q->job->rep, p->why);
		hvb_out_metaf(q->out, "prefault_fallback", "rep %u of %s: %s", q->job->rep,
			      q->job->workloads[0], p->why);
		return 0;
	}
	hvb_out_log(q->out, "guest RAM prefaulted: %llu MiB in %.3f ms (outside boot_ms); QEMU's "
		    "RSS %llu -> %llu MiB", (unsigned long long)q->job->cfg->guest_mem_mib,
		    (double)p->prefault_ns / 1e6, p->rss_before_kib / 1024, p->rss_after_kib / 1024);
	return 0;
}

/* Where a prefaulted boot's time went: QEMU's start to its first QMP
 * answer, the window (not in boot_ms), cont's round trip, and cont ->
 * HELLO (QEMU starting the vCPU, the guest's own boot). */
static void log_boot_phases(const struct qemu_job *q, uint64_t total_ns, double boot_ms)
{
	const struct qemu_prealloc *p = &q->pre;
	uint64_t before = p->start_ns + p->prefault_ns + p->cont_ns;

	hvb_out_log(q->out, "boot phases (ms, boot_ms %.3f): qemu-start %.3f "
		    "prefault(not-in-boot_ms) %.3f cont %.3f run-to-hello %.3f", boot_ms,
		    (double)p->start_ns / 1e6, (double)p->prefault_ns / 1e6,
		    (double)p->cont_ns / 1e6,
		    (double)(total_ns > before ? total_ns - before : 0) / 1e6);
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
		hvb_out_log(q->out, "console: %s", buf);
}

static void record_boot(struct qemu_job *q, uint64_t stamp, const struct hvb_record *rec)
{
	const struct hvb_job *job = q->job;
	uint64_t total = stamp - q->proc.t_start;
	bool paused = q->prefault && q->pre.state == QEMU_PREALLOC_DONE;
	double ms = (double)(total - (paused ? q->pre.prefault_ns : 0)) / 1e6;
	char note[HVB_TEXT_MAX * 2];
	int n;

	n = snprintf(note, sizeof(note), "QEMU fork -> first workload instruction (HELLO)");
	if (paused) {
		n += snprintf(note + n, sizeof(note) - (size_t)n,
			      ", less the %.3f ms QEMU was paused populating guest RAM (prefault)",
			      (double)q->pre.prefault_ns / 1e6);
		log_boot_phases(q, total, ms);
	}
	if (job->tsc_khz && rec->u64[1] > rec->u64[0] && rec->u64[0])
		n += snprintf(note + n, sizeof(note) - (size_t)n,
			      "; of which guest PVH entry -> first workload %.3f ms by guest TSC",
			      (double)(rec->u64[1] - rec->u64[0]) / (double)job->tsc_khz);
	if (!conf_of(q->runner)->kvm)
		snprintf(note + n, sizeof(note) - (size_t)n, "; emulated (TCG): not performance");
	hvb_boot_time(q->out, job, ms, note);
	q->boot_recorded = true;
	if (q->mig_on)
		qemu_migrate_arm(&q->mig, stamp);
}

static int on_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct qemu_job *q = arg;
	bool had_hello = q->consumer.hello;
	struct hvb_record copy;

	(void)seq;
	struct hvb_record copy2;

	rec = hvb_caps_note_skip(q->job->caps, rec, &copy);
	if (hvb_rec_deliver(&q->consumer, hvb_netjob_note_skip(&q->nj, rec, &copy2)))
		return -EPROTO;
	if (!had_hello && q->consumer.hello)
		record_boot(q, q->stream.line_stamp, rec);
	if (q->mig_on && qemu_migrate_after_switch(&q->mig, q->stream.line_stamp))
		q->mig_records_after++;
	if (q->mig_on)
		qemu_migrate_note_record(&q->mig, rec, q->job->rep);
	return 0;
}

/*
 * REP_BEGIN / REP_END of a per-request workload: QEMU's CPU time, read as
 * the records arrive on the serial line.  REP_BEGIN's read comes after its
 * line was sent, when the repetition starts.  REP_END is known only once
 * its whole line (≈ 530 port writes, each an exit QEMU serves) has
 * arrived, so the repetition ends at the last line start seen before it
 * (on_line_start): the first byte of REP_END, read within one pipe read.
 * Measured here: sending REP_END's line cost QEMU 20-27 ms of CPU, against
 * repetitions of 25-200 ms.
 */
/*
 * qemu-kvm-vhost: the kernel's worker "vhost-<QEMU's pid>" (QEMU makes
 * VHOST_SET_OWNER on its main thread while it sets up the netdev, before
 * the guest runs).  Since Linux 6.4 it is a thread of QEMU, which QEMU's
 * process clock already holds; before, a kernel thread it does not hold,
 * so it is counted besides (hvb_hostcpu_add_task: its own CPU clock).
 */
static void find_vhost_worker(struct qemu_job *q)
{
	pid_t pid = q->proc.pid, w;

	q->vhost_looked = true;
	q->vhost_worker = hv_vhost_workers_of(pid, pid, &w, 1) ? w : 0;
	q->vhost_kthread = q->vhost_worker && !hv_vhost_is_thread_of(pid, w);
	if (!q->vhost_worker)
		hvb_out_log(q->out, "vhost worker vhost-%d of QEMU not found (neither a thread of "
			    "QEMU nor a kernel thread): host CPU rows do not count it", (int)pid);
	else
		hvb_out_log(q->out, "vhost worker vhost-%d of QEMU is %s %d", (int)pid,
			    q->vhost_kthread ? "the kernel thread (Linux < 6.4)"
					     : "QEMU's thread (Linux >= 6.4)",
			    (int)w);
}

/* What a repetition's host CPU counts: every QEMU thread, and under vhost
 * the kernel's worker wherever it is; the note names each. */
static void count_qemu_threads(struct qemu_job *q)
{
	const char *all = "all QEMU threads (vCPU, main loop, I/O)";
	pid_t w;
	char what[200];
	int r;

	hvb_hostcpu_init(&q->cpu, q->proc.pid, all);
	if (q->runner->variant != QEMU_VARIANT_VHOST || !q->nj.on)
		return;
	if (!q->vhost_looked)
		find_vhost_worker(q);
	w = q->vhost_worker;
	/* Which task it was is in log.txt (find_vhost_worker): ids in the note
	 * would differ between jobs, and the report shows what notes share. */
	if (!w)
		snprintf(what, sizeof(what), "%s (QEMU's vhost worker was not found: not counted)",
			 all);
	else if (!q->vhost_kthread)
		snprintf(what, sizeof(what), "all QEMU threads (vCPU, main loop, I/O, its vhost "
			 "worker)");
	else if ((r = hvb_hostcpu_add_task(&q->cpu, w)))
		snprintf(what, sizeof(what), "%s (QEMU's vhost worker, a kernel thread, not "
			 "counted: %s)", all, strerror(-r));
	else
		snprintf(what, sizeof(what), "%s + QEMU's vhost worker (a kernel thread, "
			 "Linux < 6.4)", all);
	hvb_strlcpy(q->cpu.threads, what, sizeof(q->cpu.threads));
}

/* Where QEMU's vCPU thread and its main thread ran, at REP_END. */
static void record_placement(struct qemu_job *q)
{
	pid_t pid = q->proc.pid;
	int tid = q->proc.vcpu_tid > 0 ? q->proc.vcpu_tid : qemu_vcpu_tid(pid, 0);

	if (tid > 0) {
		hvb_placement_record(q->out, "vcpu0", pid, tid);
	} else {
		char *key = xasprintf("placement.%s.vcpu0", q->out->runner);
		hvb_sink_meta(q->out->sink, key, "unknown: QEMU's vCPU thread (CPU 0/...) not found");
		free(key);
	}
	hvb_placement_record(q->out, "main", pid, pid);
}

/* QEMU's vCPU thread i (pinned, or found by name), or 0. */
static pid_t vcpu_tid_of(const struct qemu_job *q, unsigned i)
{
	int t = i == 0 ? q->proc.vcpu_tid : q->proc.vcpu_tids[i];

	if (t <= 0)
		t = qemu_vcpu_tid(q->proc.pid, i);
	return t > 0 ? (pid_t)t : 0;
}

/* perf counters on QEMU's threads: reopened at every REP_BEGIN, so the
 * threads QEMU started since (I/O pool workers) are counted too; every
 * vCPU thread among vcpu-threads (--vcpus). */
static void count_threads_rep(struct qemu_job *q, const struct hvb_record *rec, bool begin)
{
	pid_t vcpus[HVB_MAX_VCPUS];
	unsigned n = q->proc.vcpus > 1 ? q->proc.vcpus : 1;

	if (!q->job->cfg->qemu_vmm_counters)
		return; /* HVB_VMM_COUNTERS=0: no rows (meta runner.<name>.probes) */
	if (!begin) {
		hvb_vmm_counters_end(&q->vc, q->out, rec->workload, rec->rep, q->consumer.rep_ops);
		return;
	}
	if (n > HVB_MAX_VCPUS)
		n = HVB_MAX_VCPUS;
	for (unsigned i = 0; i < n; i++)
		vcpus[i] = vcpu_tid_of(q, i);
	hvb_vmm_counters_close(&q->vc);
	hvb_vmm_counters_open(&q->vc, q->proc.pid, vcpus, n);
	hvb_vmm_counters_begin(&q->vc);
}

/* Host CPU is read first at REP_BEGIN and from the mark at REP_END, so
 * the QMP round trips of the KVM stats stay outside its interval. */
static void on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct qemu_job *q = arg;
	bool cpu = hvb_hostcpu_wanted(rec->workload);

	if (cpu)
		hvb_netjob_rep(&q->nj, q->out, rec, q->consumer.rep_ops, begin);
	count_threads_rep(q, rec, begin);
	if (cpu && begin) {
		count_qemu_threads(q);
		hvb_hostcpu_begin(&q->cpu);
	} else if (cpu) {
		hvb_hostcpu_end(&q->cpu, q->out, rec->workload, rec->rep, q->consumer.rep_ops);
	}
	qemu_kvm_stats_rep(&q->kst, q->out, rec, q->consumer.rep_ops, begin);
	if (!begin)
		record_placement(q);
}

/* A serial line began: inside a repetition, where it may end.  When the
 * whole line came in one read, hvbench was not reading while the guest sent
 * it (a busy host), and the window holds the sending: the note says so. */
static void on_line_start(void *arg, bool whole)
{
	struct qemu_job *q = arg;

	hvb_hostcpu_mark(&q->cpu, whole ? "REP_END's arrival (an upper bound: its line came in "
					  "one read, so sending it is inside)"
					: "the first byte of REP_END's line");
}

/* Verdict from how the job ended; empty = clean. */
static void verdict(struct qemu_job *q, enum qemu_end end, int status, char *why, size_t len)
{
	const struct hvb_rec_consumer *c = &q->consumer;
	char tail[QEMU_STDERR_TAIL + 1];
	int code;

	qemu_err_summary(&q->proc, tail, sizeof(tail));
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
			 code == HVB_EXIT_OK ? "ok, but no DONE record arrived"
					     : hvb_guest_exit_name(code));
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
		hvb_out_log(q->out,
			     "console damage: %lu corrupt lines, %lu records lost, %lu duplicates "
			     "dropped, %lu over-long lines (%llu bytes discarded)",
			     st->corrupt, st->lost, st->duplicates, st->overlong,
			     st->discarded_bytes);
	if (q->log_dropped)
		hvb_out_log(q->out,
			     "console: %lu more text lines not logged (budget %d bytes)",
			     q->log_dropped, QEMU_LOG_BUDGET);
}

/* The job's words (vcpus= in them when > 1) with the net.* words and, for
 * several vCPUs, smp=sipi: the BSP starts the APs with INIT-SIPI-SIPI, as
 * on hardware (QEMU does not start them at the AP entry note). */
static char *qemu_smp_words(struct hvb_netjob *nj, const struct hvb_job *job)
{
	char *w = hvb_netjob_cmdline(nj, job->cmdline), *all;

	if (job->vcpus < 2)
		return w;
	all = xasprintf("%s smp=sipi", w);
	free(w);
	return all;
}

static void log_pinning(struct qemu_job *q)
{
	int cpu = q->job->cpu;

	for (unsigned i = 1; i < q->proc.vcpus && i < HVB_MAX_VCPUS; i++) {
		int tid = q->proc.vcpu_tids[i];

		if (q->proc.cpus[i] < 0)
			hvb_out_log(q->out, "vCPU %u thread: unpinned", i);
		else if (tid > 0)
			hvb_out_log(q->out, "vCPU %u thread %d pinned to cpu %d", i, tid,
				    q->proc.cpus[i]);
		else
			hvb_out_log(q->out, "vCPU %u thread: %s", i,
				    tid < 0 ? strerror(-tid) : "not found, not pinned");
	}
	if (cpu < 0)
		hvb_out_log(q->out, "vCPU thread: unpinned");
	else if (q->proc.vcpu_tid > 0)
		hvb_out_log(q->out,
			     "vCPU thread %d pinned to cpu %d (other QEMU threads "
			     "unpinned)",
			     q->proc.vcpu_tid, cpu);
	else if (q->proc.vcpu_tid < 0)
		hvb_out_log(q->out, "vCPU thread: pinning to cpu %d failed: %s", cpu,
			     strerror(-q->proc.vcpu_tid));
	else
		hvb_out_log(q->out, "vCPU thread: not found, not pinned");
}

/* What QEMU said on stderr (warnings, or why it failed), for the log. */
static void log_stderr(struct qemu_job *q)
{
	char tail[QEMU_STDERR_TAIL + 1];

	qemu_err_summary(&q->proc, tail, sizeof(tail));
	if (*tail)
		hvb_out_log(q->out, "QEMU stderr (last %d bytes at most): %s",
			     QEMU_STDERR_TAIL, tail);
}

/* Reap what ran the guest: the source, and the destination if it took
 * over (then its exit status is the guest's). */
static int collect_end(struct qemu_job *q, enum qemu_end end)
{
	int status;

	if (q->mig_on)
		qemu_migrate_stop(&q->mig);
	status = qemu_reap(&q->proc, end != QEMU_END_EOF);
	if (!q->mig_on)
		return status;
	if (q->mig.took_over)
		status = qemu_migrate_reap_dst(&q->mig, end != QEMU_END_EOF);
	hvb_out_log(q->out, "rep %u: migration: %s; states %s; %lu console records came from "
		    "the destination", q->job->rep, q->mig.res.why,
		    q->mig.res.transitions[0] ? q->mig.res.transitions : "none",
		    q->mig_records_after);
	qemu_migrate_rows(&q->mig, q->out, q->job->workloads[0], q->job->rep);
	return status;
}

/* HVB_QEMU_MIGRATE_*: the migration's set-up, said in meta.csv.  0, or
 * -EINVAL with why (a malformed value, or a job it cannot move). */
static int migrate_setup(struct qemu_job *q, char *why, size_t len)
{
	struct qemu_migrate_params p;
	const struct hvb_job *job = q->job;
	char ver[128];

	if (qemu_migrate_params_env(&p, &q->mig_on, why, len))
		return -EINVAL;
	if (!q->mig_on)
		return 0;
	if (q->nj.on || qemu_blk_usable(job->cfg)) {
		snprintf(why, len, "HVB_QEMU_MIGRATE_AT_MS: a job with a disk or a network device "
			 "cannot migrate here (both QEMUs would own it): run without them");
		return -EINVAL;
	}
	p.cpu = job->cpu;
	p.vcpus = job->vcpus;
	memcpy(p.cpus, job->cpus, sizeof(p.cpus));
	p.thp_off = hvb_job_pt_4k(job);
	if (qemu_migrate_init(&q->mig, &p, why, len))
		return -EINVAL;
	qemu_version(job->cfg, ver, sizeof(ver));
	hvb_out_metaf(q->out, "migrate",
		      "at_ms=%u max_bandwidth=%llu B/s%s downtime_limit=%s%.0u%s limit_ms=%u "
		      "max_rounds=%u uri=unix (one host) dirty=%s qemu=%s",
		      q->mig.p.at_ms, (unsigned long long)q->mig.p.max_bw,
		      q->mig.p.max_bw == QEMU_MIG_BW_UNLIMITED ? " (unlimited)" : "",
		      p.downtime_ms ? "" : "QEMU's default (300 ms)", p.downtime_ms,
		      p.downtime_ms ? " ms" : "", q->mig.p.limit_ms, p.max_rounds,
		      conf_of(q->runner)->kvm ? QEMU_MIG_DIRTY_KVM : QEMU_MIG_DIRTY_TCG, ver);
	return 0;
}

/* Boot the job's QEMU and collect it: why it ended badly ("" = it did not). */
static int boot_and_collect(struct qemu_job *q, const char *image, char *why, size_t len)
{
	const struct hvb_job *job = q->job;
	const struct hvb_guest_env env = {
		.pt_4k = hvb_job_pt_4k(job),
		.dev = "serial",
		.caps = job_caps(q->runner, job, q->out, image) |
			(qemu_blk_usable(job->cfg) ? HVB_CAP_BLK : 0) | hvb_netjob_caps(&q->nj),
		.mmio_user = QEMU_MMIO_USER,
	};
	char names[200];
	const uint8_t *m = q->nj.ns.guest_mac;
	char *mac = xasprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	struct qemu_net net = { .tap_fd = q->nj.ns.tap_fd,
				.vhost = q->runner->variant == QEMU_VARIANT_VHOST, .mac = mac };
	char *words = qemu_smp_words(&q->nj, job);
	char *append = hvb_guest_cmdline(words, &env);
	char **argv = qemu_argv(conf_of(q->runner), job->cfg, image, append,
				q->nj.on ? &net : NULL, job->vcpus), *line;
	enum qemu_end end;
	int e, status;

	free(words);
	free(mac); /* in argv now */
	/* What the guest got, by name (the probe's own line was the hex). */
	hvb_out_metaf(q->out, "caps", "0x%x (%s)", env.caps,
		      hvb_caps_names(env.caps, names, sizeof(names)));
	/* KVM stats are read from the source's QMP, gone after the move. */
	if (conf_of(q->runner)->kvm && q->mig_on)
		qemu_kvm_stats_off(&q->kst, "off: the job migrates (HVB_QEMU_MIGRATE_AT_MS)");
	else if (conf_of(q->runner)->kvm && !job->cfg->kvm_stats)
		qemu_kvm_stats_off(&q->kst, "off: HVB_KVM_STATS=0");
	else if (conf_of(q->runner)->kvm && !qemu_kvm_stats_init(&q->kst))
		qemu_kvm_stats_argv(&q->kst, argv, QEMU_ARGV_CAP);
	q->proc.keep_fd = q->nj.on ? q->nj.ns.tap_fd : -1;
	prefault_argv(q, argv);
	if (q->mig_on && qemu_migrate_argv(&q->mig, argv, QEMU_ARGV_CAP))
		q->mig_on = false; /* no room: rows say it never started */
	line = qemu_argv_line(argv);
	hvb_out_log(q->out, "rep %u: %s (-kernel %s = %s, sha256 %s)", job->rep, line, image,
		    job->cfg->image.path, job->cfg->image.sha256);
	free(line);
	describe_pages(job, q->out);
	describe_prefault(q);
	e = qemu_spawn(&q->proc, argv, hvb_job_pt_4k(job));
	if (!e)
		q->proc.deadline = q->proc.t_start + (uint64_t)(job->timeout_s * 1e9);
	if (e) {
		snprintf(why, len, "cannot start QEMU: %s", strerror(-e));
	} else if (prefault_run(q, why, len)) {
		qemu_reap(&q->proc, true);
		log_stderr(q);
	} else {
		if (q->mig_on)
			qemu_migrate_start(&q->mig, argv, q->proc.pid);
		end = qemu_collect(&q->proc);
		status = collect_end(q, end);
		verdict(q, end, status, why, len);
		log_damage(q);
		log_stderr(q);
		log_pinning(q);
		if (q->kst.state < 0 && job->cfg->kvm_stats)
			hvb_out_log(q->out, "KVM stats over QMP: %s", q->kst.why);
		if (end == QEMU_END_INTERRUPT)
			e = -EINTR;
	}
	qemu_kvm_stats_close(&q->kst);
	qemu_prealloc_close(&q->pre);
	hvb_vmm_counters_close(&q->vc);
	qemu_argv_free(argv);
	free(append);
	return e;
}

static int qemu_run(const struct hvb_runner *r, const struct hvb_job *job,
		    const struct hvb_out *out)
{
	struct qemu_job *q = xcalloc(1, sizeof(*q));
	char why[QEMU_STDERR_TAIL + 256] = "";
	const char *image;
	int e = 0;

	q->runner = r;
	q->job = job;
	q->out = out;
	q->proc.keep_fd = -1;
	q->proc.cpu = job->cpu;
	q->proc.vcpus = job->vcpus;
	memcpy(q->proc.cpus, job->cpus, sizeof(q->proc.cpus));
	q->proc.stop = job->stop;
	q->proc.stream = &q->stream;
	q->proc.on_line_start = on_line_start;
	q->proc.hook_arg = q;
	hvb_rec_init(&q->consumer, out, job);
	q->consumer.on_rep = on_rep;
	q->consumer.arg = q;
	hvb_console_stream_init(&q->stream, on_record, on_text, q);
	/* net/: the job's tap (QEMU probes and sets its vnet header) and
	 * responder; microvm only (virtio-mmio). */
	if (!qemu_machine_microvm(job->cfg))
		hvb_netjob_refuse(&q->nj, job, out,
				  "the QEMU machine has no virtio-mmio for virtio-net-device "
				  "(HVB_QEMU_MACHINE: net/ needs microvm)");
	else
		hvb_netjob_start(&q->nj, job, out, HVB_LINK_TAP, true);
	/* QEMU reads exactly the bytes hashed for the run (a sealed copy). */
	image = hvb_image_boot_path(&job->cfg->image, why, sizeof(why));
	if (image && !migrate_setup(q, why, sizeof(why)))
		e = boot_and_collect(q, image, why, sizeof(why));
	if (q->mig_on)
		qemu_migrate_close(&q->mig);
	hvb_netjob_stop(&q->nj, out);
	if (why[0])
		hvb_out_log(out, "rep %u: %s", job->rep, why);
	if (!q->boot_recorded && e != -EINTR)
		hvb_boot_failed(out, job,
				why[0] ? why
				: q->stream.stats.records ? "the HELLO record was lost on the console"
							  : NULL);
	hvb_rec_finish(&q->consumer, why[0] ? why : NULL);
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

/* qemu-kvm with vhost=on for net/ (not in the default set). */
static const struct hvb_runner qemu_kvm_vhost_runner = {
	.name = "qemu-kvm-vhost",
	.desc = "qemu-kvm with virtio-net on vhost-net (-netdev tap,vhost=on)",
	.available = qemu_kvm_vhost_available,
	.describe = qemu_describe,
	.run = qemu_run,
	.variant = QEMU_VARIANT_VHOST,
};
HVB_RUNNER(qemu_kvm_vhost_runner);

static const struct hvb_runner qemu_kvm_runner = {
	.name = "qemu-kvm",
	.desc = "the guest image under QEMU on /dev/kvm (the full-featured peer VMM; net/: "
		"virtio-net-device on a tap, vhost=off)",
	.in_default = true,
	.available = qemu_kvm_available,
	.describe = qemu_describe,
	.run = qemu_run,
};
HVB_RUNNER(qemu_kvm_runner);
