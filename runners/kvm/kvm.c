/*
 * The kvm runner: the guest image under the reference core (hv/) on
 * /dev/kvm, one boot per job.
 *
 * The vCPU runs on its own thread, pinned to job->cpu; records arrive
 * synchronously during its port exits and go straight to the record
 * consumer, so the probes that bracket a repetition (stats.c) are read
 * while the vCPU is stopped at the REP_BEGIN and REP_END record exits.
 * The run ends with the core's verdict: anything but a clean shutdown
 * fails the cells still missing, with the verdict (timeout, fault, crash,
 * rip) as the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "caps_probe.h"
#include "config.h"
#include "disk.h"
#include "elf_load.h"
#include "guest.h"
#include "harness.h"
#include "irq_probe.h"
#include "irqchip.h"
#include "host.h"
#include "kvm.h"
#include "mem.h"
#include "paging.h"
#include "meta.h"
#include "pvh.h"
#include "seccomp.h"
#include "topology.h"
#include "tsc.h"
#include "util.h"
#include "watchdog.h"

/* ------------------------------------------------------------ environment */

static bool kvm_available(const struct hvb_config *cfg, char *why, size_t len)
{
	if (hvb_kvm_usable(why, len))
		return false;
	if (cfg->image.error) {
		snprintf(why, len, "%s", cfg->image.why);
		return false;
	}
	return true;
}

/* kvm-vhost: the host kernel's vhost-net serves the rings. */
static bool kvm_vhost_available(const struct hvb_config *cfg, char *why, size_t len)
{
	return kvm_available(cfg, why, len) && hvb_vhost_net_usable(why, len);
}

/* The notify mode a virtio-net on backend b uses: vhost always ioeventfd
 * (the kernel's kick), the others what HVB_KVM_NET_NOTIFY asked for. */
static enum hv_net_notify net_notify_of(enum hv_net_backend b, const struct hvb_config *cfg)
{
	return b == HV_NET_VHOST ? HV_NET_NOTIFY_IOEVENTFD : cfg->kvm_net_notify;
}

/* runner.<r>.net and friends: what carries the guest's frames. */
static void describe_net(const struct hvb_runner *r, const struct hvb_config *cfg,
			 const struct hvb_out *out)
{
	enum hv_net_backend b = (enum hv_net_backend)r->variant;
	enum hv_net_notify n = net_notify_of(b, cfg);
	const char *where = b == HV_NET_TAP	  ? "a tap in the job's namespace, I/O thread readv/writev"
			    : b == HV_NET_VHOST ? "the same tap served by the host kernel's vhost-net"
						: "in-VMM loopback: every frame reflected, no host link, "
						  "no responder";

	hvb_out_metaf(out, "net", "virtio-net mmio v2 at 0x%llx, backend=%s, notify=%s: %s",
		      (unsigned long long)HVB_VIRTIO_MMIO_NET, hv_net_backend_name(b),
		      hv_net_notify_name(n), where);
	hvb_out_meta(out, "net_backend", hv_net_backend_name(b));
	hvb_out_meta(out, "net_notify", hv_net_notify_name(n));
}

/* Read once per process: it reads /sys and /proc files (~0.5 ms of every
 * boot here), and the host does not change under a run. */
static bool host_is_pvm(void)
{
	static int pvm = -1;
	int v = __atomic_load_n(&pvm, __ATOMIC_RELAXED);

	if (v < 0)
		__atomic_store_n(&pvm, v = hvb_host_is_pvm(), __ATOMIC_RELAXED);
	return v;
}

/*
 * What this host can really do for the guest (abi.h HVB_CAP_*): the base
 * set the core always provides, plus what the capability probe measured.
 */
uint32_t kvm_host_caps(bool ioeventfds, uint32_t probed)
{
	uint32_t caps = HVB_CAP_PIO_USER | HVB_CAP_MMIO_USER | HVB_CAP_RELEASE | probed;

	if (ioeventfds)
		caps |= HVB_CAP_PIO_KERN | HVB_CAP_MMIO_KERN;
	if (host_is_pvm())
		caps |= HVB_CAP_PVM;
	return caps;
}

/* The interrupt caps of a booted VM: HVB_CAP_IRQ where the delivery probe
 * saw interrupts arrive with this irqchip, VIRQ/KICK where the interrupt
 * bench device serves them. */
static uint32_t irq_caps(const struct kvm_job *kj)
{
	struct hv_irqbench_stats st;
	uint32_t caps = kj->irq_ok ? HVB_CAP_IRQ : 0;

	if (!kj->tsc_err && kj->tsc_stable)
		caps |= HVB_CAP_ONE_TSC;
	if (!kj->irqb)
		return caps;
	dev_irqbench_stats(kj->irqb, &st);
	caps |= HVB_CAP_KICK;
	if (st.virq && kj->irq_ok)
		caps |= HVB_CAP_VIRQ;
	return caps;
}

/*
 * With an irqchip hlt is handled in the kernel and only an interrupt ends
 * it, so micro/hlt-wake can work only as under Xen PVH (a LAPIC timer wakes
 * `sti; hlt`): offer HVB_CAP_HLT to the probe only with HVB_CAP_IRQ.
 * Without an irqchip (HVB_KVM_IRQCHIP=none) it is the old halt exit.
 */
static uint32_t hlt_offer(const struct kvm_job *kj, uint32_t probed)
{
	if (kj->irqchip != HV_IRQCHIP_NONE && !kj->irq_ok)
		return probed & ~HVB_CAP_HLT;
	return probed;
}

static void kvm_describe(const struct hvb_runner *r, const struct hvb_config *cfg,
			 const struct hvb_out *out)
{
	const struct hvb_image *img = &cfg->image;
	char nest[200], sec[300];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		hvb_out_metaf(out, "kvm_api", "%d", ioctl(fd, KVM_GET_API_VERSION, 0));
		close(fd);
	}
	hvb_meta_nesting(nest, sizeof(nest));
	hvb_out_meta(out, "nesting", nest);
	hvb_out_meta(out, "vmm",
		     "hvbench reference core (hv/), PVH direct entry, no firmware, --vcpus vCPUs "
		     "(APs started by the core at the image's AP entry, no SIPI)");
	hvb_out_meta(out, "pinning",
		     "each vCPU thread pinned to its CPU of the job (--cpu, --cpus); replaced by "
		     "the placement once a guest ran");
	hvb_out_metaf(out, "guest_mem_mib", "%llu", (unsigned long long)cfg->guest_mem_mib);
	hvb_out_metaf(out, "irqchip",
		      "%s requested (HVB_KVM_IRQCHIP); replaced by what the VM got once a guest "
		      "ran", hv_irqchip_name(cfg->kvm_irqchip));
	hvb_out_metaf(out, "caps",
		      "0x%x (%s) + what the capability probe finds at the first job (ioeventfd "
		      "permitting); replaced by the job's caps once a guest booted",
		      kvm_host_caps(true, 0), hvb_caps_names(kvm_host_caps(true, 0), nest,
							      sizeof(nest)));
	hvb_out_meta(out, "kvm_trace",
		     cfg->kvm_trace ? "on (HVB_KVM_TRACE=1): kvm tracepoints of vCPU 0's thread, "
				      "exits.csv source kvm-trace"
				    : "off (HVB_KVM_TRACE=1 turns it on)");
	hvb_out_meta(out, "exit_timing",
		     cfg->vmm_exit_timing
			     ? "vmm: TSC from KVM_RUN's return to the next KVM_RUN per userspace "
			       "exit, on every vCPU's thread into its own histogram, merged at "
			       "REP_END (exits.csv source vmm, latency columns)"
			     : "off (HVB_VMM_EXIT_TIMING=0): exits.csv source vmm has counts, no "
			       "times");
	/* Which probes bracket each repetition (FORMAT.md runner.<name>.probes):
	 * tools/probe-overhead reads it to check that a switch took effect. */
	hvb_out_metaf(out, "probes", "kvm-stats=%s vmm-exit-timing=%s kvm-trace=%s vmm-counters=%s",
		      hvb_on_off(cfg->kvm_stats), hvb_on_off(cfg->vmm_exit_timing),
		      hvb_on_off(cfg->kvm_trace), hvb_on_off(cfg->kvm_vmm_counters));
	kvm_bound_describe(out);
	describe_net(r, cfg, out);
	hv_seccomp_vcpu_describe(cfg->seccomp, sec, sizeof(sec));
	hvb_out_meta(out, "seccomp", sec);
	if (cfg->disk) {
		hvb_out_metaf(out, "blk", "virtio-blk mmio v2 at 0x%llx, notify=%s, backend: %s%s",
			      (unsigned long long)HVB_VIRTIO_MMIO_BASE,
			      hv_blk_notify_name(cfg->kvm_blk_notify),
			      cfg->kvm_blk_notify == HV_BLK_NOTIFY_SYNC
				      ? "preadv/pwritev on the vCPU thread during the notify exit"
				      : "I/O thread (pinned to a CPU other than the vCPU's where "
					"there is one) with Linux AIO up to the queue depth "
					"(preadv/pwritev if io_setup fails: logged per job)",
			      cfg->disk->odirect ? " with O_DIRECT" : " (no O_DIRECT: page cache)");
		hvb_out_meta(out, "blk_notify", hv_blk_notify_name(cfg->kvm_blk_notify));
	}
	hvb_out_meta(out, "image", img->path);
	if (img->error)
		hvb_out_meta(out, "image_error", img->why);
	else
		hvb_out_meta(out, "image_sha256", img->sha256);
}

/* ------------------------------------------------------------ boot time */

static int guest_tsc(struct vcpu *vcpu, uint64_t *tsc)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = 0x10 /* IA32_TSC */ };

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*tsc = m.e.data;
	return 0;
}

/* Guest TSC cycles as host ns, at the guest's TSC rate. */
static uint64_t tsc_ago_ns(uint64_t cycles, uint64_t khz)
{
	return (uint64_t)((double)cycles * 1e6 / (double)khz);
}

/*
 * Boot time = vm_create start -> the harness's first instruction (HELLO
 * u64[1], a guest TSC).  The guest TSC is read again now, at the HELLO exit,
 * so the guest's TSC offset cancels out.
 */
static void note_boot(struct kvm_job *kj, struct vcpu *vcpu, const struct hvb_record *rec)
{
	uint64_t now = hv_now_ns(), tsc_now, khz = kj->job->tsc_khz;
	double ms = (double)(now - kj->t0_ns) / 1e6;
	const char *note = "vm_create -> first harness instruction (PVH entry, no firmware)";

	kj->boot_done = true;
	if (!khz || guest_tsc(vcpu, &tsc_now) || tsc_now < rec->u64[1] ||
	    (double)(tsc_now - rec->u64[1]) / (double)khz > ms) {
		note = "vm_create -> the HELLO record exit (guest TSC unusable: upper bound)";
	} else {
		ms -= (double)(tsc_now - rec->u64[1]) / (double)khz;
		if (rec->u64[0] <= rec->u64[1]) /* the guest's stamps on the host clock */
			kvm_boot_guest(&kj->clock, now - tsc_ago_ns(tsc_now - rec->u64[0], khz),
				       now - tsc_ago_ns(tsc_now - rec->u64[1], khz));
	}
	hvb_boot_time(kj->out, kj->job, ms, note);
	if (kj->out)
		kvm_boot_log(&kj->clock, kj->out, ms);
}

/* ------------------------------------------------------------ the run */

static int on_record(void *arg, struct vcpu *vcpu, const struct hvb_record *rec, char *why,
		     size_t len)
{
	struct kvm_job *kj = arg;
	struct hvb_record copy, copy2;

	if (__atomic_load_n(&kj->abandoned, __ATOMIC_ACQUIRE)) {
		snprintf(why, len, "the run was abandoned");
		return -1;
	}
	if (kj->probing) {
		hvb_probe_boot_record(kj->probing, rec);
		return 0;
	}
	rec = hvb_caps_note_skip(kj->job->caps, rec, &copy);
	if (hvb_rec_deliver(&kj->c, hvb_netjob_note_skip(&kj->nj, rec, &copy2))) {
		snprintf(why, len, "%s", kj->c.error);
		return -1;
	}
	if (rec->type == HVB_REC_HELLO && !kj->boot_done)
		note_boot(kj, vcpu, rec);
	if (rec->type == HVB_REC_FAULT)
		snprintf(kj->fault, sizeof(kj->fault), "vector %llu at rip 0x%llx: %.*s",
			 (unsigned long long)rec->u64[0], (unsigned long long)rec->u64[2],
			 (int)sizeof(rec->text), rec->text);
	return 0;
}

static int deliver_record(struct kvm_job *kj, const struct hvb_record *rec, char *why, size_t len)
{
	return on_record(kj, kj->vcpu, rec, why, len);
}

static void on_console(void *arg, const char *text)
{
	struct kvm_job *kj = arg;

	if (!__atomic_load_n(&kj->abandoned, __ATOMIC_ACQUIRE) && !kj->probing)
		hvb_out_log(kj->out, "guest console: %s", text);
}

/*
 * --page-size for guest RAM's host backing, as natively: MADV_NOHUGEPAGE
 * (4 KiB host pages under the guest's 4 KiB ones) or MADV_HUGEPAGE (THP
 * under the guest's 2 MiB pages).  Advice only: a refusal leaves the host's
 * default, which describe_pages records beside the THP setting.
 */
static void advise_ram(struct kvm_job *kj)
{
	uint64_t bytes = kj->job->cfg->guest_mem_mib << 20;
	void *hva = __vm_gpa_to_hva(kj->vm, 0);

	if (hva && madvise(hva, bytes, hvb_job_pt_4k(kj->job) ? MADV_NOHUGEPAGE : MADV_HUGEPAGE) &&
	    kj->out)
		hvb_out_log(kj->out, "madvise of guest RAM for --page-size: %s", strerror(errno));
}

/*
 * HVB_PREFAULT: guest RAM populated before the guest runs.  Under nested
 * PVM a guest's first write to a page the host never backed is a host
 * fault through PVM (~22 us per 4 KiB page), and STREAM's 768 MiB paid it
 * in every boot (3-4 s).  Host pages present alone save little (the shadow
 * fault per page stays); with them and the guest's PTEs accessed and dirty
 * (hv/paging.c) KVM maps the host-resident neighbours of each fault too.
 * First-touch workloads measure memory the guest handed back (RELEASE:
 * MADV_DONTNEED) just before, which this does not reach.  Not for the
 * probe's boots (short) nor a migrating job (reading populated zero pages
 * is not reading the shared zero page: the migration would change).
 */
static bool prefault_wanted(const struct kvm_job *kj)
{
	return kj->job->cfg->prefault && !kj->probing && !kj->job->cfg->migrate.on;
}

/* Its own phase of the boot clock, left out of boot_ms like the probes. */
static void prefault_ram(struct kvm_job *kj)
{
	uint64_t bytes = kj->job->cfg->guest_mem_mib << 20, ns;
	void *hva = __vm_gpa_to_hva(kj->vm, 0);
	int r;

	if (!prefault_wanted(kj))
		return;
	r = madvise(hva, bytes, MADV_POPULATE_WRITE) ? errno : 0;
	ns = kvm_boot_exclude(&kj->clock, KVM_BOOT_PREFAULT);
	kj->t0_ns += ns;
	if (r)
		hvb_out_log(kj->out, "prefault of guest RAM (MADV_POPULATE_WRITE): %s: the guest "
			    "populates it itself", strerror(r));
	else
		hvb_out_log(kj->out, "guest RAM prefaulted: %llu MiB in %.1f ms (outside boot_ms)",
			    (unsigned long long)(bytes >> 20), (double)ns / 1e6);
}

static void describe_prefault(const struct kvm_job *kj)
{
	hvb_out_meta(kj->out, "prefault",
		     prefault_wanted(kj)
			     ? "on: all guest RAM populated before boot (madvise "
			       "MADV_POPULATE_WRITE), outside boot_ms (boot phase "
			       "prefault); first-touch workloads use RAM released just before"
		     : kj->job->cfg->migrate.on ? "off: the job migrates (HVB_KVM_MIGRATE)"
						: "off: HVB_PREFAULT=0");
}

/* Page sizes change memory results (TLB reach, walk depth): say which. */
static void describe_pages(const struct hvb_job *job, const struct hvb_out *out)
{
	hvb_out_meta(out, "page_size",
		     hvb_job_pt_4k(job) ? "4k: guest word pt=4k (4 KiB guest page tables, built by "
					  "the core before entry: pt_root=); host backing "
					  "madvise(MADV_NOHUGEPAGE)"
					: "2m: guest page tables map RAM with 2 MiB pages; host "
					  "backing madvise(MADV_HUGEPAGE) (THP as the host's "
					  "setting allows)");
}

static int attach_devices(struct kvm_job *kj, char *why, size_t len)
{
	int r = dev_console_attach(kj->vm, &kj->con, 0, on_console, kj);

	if (r) {
		snprintf(why, len, "cannot attach the console: %s", strerror(-r));
		return r;
	}
	kj->hvb.record = on_record;
	kj->hvb.arg = kj;
	if ((r = dev_hvb_attach(kj->vm, &kj->hvb)))
		snprintf(why, len, "cannot attach the hvbench device: %s", strerror(-r));
	return r;
}

/*
 * The CPU for the device's I/O thread: the first one this process may use
 * other than the vCPU's, so that a polling I/O thread (notify=poll) and the
 * vCPU polling the used ring do not take turns on one CPU; -1 (the
 * scheduler's choice) when there is no other.
 */
static int io_thread_cpu(int vcpu_cpu)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (c != vcpu_cpu && CPU_ISSET(c, &set))
			return c;
	return -1;
}

/* The run's disk as virtio-blk (hv/virtio_blk.h), for a job (not a probe
 * boot) of a run that has one. */
static int attach_disk(struct kvm_job *kj, char *why, size_t len)
{
	const struct hvb_config *cfg = kj->job->cfg;
	struct hv_blk_config bc = {
		.size_bytes = cfg->disk->size_bytes,
		.direct = cfg->disk->odirect,
		.notify = cfg->kvm_blk_notify,
		.mmio_gpa = HVB_VIRTIO_MMIO_BASE,
		.io_cpu = io_thread_cpu(kj->job->cpu),
		/* The I/O thread gets its own allowlist whenever the vCPU has one. */
		.seccomp = cfg->seccomp,
	};
	int r;

	bc.fd = hvb_disk_open(cfg->disk);
	if (bc.fd < 0) {
		snprintf(why, len, "cannot open the run's disk %s: %s", cfg->disk->path,
			 strerror(-bc.fd));
		return bc.fd;
	}
	r = dev_virtio_blk_attach(kj->vm, &bc, &kj->blk);
	if (r) {
		snprintf(why, len, "cannot attach virtio-blk (notify=%s) for %s: %s",
			 hv_blk_notify_name(bc.notify), cfg->disk->path, strerror(-r));
		close(bc.fd);
		kj->blk = NULL;
		return r;
	}
	kj->blk_fd = bc.fd;
	if (kj->out && bc.io_cpu >= 0)
		hvb_out_log(kj->out, "virtio-blk: notify=%s, backend %s, I/O thread %d pinned to cpu %d",
			    hv_blk_notify_name(bc.notify), dev_virtio_blk_backend(kj->blk),
			    (int)dev_virtio_blk_io_tid(kj->blk), bc.io_cpu);
	else if (kj->out)
		hvb_out_log(kj->out, "virtio-blk: notify=%s, backend %s, I/O thread %d unpinned (no other CPU)",
			    hv_blk_notify_name(bc.notify), dev_virtio_blk_backend(kj->blk),
			    (int)dev_virtio_blk_io_tid(kj->blk));
	return 0;
}

/* After the guest: what the device saw, then away with it. */
static void detach_disk(struct kvm_job *kj)
{
	struct hv_blk_stats st;

	if (!kj->blk)
		return;
	dev_virtio_blk_stats(kj->blk, &st);
	if (kj->out)
		hvb_out_log(kj->out,
			    "virtio-blk: %llu requests (%llu reads, %llu writes, %llu flushes), "
			    "%llu notifies, %llu empty polls, %llu I/O errors of which %llu bad "
			    "requests, %llu resets needed, %llu bounced",
			    (unsigned long long)st.requests, (unsigned long long)st.reads,
			    (unsigned long long)st.writes, (unsigned long long)st.flushes,
			    (unsigned long long)st.notifies, (unsigned long long)st.polls_empty,
			    (unsigned long long)st.io_errors, (unsigned long long)st.bad_requests,
			    (unsigned long long)st.resets_needed, (unsigned long long)st.bounced);
	dev_virtio_blk_detach(kj->blk);
	close(kj->blk_fd);
	kj->blk = NULL;
}

/* Where the kernel's vhost worker was found (host CPU counts it). */
static void log_vhost_worker(struct kvm_job *kj)
{
	bool kthread;
	pid_t owner, w = dev_virtio_net_vhost_worker(kj->net, &kthread, &owner);

	if (!w)
		hvb_out_log(kj->out, "virtio-net: vhost worker vhost-%d not found (neither a thread "
			    "of hvbench nor a kernel thread): host CPU rows do not count it",
			    (int)owner);
	else
		hvb_out_log(kj->out, "virtio-net: vhost worker vhost-%d is %s %d", (int)owner,
			    kthread ? "the kernel thread (Linux < 6.4)"
				    : "the hvbench thread (Linux >= 6.4)",
			    (int)w);
}

/*
 * The job's link as virtio-net (hv/virtio_net.h) at HVB_VIRTIO_MMIO_NET:
 * the tap of the job's namespace (tap, vhost) or none (loopback).  A device
 * that cannot be attached leaves the job without HVB_CAP_NET: its net/
 * cells are skipped with the reason.
 */
static void attach_net(struct kvm_job *kj)
{
	const struct hvb_config *cfg = kj->job->cfg;
	static const uint8_t guest_mac[6] = HVB_NET_GUEST_MAC;
	struct hv_net_config nc = {
		.backend = kj->net_backend,
		.notify = kj->net_notify,
		.tap_fd = kj->nj.ns.tap_fd,
		.mmio_gpa = HVB_VIRTIO_MMIO_NET,
		.io_cpu = io_thread_cpu(kj->job->cpu),
		.seccomp = cfg->seccomp,
	};
	char why[300];
	pid_t tids[4];
	unsigned n;
	int r;

	if (!kj->nj.on)
		return;
	memcpy(nc.mac, guest_mac, sizeof(nc.mac));
	r = dev_virtio_net_attach(kj->vm, &nc, &kj->net);
	if (r) {
		kj->net = NULL;
		dev_virtio_net_strerror(&nc, r, why, sizeof(why));
		hvb_netjob_stop(&kj->nj, kj->out);
		snprintf(kj->nj.off, sizeof(kj->nj.off), "%s", why);
		hvb_out_log(kj->out, "net: %s", why);
		hvb_warn("%s: net/ workloads skipped: %s", kj->out->runner, why);
		return;
	}
	n = dev_virtio_net_tids(kj->net, tids, 4);
	if (nc.io_cpu >= 0)
		snprintf(why, sizeof(why), "pinned to cpu %d", nc.io_cpu);
	else
		snprintf(why, sizeof(why), "unpinned (no other CPU)");
	hvb_out_log(kj->out, "virtio-net: backend %s, notify=%s, %u serving thread(s), I/O thread %s",
		    hv_net_backend_name(nc.backend), hv_net_notify_name(nc.notify), n, why);
	if (nc.backend == HV_NET_VHOST)
		log_vhost_worker(kj);
}

/* After the guest: what the device saw, then away with it and the link. */
static void detach_net(struct kvm_job *kj)
{
	struct hv_net_stats st;
	char why[200] = "";

	if (kj->net) {
		dev_virtio_net_stats(kj->net, &st);
		if (dev_virtio_net_status(kj->net, why, sizeof(why)) & 0x40 /* NEEDS_RESET */)
			hvb_out_log(kj->out, "virtio-net: DEVICE_NEEDS_RESET: %s", why);
		hvb_out_log(kj->out,
			    "virtio-net: tx %llu frames %llu bytes, rx %llu frames %llu bytes, "
			    "%llu bad tx, %llu tx errors, %llu rx dropped, %llu notifies, %llu "
			    "empty polls, %llu resets needed, %llu bad accesses%s",
			    (unsigned long long)st.tx_frames, (unsigned long long)st.tx_bytes,
			    (unsigned long long)st.rx_frames, (unsigned long long)st.rx_bytes,
			    (unsigned long long)st.tx_bad, (unsigned long long)st.tx_errors,
			    (unsigned long long)st.rx_dropped, (unsigned long long)st.notifies,
			    (unsigned long long)st.polls_empty, (unsigned long long)st.resets_needed,
			    (unsigned long long)st.bad_accesses,
			    st.kernel_datapath ? " (vhost: frame counters are the kernel's, not read)"
					       : "");
		dev_virtio_net_detach(kj->net);
		kj->net = NULL;
	}
	hvb_netjob_stop(&kj->nj, kj->out);
}

/* The boot structures: the job's words and what this environment adds.
 * HVB_KVM_CMDLINE_EXTRA words (debugging, tests: fault=ud) go to job
 * boots, not to probe boots. */
static int boot_structures(struct kvm_job *kj, const char *words, uint32_t probed,
			   const struct hv_image *hi, char *why, size_t len)
{
	const struct hvb_guest_env env = {
		.pt_4k = hvb_job_pt_4k(kj->job),
		.dev = "hvb",
		.caps = kvm_host_caps(kj->hvb.kern_ioeventfds, hlt_offer(kj, probed)) |
			(kj->blk ? HVB_CAP_BLK : 0) | (kj->net ? HVB_CAP_NET : 0) | irq_caps(kj),
		.extra = kj->probing ? NULL : kj->job->cfg->kvm_cmdline_extra,
	};
	/* The devices' windows, the way Linux (and QEMU microvm) say them. */
	char *blk = kj->blk ? xasprintf("%s virtio_mmio.device=4K@0x%llx:%d", words,
					(unsigned long long)HVB_VIRTIO_MMIO_BASE, KVM_BLK_IRQ)
			    : xstrdup(words);
	char *net = kj->net ? xasprintf("%s virtio_mmio.device=4K@0x%llx:%d", blk,
					(unsigned long long)HVB_VIRTIO_MMIO_NET, KVM_NET_IRQ)
			    : xstrdup(blk);
	char *nets = kj->net ? hvb_netjob_cmdline(&kj->nj, net) : xstrdup(net);
	/* The core starts the APs itself (smp=direct, abi.h). */
	char *smp = kj->vm->n_vcpus > 1 ? xasprintf("%s smp=direct", nets) : xstrdup(nets);
	/* pt=4k: the tables built before entry (hv/paging.h) */
	char *all = kj->vm->tables_gpa ? xasprintf("%s pt_root=0x%llx", smp,
						   (unsigned long long)kj->vm->tables_gpa)
				       : xstrdup(smp);
	char *cmdline = hvb_guest_cmdline(all, &env);
	int r = vm_pvh_setup(kj->vm, cmdline);
	char names[200];

	/* runner.kvm.caps: what the guest got, the interrupt caps (IRQ from
	 * the delivery probe, KICK/VIRQ from the bench device) among them. */
	if (!kj->probing && kj->out)
		hvb_out_metaf(kj->out, "caps", "0x%x (%s)", env.caps,
			      hvb_caps_names(env.caps, names, sizeof(names)));

	free(blk);
	free(net);
	free(nets);
	free(smp);
	free(all);
	if (r)
		snprintf(why, len, "cannot set up the boot structures: %s (command line of %zu bytes)",
			 strerror(-r), strlen(cmdline));
	free(cmdline);
	if (!r && (r = vcpu_setup_pvh(kj->vcpu, hi->entry)))
		snprintf(why, len, "cannot set the vCPU's entry state: %s", strerror(-r));
	return r;
}

/*
 * The irqchip HVB_KVM_IRQCHIP asks for, or the next one KVM accepts
 * (hv/irqchip.h), and whether interrupts really arrive with it here (the
 * delivery probe, once per mode and process).  A mode other than none
 * costs about nothing at boot (measured: < 0.05 ms).
 */
static int setup_irqchip(struct kvm_job *kj, char *why, size_t len)
{
	int r = vm_irqchip_create_best(kj->vm, kj->job->cfg->kvm_irqchip, &kj->irqchip,
				       kj->irqchip_why, sizeof(kj->irqchip_why));

	if (r) {
		snprintf(why, len, "cannot create the irqchip: %s", strerror(-r));
		return r;
	}
	/* The probe's VM (first boot of the process only) is not the guest's
	 * boot: keep it out of boot_ms. */
	uint64_t t = hv_now_ns();
	kvm_boot_lap(&kj->clock, KVM_BOOT_IRQCHIP);
	kj->irq_ok = kj->irqchip != HV_IRQCHIP_NONE &&
		     hv_irq_probe(kj->irqchip, kj->irq_why, sizeof(kj->irq_why));
	kj->t0_ns += hv_now_ns() - t;
	kvm_boot_skip(&kj->clock);
	if (kj->irqchip == HV_IRQCHIP_NONE)
		snprintf(kj->irq_why, sizeof(kj->irq_why), "no irqchip%s%s",
			 kj->irqchip_why[0] ? ": " : " (HVB_KVM_IRQCHIP=none)", kj->irqchip_why);
	return 0;
}

/* The guest's TSC is the host's (hv/vm.h vcpu_tsc_offset_set): guest and
 * host stamps (micro/virq-inject, io-kick) are then one clock.  Without it
 * KVM starts the guest's TSC at 0; the first refusal is kept for meta. */
static void note_tsc_offset(struct kvm_job *kj, struct vcpu *v)
{
	int r = vcpu_tsc_offset_set(v, 0);

	if (r && !kj->tsc_err)
		kj->tsc_err = r;
}

/* The job's vCPUs (a probe boot has one), each with its CPUID and LAPIC. */
static int create_vcpus(struct kvm_job *kj, char *why, size_t len)
{
	unsigned n = kj->probing || !kj->job->vcpus ? 1 : kj->job->vcpus;
	struct vcpu *v;
	int r = 0;

	if (n > HV_MAX_VCPUS) {
		snprintf(why, len, "%u vCPUs asked for; the reference core runs at most %d", n,
			 HV_MAX_VCPUS);
		return -EINVAL;
	}
	kj->tsc_stable = hvb_tsc_stable(kj->tsc_why, sizeof(kj->tsc_why));
	for (unsigned i = 0; i < n && !r; i++) {
		r = vcpu_create(kj->vm, i, &v);
		if (!r)
			r = vcpu_cpuid_init(v);
		if (!r)
			note_tsc_offset(kj, v);
		if (!r)
			r = vcpu_lapic_setup(v);
		if (r)
			snprintf(why, len, "cannot create vCPU %u: %s", i, strerror(-r));
	}
	kj->vcpu = kj->vm->n_vcpus ? kj->vm->vcpus[0] : NULL;
	return r;
}

/* Each AP at the image's AP entry; an image without one runs 1 vCPU. */
static int setup_aps(struct kvm_job *kj, const struct hv_image *hi, char *why, size_t len)
{
	struct vm *vm = kj->vm;
	int r;

	if (vm->n_vcpus > 1 && !hi->ap_entry) {
		snprintf(why, len,
			 "--vcpus %u: guest image %s has no AP entry note (HVB_NOTE_AP_ENTRY), so "
			 "it can run 1 vCPU only (rebuild it with this tree, or run --vcpus 1)",
			 vm->n_vcpus, kj->job->cfg->image.path);
		return -ENOEXEC;
	}
	for (unsigned i = 1; i < vm->n_vcpus; i++)
		if ((r = vcpu_setup_ap(vm->vcpus[i], hi->ap_entry))) {
			snprintf(why, len, "cannot put vCPU %u at the AP entry 0x%x: %s", i,
				 hi->ap_entry, strerror(-r));
			return r;
		}
	return 0;
}

/* Does a workload of the job need one of these capabilities? */
static bool job_needs_caps(const struct hvb_job *job, uint32_t caps)
{
	for (size_t k = 0; k < job->n_workloads; k++) {
		const struct hvb_workload *w = hvb_workload_find(job->workloads[k]);

		if (w && (w->needs & caps))
			return true;
	}
	return false;
}

/*
 * The interrupt bench device (hv/dev_irqbench.h) for a job whose workloads
 * need HVB_CAP_KICK or HVB_CAP_VIRQ: its thread on a CPU other than vCPU
 * 0's where there is one (a kick must not wait for the vCPU's time slice),
 * confined like the other device threads.  If it cannot be attached the
 * job runs without HVB_CAP_KICK/VIRQ (logged).
 */
static void attach_irqbench(struct kvm_job *kj)
{
	const struct hv_irqbench_config ic = {.io_cpu = io_thread_cpu(kj->job->cpu),
					      .seccomp = kj->job->cfg->seccomp};
	int r;

	/* Its thread costs ~8 ms of boot on this loaded host (start, pinning,
	 * seccomp handshake): only for the jobs that use it. */
	if (!job_needs_caps(kj->job, HVB_CAP_KICK | HVB_CAP_VIRQ))
		return;
	r = dev_irqbench_attach(kj->vm, &ic, &kj->irqb);
	if (r) {
		kj->irqb = NULL;
		if (kj->out)
			hvb_out_log(kj->out, "interrupt bench device not attached: %s (no "
				    "HVB_CAP_KICK/VIRQ)", strerror(-r));
	}
}

/*
 * pt=4k: the guest's 4 KiB tables for all of its RAM, built here instead of
 * by the guest, where each table page would be a first-touch fault
 * (hv/paging.h: 13-40 ms of a 1 GiB boot under nested PVM).
 */
static int build_page_tables(struct kvm_job *kj, const struct hv_image *hi, char *why, size_t len)
{
	int r = vm_paging_build_4k(kj->vm);

	if (!r && hi->hi > kj->vm->tables_gpa)
		r = -ERANGE;
	if (r)
		snprintf(why, len,
			 "cannot build the guest's 4 KiB page tables in %llu MiB of RAM: %s (give "
			 "a larger --guest-mem)",
			 (unsigned long long)kj->job->cfg->guest_mem_mib, strerror(-r));
	return r;
}

int kvm_setup(struct kvm_job *kj, const char *words, uint32_t probed, char *why, size_t len)
{
	const struct hvb_config *cfg = kj->job->cfg;
	char err[400];
	struct hv_image hi;
	int r;

	kj->t0_ns = hv_now_ns();
	kvm_boot_clock_start(&kj->clock, kj->t0_ns);
	r = vm_create(&kj->vm, NULL);
	if (r) {
		snprintf(why, len, "cannot create a VM on /dev/kvm: %s", strerror(-r));
		return r;
	}
	kj->vm->stop_flag = kj->job->stop;
	kvm_boot_lap(&kj->clock, KVM_BOOT_VM);
	if ((r = setup_irqchip(kj, why, len)))
		return r;
	kvm_boot_lap(&kj->clock, KVM_BOOT_IRQCHIP);
	if ((r = vm_mem_add(kj->vm, 0, cfg->guest_mem_mib << 20))) {
		snprintf(why, len, "cannot give the guest %llu MiB: %s (give a smaller --guest-mem)",
			 (unsigned long long)cfg->guest_mem_mib, strerror(-r));
		return r;
	}
	advise_ram(kj);
	kvm_boot_lap(&kj->clock, KVM_BOOT_MEMORY);
	prefault_ram(kj);
	kj->deliver = deliver_record; /* a record as if vCPU 0 had just sent it */
	if ((r = kvm_mig_prepare(kj, why, len))) /* the dirty ring: before the vCPUs */
		return r;
	if ((r = create_vcpus(kj, why, len)))
		return r;
	kvm_boot_lap(&kj->clock, KVM_BOOT_VCPUS);
	/* The bytes that were hashed once for the run, not the file again. */
	if ((r = vm_load_elf(kj->vm, cfg->image.data, cfg->image.size, &hi, err, sizeof(err)))) {
		snprintf(why, len, "guest image %s: %s", cfg->image.path, err);
		return r;
	}
	kvm_boot_lap(&kj->clock, KVM_BOOT_IMAGE);
	if (hvb_job_pt_4k(kj->job) && (r = build_page_tables(kj, &hi, why, len)))
		return r;
	kvm_boot_lap(&kj->clock, KVM_BOOT_PAGING);
	if ((r = setup_aps(kj, &hi, why, len)))
		return r;
	if ((r = attach_devices(kj, why, len)))
		return r;
	if (!kj->probing)
		attach_irqbench(kj);
	if (cfg->disk && !kj->probing && (r = attach_disk(kj, why, len)))
		return r;
	if (!kj->probing)
		attach_net(kj);
	kvm_boot_lap(&kj->clock, KVM_BOOT_DEVICES);
	r = boot_structures(kj, words, probed, &hi, why, len);
	kvm_boot_lap(&kj->clock, KVM_BOOT_START);
	return r;
}

/* The vhost worker's part of the note, and the worker counted where it
 * is found: a thread of ours (Linux >= 6.4) or a kernel thread (before). */
static void serving_vhost_worker(struct kvm_job *kj, char *what, size_t len)
{
	bool kthread;
	pid_t owner, w = dev_virtio_net_vhost_worker(kj->net, &kthread, &owner);
	int r = 0;

	if (!w) {
		snprintf(what, len, " (the vhost worker was not found: not counted)");
		return;
	}
	if (kthread)
		r = hvb_hostcpu_add_task(&kj->probe.cpu, w);
	else
		hvb_hostcpu_add_tid(&kj->probe.cpu, w);
	/* Which task it was is in log.txt (log_vhost_worker): ids in the note
	 * would differ between jobs, and the report shows what notes share. */
	if (r)
		snprintf(what, len, " (the vhost worker, a kernel thread, not counted: %s)",
			 strerror(-r));
	else
		snprintf(what, len, " + the vhost worker (%s)",
			 kthread ? "a kernel thread, Linux < 6.4" : "a thread of hvbench");
}

/* The host threads that serve this guest's requests and frames; the note
 * names each one counted. */
static void serving_threads(struct kvm_job *kj)
{
	pid_t tids[4];
	unsigned n = kj->net ? dev_virtio_net_tids(kj->net, tids, 4) : 0;
	bool vhost = kj->net && kj->net_backend == HV_NET_VHOST;
	char what[200], worker[100] = "";

	hvb_hostcpu_init(&kj->probe.cpu, getpid(), "");
	hvb_hostcpu_add_tid(&kj->probe.cpu, (pid_t)syscall(SYS_gettid));
	if (kj->blk)
		hvb_hostcpu_add_tid(&kj->probe.cpu, dev_virtio_blk_io_tid(kj->blk));
	for (unsigned i = 0; i < n; i++)
		hvb_hostcpu_add_tid(&kj->probe.cpu, tids[i]);
	if (vhost)
		serving_vhost_worker(kj, worker, sizeof(worker));
	snprintf(what, sizeof(what), "the vCPU thread%s%s%s",
		 kj->blk && dev_virtio_blk_io_tid(kj->blk) ? " + the virtio-blk I/O thread" : "",
		 !n ? "" : vhost ? " + the vhost ioctl thread" : " + the virtio-net I/O thread",
		 worker);
	hvb_strlcpy(kj->probe.cpu.threads, what, sizeof(kj->probe.cpu.threads));
}

/* An AP's thread id, once its thread has started (0 if not within 1 s:
 * it is then counted among the core's threads only if it was already in
 * /proc, i.e. not at all). */
static pid_t ap_tid(const struct hv_ap *ap)
{
	const struct timespec step = { 0, 100000 };

	for (unsigned i = 0; ap->started && i < 10000; i++) {
		pid_t t = __atomic_load_n(&ap->tid, __ATOMIC_ACQUIRE);
		if (t)
			return t;
		nanosleep(&step, NULL);
	}
	return 0;
}

/*
 * perf counters on every vCPU's thread (vcpu-threads: vCPU 0 is this
 * thread, the APs' are started before this) and every thread of the core,
 * opened before the seccomp filter forbids perf_event_open.  They are read
 * at REP_BEGIN/REP_END by the job's main thread through kj->relay,
 * since the filter has no read(2) (vmm_counters.h says why that is the
 * tighter choice), with or without the filter, so both count alike.
 */
static void count_core_threads(struct kvm_job *kj)
{
	pid_t vcpus[HV_MAX_VCPUS];
	unsigned n = 0;

	if (!kj->job->cfg->kvm_vmm_counters)
		return; /* HVB_VMM_COUNTERS=0: no rows (meta runner.kvm.probes) */
	vcpus[n++] = (pid_t)syscall(SYS_gettid);
	for (unsigned i = 1; i < kj->vm->n_vcpus && i < HV_MAX_VCPUS; i++)
		vcpus[n++] = ap_tid(&kj->smp.ap[i]);
	hvb_vmm_counters_open(&kj->probe.vmm, getpid(), vcpus, n);
}

/* An AP thread, before its run: the vCPU allowlist, as vCPU 0 has it. */
static int ap_enter(void *arg, struct vcpu *vcpu)
{
	struct kvm_job *kj = arg;
	char why[300];

	(void)vcpu;
	return hv_seccomp_vcpu_enter(kj->job->cfg->seccomp, why, sizeof(why)) ? -EPERM : 0;
}

/* The APs' threads, pinned to the job's cpus[1..]; vCPU 0 is this thread. */
static void start_aps(struct kvm_job *kj, const struct hv_run_opts *o)
{
	int cpus[HV_MAX_VCPUS];

	for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
		cpus[i] = i < kj->job->vcpus ? kj->job->cpus[i] : -1;
	kj->smp.enter = ap_enter;
	kj->smp.arg = kj;
	/* Each AP times its exits into its own histogram (merged at REP_END). */
	for (unsigned i = 1; i < kj->vm->n_vcpus && i < HV_MAX_VCPUS; i++)
		kj->smp.exit_time_arg[i] = kvm_vmm_time_of(&kj->probe, i);
	hv_smp_start(&kj->smp, kj->vm, cpus, o); /* a failure is the VM's verdict */
}

/* After vCPU 0's run: the APs leave with it (their watchdogs see the
 * verdict within HV_WATCHDOG_POLL_MS); one stuck in KVM_RUN is left. */
#define KVM_AP_GRACE_NS (5 * 1000000000ull)

static void join_aps(struct kvm_job *kj)
{
	if (kj->vm->n_vcpus < 2)
		return;
	if (hv_smp_join(&kj->smp, KVM_AP_GRACE_NS))
		kj->aps_stuck = true;
	for (unsigned i = 1; i < kj->vm->n_vcpus; i++)
		kj->cpu_ran[i] = kj->smp.ap[i].cpu_first;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_job *kj = arg;
	struct hv_run_opts o = { .timeout_ns = (uint64_t)(kj->job->timeout_s * 1e9),
				 .stop_flag = kj->job->stop };
	char why[300];
	bool filtered;

	snprintf(kj->pin_desc, sizeof(kj->pin_desc), "unpinned");
	if (kj->job->cpu >= 0)
		kj->pin_err = hvb_topo_pin_thread(kj->job->cpu, kj->pin_desc, sizeof(kj->pin_desc));
	kj->cpu_ran[0] = sched_getcpu();
	kvm_boot_lap(&kj->clock, KVM_BOOT_THREAD);
	/* The probes are the benchmark's, not the VM's: their set-up stays
	 * out of boot_ms (README "Boot time"), like the irq delivery probe. */
	kvm_probe_open(&kj->probe, kj->vm, kj->vcpu, kj->job->cfg);
	kvm_trace_start(&kj->probe, kj->job->cfg->kvm_trace);
	serving_threads(kj);
	kj->t0_ns += kvm_boot_exclude(&kj->clock, KVM_BOOT_PROBES);
	/* Every vCPU times its exits, each into its own struct kvm_vmm_time
	 * (FORMAT.md, vmm); the APs get theirs in start_aps.  With
	 * HVB_VMM_EXIT_TIMING=0 the run loop reads no TSC at all. */
	if (kj->probe.vmm_time) {
		o.exit_time = kvm_vmm_time_exit;
		o.exit_time_arg = kvm_vmm_time_of(&kj->probe, 0);
	}
	if (kj->vm->n_vcpus > 1)
		start_aps(kj, &o);
	kvm_boot_lap(&kj->clock, KVM_BOOT_APS);
	count_core_threads(kj);
	kj->t0_ns += kvm_boot_exclude(&kj->clock, KVM_BOOT_PROBES);
	/* From here on only the calls the run loop needs (hv/seccomp.h).  A
	 * filter meta.csv promised but that cannot be set fails the job. */
	filtered = !hv_seccomp_vcpu_enter(kj->job->cfg->seccomp, why, sizeof(why));
	if (!filtered)
		vm_stop(kj->vm, NULL, HV_HOST_ERROR, "%s", why);
	kvm_boot_lap(&kj->clock, KVM_BOOT_SECCOMP);
	vcpu_run(kj->vcpu, &o);
	__atomic_store_n(&kj->vcpu_out, true, __ATOMIC_RELEASE); /* a migration's pause waits */
	join_aps(kj);
	kvm_probe_close(&kj->probe);
	if (kj->vm->verdict.outcome != HV_TIMEOUT)
		kvm_bound_measure(kj, filtered);
	/* No more relay requests: the main thread joins now. */
	hvb_vmm_relay_quit(&kj->relay);
	return NULL;
}

/* The reason for cells the guest did not finish, or NULL after a clean end. */
static const char *verdict_reason(struct kvm_job *kj, char *buf, size_t len)
{
	const struct hv_verdict *v = &kj->vm->verdict;

	if (v->outcome == HV_SHUTDOWN && v->guest_code == HVB_EXIT_OK && kj->c.done)
		return NULL;
	if (v->outcome == HV_SHUTDOWN && kj->fault[0])
		snprintf(buf, len, "guest fault: %s", kj->fault);
	else if (v->outcome == HV_SHUTDOWN)
		snprintf(buf, len, "guest exited with code %d (%s)%s", v->guest_code,
			 hvb_guest_exit_name(v->guest_code),
			 kj->c.done ? "" : " before DONE; see log.txt");
	else if (v->have_regs && !strstr(v->msg, "rip 0x")) /* most messages name it */
		snprintf(buf, len, "%s: %s (rip 0x%llx)", hv_outcome_name(v->outcome), v->msg,
			 (unsigned long long)v->rip);
	else
		snprintf(buf, len, "%s: %s", hv_outcome_name(v->outcome), v->msg);
	return buf;
}

/* The capability probe, once per run: its answer in meta and the log. */
static uint32_t probed_caps(const struct hvb_job *job, const struct hvb_out *out)
{
	/* The probe boot's setup adds the base itself: it offers only the
	 * probed part (kvm_probe_boot); base is for the meta line. */
	return hvb_caps_probe(job->caps, job, out, kvm_host_caps(true, 0), kvm_probe_boot,
			      (void *)job);
}

/*
 * Join the vCPU thread.  The watchdog kicks it at the job's timeout or on
 * SIGINT; if KVM_RUN still does not come back KVM_JOIN_GRACE_S later, the
 * host kernel is stuck in it: give up on the thread (-ETIMEDOUT).
 */
#define KVM_JOIN_GRACE_S 10

static int join_vcpu(pthread_t t, struct kvm_job *kj)
{
	const struct hvb_job *job = kj->job;
	uint64_t start = hv_now_ns(), limit = (uint64_t)((job->timeout_s + KVM_JOIN_GRACE_S) * 1e9);
	uint64_t stopped_at = 0;

	for (;;) {
		/* Serve the vCPU thread's counter readings meanwhile; its
		 * quit wakes this at once. */
		bool quit = hvb_vmm_relay_serve(&kj->relay, 200);

		if (quit ? pthread_join(t, NULL) == 0 : pthread_tryjoin_np(t, NULL) == 0)
			return 0;
		if (hvb_job_stopped(job) && !stopped_at)
			stopped_at = hv_now_ns();
		if (hv_now_ns() - start > limit ||
		    (stopped_at && hv_now_ns() - stopped_at > KVM_JOIN_GRACE_S * 1000000000ull)) {
			pthread_detach(t);
			return -ETIMEDOUT;
		}
	}
}

static uint64_t total_exits(const struct vm *vm)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < vm->n_vcpus; i++)
		n += vm->vcpus[i]->n_exits;
	return n;
}

/* halt_poll_ns of the kvm module: how long a halted vCPU spins before it
 * sleeps (it decides micro/ipi-halted and hlt-wake); "" if unreadable. */
static void halt_poll_ns(char *buf, size_t len)
{
	FILE *f = fopen("/sys/module/kvm/parameters/halt_poll_ns", "re");

	buf[0] = '\0';
	if (f && !fgets(buf, (int)len, f))
		buf[0] = '\0';
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* runner.kvm.irqchip and the interrupt feature state the VMM set up. */
static void describe_irq(struct kvm_job *kj)
{
	const struct hvb_out *out = kj->out;
	const struct hv_cpu_features *f = &kj->vcpu->feat;
	struct hv_irqbench_stats st;
	const char *no_lapic = kj->irqchip == HV_IRQCHIP_NONE ? "; no irqchip: no LAPIC behind it" : "";
	char hp[32];

	if (kj->irqchip_why[0])
		hvb_out_metaf(out, "irqchip", "%s (%s)", hv_irqchip_name(kj->irqchip),
			      kj->irqchip_why);
	else
		hvb_out_meta(out, "irqchip", hv_irqchip_name(kj->irqchip));
	hvb_out_meta(out, "irq_delivery", kj->irq_ok ? "yes: irqfd MSI and LAPIC timer woke a "
						       "halted probe guest"
						     : kj->irq_why);
	hvb_out_metaf(out, "x2apic", "%s%s",
		      f->x2apic ? "offered (CPUID.1:ECX.x2APIC)" : "not offered", no_lapic);
	hvb_out_metaf(out, "tsc_deadline", "%s%s",
		      f->tsc_deadline ? "offered (CPUID.1:ECX.TSC_DEADLINE)" : "not offered",
		      no_lapic);
	hvb_out_metaf(out, "x2apic_api", "%d (KVM_CAP_X2APIC_API, not enabled by the core)",
		      vm_check_cap(kj->vm, KVM_CAP_X2APIC_API));
	if (kj->tsc_err)
		hvb_out_metaf(out, "tsc_offset",
			      "KVM's default (the guest's TSC starts near 0): KVM_VCPU_TSC_OFFSET "
			      "refused (%s), so guest and host TSC stamps are two clocks",
			      strerror(-kj->tsc_err));
	else if (!kj->tsc_stable)
		hvb_out_metaf(out, "tsc_offset",
			      "0 (KVM_VCPU_TSC_OFFSET), but the host's TSC is %s: KVM re-offsets "
			      "the guest's TSC at every vCPU load, so guest and host TSC stamps "
			      "are two clocks (micro/virq-inject and io-kick unsupported)",
			      kj->tsc_why);
	else
		hvb_out_meta(out, "tsc_offset", "0 (KVM_VCPU_TSC_OFFSET): the guest's TSC is the "
						"host's");
	hvb_out_meta(out, "pv_eoi", f->pv_eoi ? "offered (KVM_FEATURE_PV_EOI)" : "not offered");
	hvb_out_meta(out, "pv_ipi",
		     f->pv_send_ipi ? "offered (KVM_FEATURE_PV_SEND_IPI)" : "not offered");
	halt_poll_ns(hp, sizeof(hp));
	hvb_out_metaf(out, "halt_poll_ns", "%s (kvm module parameter%s)", hp[0] ? hp : "unknown",
		      vm_check_cap(kj->vm, KVM_CAP_HALT_POLL)
			  ? "; KVM_CAP_HALT_POLL available, not set by the core"
			  : "; no KVM_CAP_HALT_POLL");
	if (!kj->irqb)
		return;
	dev_irqbench_stats(kj->irqb, &st);
	hvb_out_log(out, "interrupt bench device: %llu kicks in %llu wake-ups, %llu injections, "
		    "%llu bad requests, %llu irqfd errors",
		    (unsigned long long)st.kicks, (unsigned long long)st.wakeups,
		    (unsigned long long)st.injections, (unsigned long long)st.bad_requests,
		    (unsigned long long)st.irqfd_errors);
}

/* runner.kvm.vcpus and runner.kvm.vcpuN.cpu: where each vCPU thread ran
 * (sched_getcpu() when its run began), beside what it was pinned to. */
static void describe_placement(struct kvm_job *kj)
{
	const struct hvb_out *out = kj->out;
	char key[32];

	hvb_out_metaf(out, "vcpus", "%u", kj->vm->n_vcpus);
	for (unsigned i = 0; i < kj->vm->n_vcpus; i++) {
		int pin = i < kj->job->vcpus ? kj->job->cpus[i] : (i ? -1 : kj->job->cpu);
		const struct hv_ap *ap = &kj->smp.ap[i];
		int err = i ? ap->pin_err : kj->pin_err;

		snprintf(key, sizeof(key), "vcpu%u.cpu", i);
		if (pin < 0)
			hvb_out_metaf(out, key, "%d (not pinned)", kj->cpu_ran[i]);
		else if (err)
			hvb_out_metaf(out, key, "%d (pinning to %d failed: %s)", kj->cpu_ran[i], pin,
				      strerror(-err));
		else
			hvb_out_metaf(out, key, "%d (pinned to %d)", kj->cpu_ran[i], pin);
		if (i)
			hvb_out_log(out, "vCPU %u: %llu exits to userspace, ran on cpu %d..%d", i,
				    (unsigned long long)kj->vm->vcpus[i]->n_exits, ap->cpu_first,
				    ap->cpu_last);
	}
}

/* What the boot left to say in the log (and the placement in meta). */
static void log_boot(struct kvm_job *kj)
{
	const struct hvb_out *out = kj->out;

	dev_console_flush(&kj->con);
	if (kj->pin_err) {
		/* Never leave meta saying "pinned" when it was not. */
		hvb_out_log(out, "pinning the vCPU to cpu %d failed: %s", kj->job->cpu,
			    strerror(-kj->pin_err));
		hvb_out_metaf(out, "pinning", "failed: cpu %d: %s", kj->job->cpu,
			      strerror(-kj->pin_err));
	} else {
		hvb_out_meta(out, "pinning", kj->pin_desc);
	}
	describe_irq(kj);
	describe_placement(kj);
	if (kj->con.dropped)
		hvb_out_log(out, "guest console: %llu bytes dropped after the first %llu (flood)",
			    (unsigned long long)kj->con.dropped, (unsigned long long)kj->con.logged);
	if (kj->hvb.kern_fallbacks)
		hvb_out_log(out, "%llu kernel-path (ioeventfd) writes reached userspace",
			    (unsigned long long)kj->hvb.kern_fallbacks);
	hvb_out_log(out, "verdict: %s: %s (%llu exits to userspace)",
		    hv_outcome_name(kj->vm->verdict.outcome), kj->vm->verdict.msg,
		    (unsigned long long)total_exits(kj->vm));
}

/* Run the booted guest on its own thread; the reason for unfinished
 * cells (NULL: none) and -EINTR if the user stopped it. */
static int run_guest(struct kvm_job *kj, const char **reason, char *why, size_t len)
{
	pthread_t t;
	pthread_attr_t attr;
	int r;

	/* Born on its CPU: no migration to wait for before the pinning
	 * (the thread still pins itself and records where: pin_desc). */
	pthread_attr_init(&attr);
	if (kj->job->cpu >= 0 && kj->job->cpu < CPU_SETSIZE) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(kj->job->cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	r = pthread_create(&kj->vcpu_main, &attr, vcpu_thread, kj);
	pthread_attr_destroy(&attr);
	if (r == EINVAL) /* a CPU the attribute cannot take: the thread pins itself */
		r = pthread_create(&kj->vcpu_main, NULL, vcpu_thread, kj);
	t = kj->vcpu_main;

	if (r) {
		snprintf(why, len, "cannot start the vCPU thread: %s", strerror(r));
		*reason = why;
		return 0;
	}
	if (join_vcpu(t, kj) || kj->aps_stuck) {
		/* The kernel never gave the vCPU thread back: leave it (and the
		 * VM it uses) behind rather than hang the whole benchmark. */
		__atomic_store_n(&kj->abandoned, true, __ATOMIC_RELEASE);
		return -ETIMEDOUT;
	}
	hvb_vmm_counters_close(&kj->probe.vmm);
	kvm_mig_finish(kj); /* the destination's part of the run, and its verdict */
	log_boot(kj);
	*reason = verdict_reason(kj, why, len);
	return kj->vm->verdict.outcome == HV_INTERRUPTED ? -EINTR : 0;
}

/*
 * Before any vCPU of the job runs: open (and close) the VMM counters' event
 * set once, so the kernel's static keys of their software events are held
 * for the process (probes/perf.c hold_sw_key).  Their first switch rewrites
 * kernel text on every CPU, which must not race the context switches of a
 * halting vCPU thread (issue 14: it wedged the nested host); the job's own
 * counters open only after its APs started.
 */
static void hold_perf_keys(const struct hvb_config *cfg)
{
	struct hvb_perf *p;
	char err[200];

	if (cfg->kvm_vmm_counters &&
	    !hvb_perf_open(&p, 0, hvb_vmm_events, hvb_vmm_n_events, err, sizeof(err)))
		hvb_perf_close(p);
}

static int kvm_run(const struct hvb_runner *runner, const struct hvb_job *job,
		   const struct hvb_out *out)
{
	struct kvm_job *kj = xcalloc(1, sizeof(*kj));
	char why[400] = "";
	const char *reason = NULL;
	int r, ret = 0;

	kj->job = job;
	kj->out = out;
	for (unsigned i = 0; i < HV_MAX_VCPUS; i++)
		kj->cpu_ran[i] = -1;
	kj->net_backend = (enum hv_net_backend)runner->variant;
	kj->net_notify = net_notify_of(kj->net_backend, job->cfg);
	/* net/: the job's tap (with the vnet header the device expects) and
	 * responder, or the loopback's words; the capability probe's boots
	 * come first and get none. */
	if (kj->net_backend == HV_NET_LOOPBACK)
		hvb_netjob_start_reflect(&kj->nj, job, out);
	else
		hvb_netjob_start(&kj->nj, job, out, HVB_LINK_TAP, true);
	hvb_vmm_relay_init(&kj->relay, &kj->probe.vmm);
	hvb_rec_init(&kj->c, out, job);
	kj->c.on_rep = kvm_on_rep;
	kj->c.arg = kj;
	describe_pages(job, out);
	describe_prefault(kj);
	hold_perf_keys(job->cfg);
	kvm_bound_prepare(kj); /* before kvm_setup: not inside the guest's boot time */
	r = kvm_setup(kj, job->cmdline, probed_caps(job, out), why, sizeof(why));
	if (!r)
		r = kvm_mig_start(kj, why, sizeof(why));
	if (r) {
		hvb_out_log(out, "%s", why);
		reason = why;
	} else {
		ret = run_guest(kj, &reason, why, sizeof(why));
	}
	/* After the boot, not in it: the next boots of this size map the
	 * tables instead of writing them (hv/paging.h). */
	if (kj->vm && kj->vm->tables_gpa && hv_paging_template_prepare(kj->vm->ram_size))
		hvb_out_log(out, "no page-table template (memfd): later boots write their tables");
	if (ret == -ETIMEDOUT) {
		snprintf(why, sizeof(why),
			 "timeout: KVM_RUN did not return even after the watchdog's kick (host "
			 "kernel stuck); VM abandoned");
		hvb_out_log(out, "%s", why);
		hvb_warn("kvm: %s", why);
		hvb_rec_finish(&kj->c, why);
		/* The device and the VM stay with the abandoned thread, and so
		 * does the tap fd its I/O thread may still use (closed, its
		 * number could be reused under it): the responder and the
		 * namespace's name go. */
		kj->nj.ns.tap_fd = -1;
		hvb_netjob_stop(&kj->nj, out);
		return hvb_job_stopped(job) ? -EINTR : 0;
	}
	/* Interrupted: no row, like every other cell the user stopped (qemu too). */
	if (!kj->boot_done && ret != -EINTR)
		hvb_boot_failed(out, job, reason);
	kvm_mig_finish(kj); /* when the guest never ran: the destination goes */
	hvb_rec_finish(&kj->c, reason);
	kvm_bound_finish(kj);
	detach_disk(kj);
	detach_net(kj);
	dev_irqbench_detach(kj->irqb);
	vm_destroy(kj->vm);
	hvb_vmm_relay_destroy(&kj->relay);
	free(kj);
	return ret;
}

static const struct hvb_runner kvm_runner = {
	.name = "kvm",
	.desc = "the guest image under hvbench's reference core (hv/) on /dev/kvm "
		"(net/: virtio-net on a tap, I/O thread)",
	.in_default = true,
	.available = kvm_available,
	.describe = kvm_describe,
	.run = kvm_run,
	.variant = HV_NET_TAP,
};
HVB_RUNNER(kvm_runner);

/* Variants: the same runner with another virtio-net backend, so one run
 * can put them side by side (not in the default set). */
static const struct hvb_runner kvm_vhost_runner = {
	.name = "kvm-vhost",
	.desc = "kvm with virtio-net served by the host kernel's vhost-net on the same tap",
	.available = kvm_vhost_available,
	.describe = kvm_describe,
	.run = kvm_run,
	.variant = HV_NET_VHOST,
};
HVB_RUNNER(kvm_vhost_runner);

static const struct hvb_runner kvm_loop_runner = {
	.name = "kvm-loop",
	.desc = "kvm with virtio-net on the core's loopback (frames reflected, no host link)",
	.available = kvm_available,
	.describe = kvm_describe,
	.run = kvm_run,
	.variant = HV_NET_LOOPBACK,
};
HVB_RUNNER(kvm_loop_runner);
