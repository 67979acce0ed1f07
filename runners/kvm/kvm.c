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
#include "host.h"
#include "kvm.h"
#include "mem.h"
#include "meta.h"
#include "pvh.h"
#include "seccomp.h"
#include "topology.h"
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

/*
 * What this host can really do for the guest (abi.h HVB_CAP_*): the base
 * set the core always provides, plus what the capability probe measured.
 */
uint32_t kvm_host_caps(bool ioeventfds, uint32_t probed)
{
	uint32_t caps = HVB_CAP_PIO_USER | HVB_CAP_MMIO_USER | HVB_CAP_RELEASE | probed;

	if (ioeventfds)
		caps |= HVB_CAP_PIO_KERN | HVB_CAP_MMIO_KERN;
	if (hvb_host_is_pvm())
		caps |= HVB_CAP_PVM;
	return caps;
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
		     "hvbench reference core (hv/), PVH direct entry, no firmware, 1 vCPU");
	hvb_out_meta(out, "pinning",
		     "vCPU thread pinned to the job's CPU (--cpu); replaced by the placement "
		     "once a guest ran");
	hvb_out_metaf(out, "guest_mem_mib", "%llu", (unsigned long long)cfg->guest_mem_mib);
	hvb_out_meta(out, "irqchip", "none: hlt is a userspace halt exit + resume (micro/hlt-wake)");
	hvb_out_metaf(out, "caps",
		      "0x%x + what the capability probe finds at the first job (ioeventfd "
		      "permitting)",
		      kvm_host_caps(true, 0));
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
	    (double)(tsc_now - rec->u64[1]) / (double)khz > ms)
		note = "vm_create -> the HELLO record exit (guest TSC unusable: upper bound)";
	else
		ms -= (double)(tsc_now - rec->u64[1]) / (double)khz;
	hvb_boot_time(kj->out, kj->job, ms, note);
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

/* Page sizes change memory results (TLB reach, walk depth): say which. */
static void describe_pages(const struct hvb_job *job, const struct hvb_out *out)
{
	hvb_out_meta(out, "page_size",
		     hvb_job_pt_4k(job) ? "4k: guest word pt=4k (4 KiB guest page tables); host "
					  "backing madvise(MADV_NOHUGEPAGE)"
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
		.caps = kvm_host_caps(kj->hvb.kern_ioeventfds, probed) | (kj->blk ? HVB_CAP_BLK : 0) |
			(kj->net ? HVB_CAP_NET : 0),
		.extra = kj->probing ? NULL : kj->job->cfg->kvm_cmdline_extra,
	};
	/* The devices' windows, the way Linux (and QEMU microvm) say them. */
	char *blk = kj->blk ? xasprintf("%s virtio_mmio.device=4K@0x%llx:%d", words,
					(unsigned long long)HVB_VIRTIO_MMIO_BASE, KVM_BLK_IRQ)
			    : xstrdup(words);
	char *net = kj->net ? xasprintf("%s virtio_mmio.device=4K@0x%llx:%d", blk,
					(unsigned long long)HVB_VIRTIO_MMIO_NET, KVM_NET_IRQ)
			    : xstrdup(blk);
	char *all = kj->net ? hvb_netjob_cmdline(&kj->nj, net) : xstrdup(net);
	char *cmdline = hvb_guest_cmdline(all, &env);
	int r = vm_pvh_setup(kj->vm, cmdline);

	free(blk);
	free(net);
	free(all);
	if (r)
		snprintf(why, len, "cannot set up the boot structures: %s (command line of %zu bytes)",
			 strerror(-r), strlen(cmdline));
	free(cmdline);
	if (!r && (r = vcpu_setup_pvh(kj->vcpu, hi->entry)))
		snprintf(why, len, "cannot set the vCPU's entry state: %s", strerror(-r));
	return r;
}

int kvm_setup(struct kvm_job *kj, const char *words, uint32_t probed, char *why, size_t len)
{
	const struct hvb_config *cfg = kj->job->cfg;
	char err[400];
	struct hv_image hi;
	int r;

	kj->t0_ns = hv_now_ns();
	r = vm_create(&kj->vm, NULL);
	if (r) {
		snprintf(why, len, "cannot create a VM on /dev/kvm: %s", strerror(-r));
		return r;
	}
	kj->vm->stop_flag = kj->job->stop;
	if ((r = vm_mem_add(kj->vm, 0, cfg->guest_mem_mib << 20))) {
		snprintf(why, len, "cannot give the guest %llu MiB: %s (give a smaller --guest-mem)",
			 (unsigned long long)cfg->guest_mem_mib, strerror(-r));
		return r;
	}
	advise_ram(kj);
	if ((r = vcpu_create(kj->vm, 0, &kj->vcpu)) || (r = vcpu_cpuid_init(kj->vcpu))) {
		snprintf(why, len, "cannot create the vCPU: %s", strerror(-r));
		return r;
	}
	/* The bytes that were hashed once for the run, not the file again. */
	if ((r = vm_load_elf(kj->vm, cfg->image.data, cfg->image.size, &hi, err, sizeof(err)))) {
		snprintf(why, len, "guest image %s: %s", cfg->image.path, err);
		return r;
	}
	if ((r = attach_devices(kj, why, len)))
		return r;
	if (cfg->disk && !kj->probing && (r = attach_disk(kj, why, len)))
		return r;
	if (!kj->probing)
		attach_net(kj);
	return boot_structures(kj, words, probed, &hi, why, len);
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
	kvm_probe_open(&kj->probe, kj->vm, kj->vcpu);
	serving_threads(kj);
	/* From here on only the calls the run loop needs (hv/seccomp.h).  A
	 * filter meta.csv promised but that cannot be set fails the job. */
	filtered = !hv_seccomp_vcpu_enter(kj->job->cfg->seccomp, why, sizeof(why));
	if (!filtered)
		vm_stop(kj->vm, NULL, HV_HOST_ERROR, "%s", why);
	vcpu_run(kj->vcpu, &o);
	kvm_probe_close(&kj->probe);
	if (kj->vm->verdict.outcome != HV_TIMEOUT)
		kvm_bound_measure(kj, filtered);
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

static int join_vcpu(pthread_t t, const struct hvb_job *job)
{
	uint64_t start = hv_now_ns(), limit = (uint64_t)((job->timeout_s + KVM_JOIN_GRACE_S) * 1e9);
	uint64_t stopped_at = 0;

	for (;;) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		if (pthread_timedjoin_np(t, NULL, &ts) == 0)
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
	if (kj->con.dropped)
		hvb_out_log(out, "guest console: %llu bytes dropped after the first %llu (flood)",
			    (unsigned long long)kj->con.dropped, (unsigned long long)kj->con.logged);
	if (kj->hvb.kern_fallbacks)
		hvb_out_log(out, "%llu kernel-path (ioeventfd) writes reached userspace",
			    (unsigned long long)kj->hvb.kern_fallbacks);
	hvb_out_log(out, "verdict: %s: %s (%llu exits to userspace)",
		    hv_outcome_name(kj->vm->verdict.outcome), kj->vm->verdict.msg,
		    (unsigned long long)kj->vcpu->n_exits);
}

/* Run the booted guest on its own thread; the reason for unfinished
 * cells (NULL: none) and -EINTR if the user stopped it. */
static int run_guest(struct kvm_job *kj, const char **reason, char *why, size_t len)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, vcpu_thread, kj);

	if (r) {
		snprintf(why, len, "cannot start the vCPU thread: %s", strerror(r));
		*reason = why;
		return 0;
	}
	if (join_vcpu(t, kj->job)) {
		/* The kernel never gave the vCPU thread back: leave it (and the
		 * VM it uses) behind rather than hang the whole benchmark. */
		__atomic_store_n(&kj->abandoned, true, __ATOMIC_RELEASE);
		return -ETIMEDOUT;
	}
	log_boot(kj);
	*reason = verdict_reason(kj, why, len);
	return kj->vm->verdict.outcome == HV_INTERRUPTED ? -EINTR : 0;
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
	kj->net_backend = (enum hv_net_backend)runner->variant;
	kj->net_notify = net_notify_of(kj->net_backend, job->cfg);
	/* net/: the job's tap (with the vnet header the device expects) and
	 * responder, or the loopback's words; the capability probe's boots
	 * come first and get none. */
	if (kj->net_backend == HV_NET_LOOPBACK)
		hvb_netjob_start_reflect(&kj->nj, job, out);
	else
		hvb_netjob_start(&kj->nj, job, out, HVB_LINK_TAP, true);
	hvb_rec_init(&kj->c, out, job);
	kj->c.on_rep = kvm_on_rep;
	kj->c.arg = kj;
	describe_pages(job, out);
	kvm_bound_prepare(kj); /* before kvm_setup: not inside the guest's boot time */
	r = kvm_setup(kj, job->cmdline, probed_caps(job, out), why, sizeof(why));
	if (r) {
		hvb_out_log(out, "%s", why);
		reason = why;
	} else {
		ret = run_guest(kj, &reason, why, sizeof(why));
	}
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
	hvb_rec_finish(&kj->c, reason);
	kvm_bound_finish(kj);
	detach_disk(kj);
	detach_net(kj);
	vm_destroy(kj->vm);
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
