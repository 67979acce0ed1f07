/*
 * The Xen runners ("xen-pvh", "xen-pv"): the hvbench guest image as a Xen
 * PVH or PV domU, created and destroyed with libxl (xl.c).  The guest's result records come
 * back framed on its PV console (workloads/console_codec.h), are split out
 * of the console stream (src/console_stream.c) and validated like every
 * other guest's records (src/records.c).
 *
 * Runs in a Xen dom0 as root.  Built without libxl (no libxen-dev), the
 * runner is still listed and says how to get it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvb/abi.h"
#include "config.h"
#include "disk.h"
#include "guest.h"
#include "harness.h"
#include "migrate_guest.h"
#include "netjob.h"
#include "records.h"
#include "runner.h"
#include "util.h"
#ifdef HVB_HAVE_LIBXL
#include "console_stream.h"
#include "xen/migrate.h"
#include "xen/trace.h"
#include "xen/xl.h"
#endif

#define XEN_LAST_TEXT   160
#define XEN_VIF_SCRIPT  "vif-hvbench" /* ci/xen/vif-hotplug, in /etc/xen/scripts */
#define XEN_SCRIPT_DIR  "/etc/xen/scripts"
#define XEN_NET_DESC    "xen netfront, netback vif"

/* How this Xen itself runs: $HVB_XEN_NESTING (set by ci/xen), else a guess
 * from dom0's view of the CPU and platform. */
static const char *nesting(const struct hvb_config *cfg)
{
	char buf[256];

	if (cfg->xen_nesting)
		return cfg->xen_nesting;
	if (!hvb_read_file("/sys/class/dmi/id/sys_vendor", buf, sizeof(buf)) &&
	    strstr(buf, "QEMU")) {
		FILE *f = fopen("/proc/cpuinfo", "r");
		bool tcg = false;

		while (f && fgets(buf, sizeof(buf), f))
			if (strstr(buf, "model name") && strstr(buf, "QEMU TCG"))
				tcg = true;
		if (f)
			fclose(f);
		return tcg ? "xen under qemu-tcg" : "xen under qemu (kvm or other)";
	}
	return "none detected";
}

#ifndef HVB_HAVE_LIBXL

static bool xen_available(const struct hvb_config *cfg, char *why, size_t len)
{
	(void)cfg;
	snprintf(why, len, "hvbench was built without libxl: apt-get install libxen-dev, "
			   "then rebuild (make)");
	return false;
}

static int xen_run(const struct hvb_runner *r, const struct hvb_job *job,
		   const struct hvb_out *out)
{
	(void)r, (void)job, (void)out;
	return -ENOSYS;
}

static void xen_describe(const struct hvb_runner *r, const struct hvb_config *cfg,
			 const struct hvb_out *out)
{
	(void)r;
	hvb_out_meta(out, "libxl", "not built in");
	hvb_out_meta(out, "image", cfg->image.path);
	hvb_out_meta(out, "nesting", nesting(cfg));
}

#else /* HVB_HAVE_LIBXL */

static bool is_pv_name(const char *name)
{
	return !strcmp(name, "xen-pv");
}

/*
 * Interrupts (HVB_CAP_IRQ), both checked by selftest=smp in
 * ci/xen/smp-test.  PVH: the LAPIC Xen emulates for the domain (the
 * runtime's lapic.c, as under hvm).  PV has no LAPIC: event channels
 * (workloads/rt/xen_evtirq.c: bind_ipi per vCPU and kind, VIRQ_TIMER with
 * the single-shot timer, the upcall demultiplexing shared info).
 */
#define XEN_PV_IRQ_CAP HVB_CAP_IRQ

static const char *xen_irq_desc(const struct hvb_runner *r)
{
	return is_pv_name(r->name)
		       ? "Xen event channels (no LAPIC under PV): EVTCHNOP_bind_ipi per vCPU and "
			 "kind, VIRQ_TIMER + VCPUOP_set_singleshot_timer, SCHEDOP_block to idle: "
			 "HVB_CAP_IRQ"
		       : "Xen's emulated LAPIC (xAPIC/x2APIC as cpuid says, TSC-deadline or "
			 "one-shot timer): HVB_CAP_IRQ";
}

/* The vif's hotplug script: $HVB_XEN_VIF_SCRIPT (a name in
 * /etc/xen/scripts, as libxl takes it, or a path), else vif-hvbench. */
static const char *vif_script(void)
{
	const char *s = getenv("HVB_XEN_VIF_SCRIPT");

	return s && *s ? s : XEN_VIF_SCRIPT;
}

/* Can the vif be attached here?  Its script must exist in dom0 (libxl
 * fails the whole domain otherwise); false with why. */
static bool vif_script_ok(char *why, size_t len)
{
	const char *s = vif_script();
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s%s", s[0] == '/' ? "" : XEN_SCRIPT_DIR,
		 s[0] == '/' ? "" : "/", s);
	if (!access(path, X_OK))
		return true;
	if (snprintf(why, len, "no executable vif hotplug script %s: install ci/xen/vif-hotplug "
			   "there, or name yours in HVB_XEN_VIF_SCRIPT (runners/xen/README.md)", path) >= (int)len)
		why[len - 1] = '\0'; /* cut: snprintf did, the test tells GCC we know */
	return false;
}

/* The run's disk (runners/common/disk.h) as dom0 sees it: hvbench runs in
 * dom0, so the path the run made (or --disk named) is the one to attach.
 * NULL: no disk, and the io/ cells skip (no HVB_CAP_BLK). */
static const char *xen_disk_path(const struct hvb_config *cfg)
{
	return cfg->disk ? cfg->disk->path : NULL;
}

/* The PV runner (same image, same console path, another domain type). */
static bool is_pv(const struct hvb_runner *r)
{
	return is_pv_name(r->name);
}

static bool xen_available(const struct hvb_config *cfg, char *why, size_t len)
{
	if (!hvb_xl_available(why, len))
		return false;
	if (cfg->image.error) {
		snprintf(why, len, "%s", cfg->image.why);
		return false;
	}
	return true;
}

static void xen_describe(const struct hvb_runner *r, const struct hvb_config *cfg,
			 const struct hvb_out *out)
{
	char buf[PATH_MAX], err[256];
	struct hvb_xl *xl;

	hvb_out_meta(out, "image", cfg->image.path);
	if (cfg->image.error)
		hvb_out_meta(out, "image_error", cfg->image.why);
	else
		hvb_out_meta(out, "image_sha256", cfg->image.sha256);
	hvb_out_meta(out, "domain", is_pv(r) ? "pv, libxl, vcpus= of --vcpus (runner.xen-pv.vcpus)"
					     : "pvh, libxl, vcpus= of --vcpus (runner.xen-pvh.vcpus)");
	hvb_out_meta(out, "smp",
		      is_pv(r) ? "--vcpus N: the domain's vcpus=N (cpus= hard affinity from --cpus); "
				 "the guest starts its APs itself (smp=xen: VCPUOP_initialise with a "
				 "PV vcpu_guest_context + VCPUOP_up)"
			       : "--vcpus N: the domain's vcpus=N (cpus= hard affinity from --cpus); "
				 "the guest starts its APs itself (smp=xen: VCPUOP_initialise with a "
				 "32-bit vcpu_hvm_context at the AP entry + VCPUOP_up)");
	hvb_out_meta(out, "irq", xen_irq_desc(r));
	/* Which probes bracket the jobs (FORMAT.md runner.<name>.probes):
	 * xentrace unless HVB_XENTRACE=0 (trace.c; its rows say if it could
	 * not run). */
	hvb_out_metaf(out, "probes", "xentrace=%s",
		      hvb_on_off(!cfg->xentrace || strcmp(cfg->xentrace, "0")));
	hvb_out_metaf(out, "guest_mem_mib", "%llu", (unsigned long long)cfg->guest_mem_mib);
	hvb_out_meta(out, "nesting", nesting(cfg));
	hvb_out_meta(out, "blk",
		      xen_disk_path(cfg) ? "xen blkback (phy: a loop device over the disk file in dom0), "
					"guest blkfront in ring 3, polled"
				      : "none (no disk attached)");
	if (vif_script_ok(err, sizeof(err)))
		hvb_out_metaf(out, "net", XEN_NET_DESC " (hotplug script %s; the vif moved into "
					  "the job's namespace, the responder in dom0)", vif_script());
	else
		hvb_out_metaf(out, "net", "none: %s", err);
	if (!hvb_xl_open(&xl, false, err, sizeof(err))) {
		if (!hvb_xl_version(xl, buf, sizeof(buf)))
			hvb_out_meta(out, "xen_version", buf);
		hvb_xl_close(xl);
	}
}

/*
 * Host CPU per operation of a net/ or io/ workload (host_cpu_ns_per_op):
 * what serves the guest's frames or requests besides the responder.  The
 * domU's vCPU time from Xen (libxl_list_vcpu) plus dom0's backend kernel
 * threads of this domain: netback's of its vif ("vif<domid>.0-q0-guest-rx",
 * "...-dealloc") or blkback's of its vbd ("blkback.<domid>.xvda"), ns on
 * CPU from /proc/<pid>/schedstat.  Not counted, because no thread owns
 * it: netback's TX NAPI poll in softirq context, the loop device's
 * kworkers under blkback, Xen's own time (event channels, grant copies
 * in the hypervisor) and dom0's share of QEMU.  The kernel threads appear
 * when the backend connects (the guest's first open), so they are looked
 * up at every repetition's start.
 */
#define XEN_CPU_KTHREADS 4
#define XEN_CPU_THREADS "the domU's vCPU (Xen's vcpu_time) + dom0's netback threads of its vif " \
			"(guest-rx, dealloc; not the NAPI softirq, not the responder)"
#define XEN_CPU_THREADS_BLK "the domU's vCPU (Xen's vcpu_time) + dom0's blkback thread of its " \
			    "vbd (not the loop device's kworkers)"

struct xen_cpu {
	struct hvb_xl *xl; /* of hvb_xl_run, valid while the domain runs */
	uint32_t domid;
	bool begun;
	int begin_err;
	uint64_t begin_ns;
	pid_t kthreads[XEN_CPU_KTHREADS];
	unsigned n_kthreads;
	char threads[200]; /* what the row counts, for its note */
};

/* dom0's kernel threads of this domain's backend: names starting with
 * "vif<domid>.0-q" (net), or for blk "<domid>.xvd" (one per ring,
 * "1.xvda-0", since multi-queue blkback) or "blkback.<domid>." (older
 * kernels). */
static void find_kthreads(struct xen_cpu *c, bool blk)
{
	char prefix[32], alt[32] = "", path[64], comm[32];
	struct dirent *e;
	DIR *d = opendir("/proc");

	c->n_kthreads = 0;
	if (blk) {
		snprintf(prefix, sizeof(prefix), "%u.xvd", c->domid);
		snprintf(alt, sizeof(alt), "blkback.%u.", c->domid);
	} else {
		snprintf(prefix, sizeof(prefix), "vif%u.0-q", c->domid);
	}
	while (d && (e = readdir(d)) && c->n_kthreads < XEN_CPU_KTHREADS) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/comm", e->d_name);
		if (hvb_read_file(path, comm, sizeof(comm)) ||
		    (strncmp(comm, prefix, strlen(prefix)) &&
		     (!*alt || strncmp(comm, alt, strlen(alt)))))
			continue;
		c->kthreads[c->n_kthreads++] = (pid_t)atoi(e->d_name);
	}
	if (d)
		closedir(d);
}

/* The set's CPU time now: 0 or -errno.  A thread that went away counts 0
 * from then on, which the ERANGE check of the caller catches. */
static int cpu_now(const struct xen_cpu *c, uint64_t *ns)
{
	char path[64], buf[128];
	int r = hvb_xl_vcpu_ns(c->xl, c->domid, ns);

	for (unsigned i = 0; !r && i < c->n_kthreads; i++) {
		unsigned long long t;

		snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)c->kthreads[i]);
		if (hvb_read_file(path, buf, sizeof(buf)) || sscanf(buf, "%llu", &t) != 1)
			return -ENOENT;
		*ns += t;
	}
	return r;
}

static void xen_cpu_rep(struct xen_cpu *c, const struct hvb_out *out,
			const struct hvb_record *rec, uint64_t ops, bool begin)
{
	const struct hvb_workload *w = hvb_workload_find(rec->workload);
	bool blk = w && (w->needs & HVB_CAP_BLK);
	uint64_t ns = 0;
	int r;

	if (!c->xl || !hvb_hostcpu_wanted(rec->workload) || !w ||
	    !(w->needs & (HVB_CAP_NET | HVB_CAP_BLK)))
		return;
	if (begin) {
		unsigned before = c->n_kthreads;

		find_kthreads(c, blk);
		if (c->n_kthreads)
			snprintf(c->threads, sizeof(c->threads), "%s",
				 blk ? XEN_CPU_THREADS_BLK : XEN_CPU_THREADS);
		else
			snprintf(c->threads, sizeof(c->threads),
				 "the domU's vCPU (Xen's vcpu_time) only: no dom0 %s thread of "
				 "domain %u found, not counted", blk ? "blkback" : "netback",
				 c->domid);
		if (c->n_kthreads != before)
			hvb_out_log(out, "%s: host CPU counts the vCPU and %u %s thread(s) of domain %u",
				    blk ? "io" : "net", c->n_kthreads, blk ? "blkback" : "netback",
				    c->domid);
		c->begin_err = cpu_now(c, &c->begin_ns);
		c->begun = true;
		return;
	}
	r = c->begun ? c->begin_err : -ENODATA;
	if (!r)
		r = cpu_now(c, &ns);
	if (!r && ns < c->begin_ns)
		r = -ERANGE;
	hvb_hostcpu_row(out, rec->workload, rec->rep, ops, r, r ? 0 : ns - c->begin_ns,
			c->threads, "libxl_list_vcpu + /proc/<pid>/schedstat, ns");
	c->begun = false;
}

struct xen_collect {
	struct hvb_rec_consumer *c;
	struct xen_trace *xt;
	struct hvb_console_stream stream;
	char last_text[XEN_LAST_TEXT]; /* last console text line: for failure reasons */
	struct hvb_netjob *net;	       /* the job's link (net/ workloads) */
	const struct hvb_job *job;
	const struct hvb_out *out;
	struct xen_cpu cpu;	       /* host CPU per operation of net/ workloads */
	unsigned vcpus;		       /* the domain's */
	int pcpu[HVB_MAX_VCPUS];       /* where Xen had each vCPU at the last sample */
	bool pcpu_seen;
	struct xen_mig *mig;	       /* HVB_XEN_MIGRATE_AT_MS: the live migration */
	unsigned mig_rep;	       /* the repetition it was armed in */
	double mig_guest_gap_ns;       /* its largest heartbeat gap (-1: none seen) */
};

/* Where each vCPU is (libxl_list_vcpu): at creation and at each REP_END,
 * the last sample stays for meta (runner.<name>.vcpuN.cpu). */
static void sample_pcpus(struct xen_collect *x)
{
	if (x->cpu.xl && !hvb_xl_vcpu_pcpus(x->cpu.xl, x->cpu.domid, x->pcpu, x->vcpus))
		x->pcpu_seen = true;
}

/* runner.<name>.vcpus and runner.<name>.vcpuN.cpu, as the kvm runner
 * writes them: the physical CPU beside what the vCPU was pinned to. */
static void describe_placement(const struct xen_collect *x, const struct hvb_xl_cfg *cfg,
			       const struct hvb_out *out)
{
	char key[32], ran[48];

	hvb_out_metaf(out, "vcpus", "%u", x->vcpus);
	for (unsigned i = 0; i < x->vcpus; i++) {
		int pin = cfg->vcpu_cpus ? cfg->vcpu_cpus[i] : cfg->cpu;

		snprintf(key, sizeof(key), "vcpu%u.cpu", i);
		if (x->pcpu_seen && x->pcpu[i] >= 0)
			snprintf(ran, sizeof(ran), "%d", x->pcpu[i]);
		else
			snprintf(ran, sizeof(ran), "unknown");
		if (pin < 0)
			hvb_out_metaf(out, key, "%s (not pinned)", ran);
		else
			hvb_out_metaf(out, key, "%s (pinned to %d)", ran, pin);
	}
}

static int xen_on_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct xen_collect *x = arg;
	struct hvb_record copy;

	(void)seq;
	/* a net/ cell skipped for want of the link says why the link is off */
	if (hvb_rec_deliver(x->c, hvb_netjob_note_skip(x->net, rec, &copy)))
		return -EPROTO;
	if (rec->type == HVB_REC_CELL_BEGIN)
		xen_trace_on_cell(x->xt, rec);
	if (x->mig) {
		double gap = hvb_mig_guest_gap(rec, x->mig_rep);

		if (gap >= 0)
			x->mig_guest_gap_ns = gap;
	}
	return 0;
}

/* REP_BEGIN / REP_END: exit accounting (xentrace) and the responder's CPU
 * per operation (peer_cpu_ns_per_op). */
static void xen_on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct xen_collect *x = arg;

	if (x->xt)
		xen_trace_on_rep(x->xt, rec, begin);
	if (begin && x->mig && x->mig->state == XEN_MIG_IDLE) {
		x->mig_rep = rec->rep;
		xen_mig_arm(x->mig);
	}
	if (!begin)
		sample_pcpus(x);
	hvb_netjob_rep(x->net, x->out, rec, x->c->rep_ops, begin);
	xen_cpu_rep(&x->cpu, x->out, rec, x->c->rep_ops, begin);
}

static void xen_on_text(void *arg, const char *text, size_t len)
{
	struct xen_collect *x = arg;

	hvb_printable(x->last_text, sizeof(x->last_text), text, len);
}

static int xen_on_console(void *arg, const char *buf, size_t len)
{
	struct xen_collect *x = arg;

	return hvb_console_stream_feed(&x->stream, buf, len);
}

/* Why the job ended early (NULL: it did not). */
static void outcome_reason(const struct hvb_xl_outcome *o, const struct xen_collect *x,
			   const struct hvb_job *job, char *why, size_t len)
{
	const char *last = x->last_text[0] ? x->last_text : "(none)";

	why[0] = '\0';
	switch (o->end) {
	case HVB_XL_POWEROFF:
		if (!x->c->done && !o->console_bytes)
			snprintf(why, len, "guest powered off without a byte on its PV console: "
					   "does this guest image support dev=xencons (Xen PV "
					   "console)? (Xen also powers a PVH guest off on cli; hlt)");
		else if (!x->c->done)
			snprintf(why, len, "guest powered off before its DONE record; last console "
					   "line: %s", last);
		break;
	case HVB_XL_TIMEOUT:
		snprintf(why, len, "guest timed out after %.0f s (domain %u destroyed); last "
				   "console line: %s", job->timeout_s, o->domid, last);
		break;
	case HVB_XL_STOPPED:
		snprintf(why, len, "protocol error: %s", x->c->error);
		break;
	default:
		snprintf(why, len, "guest ended with %s (domain %u destroyed); last console "
				   "line: %s", hvb_xl_end_str(o->end), o->domid, last);
		break;
	}
}

static void log_stream(const struct hvb_out *out, const struct hvb_console_stats *s)
{
	if (s->corrupt || s->lost || s->duplicates || s->overlong)
		hvb_out_log(out, "console: %lu records, %lu corrupt, %lu lost, %lu "
					 "duplicated, %lu over-long lines",
			     s->records, s->corrupt, s->lost, s->duplicates, s->overlong);
}

/*
 * What the guest may use.  PVH: hypercalls, cpuid and MSRs from its ring 0,
 * and hlt (HLT): the runtime halts with interrupts on there, woken by the
 * LAPIC timer Xen emulates (workloads/rt/xen.c), since Xen takes a vCPU
 * that halts with interrupts off down.
 * PV (HVB_CAP_XEN_PV): hypercalls from guest kernel mode (through the int3
 * gate) and cpuid through Xen's forced-emulation prefix (micro.c: a plain
 * cpuid does not trap in a PV guest without CPUID faulting); first touches
 * repeat (RELEASE: the guest unmaps fresh pages itself, mem.c); "hlt" is
 * SCHEDOP_poll with a timeout (HLT: blocked, woken by Xen); no MSRs:
 * Xen's PV MSR emulation answers IA32_TSC_ADJUST with #GP (measured, 4.17).
 * Both: IRQ (Xen's LAPIC under PVH, event channels under PV: above).
 */
static unsigned xen_caps(const struct hvb_runner *r, const struct hvb_config *cfg)
{
	unsigned caps = is_pv(r) ? HVB_CAP_HYPERCALL | HVB_CAP_CPUID | HVB_CAP_RELEASE |
					   HVB_CAP_XEN_PV | HVB_CAP_HLT | XEN_PV_IRQ_CAP
				 : HVB_CAP_HYPERCALL | HVB_CAP_CPUID | HVB_CAP_MSR | HVB_CAP_HLT |
					   HVB_CAP_IRQ;

	return caps | (strstr(nesting(cfg), "tcg") ? HVB_CAP_EMULATED : 0);
}

/* --page-size in the guest's page tables; the p2m is Xen's to choose. */
static void describe_pages(const struct hvb_runner *r, const struct hvb_job *job,
			   const struct hvb_out *out)
{
	hvb_out_meta(out, "page_size",
		      is_pv(r) ? "4k: Xen PV page tables have 4 KiB pages only"
		      : job->page_kib == HVB_PAGE_2M
			      ? "2m: guest page tables map RAM with 2 MiB pages; p2m page size "
				"is Xen's choice (superpages where it can)"
			      : "4k: guest word pt=4k (4 KiB guest page tables); p2m page size "
				"is Xen's choice (superpages where it can)");
}

/*
 * The job's network link (netjob.h, HVB_LINK_ADOPT): a namespace of the
 * job's own in dom0, into which the domain's vif<domid>.0 is moved once
 * libxl has built the domain and before it runs, with the responder
 * started in it: hvbench runs in dom0, so the responder is a dom0 process
 * beside it, as it is a host process for the other runners.  Without the
 * vif's hotplug script or the namespace, the job runs without HVB_CAP_NET
 * and its net/ cells are skipped with the reason.
 */
static void xen_net_start(struct hvb_netjob *nj, const struct hvb_job *job,
			  const struct hvb_out *out)
{
	char why[300];

	if (hvb_job_needs_net(job) && !vif_script_ok(why, sizeof(why)))
		hvb_netjob_refuse(nj, job, out, why);
	else
		hvb_netjob_start(nj, job, out, HVB_LINK_ADOPT, false);
}

/* The domain exists, paused: host CPU accounting learns its id; with a
 * link, its vif joins the namespace and the responder starts.  A failure
 * stops the job (the guest was told it has a link). */
static int xen_created(void *arg, struct hvb_xl *xl, uint32_t domid, char *err, size_t len)
{
	struct xen_collect *x = arg;
	char vif[32], why[600];
	int rc;

	x->cpu.xl = xl;
	x->cpu.domid = domid;
	sample_pcpus(x);
	if (!x->net->on)
		return 0;
	snprintf(vif, sizeof(vif), "vif%u.0", domid);
	rc = hvb_netjob_adopt(x->net, x->job, x->out, vif, why, sizeof(why));
	if (rc)
		snprintf(err, len, "net: %s", why);
	return rc;
}

/* The job's words (vcpus= in them when > 1) with the net.* words and, for
 * several vCPUs, smp=xen: the guest starts its APs with VCPUOP_up. */
static char *xen_smp_words(struct hvb_netjob *nj, const struct hvb_job *job)
{
	char *w = hvb_netjob_cmdline(nj, job->cmdline), *all;

	if (job->vcpus < 2)
		return w;
	all = xasprintf("%s smp=xen", w);
	free(w);
	return all;
}

/*
 * Live migration (HVB_XEN_MIGRATE_AT_MS, migrate.h).  A PV domU takes part
 * in its own suspend (workloads/rt/xen_suspend.c), on one vCPU only: the
 * runtime stops no other vCPU around it, and those would run on with the
 * old domain's ports and timers.  And it is not live: Xen tracks a PV
 * domain's dirty pages with shadow paging, which Debian's Xen 4.17 is
 * built without (CONFIG_SHADOW_PAGING unset: libxc's live save fails
 * "Failed to enable logdirty", EOPNOTSUPP), so the domain is suspended
 * first and all of it copied then, as xl save | xl restore would.
 */
#define XEN_MIG_PV_VCPUS_WHY "HVB_XEN_MIGRATE_AT_MS: xen-pv migrates with one vCPU only (the " \
			     "guest suspends itself on vCPU 0 and stops no other): give " \
			     "--vcpus 1, or migrate xen-pvh"

static double ns_ms(uint64_t from, uint64_t to)
{
	return from && to > from ? (double)(to - from) / 1e6 : 0;
}

static void mig_row(const struct hvb_out *out, const char *workload, unsigned rep,
		    const char *metric, const char *unit, int better, double v,
		    enum hvb_status st, const char *note)
{
	hvb_out_sample(out, .workload = workload, .rep = rep, .metric = metric, .unit = unit,
		       .better = better, .value = st == HVB_ST_OK ? v : 0, .status = st,
		       .note = note);
}

/* The rows of results/FORMAT.md "Migration rows", with kvm's and QEMU's
 * names and units; a migration that failed (or never started) fails them
 * all with the reason, as QEMU's do. */
static void xen_mig_rows(const struct xen_mig *m, const struct hvb_out *out, const char *wl,
			 unsigned rep, double guest_gap_ns)
{
	const struct xen_mig_result *r = &m->res;
	bool done = m->state == XEN_MIG_DONE;
	enum hvb_status ok = done ? HVB_ST_OK : HVB_ST_FAILED;
	enum hvb_status prog = !done ? HVB_ST_FAILED : r->has_progress ? HVB_ST_OK
								     : HVB_ST_UNSUPPORTED;
	bool conv = xen_mig_converged(r->rounds, r->last_round_pages);
	/* Non-live (PV): no pre-copy, so nothing converged or not. */
	enum hvb_status conv_st = m->nonlive && done ? HVB_ST_UNSUPPORTED : prog;
	char *note = !done ? xstrdup(r->why) : m->nonlive ? xasprintf(
		"%s; non-live (PV: no log-dirty without shadow paging), no pre-copy: all "
		"of it sent suspended; the suspend %.1f ms into it, restored %.1f ms after the "
		"suspend, %.1f ms waiting for the destination's console, unpaused %.1f ms after "
		"that; bandwidth %s",
		r->why, ns_ms(r->t_start, r->t_suspended), ns_ms(r->t_suspended, r->t_restored),
		ns_ms(r->t_restored, r->t_go), ns_ms(r->t_go, r->t_unpaused),
		m->p.bw_bytes ? "held by the relay" : "unlimited") : xasprintf(
		"%s; %s after %u pre-copy round(s) (libxc's policy: stop-and-copy below %d dirty "
		"pages or after %d rounds), last round %lu pages, %lu pages sent suspended; the "
		"suspend %.1f ms into it, restored %.1f ms after the suspend, %.1f ms waiting for "
		"the destination's console, unpaused %.1f ms after that; bandwidth %s",
		r->why, conv ? "converged" : "not converged: round limit", r->rounds,
		XEN_MIG_TARGET_PAGES, XEN_MIG_MAX_ROUNDS, r->last_round_pages, r->final_pages,
		ns_ms(r->t_start, r->t_suspended), ns_ms(r->t_suspended, r->t_restored),
		ns_ms(r->t_restored, r->t_go), ns_ms(r->t_go, r->t_unpaused),
		m->p.bw_bytes ? "held by the relay" : "unlimited");
	const char *pnote = prog == HVB_ST_UNSUPPORTED
				    ? "libxc's progress (\"Frames iteration N\") did not reach the "
				      "runner through libxl-save-helper: no round count"
				    : note;

	mig_row(out, wl, rep, "migrate.total_ms", "ms", HVB_LOWER_IS_BETTER,
		ns_ms(r->t_start, r->t_unpaused), ok, note);
	mig_row(out, wl, rep, "migrate.downtime_ms", "ms", HVB_LOWER_IS_BETTER,
		ns_ms(r->t_suspended, r->t_unpaused),
		!done ? HVB_ST_FAILED : r->t_suspended ? HVB_ST_OK : HVB_ST_UNSUPPORTED,
		!done || r->t_suspended ? note : "no suspend time: neither the controller's "
						 "suspend nor libxc's \"Domain now suspended\"");
	mig_row(out, wl, rep, "migrate.bytes", "bytes", HVB_LOWER_IS_BETTER, (double)r->bytes,
		ok, note);
	mig_row(out, wl, rep, "migrate.rounds", "rounds", HVB_LOWER_IS_BETTER, r->rounds, prog,
		pnote);
	mig_row(out, wl, rep, "migrate.converged", "bool", HVB_HIGHER_IS_BETTER, conv, conv_st,
		conv_st == HVB_ST_UNSUPPORTED && m->nonlive
			? "non-live (PV: Xen has no log-dirty for it without shadow paging): "
			  "suspended first, then copied; no pre-copy to converge"
			: pnote);
	mig_row(out, wl, rep, HVB_MIG_GUEST_DOWNTIME, "ms", HVB_LOWER_IS_BETTER, guest_gap_ns / 1e6,
		!done ? HVB_ST_FAILED : guest_gap_ns >= 0 ? HVB_ST_OK : HVB_ST_UNSUPPORTED,
		!done ? note : guest_gap_ns >= 0 ? HVB_MIG_GUEST_DOWNTIME_NOTE
					       : "the workload wrote no heartbeat gap (req_ns.max) "
						 "in the migrated repetition: not migrate/dirty?");
	free(note);
}

/* HVB_XEN_MIGRATE_*: 0 (*on says whether), or -errno with why. */
static int xen_mig_setup(const struct hvb_runner *r, unsigned vcpus, struct xen_mig *m,
			 bool *on, const struct hvb_out *out, char *why, size_t len)
{
	struct xen_mig_params p;

	if (xen_mig_params_env(&p, on, why, len))
		return -EINVAL;
	if (!*on)
		return 0;
	if (is_pv(r) && vcpus > 1) {
		snprintf(why, len, "%s", XEN_MIG_PV_VCPUS_WHY);
		return -ENOTSUP;
	}
	xen_mig_init(m, &p);
	m->guest_suspends = m->nonlive = is_pv(r);
	hvb_out_metaf(out, "migrate",
		      "%s -> a relay counting "
		      "bytes -> libxl_domain_create_restore, on this host; %u ms after the first "
		      "repetition starts; bandwidth %llu MiB/s%s; limit %u ms; downtime target and "
		      "round limit: libxc's fixed policy (stop-and-copy below %d dirty pages or "
		      "after %d rounds); the suspend: %s",
		      is_pv(r) ? "non-live (no PV log-dirty: Xen without shadow paging), libxl as "
				 "xl save | xl restore: libxl_domain_suspend(0)"
			       : "live, libxl as xl migrate: libxl_domain_suspend(LIVE)",
		      p.at_ms, (unsigned long long)(p.bw_bytes >> 20),
		      p.bw_bytes ? " (the relay's token bucket)" : " (unlimited)", p.limit_ms,
		      XEN_MIG_TARGET_PAGES, XEN_MIG_MAX_ROUNDS,
		      is_pv(r) ? "the guest's own (it clears control/shutdown, then "
				 "SCHEDOP_shutdown(suspend)); downtime from its acknowledgement"
			       : "the controller's xc_domain_shutdown(SHUTDOWN_suspend) on libxl's "
				 "request");
	return 0;
}

static int xen_run(const struct hvb_runner *r, const struct hvb_job *job,
		   const struct hvb_out *out)
{
	const char *disk = xen_disk_path(job->cfg);
	struct hvb_netjob net;
	struct hvb_guest_env env = {
		/* --page-size: PV has 4 KiB pages only (cmd_run refuses 2m for it). */
		.pt_4k = !is_pv(r) && hvb_job_pt_4k(job),
		.dev = "xencons",
		/* io/ runs only when the disk is attached (xvda, blkback), net/
		 * only with the vif and the responder */
		.caps = xen_caps(r, job->cfg) | (disk ? HVB_CAP_BLK : 0),
	};
	unsigned vcpus = job->vcpus ? job->vcpus : 1;
	struct hvb_xl_cfg cfg = { .vcpus = vcpus, .memory_mb = job->cfg->guest_mem_mib };
	struct hvb_rec_consumer c;
	struct hvb_xl_outcome o = { .domid = 0 };
	struct xen_collect x = { .c = &c, .net = &net, .job = job, .out = out, .vcpus = vcpus,
				 .mig_guest_gap_ns = -1 };
	struct xen_trace *xt = NULL;
	char why[400] = "", err[768] = "";
	struct xen_mig mig;
	bool mig_on = false;
	struct hvb_xl *xl;
	char *words, *cmdline;
	int rc = 0;

	xen_net_start(&net, job, out);
	env.caps |= hvb_netjob_caps(&net);
	words = xen_smp_words(&net, job);
	cmdline = hvb_guest_cmdline(words, &env);
	free(words);

	hvb_rec_init(&c, out, job);
	hvb_console_stream_init(&x.stream, xen_on_record, xen_on_text, &x);
	describe_pages(r, job, out);
	/* libxl reads exactly the bytes hashed for the run (a sealed copy). */
	cfg.kernel = hvb_image_boot_path(&job->cfg->image, err, sizeof(err));
	cfg.pv = is_pv(r);
	cfg.cmdline = cmdline;
	cfg.cpu = job->cpu;
	cfg.vcpu_cpus = vcpus > 1 ? job->cpus : NULL; /* cpus[0] is job->cpu */
	cfg.disk = disk;
	if (net.on) {
		cfg.nic_mac = net.ns.guest_mac;
		cfg.nic_script = vif_script();
	}
	cfg.on_created = xen_created;
	cfg.timeout_s = job->timeout_s;
	cfg.on_console = xen_on_console;
	cfg.arg = &x;
	if (!cfg.kernel)
		rc = -ENOENT;
	if (!rc)
		rc = xen_mig_setup(r, vcpus, &mig, &mig_on, out, err, sizeof(err));
	if (mig_on) {
		cfg.mig = &mig;
		x.mig = &mig;
	}
	if (!rc) {
		/* Exit accounting: xentrace runs from before the domain exists
		 * (a PV domU has none: trace.c records why).  Not across a
		 * migration: the domain id changes midway. */
		if (!mig_on)
			xt = xen_trace_start(out, is_pv(r), job);
		else
			hvb_out_log(out, "xentrace: off: the job migrates (HVB_XEN_MIGRATE_AT_MS)");
		c.on_rep = xen_on_rep;
		c.arg = &x;
		x.xt = xt;
		rc = hvb_xl_open(&xl, false, err, sizeof(err));
	}
	if (!rc) {
		rc = hvb_xl_run(xl, &cfg, &o, err, sizeof(err));
		x.cpu.xl = NULL; /* the domain is gone: no more vCPU times */
		hvb_xl_close(xl);
	}
	if (rc) {
		snprintf(why, sizeof(why), "%s", err);
	} else {
		hvb_console_stream_finish(&x.stream);
		outcome_reason(&o, &x, job, why, sizeof(why));
	}
	if (mig_on) {
		hvb_out_log(out, "rep %u: migration: %s (%s)", x.mig_rep, mig.res.why,
			    xen_mig_state_str(mig.state));
		xen_mig_rows(&mig, out, job->workloads[0], x.mig_rep, x.mig_guest_gap_ns);
	}
	describe_placement(&x, &cfg, out);
	xen_trace_finish(xt, o.domid ? (int)o.domid : -1); /* a domU is never domain 0 */
	hvb_netjob_stop(&net, out);
	log_stream(out, &x.stream.stats);
	if (why[0])
		hvb_out_log(out, "%s", why);
	hvb_rec_finish(&c, why[0] ? why : NULL);
	free(cmdline);
	return rc == -EINTR ? -EINTR : 0;
}

#endif /* HVB_HAVE_LIBXL */

static const struct hvb_runner xen_pvh_runner = {
	.name = "xen-pvh",
	.desc = "the guest image as a Xen PVH domU (libxl; run in dom0 as root)",
	.in_default = true,
	.available = xen_available,
	.describe = xen_describe,
	.run = xen_run,
};
HVB_RUNNER(xen_pvh_runner);

static const struct hvb_runner xen_pv_runner = {
	.name = "xen-pv",
	.desc = "the guest image as a Xen PV domU (libxl; run in dom0 as root)",
	.in_default = true,
	.pages_4k_only = true,
	.available = xen_available,
	.describe = xen_describe,
	.run = xen_run,
};
HVB_RUNNER(xen_pv_runner);
