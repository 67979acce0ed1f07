/*
 * The kvm runner: the guest image under the reference core (hv/) on
 * /dev/kvm, one boot per job.
 *
 * The vCPU runs on its own thread, pinned to job->cpu; records arrive
 * synchronously during its port exits and go straight to the record
 * consumer, so the probes that bracket a repetition (KVM binary stats, the
 * core's own userspace exit counts) are read while the vCPU is stopped at
 * the REP_BEGIN and REP_END record exits.  The run ends with the core's
 * verdict: anything but a clean shutdown fails the cells still missing,
 * with the verdict (timeout, fault, crash, rip) as the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "elf_load.h"
#include "exit.h"
#include "kvm_stats.h"
#include "mem.h"
#include "meta.h"
#include "opt.h"
#include "pvh.h"
#include "records.h"
#include "runner.h"
#include "seccomp.h"
#include "topology.h"
#include "util.h"
#include "vm.h"
#include "watchdog.h"

/* Set by `hvbench run` when the user interrupts (SIGINT/SIGTERM). */
extern volatile int hvb_interrupted;

#define KVM_DEFAULT_MEM_MIB 2048 /* mem/stream-*: 3 x 256 MiB arrays + headroom */
#define KVM_MAX_MEM_MIB	    3072 /* RAM must stay below the MMIO pages at 0xd0000000 */

/* ------------------------------------------------------------ environment */

/* $HVB_GUEST_IMAGE, else guest/hvbench-guest.elf next to the hvbench binary. */
static void image_path(char *out, size_t len)
{
	const char *env = getenv("HVB_GUEST_IMAGE");
	char self[2048];
	ssize_t n;

	if (env && *env) {
		hvb_strlcpy(out, env, len);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
	}
	snprintf(out, len, "%s/guest/hvbench-guest.elf", n > 0 ? self : ".");
}

static uint64_t guest_mem_mib(void)
{
	const char *env = getenv("HVB_KVM_MEM_MIB");
	uint64_t v;

	if (env && *env && !hvb_parse_uint(env, 16, KVM_MAX_MEM_MIB, &v))
		return v;
	return KVM_DEFAULT_MEM_MIB;
}

static bool host_is_pvm(void)
{
	char buf[200];

	hvb_meta_nesting(buf, sizeof(buf));
	return !strncmp(buf, "pvm", 3);
}

/* Hash the image file and check that it is a guest image: 0 or -errno + err. */
static int image_check(const char *path, char sha[65], char *err, size_t len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	struct hv_image hi;
	int r = 0;

	if (!f) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (n < HV_ELF_MAX_SIZE) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = realloc(buf, cap);
			if (!buf) {
				r = -ENOMEM;
				break;
			}
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		if (!got)
			break;
		n += got;
	}
	fclose(f);
	if (!r) {
		hv_sha256_hex(buf, n, sha);
		r = hv_elf_parse(buf, n, &hi, err, len);
	}
	free(buf);
	return r;
}

static bool kvm_available(char *why, size_t len)
{
	static const struct {
		long cap;
		const char *name;
	} need[] = {
	    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT (Linux >= 4.11)"},
	    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	};
	char img[2048], sha[65], err[512];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), v;

	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(why, len, "no /dev/kvm (load kvm_intel, kvm_amd or kvm_pvm)");
		else if (errno == EACCES || errno == EPERM)
			snprintf(why, len,
				 "permission denied on /dev/kvm: add yourself to group "
				 "kvm or run as root");
		else
			snprintf(why, len, "cannot open /dev/kvm: %s", strerror(errno));
		return false;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(why, len, "/dev/kvm speaks KVM API %d, hvbench needs %d", v,
			 KVM_API_VERSION);
		close(fd);
		return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			snprintf(why, len, "/dev/kvm lacks %s", need[i].name);
			close(fd);
			return false;
		}
	}
	close(fd);
	image_path(img, sizeof(img));
	if (access(img, R_OK)) {
		snprintf(why, len, "guest image %s: %s (run make, or set HVB_GUEST_IMAGE)", img,
			 strerror(errno));
		return false;
	}
	if (image_check(img, sha, err, sizeof(err))) {
		snprintf(why, len, "guest image %s is not usable: %s", img, err);
		return false;
	}
	return true;
}

/*
 * What this host can really do for the guest (abi.h HVB_CAP_*): the base
 * set the core always provides, plus what the capability probe measured.
 */
static uint32_t host_caps(bool pvm, bool ioeventfds, uint32_t probed)
{
	uint32_t caps =
	    HVB_CAP_PIO_USER | HVB_CAP_MMIO_USER | HVB_CAP_RELEASE | probed;

	if (ioeventfds)
		caps |= HVB_CAP_PIO_KERN | HVB_CAP_MMIO_KERN;
	if (pvm)
		caps |= HVB_CAP_PVM;
	return caps;
}

static void kvm_describe(const struct hvb_runner *r, struct hvb_sink *sink)
{
	char img[4096], nest[200], sha[65] = "", err[4400];
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool pvm = host_is_pvm();

	(void)r;
	if (fd >= 0) {
		hvb_sink_metaf(sink, "runner.kvm.kvm_api", "%d", ioctl(fd, KVM_GET_API_VERSION, 0));
		close(fd);
	}
	hvb_meta_nesting(nest, sizeof(nest));
	hvb_sink_meta(sink, "runner.kvm.nesting", nest);
	hvb_sink_meta(sink, "runner.kvm.vmm",
		      "hvbench reference core (hv/), PVH direct entry, "
		      "no firmware, 1 vCPU");
	hvb_sink_meta(sink, "runner.kvm.pinning",
		      "vCPU thread pinned to the job's CPU (--cpu); "
		      "replaced by the placement once a guest ran");
	hvb_sink_metaf(sink, "runner.kvm.guest_mem_mib", "%llu",
		       (unsigned long long)guest_mem_mib());
	hvb_sink_meta(sink, "runner.kvm.irqchip",
		      "none: hlt is a userspace halt exit + resume (micro/hlt-wake)");
	hvb_sink_metaf(sink, "runner.kvm.caps",
		       "0x%x + what the capability probe finds at the first job (ioeventfd "
		       "permitting)",
		       host_caps(pvm, true, 0));
	hv_seccomp_vcpu_describe(err, sizeof(err));
	hvb_sink_meta(sink, "runner.kvm.seccomp", err);
	image_path(img, sizeof(img));
	hvb_sink_meta(sink, "runner.kvm.image", img);
	if (image_check(img, sha, err, sizeof(err)))
		hvb_sink_meta(sink, "runner.kvm.image_error", err);
	else
		hvb_sink_meta(sink, "runner.kvm.image_sha256", sha);
}

/* ------------------------------------------------------------ probes */

struct rep_probe {
	struct kvm_stats *vcpu_st, *vm_st;
	struct kvm_stats_snap vcpu_a, vcpu_b, vm_a, vm_b;
	char unsupported[160]; /* why there are no KVM stats ("" = there are) */
	uint64_t user_exits[HV_EXIT_REASONS];
	uint64_t t0_ns;
	bool open;
};

static void probe_open(struct rep_probe *p, struct vm *vm, struct vcpu *vcpu)
{
	int r;

	memset(p, 0, sizeof(*p));
	r = kvm_stats_open(vcpu->fd, &p->vcpu_st);
	if (!r)
		r = kvm_stats_open(vm->fd, &p->vm_st);
	if (!r && !(r = kvm_stats_snap_init(p->vcpu_st, &p->vcpu_a)) &&
	    !(r = kvm_stats_snap_init(p->vcpu_st, &p->vcpu_b)) &&
	    !(r = kvm_stats_snap_init(p->vm_st, &p->vm_a)))
		r = kvm_stats_snap_init(p->vm_st, &p->vm_b);
	if (r)
		snprintf(p->unsupported, sizeof(p->unsupported), "%s", kvm_stats_strerror(r));
	p->open = true;
}

static void probe_close(struct rep_probe *p)
{
	if (!p->open)
		return;
	kvm_stats_snap_free(&p->vcpu_a), kvm_stats_snap_free(&p->vcpu_b);
	kvm_stats_snap_free(&p->vm_a), kvm_stats_snap_free(&p->vm_b);
	kvm_stats_close(p->vcpu_st);
	kvm_stats_close(p->vm_st);
	p->open = false;
}

struct kvm_job {
	const struct hvb_job *job;
	struct hvb_sink *sink;
	struct hvb_rec_consumer c;
	struct vm *vm;
	struct vcpu *vcpu;
	struct hv_console con;
	struct hv_hvb hvb;
	struct rep_probe probe;
	uint64_t t0_ns;	      /* process side: before vm_create */
	uint64_t ops_per_rep; /* from CELL_BEGIN: n x batches */
	bool boot_done;
	bool abandoned;	     /* the vCPU thread was left behind in KVM_RUN */
	char fault[200];     /* the guest's last FAULT record, for the verdict */
	const char *probing; /* capability probe: the workload that must run */
	bool probe_ran;	     /* ... and it delivered a sample */
	char probe_why[HVB_TEXT_MAX + 1];
	char pin_desc[128];
	int pin_err;
};

/*
 * Name of an exit reason in exits.csv for a vCPU statistic, or NULL for
 * statistics that do not count exits (pf_* count faults, insn_emulation_fail
 * failures; they stay in counters.csv).  "exits" is KVM's total.  Under PVM
 * a trapped port or MMIO access is counted in insn_emulation, not io/mmio,
 * so reasons can overlap: FORMAT.md says so.
 */
static const char *stat_reason(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (!strcmp(name, "exits"))
		return "total";
	if (!strcmp(name, "halt_exits"))
		return "hlt";
	if (!strcmp(name, "hypercalls"))
		return "hypercall";
	if (!strcmp(name, "insn_emulation"))
		return name;
	if (n > 6 && !strcmp(name + n - 6, "_exits") && n - 6 < len) {
		memcpy(buf, name, n - 6);
		buf[n - 6] = '\0';
		return buf; /* io, mmio, irq, irq_window, nmi_window, signal, request_irq, ... */
	}
	return NULL;
}

struct delta_ctx {
	struct kvm_job *kj;
	const struct hvb_record *rec;
	const char *prefix; /* "vcpu." or "vm." */
	uint64_t span_ns;
	char note[160];
};

static int write_delta(void *arg, const char *name, double delta, const char *unit,
		       bool is_cumulative)
{
	struct delta_ctx *d = arg;
	struct kvm_job *kj = d->kj;
	char event[160], rb[64];
	const char *reason;

	(void)unit;
	if (!is_cumulative)
		return 0; /* levels (instant/peak) are not deltas over the repetition */
	snprintf(event, sizeof(event), "%s%s", d->prefix, name);
	hvb_sink_counter(kj->sink, "kvm", d->rec->workload, d->rec->rep, event, true, delta,
			 d->span_ns, d->span_ns, "kvm-stats", HVB_ST_OK, d->note);
	if (d->prefix[1] == 'c' && !strchr(name, '[') &&
	    (reason = stat_reason(name, rb, sizeof(rb))))
		hvb_sink_exit(kj->sink, "kvm", d->rec->workload, d->rec->rep, reason,
			      (uint64_t)(delta < 0 ? 0 : delta), -1, "kvm-stats");
	return 0;
}

static void probe_rep_end(struct kvm_job *kj, const struct hvb_record *rec)
{
	struct rep_probe *p = &kj->probe;
	struct delta_ctx d = {.kj = kj, .rec = rec, .span_ns = hv_now_ns() - p->t0_ns};
	const uint64_t *uc = kj->vcpu->exit_counts;

	snprintf(d.note, sizeof(d.note),
		 "delta REP_BEGIN..REP_END record exits (includes the REP_END one); ops=%llu",
		 (unsigned long long)kj->ops_per_rep);
	/* The core's own count of exits that reached userspace, by reason. */
	for (unsigned i = 0; i < HV_EXIT_REASONS; i++) {
		char reason[48];
		if (uc[i] == p->user_exits[i])
			continue;
		snprintf(reason, sizeof(reason), "userspace_%s", hv_exit_reason_name(i));
		hvb_sink_exit(kj->sink, "kvm", rec->workload, rec->rep, reason,
			      uc[i] - p->user_exits[i], -1, "vmm");
	}
	if (p->unsupported[0]) {
		hvb_sink_counter(kj->sink, "kvm", rec->workload, rec->rep, "kvm-stats", false, 0, 0,
				 0, "kvm-stats", HVB_ST_UNSUPPORTED, p->unsupported);
		return;
	}
	if (__kvm_stats_snapshot(p->vcpu_st, &p->vcpu_b) ||
	    __kvm_stats_snapshot(p->vm_st, &p->vm_b)) {
		hvb_sink_counter(kj->sink, "kvm", rec->workload, rec->rep, "kvm-stats", false, 0, 0,
				 0, "kvm-stats", HVB_ST_FAILED, "reading the stats fd failed");
		return;
	}
	d.prefix = "vcpu.";
	kvm_stats_delta(p->vcpu_st, &p->vcpu_a, &p->vcpu_b, write_delta, &d);
	d.prefix = "vm.";
	kvm_stats_delta(p->vm_st, &p->vm_a, &p->vm_b, write_delta, &d);
}

/* REP_BEGIN / REP_END: the vCPU is stopped at the record's port exit. */
static void on_rep(void *arg, const struct hvb_record *rec, bool begin)
{
	struct kvm_job *kj = arg;
	struct rep_probe *p = &kj->probe;

	if (!begin) {
		probe_rep_end(kj, rec);
		return;
	}
	memcpy(p->user_exits, kj->vcpu->exit_counts, sizeof(p->user_exits));
	if (!p->unsupported[0] && (__kvm_stats_snapshot(p->vcpu_st, &p->vcpu_a) ||
				   __kvm_stats_snapshot(p->vm_st, &p->vm_a)))
		snprintf(p->unsupported, sizeof(p->unsupported), "reading the stats fd failed");
	p->t0_ns = hv_now_ns();
}

/* ------------------------------------------------------------ boot time */

static int guest_tsc(struct vcpu *vcpu, uint64_t *tsc)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = 0x10 /* IA32_TSC */};

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
	hvb_sink_sample(kj->sink, "kvm", "boot", "boot_ms", "ms", HVB_LOWER_IS_BETTER, kj->job->rep,
			ms, HVB_ST_OK, note);
}

/* ------------------------------------------------------------ the run */

static int on_record(void *arg, struct vcpu *vcpu, const struct hvb_record *rec, char *why,
		     size_t len)
{
	struct kvm_job *kj = arg;

	if (__atomic_load_n(&kj->abandoned, __ATOMIC_ACQUIRE)) {
		snprintf(why, len, "the run was abandoned");
		return -1;
	}
	if (kj->probing) {
		(void)vcpu;
		if (rec->type == HVB_REC_SAMPLE &&
		    !strncmp(rec->workload, kj->probing, HVB_NAME_MAX))
			kj->probe_ran = true;
		else if (rec->type == HVB_REC_STATUS || rec->type == HVB_REC_FAULT) {
			/* Unvalidated guest text, bound for meta.csv: printable only. */
			snprintf(kj->probe_why, sizeof(kj->probe_why), "%.*s",
				 (int)sizeof(rec->text), rec->text);
			for (char *p = kj->probe_why; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
		}
		return 0;
	}
	if (rec->type == HVB_REC_CELL_BEGIN)
		kj->ops_per_rep = rec->u64[0] * rec->u64[1];
	if (hvb_rec_deliver(&kj->c, rec)) {
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
		hvb_sink_log(kj->sink, "kvm", "guest console: %s", text);
}

/*
 * --page-size for guest RAM's host backing, as natively: MADV_NOHUGEPAGE
 * (4 KiB host pages under the guest's 4 KiB ones) or MADV_HUGEPAGE (THP
 * under the guest's 2 MiB pages).  Advice only: a refusal leaves the host's
 * default, which describe_pages records beside the THP setting.
 */
static void advise_ram(struct kvm_job *kj)
{
	uint64_t bytes = guest_mem_mib() << 20;
	void *hva = __vm_gpa_to_hva(kj->vm, 0);

	if (hva && madvise(hva, bytes, kj->job->page_kib == HVB_PAGE_2M ? MADV_HUGEPAGE
									: MADV_NOHUGEPAGE))
		hvb_sink_log(kj->sink, "kvm", "madvise of guest RAM for --page-size: %s",
			     strerror(errno));
}

/* Page sizes change memory results (TLB reach, walk depth): say which. */
static void describe_pages(const struct hvb_job *job, struct hvb_sink *sink)
{
	hvb_sink_meta(sink, "runner.kvm.page_size",
		      job->page_kib == HVB_PAGE_2M
			      ? "2m: guest page tables map RAM with 2 MiB pages; host backing "
				"madvise(MADV_HUGEPAGE) (THP as the host's setting allows)"
			      : "4k: guest word pt=4k (4 KiB guest page tables); host backing "
				"madvise(MADV_NOHUGEPAGE)");
}

/* Create the VM, load the image, attach devices and boot structures with
 * `words` (+ dev= and caps=) as the guest's command line. */
static int setup(struct kvm_job *kj, const char *words, uint32_t probed, char *why, size_t len)
{
	char img[4096], err[400], *cmdline;
	const char *extra;
	struct hv_image hi;
	bool pvm = host_is_pvm();
	int r;

	image_path(img, sizeof(img));
	kj->t0_ns = hv_now_ns();
	r = vm_create(&kj->vm, NULL);
	if (r) {
		snprintf(why, len, "cannot create a VM on /dev/kvm: %s", strerror(-r));
		return r;
	}
	kj->vm->stop_flag = &hvb_interrupted;
	if ((r = vm_mem_add(kj->vm, 0, guest_mem_mib() << 20))) {
		snprintf(why, len, "cannot give the guest %llu MiB: %s (set HVB_KVM_MEM_MIB)",
			 (unsigned long long)guest_mem_mib(), strerror(-r));
		return r;
	}
	advise_ram(kj);
	if ((r = vcpu_create(kj->vm, 0, &kj->vcpu)) || (r = vcpu_cpuid_init(kj->vcpu))) {
		snprintf(why, len, "cannot create the vCPU: %s", strerror(-r));
		return r;
	}
	if ((r = vm_load_elf_file(kj->vm, img, &hi, NULL, err, sizeof(err)))) {
		snprintf(why, len, "%s", err);
		return r;
	}
	if ((r = dev_console_attach(kj->vm, &kj->con, 0, on_console, kj))) {
		snprintf(why, len, "cannot attach the console: %s", strerror(-r));
		return r;
	}
	kj->hvb.record = on_record;
	kj->hvb.arg = kj;
	if ((r = dev_hvb_attach(kj->vm, &kj->hvb))) {
		snprintf(why, len, "cannot attach the hvbench device: %s", strerror(-r));
		return r;
	}
	/* HVB_KVM_CMDLINE_EXTRA: extra guest words for debugging and tests
	 * (e.g. fault=ud to check the fault verdict end to end). */
	extra = kj->probing ? NULL : getenv("HVB_KVM_CMDLINE_EXTRA");
	cmdline = xasprintf("%s%s dev=hvb caps=0x%x%s%s", words,
			    kj->job->page_kib == HVB_PAGE_2M ? "" : " pt=4k",
			    host_caps(pvm, kj->hvb.kern_ioeventfds, probed), extra ? " " : "",
			    extra ? extra : "");
	r = vm_pvh_setup(kj->vm, cmdline);
	if (r)
		snprintf(why, len,
			 "cannot set up the boot structures: %s (command line of %zu "
			 "bytes)",
			 strerror(-r), strlen(cmdline));
	free(cmdline);
	if (!r && (r = vcpu_setup_pvh(kj->vcpu, hi.entry)))
		snprintf(why, len, "cannot set the vCPU's entry state: %s", strerror(-r));
	return r;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_job *kj = arg;
	struct hv_run_opts o = {.timeout_ns = (uint64_t)(kj->job->timeout_s * 1e9),
				.stop_flag = &hvb_interrupted};
	char why[300];

	snprintf(kj->pin_desc, sizeof(kj->pin_desc), "unpinned");
	if (kj->job->cpu >= 0)
		kj->pin_err = hvb_topo_pin_thread(kj->job->cpu, kj->pin_desc, sizeof(kj->pin_desc));
	probe_open(&kj->probe, kj->vm, kj->vcpu);
	/* From here on only the calls the run loop needs (hv/seccomp.h).  A
	 * filter meta.csv promised but that cannot be set fails the job. */
	if (hv_seccomp_vcpu_enter(why, sizeof(why)))
		vm_stop(kj->vm, NULL, HV_HOST_ERROR, "%s", why);
	vcpu_run(kj->vcpu, &o);
	probe_close(&kj->probe);
	return NULL;
}

/* The reason for cells the guest did not finish, or NULL after a clean end. */
static const char *verdict_reason(struct kvm_job *kj, char *buf, size_t len)
{
	const struct hv_verdict *v = &kj->vm->verdict;
	static const char *const codes[] = {"ok", "command line not understood",
					    "fault in the guest", "guest runtime panic"};

	if (v->outcome == HV_SHUTDOWN && v->guest_code == HVB_EXIT_OK && kj->c.done)
		return NULL;
	if (v->outcome == HV_SHUTDOWN && kj->fault[0])
		snprintf(buf, len, "guest fault: %s", kj->fault);
	else if (v->outcome == HV_SHUTDOWN)
		snprintf(buf, len, "guest exited with code %d (%s)%s", v->guest_code,
			 v->guest_code >= 0 && v->guest_code < 4 ? codes[v->guest_code] : "?",
			 kj->c.done ? "" : " before DONE; see log.txt");
	else if (v->have_regs)
		snprintf(buf, len, "%s: %s (rip 0x%llx)", hv_outcome_name(v->outcome), v->msg,
			 (unsigned long long)v->rip);
	else
		snprintf(buf, len, "%s: %s", hv_outcome_name(v->outcome), v->msg);
	return buf;
}

/*
 * The capability probe: hypercall, CPUID, MSR and HLT are granted only if the guest
 * image, on this host, really runs the workload that needs them.  Under PVM
 * guest ring 0 is emulated and, depending on the guest's mechanism, these
 * instructions may fault or hang KVM_RUN; on VMX/SVM they simply exit.  One
 * short boot per capability (watchdog: HV_PROBE_TIMEOUT_S), once per process.
 */
#define HV_PROBE_TIMEOUT_S 3

static const struct {
	uint32_t cap;
	const char *name, *workload;
} cap_probes[] = {
    {HVB_CAP_HYPERCALL, "hypercall", "micro/hypercall"},
    {HVB_CAP_CPUID, "cpuid", "micro/cpuid"},
    {HVB_CAP_MSR, "msr", "micro/msr-read"},
    {HVB_CAP_HLT, "hlt", "micro/hlt-wake"},
};

static bool probe_done;
static uint32_t probe_caps;
static char probe_desc[600];

static void probe_one(const struct hvb_job *job, unsigned i, char *out, size_t len)
{
	struct kvm_job *kj = xcalloc(1, sizeof(*kj));
	struct hv_run_opts o = {.timeout_ns = HV_PROBE_TIMEOUT_S * 1000000000ull,
				.stop_flag = &hvb_interrupted};
	char why[300] = "", *words;
	const char *w = cap_probes[i].workload;
	int r;

	kj->job = job;
	kj->probing = w;
	words = xasprintf("w=%s rep=0 reps=1 goal_us=100 batches=1 tsc_khz=%llu quick=1", w,
			  (unsigned long long)job->tsc_khz);
	r = setup(kj, words, cap_probes[i].cap, why, sizeof(why));
	free(words);
	if (!r)
		vcpu_run(kj->vcpu, &o);
	if (!r && kj->probe_ran && kj->vm->verdict.outcome == HV_SHUTDOWN) {
		probe_caps |= cap_probes[i].cap;
		snprintf(out, len, "%s: ok (%s ran)", cap_probes[i].name, w);
	} else if (r) {
		snprintf(out, len, "%s: not probed (%s)", cap_probes[i].name, why);
	} else {
		snprintf(out, len, "%s: no (%s: %s%s%s)", cap_probes[i].name, w,
			 kj->vm->verdict.outcome == HV_SHUTDOWN
			     ? "did not run"
			     : hv_outcome_name(kj->vm->verdict.outcome),
			 kj->probe_why[0] ? ": " : "", kj->probe_why);
	}
	vm_destroy(kj->vm);
	free(kj);
}

static void caps_probe(const struct hvb_job *job, struct hvb_sink *sink)
{
	size_t off = 0;

	if (probe_done)
		return;
	probe_done = true;
	for (unsigned i = 0; i < ARRAY_SIZE(cap_probes) && !hvb_interrupted; i++) {
		char one[300];
		probe_one(job, i, one, sizeof(one));
		off += (size_t)snprintf(probe_desc + off, sizeof(probe_desc) - off, "%s%s",
					off ? "; " : "", one);
		if (off >= sizeof(probe_desc))
			off = sizeof(probe_desc) - 1;
	}
	hvb_sink_meta(sink, "runner.kvm.caps_probe", probe_desc);
	hvb_sink_metaf(sink, "runner.kvm.caps", "0x%x", host_caps(host_is_pvm(), true, probe_caps));
	hvb_sink_log(sink, "kvm", "capability probe: %s", probe_desc);
}

/*
 * Join the vCPU thread.  The watchdog kicks it at the job's timeout or on
 * SIGINT; if KVM_RUN still does not come back HV_JOIN_GRACE_S later, the
 * host kernel is stuck in it: give up on the thread (-ETIMEDOUT).
 */
#define HV_JOIN_GRACE_S 10

static int join_vcpu(pthread_t t, const struct hvb_job *job)
{
	uint64_t start = hv_now_ns(), limit = (uint64_t)((job->timeout_s + HV_JOIN_GRACE_S) * 1e9);
	uint64_t interrupted_at = 0;

	for (;;) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		if (pthread_timedjoin_np(t, NULL, &ts) == 0)
			return 0;
		if (hvb_interrupted && !interrupted_at)
			interrupted_at = hv_now_ns();
		if (hv_now_ns() - start > limit ||
		    (interrupted_at &&
		     hv_now_ns() - interrupted_at > HV_JOIN_GRACE_S * 1000000000ull)) {
			pthread_detach(t);
			return -ETIMEDOUT;
		}
	}
}

static int kvm_run(const struct hvb_runner *runner, const struct hvb_job *job,
		   struct hvb_sink *sink)
{
	struct kvm_job *kj = xcalloc(1, sizeof(*kj));
	char why[400] = "";
	const char *reason = NULL;
	pthread_t t;
	int r, ret = 0;

	kj->job = job;
	kj->sink = sink;
	hvb_rec_init(&kj->c, runner->name, job, sink);
	kj->c.on_rep = on_rep;
	kj->c.arg = kj;
	caps_probe(job, sink);
	describe_pages(job, sink);
	r = setup(kj, job->cmdline, probe_caps, why, sizeof(why));
	if (r) {
		hvb_sink_log(sink, runner->name, "%s", why);
		reason = why;
		goto out;
	}
	r = pthread_create(&t, NULL, vcpu_thread, kj);
	if (r) {
		snprintf(why, sizeof(why), "cannot start the vCPU thread: %s", strerror(r));
		reason = why;
		goto out;
	}
	if (join_vcpu(t, job)) {
		/* The kernel never gave the vCPU thread back: leave it (and the
		 * VM it uses) behind rather than hang the whole benchmark. */
		__atomic_store_n(&kj->abandoned, true, __ATOMIC_RELEASE);
		snprintf(why, sizeof(why),
			 "timeout: KVM_RUN did not return even after the watchdog's kick (host "
			 "kernel stuck); VM abandoned");
		hvb_sink_log(sink, runner->name, "%s", why);
		hvb_warn("kvm: %s", why);
		hvb_rec_finish(&kj->c, why);
		return hvb_interrupted ? -EINTR : 0;
	}
	dev_console_flush(&kj->con);
	if (kj->pin_err)
		hvb_sink_log(sink, runner->name, "pinning the vCPU to cpu %d failed: %s", job->cpu,
			     strerror(-kj->pin_err));
	else
		hvb_sink_meta(sink, "runner.kvm.pinning", kj->pin_desc);
	if (kj->con.dropped)
		hvb_sink_log(sink, runner->name,
			     "guest console: %llu bytes dropped after the first %llu (flood)",
			     (unsigned long long)kj->con.dropped,
			     (unsigned long long)kj->con.logged);
	if (kj->hvb.kern_fallbacks)
		hvb_sink_log(sink, runner->name,
			     "%llu kernel-path (ioeventfd) writes reached userspace",
			     (unsigned long long)kj->hvb.kern_fallbacks);
	hvb_sink_log(sink, runner->name, "verdict: %s: %s (%llu exits to userspace)",
		     hv_outcome_name(kj->vm->verdict.outcome), kj->vm->verdict.msg,
		     (unsigned long long)kj->vcpu->n_exits);
	reason = verdict_reason(kj, why, sizeof(why));
	if (kj->vm->verdict.outcome == HV_INTERRUPTED)
		ret = -EINTR;
out:
	/* Interrupted: no row, like every other cell the user stopped (qemu too). */
	if (!kj->boot_done && ret != -EINTR)
		hvb_sink_sample(sink, runner->name, "boot", "boot_ms", "ms", HVB_LOWER_IS_BETTER,
				job->rep, 0, HVB_ST_FAILED,
				reason ? reason : "the guest never said HELLO");
	hvb_rec_finish(&kj->c, reason);
	vm_destroy(kj->vm);
	free(kj);
	return ret;
}

static const struct hvb_runner kvm_runner = {
    .name = "kvm",
    .desc = "the guest image under hvbench's reference core (hv/) on /dev/kvm",
    .in_default = true,
    .available = kvm_available,
    .describe = kvm_describe,
    .run = kvm_run,
};
HVB_RUNNER(kvm_runner);
